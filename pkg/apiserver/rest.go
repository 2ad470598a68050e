package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/kstack/kstack/api/attrs"
	"github.com/kstack/kstack/api/defaulting"
	"github.com/kstack/kstack/api/validation"
	"github.com/kstack/kstack/pkg/admission"
	"github.com/kstack/kstack/pkg/apiserver/audit"
	"github.com/kstack/kstack/pkg/storage"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// serveResource dispatches a resource request to its verb.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, info *RequestInfo) {
	r = r.WithContext(withWarningSink(r.Context(), func(msgs []string) { addWarnings(w, msgs) }))
	rs, ok := s.lookup(info.APIGroup, info.APIVersion, info.Resource)
	if !ok {
		writeError(w, r, errNoSuchPath)
		return
	}
	res := rs.res
	if msg := deprecationWarnings[res.GroupVersion().WithResource(res.Resource)]; msg != "" {
		addWarnings(w, []string{msg})
	}
	if res.Namespaced && info.Namespace == "" && info.Name != "" {
		// /api/v1/pods/<name>: a namespaced object needs a namespace.
		writeError(w, r, apierrors.NewNotFound(res.GroupResource(), info.Name))
		return
	}
	if !res.Namespaced && info.Namespace != "" {
		writeError(w, r, apierrors.NewNotFound(res.GroupResource(), info.Name))
		return
	}
	if info.Subresource != "" {
		s.serveSubresource(w, r, rs, info)
		return
	}
	if !res.AllowsVerb(info.Verb) {
		writeError(w, r, methodNotSupported(res.GroupResource(), info.Verb))
		return
	}
	if res.Virtual {
		s.serveVirtual(w, r, rs, info)
		return
	}
	switch info.Verb {
	case "get":
		s.get(w, r, rs, info)
	case "list":
		s.list(w, r, rs, info)
	case "watch":
		s.watch(w, r, rs, info)
	case "create":
		s.create(w, r, rs, info, false)
	case "update":
		s.update(w, r, rs, info, "")
	case "patch":
		s.patch(w, r, rs, info, "")
	case "delete":
		s.delete(w, r, rs, info)
	case "deletecollection":
		s.deleteCollection(w, r, rs, info)
	default:
		writeError(w, r, methodNotSupported(res.GroupResource(), info.Verb))
	}
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) {
	choice, err := negotiateOutput(r, false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := rs.cfg.NewFunc()
	opts := storage.GetOptions{ResourceVersion: r.URL.Query().Get("resourceVersion")}
	if err := rs.storage.Get(r.Context(), rs.key(info.Namespace, info.Name), opts, out); err != nil {
		writeError(w, r, err)
		return
	}
	obj, err := rs.fromStorage(out)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.writeResult(w, r, choice, http.StatusOK, rs, obj)
}

// writeResult writes an object or list in the negotiated form: the object
// itself, a Table, or metadata only.
func (s *Server) writeResult(w http.ResponseWriter, r *http.Request, choice mediaChoice, code int, rs *resourceStore, obj runtime.Object) {
	gvk := rs.servedGVK
	if meta.IsListType(obj) {
		gvk = gvk.GroupVersion().WithKind(gvk.Kind + "List")
	}
	switch choice.kind {
	case outputTable:
		table, err := s.toTable(r, rs, obj)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeEncoded(w, choice, code, table)
		return
	case outputPartialObjectMetadata, outputPartialObjectMetadataList:
		pm, err := toPartialObjectMetadata(obj, gvk)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeEncoded(w, choice, code, pm)
		return
	}
	writeObject(w, choice, code, gvk, obj)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) {
	choice, err := negotiateOutput(r, false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	opts, err := s.listOptions(r, rs, info)
	if err != nil {
		writeError(w, r, err)
		return
	}
	list := rs.cfg.NewListFunc()
	key := rs.cfg.ListKey(info.Namespace)
	served, asked, err := s.listCached(w, r, choice, rs, key, opts, list)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if served {
		return
	}
	if !asked {
		if err := rs.storage.GetList(r.Context(), key, opts, list); err != nil {
			writeError(w, r, err)
			return
		}
	}
	obj, err := rs.fromStorage(list)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.writeResult(w, r, choice, http.StatusOK, rs, obj)
}

// listOptions parses the query of a list or watch: selectors, paging and
// resourceVersion rules as upstream validates them.
func (s *Server) listOptions(r *http.Request, rs *resourceStore, info *RequestInfo) (storage.ListOptions, error) {
	q := r.URL.Query()
	var opts storage.ListOptions
	pred := storage.Predicate{GetAttrs: rs.getAttrs()}
	if v := q.Get("labelSelector"); v != "" {
		sel, err := labels.Parse(v)
		if err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		pred.Label = sel
	}
	fieldSel := q.Get("fieldSelector")
	if info.Name != "" { // legacy /watch/<resource>/<name>
		if fieldSel != "" {
			fieldSel += ","
		}
		fieldSel += "metadata.name=" + info.Name
	}
	if fieldSel != "" {
		sel, err := fields.ParseSelector(fieldSel)
		if err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
		}
		sel, err = attrs.ConvertSelector(rs.servedGVK.GroupKind(), sel)
		if err != nil {
			return opts, apierrors.NewBadRequest(err.Error())
		}
		pred.Field = sel
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("limit: Invalid value: %q: must be a non-negative integer", v))
		}
		pred.Limit = n
	}
	pred.Continue = q.Get("continue")
	opts.ResourceVersion = q.Get("resourceVersion")
	opts.ResourceVersionMatch = metav1.ResourceVersionMatch(q.Get("resourceVersionMatch"))
	if opts.ResourceVersion != "" {
		if _, err := strconv.ParseUint(opts.ResourceVersion, 10, 64); err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("resourceVersion: Invalid value: %q: must be a non-negative integer", opts.ResourceVersion))
		}
	}
	var errs field.ErrorList
	switch opts.ResourceVersionMatch {
	case "":
	case metav1.ResourceVersionMatchNotOlderThan, metav1.ResourceVersionMatchExact:
		// A watch-list (sendInitialEvents) may leave resourceVersion empty
		// for a consistent start: client-go's reflector does.
		if opts.ResourceVersion == "" && info.Verb != "watch" {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden unless resourceVersion is provided"))
		}
		if pred.Continue != "" {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden when continue is provided"))
		}
		if opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact && opts.ResourceVersion == "0" {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""))
		}
	default:
		errs = append(errs, field.NotSupported(field.NewPath("resourceVersionMatch"), opts.ResourceVersionMatch, []string{string(metav1.ResourceVersionMatchExact), string(metav1.ResourceVersionMatchNotOlderThan), ""}))
	}
	if pred.Continue != "" && opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
		errs = append(errs, field.Forbidden(field.NewPath("resourceVersion"), "specifying resource version is not allowed when using continue"))
	}
	if v := q.Get("sendInitialEvents"); v != "" {
		b := v == "true" || v == "1"
		opts.SendInitialEvents = &b
		if info.Verb != "watch" {
			errs = append(errs, field.Forbidden(field.NewPath("sendInitialEvents"), "sendInitialEvents is forbidden for list"))
		} else if b {
			if opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
				errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
			}
		}
	}
	if info.Verb == "watch" && opts.SendInitialEvents == nil && opts.ResourceVersionMatch != "" {
		errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
	}
	if v := q.Get("allowWatchBookmarks"); v == "true" || v == "1" {
		opts.AllowWatchBookmarks = true
	}
	if opts.SendInitialEvents != nil && *opts.SendInitialEvents && !opts.AllowWatchBookmarks {
		errs = append(errs, field.Forbidden(field.NewPath("allowWatchBookmarks"), "sendInitialEvents requires setting allowWatchBookmarks to true"))
	}
	if len(errs) > 0 {
		return opts, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("ListOptions").GroupKind(), "", errs)
	}
	opts.Predicate = pred
	return opts, nil
}

// writeRequest is what every write verb reads first: the response
// encoding, ?dryRun, ?fieldValidation and the body.
type writeRequest struct {
	choice mediaChoice
	dryRun bool
	fv     fieldValidation
	input  runtime.SerializerInfo // the body's decoder (not for patches)
	body   []byte
}

// parseWrite reads the parts of a write request; decodable says the body
// is an object in a Content-Type we decode (not a patch).
func parseWrite(r *http.Request, decodable bool) (*writeRequest, error) {
	wr := &writeRequest{}
	var err error
	if wr.choice, err = negotiateOutput(r, false); err != nil {
		return nil, err
	}
	if wr.dryRun, err = parseDryRun(r); err != nil {
		return nil, err
	}
	if wr.fv, err = parseFieldValidation(r); err != nil {
		return nil, err
	}
	if decodable {
		if wr.input, err = negotiateInput(r); err != nil {
			return nil, err
		}
	}
	if wr.body, err = readBody(r); err != nil {
		return nil, err
	}
	return wr, nil
}

// create handles POST to a collection. For a subresource-driven create
// (pods/binding etc.) see subresource.go.
func (s *Server) create(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo, _ bool) {
	ctx := r.Context()
	wr, err := parseWrite(r, true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	choice, dryRun := wr.choice, wr.dryRun
	obj, warnings, err := decodeBody(wr.input, wr.body, rs.servedGVK, rs.res.New(), wr.fv)
	if err != nil {
		writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	if m, err := meta.Accessor(obj); err == nil {
		audit.EntryFrom(ctx).SetObjectName(m.GetName())
	}
	out, err := s.createObject(ctx, rs, info.Namespace, obj, dryRun)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.writeResult(w, r, choice, http.StatusCreated, rs, out)
}

// createObject runs the create pipeline on a decoded object of the served
// kind: namespace checks, defaulting, server-set metadata, validation,
// admission, storage. It returns the stored object in the served kind.
func (s *Server) createObject(ctx context.Context, rs *resourceStore, namespace string, obj runtime.Object, dryRun bool) (runtime.Object, error) {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if rs.res.Namespaced {
		if accessor.GetNamespace() == "" {
			accessor.SetNamespace(namespace)
		} else if accessor.GetNamespace() != namespace {
			return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	} else {
		accessor.SetNamespace("")
	}
	if accessor.GetResourceVersion() != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	if accessor.GetName() == "" && accessor.GetGenerateName() != "" {
		accessor.SetName(generateName(accessor.GetGenerateName()))
	}
	if accessor.GetName() == "" {
		errs := field.ErrorList{field.Required(field.NewPath("metadata", "name"), "name or generateName is required")}
		return nil, apierrors.NewInvalid(rs.servedGVK.GroupKind(), "", errs)
	}
	obj, err = rs.toStorage(obj)
	if err != nil {
		return nil, err
	}
	accessor, _ = meta.Accessor(obj)
	defaulting.Default(obj)
	accessor.SetUID(types.UID(uuid.NewUUID()))
	accessor.SetCreationTimestamp(metav1.Now())
	accessor.SetDeletionTimestamp(nil)
	accessor.SetDeletionGracePeriodSeconds(nil)
	accessor.SetSelfLink("")
	accessor.SetGeneration(rs.createGeneration())
	if rs.hasStatus && rs.res.HasSubresource("status") && (rs.hooks == nil || !rs.hooks.keepStatusOnCreate) {
		resetField(obj, "Status")
	}
	if rs.hooks != nil && rs.hooks.prepareCreate != nil {
		if err := rs.hooks.prepareCreate(ctx, obj); err != nil {
			return nil, err
		}
	}
	admissionAttrs := s.admissionAttributes(ctx, rs, admission.Create, "", obj, nil, dryRun)
	if err := s.admit(ctx, admissionAttrs); err != nil {
		return nil, err
	}
	if errs := validation.ValidateCreate(obj); len(errs) > 0 {
		return nil, apierrors.NewInvalid(rs.servedGVK.GroupKind(), accessor.GetName(), errs)
	}
	if err := s.admitNode(ctx, obj, nil); err != nil {
		return nil, err
	}
	if rs.res.Namespaced && s.cfg.admissionEnabled("NamespaceLifecycle") {
		if err := s.admitNamespace(ctx, accessor.GetNamespace()); err != nil {
			return nil, err
		}
	}
	if err := s.validateAdmission(ctx, admissionAttrs); err != nil {
		return nil, err
	}
	var finish func(bool)
	if rs.hooks != nil && rs.hooks.beginCreate != nil {
		finish, err = rs.hooks.beginCreate(ctx, obj, dryRun)
		if err != nil {
			return nil, err
		}
	}
	out := rs.cfg.NewFunc()
	if dryRun {
		out = obj
	} else {
		err = rs.storage.Create(ctx, rs.key(accessor.GetNamespace(), accessor.GetName()), obj, out)
	}
	if finish != nil {
		finish(err == nil && !dryRun)
	}
	if err != nil {
		return nil, err
	}
	if !dryRun && rs.res.Group == "" && rs.res.Resource == "namespaces" {
		s.afterNamespaceCreate(ctx, out)
	}
	return rs.fromStorage(out)
}

// admitNamespace is the NamespaceLifecycle admission check: the namespace
// must exist and must not be terminating.
func (s *Server) admitNamespace(ctx context.Context, ns string) error {
	nsObj, err := s.getNamespace(ctx, ns)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return apierrors.NewNotFound(schemaGR("", "namespaces"), ns)
		}
		return err
	}
	if nsObj.Status.Phase == "Terminating" {
		return apierrors.NewForbidden(schemaGR("", "namespaces"), ns, // upstream's wording
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
	}
	return nil
}

// update handles PUT on an object or one of its update subresources
// ("status", "finalize").
func (s *Server) update(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo, sub string) {
	ctx := r.Context()
	wr, err := parseWrite(r, true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	choice, dryRun := wr.choice, wr.dryRun
	obj, warnings, err := decodeBody(wr.input, wr.body, rs.servedGVK, rs.res.New(), wr.fv)
	if err != nil {
		writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	accessor, err := meta.Accessor(obj)
	if err != nil {
		writeError(w, r, apierrors.NewBadRequest(err.Error()))
		return
	}
	if accessor.GetName() != info.Name {
		writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", accessor.GetName(), info.Name)))
		return
	}
	if rs.res.Namespaced {
		if accessor.GetNamespace() == "" {
			accessor.SetNamespace(info.Namespace)
		} else if accessor.GetNamespace() != info.Namespace {
			writeError(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
			return
		}
	}
	newObj, err := rs.toStorage(obj)
	if err != nil {
		writeError(w, r, err)
		return
	}
	created := false
	out, err := s.updateObject(ctx, rs, info.Namespace, info.Name, sub, dryRun, func(existing runtime.Object, exists bool) (runtime.Object, error) {
		if !exists {
			created = true
		}
		return newObj.DeepCopyObject(), nil
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	s.writeResult(w, r, choice, code, rs, out)
}

// objectFunc computes the desired object (storage kind) from the current one.
type objectFunc func(existing runtime.Object, exists bool) (runtime.Object, error)

// updateObject is the update pipeline shared by PUT, PATCH and the status
// subresource: it reads the current object, asks mutate for the new one,
// keeps server-owned fields, checks resourceVersion, validates and writes,
// retrying on conflicts only when the client did not pin a resourceVersion.
func (s *Server) updateObject(ctx context.Context, rs *resourceStore, namespace, name, sub string, dryRun bool, mutate objectFunc) (runtime.Object, error) {
	allowCreate := sub == "" && rs.hooks != nil && rs.hooks.allowCreateOnUpdate
	return s.doUpdate(ctx, rs, namespace, name, sub, dryRun, allowCreate, mutate)
}

// updateOrCreate is updateObject that creates a missing object whatever
// the kind (for the server's own objects).
func (s *Server) updateOrCreate(ctx context.Context, rs *resourceStore, namespace, name string, mutate objectFunc) (runtime.Object, error) {
	return s.doUpdate(ctx, rs, namespace, name, "", false, true, mutate)
}

func (s *Server) doUpdate(ctx context.Context, rs *resourceStore, namespace, name, sub string, dryRun, allowCreate bool, mutate objectFunc) (runtime.Object, error) {
	key := rs.key(namespace, name)
	var created runtime.Object
	var finish func(bool)
	var dryRunResult runtime.Object
	out := rs.cfg.NewFunc()
	err := rs.storage.GuaranteedUpdate(ctx, key, out, allowCreate, nil, func(existing runtime.Object) (runtime.Object, error) {
		if finish != nil { // a retry: undo the previous attempt's allocations
			finish(false)
			finish = nil
		}
		existingMeta, err := meta.Accessor(existing)
		if err != nil {
			return nil, err
		}
		exists := existingMeta.GetResourceVersion() != ""
		if !exists && !allowCreate {
			return nil, apierrors.NewNotFound(rs.res.GroupResource(), name)
		}
		obj, err := mutate(existing, exists)
		if err != nil {
			return nil, err
		}
		accessor, err := meta.Accessor(obj)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if !exists {
			// Create on update (a few kinds allow it, as upstream).
			accessor.SetResourceVersion("")
			created, err = s.createObject(ctx, rs, namespace, obj, true)
			if err != nil {
				return nil, err
			}
			created, err = rs.toStorage(created)
			if err != nil {
				return nil, err
			}
			return created, nil
		}
		rv := accessor.GetResourceVersion()
		if rv != "" && rv != existingMeta.GetResourceVersion() {
			return nil, apierrors.NewConflict(rs.res.GroupResource(), name,
				fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
		}
		if accessor.GetUID() != "" && accessor.GetUID() != existingMeta.GetUID() {
			return nil, apierrors.NewConflict(rs.res.GroupResource(), name,
				fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", existingMeta.GetUID(), accessor.GetUID()))
		}
		defaulting.Default(obj)
		// Server-owned metadata comes from the stored object.
		accessor.SetResourceVersion(existingMeta.GetResourceVersion())
		accessor.SetUID(existingMeta.GetUID())
		accessor.SetCreationTimestamp(existingMeta.GetCreationTimestamp())
		accessor.SetDeletionTimestamp(existingMeta.GetDeletionTimestamp())
		accessor.SetDeletionGracePeriodSeconds(existingMeta.GetDeletionGracePeriodSeconds())
		accessor.SetGeneration(existingMeta.GetGeneration())
		accessor.SetSelfLink("")
		if accessor.GetManagedFields() == nil {
			accessor.SetManagedFields(existingMeta.GetManagedFields())
		}
		switch sub {
		case "status":
			// A status write changes status only (and conditions-like
			// metadata stays as stored).
			copyField(obj, existing, "Spec")
			accessor.SetLabels(existingMeta.GetLabels())
			accessor.SetAnnotations(existingMeta.GetAnnotations())
			accessor.SetFinalizers(existingMeta.GetFinalizers())
			accessor.SetOwnerReferences(existingMeta.GetOwnerReferences())
		case "":
			if rs.res.HasSubresource("status") {
				copyField(obj, existing, "Status")
			}
			if rs.generationChanged(obj, existing) {
				accessor.SetGeneration(existingMeta.GetGeneration() + 1)
			}
		}
		if rs.hooks != nil && rs.hooks.prepareUpdate != nil {
			if err := rs.hooks.prepareUpdate(ctx, obj, existing, sub); err != nil {
				return nil, err
			}
		}
		admissionAttrs := s.admissionAttributes(ctx, rs, admission.Update, sub, obj, existing, dryRun)
		if err := s.admit(ctx, admissionAttrs); err != nil {
			return nil, err
		}
		var errs field.ErrorList
		if sub == "status" {
			errs = validation.ValidateStatusUpdate(obj, existing)
		} else {
			errs = validation.ValidateUpdate(obj, existing)
		}
		if len(errs) > 0 {
			return nil, apierrors.NewInvalid(rs.servedGVK.GroupKind(), name, errs)
		}
		if err := s.admitNode(ctx, obj, existing); err != nil {
			return nil, err
		}
		if err := s.validateAdmission(ctx, admissionAttrs); err != nil {
			return nil, err
		}
		if rs.hooks != nil && rs.hooks.beginUpdate != nil {
			finish, err = rs.hooks.beginUpdate(ctx, obj, existing, dryRun)
			if err != nil {
				return nil, err
			}
		}
		if dryRun {
			dryRunResult = obj
			return nil, errDryRun
		}
		// A finalized deletion: the last finalizer went away.
		return obj, nil
	})
	if err == errDryRun {
		if finish != nil {
			finish(false)
		}
		return rs.fromStorage(dryRunResult)
	}
	if finish != nil {
		finish(err == nil)
	}
	if err != nil {
		return nil, err
	}
	// An object being deleted whose last finalizer is gone is deleted now,
	// unless a graceful deletion (a pod's grace period) is still running:
	// that ends with the kubelet's delete, as upstream.
	if acc, aerr := meta.Accessor(out); aerr == nil && acc.GetDeletionTimestamp() != nil && len(acc.GetFinalizers()) == 0 && !dryRun &&
		(acc.GetDeletionGracePeriodSeconds() == nil || *acc.GetDeletionGracePeriodSeconds() == 0) {
		if rs.hooks == nil || rs.hooks.readyToDelete == nil || rs.hooks.readyToDelete(out) {
			uid := acc.GetUID()
			if derr := rs.storage.Delete(ctx, key, rs.cfg.NewFunc(), &storage.Preconditions{UID: &uid}, nil); derr == nil {
				if rs.hooks != nil && rs.hooks.afterDelete != nil {
					rs.hooks.afterDelete(ctx, out)
				}
			}
		}
	}
	return rs.fromStorage(out)
}

type dryRunError struct{}

func (dryRunError) Error() string { return "dry run" }

var errDryRun error = dryRunError{}

// generateName appends five random characters as upstream does.
func generateName(base string) string {
	const maxNameLength = 63
	const randomLength = 5
	if len(base) > maxNameLength-randomLength {
		base = base[:maxNameLength-randomLength]
	}
	return base + randomString(randomLength)
}
