package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/kstack/kstack/pkg/storage"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// deleteOptions reads DeleteOptions from the body (JSON, YAML or protobuf;
// optional) and the query, as upstream: query parameters fill what the body
// leaves unset.
func deleteOptions(r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	if r.ContentLength != 0 && r.Body != nil {
		data, err := readBodyOptional(r)
		if err != nil {
			return nil, err
		}
		if len(data) > 0 {
			info, err := negotiateInput(r)
			if err != nil {
				return nil, err
			}
			gvk := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
			obj, _, err := info.Serializer.Decode(data, &gvk, opts)
			if err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("decode DeleteOptions: %v", err))
			}
			o, ok := obj.(*metav1.DeleteOptions)
			if !ok {
				// A body of another kind (a Pod, say) is a client mistake,
				// not an empty DeleteOptions to ignore.
				return nil, apierrors.NewBadRequest(fmt.Sprintf("decoded object cannot be converted to DeleteOptions: got %T", obj))
			}
			opts = o
		}
	}
	q := metav1.DeleteOptions{}
	if err := metav1.Convert_url_Values_To_v1_DeleteOptions(ptr(r.URL.Query()), &q, nil); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if opts.GracePeriodSeconds == nil {
		opts.GracePeriodSeconds = q.GracePeriodSeconds
	}
	if opts.PropagationPolicy == nil {
		opts.PropagationPolicy = q.PropagationPolicy
	}
	if opts.OrphanDependents == nil {
		opts.OrphanDependents = q.OrphanDependents
	}
	if len(opts.DryRun) == 0 {
		opts.DryRun = q.DryRun
	}
	for _, d := range opts.DryRun {
		if d != metav1.DryRunAll {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("dryRun: Unsupported value: %q: supported values: \"All\"", d))
		}
	}
	if opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds < 0 {
		zero := int64(0)
		opts.GracePeriodSeconds = &zero
	}
	if opts.PropagationPolicy != nil {
		switch *opts.PropagationPolicy {
		case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
		default:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("propagationPolicy: Unsupported value: %q: supported values: \"Foreground\", \"Background\", \"Orphan\"", *opts.PropagationPolicy))
		}
		if opts.OrphanDependents != nil {
			return nil, apierrors.NewBadRequest("propagationPolicy: Invalid value: \"" + string(*opts.PropagationPolicy) + "\": orphanDependents and deletionPropagation cannot be both set")
		}
	}
	return opts, nil
}

func ptr[T any](v T) *T { return &v }

func (s *Server) delete(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) {
	choice, err := negotiateOutput(r, false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	opts, err := deleteOptions(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out, deleted, err := s.deleteObject(r.Context(), rs, info.Namespace, info.Name, opts)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if deleted && (rs.hooks == nil || !rs.hooks.returnDeletedObject) {
		acc, _ := meta.Accessor(out)
		st := &metav1.Status{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
			Status:   metav1.StatusSuccess,
			Details: &metav1.StatusDetails{
				Name:  info.Name,
				Group: rs.res.Group,
				Kind:  rs.res.Resource,
			},
		}
		if acc != nil {
			st.Details.UID = acc.GetUID()
		}
		writeEncoded(w, choice, http.StatusOK, st)
		return
	}
	code := http.StatusOK
	if !deleted && opts.OrphanDependents != nil && !*opts.OrphanDependents {
		code = http.StatusAccepted
	}
	s.writeResult(w, r, choice, code, rs, out)
}

// deleteObject deletes one object as upstream does: preconditions; graceful
// deletion (pods) sets deletionTimestamp and a grace period; finalizers
// (present, or added by propagationPolicy Orphan/Foreground) keep the
// object with deletionTimestamp set until they are removed; otherwise the
// object goes at once. deleted reports that it is gone from storage.
func (s *Server) deleteObject(ctx context.Context, rs *resourceStore, namespace, name string, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	key := rs.key(namespace, name)
	dryRun := len(opts.DryRun) > 0
	current := rs.cfg.NewFunc()
	if err := rs.storage.Get(ctx, key, storage.GetOptions{}, current); err != nil {
		return nil, false, err
	}
	acc, err := meta.Accessor(current)
	if err != nil {
		return nil, false, err
	}
	if err := checkPreconditions(rs.res.GroupResource(), name, acc, opts.Preconditions); err != nil {
		return nil, false, err
	}

	if err := s.admitNode(ctx, nil, current); err != nil {
		return nil, false, err
	}
	if rs.hooks != nil && rs.hooks.validateDelete != nil {
		if err := rs.hooks.validateDelete(current); err != nil {
			return nil, false, err
		}
	}
	grace := int64(0)
	graceful := false
	if rs.hooks != nil && rs.hooks.gracePeriod != nil {
		grace, graceful = rs.hooks.gracePeriod(current, opts)
	}
	addFinalizers := propagationFinalizers(opts, acc)
	pendingFinalizers := len(acc.GetFinalizers()) > 0 || len(addFinalizers) > 0
	hookDefers := rs.hooks != nil && rs.hooks.deferDelete != nil && rs.hooks.deferDelete(current)

	if graceful || pendingFinalizers || hookDefers {
		// Mark for deletion; the object stays until its finalizers are gone
		// (or the kubelet confirms a graceful pod deletion).
		var upd runtime.Object = rs.cfg.NewFunc()
		stillThere := true
		if dryRun {
			obj := current.DeepCopyObject()
			markDeleting(obj, grace, graceful, addFinalizers)
			out, err := rs.fromStorage(obj)
			return out, false, err
		}
		err := rs.storage.GuaranteedUpdate(ctx, key, upd, false, preconditionsOf(opts.Preconditions), func(existing runtime.Object) (runtime.Object, error) {
			obj := existing.DeepCopyObject()
			markDeleting(obj, grace, graceful, addFinalizers)
			if rs.hooks != nil && rs.hooks.beginDelete != nil {
				rs.hooks.beginDelete(obj)
			}
			return obj, nil
		})
		if err != nil {
			return nil, false, err
		}
		uacc, _ := meta.Accessor(upd)
		if len(uacc.GetFinalizers()) == 0 && !hookDefers && (!graceful || grace == 0) {
			stillThere = false
		}
		if stillThere {
			out, err := rs.fromStorage(upd)
			return out, false, err
		}
		current = upd
		acc = uacc
	}
	if dryRun {
		out, err := rs.fromStorage(current)
		return out, true, err
	}
	uid := acc.GetUID()
	pre := &storage.Preconditions{UID: &uid}
	if opts.Preconditions != nil && opts.Preconditions.ResourceVersion != nil {
		pre.ResourceVersion = opts.Preconditions.ResourceVersion
	}
	out := rs.cfg.NewFunc()
	if err := rs.storage.Delete(ctx, key, out, pre, nil); err != nil {
		return nil, false, err
	}
	if rs.hooks != nil && rs.hooks.afterDelete != nil {
		rs.hooks.afterDelete(ctx, out)
	}
	res, err := rs.fromStorage(out)
	return res, true, err
}

// markDeleting sets deletionTimestamp and grace period on obj (once: an
// object already being deleted only gets a shorter grace period) and adds
// finalizers.
func markDeleting(obj runtime.Object, grace int64, graceful bool, add []string) {
	acc, _ := meta.Accessor(obj)
	now := metav1.Now()
	if acc.GetDeletionTimestamp() == nil {
		ts := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
		acc.SetDeletionTimestamp(&ts)
		g := grace
		acc.SetDeletionGracePeriodSeconds(&g)
		if acc.GetGeneration() > 0 { // kinds without a generation keep 0, as upstream
			acc.SetGeneration(acc.GetGeneration() + 1)
		}
	} else if acc.GetDeletionGracePeriodSeconds() != nil && grace < *acc.GetDeletionGracePeriodSeconds() {
		// Only shortening: down to 0 for a forced delete of a pod its
		// finalizers still hold (the last finalizer's removal then deletes).
		ts := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
		acc.SetDeletionTimestamp(&ts)
		g := grace
		acc.SetDeletionGracePeriodSeconds(&g)
	}
	fins := acc.GetFinalizers()
	for _, f := range add {
		if !contains(fins, f) {
			fins = append(fins, f)
		}
	}
	// Orphan and foreground exclude each other: the newest wins.
	if contains(add, metav1.FinalizerOrphanDependents) {
		fins = remove(fins, metav1.FinalizerDeleteDependents)
	}
	if contains(add, metav1.FinalizerDeleteDependents) {
		fins = remove(fins, metav1.FinalizerOrphanDependents)
	}
	acc.SetFinalizers(fins)
}

// propagationFinalizers are the finalizers a delete's propagationPolicy
// asks for: orphan → "orphan", Foreground → "foregroundDeletion".
func propagationFinalizers(opts *metav1.DeleteOptions, acc metav1.Object) []string {
	if opts.PropagationPolicy != nil {
		switch *opts.PropagationPolicy {
		case metav1.DeletePropagationOrphan:
			return []string{metav1.FinalizerOrphanDependents}
		case metav1.DeletePropagationForeground:
			return []string{metav1.FinalizerDeleteDependents}
		}
		return nil
	}
	if opts.OrphanDependents != nil && *opts.OrphanDependents {
		return []string{metav1.FinalizerOrphanDependents}
	}
	return nil
}

func checkPreconditions(gr schema.GroupResource, name string, acc metav1.Object, pre *metav1.Preconditions) error {
	if pre == nil {
		return nil
	}
	if pre.UID != nil && *pre.UID != acc.GetUID() {
		return apierrors.NewConflict(gr, name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *pre.UID, acc.GetUID()))
	}
	if pre.ResourceVersion != nil && *pre.ResourceVersion != acc.GetResourceVersion() {
		return apierrors.NewConflict(gr, name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *pre.ResourceVersion, acc.GetResourceVersion()))
	}
	return nil
}

func preconditionsOf(pre *metav1.Preconditions) *storage.Preconditions {
	if pre == nil {
		return nil
	}
	return &storage.Preconditions{UID: pre.UID, ResourceVersion: pre.ResourceVersion}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func remove(list []string, s string) []string {
	out := list[:0:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

// deleteCollection deletes every object the list options select, each
// with the request's DeleteOptions.
func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) {
	choice, err := negotiateOutput(r, false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	opts, err := deleteOptions(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	listOpts, err := s.listOptions(r, rs, &RequestInfo{Verb: "list"})
	if err != nil {
		writeError(w, r, err)
		return
	}
	listOpts.Predicate.Limit, listOpts.Predicate.Continue = 0, ""
	list := rs.cfg.NewListFunc()
	if err := rs.storage.GetList(r.Context(), rs.cfg.ListKey(info.Namespace), listOpts, list); err != nil {
		writeError(w, r, err)
		return
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		writeError(w, r, err)
		return
	}
	for _, item := range items {
		acc, err := meta.Accessor(item)
		if err != nil {
			continue
		}
		o := *opts
		o.Preconditions = &metav1.Preconditions{UID: ptr(types.UID(acc.GetUID()))}
		if _, _, err := s.deleteObject(r.Context(), rs, acc.GetNamespace(), acc.GetName(), &o); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			writeError(w, r, err)
			return
		}
	}
	st := &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess}
	writeEncoded(w, choice, http.StatusOK, st)
}
