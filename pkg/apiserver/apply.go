package apiserver

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/kstack/kstack/api"
	"github.com/kstack/kstack/api/defaulting"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"sigs.k8s.io/yaml"
)

// Server-side apply uses apimachinery's field manager (structured merge
// with managedFields) over the schemas of the built-in types that ship
// with client-go.

var (
	typeConverterOnce sync.Once
	typeConverter     managedfields.TypeConverter
)

func builtinTypeConverter() managedfields.TypeConverter {
	typeConverterOnce.Do(func() { typeConverter = applyconfigurations.NewTypeConverter(api.Scheme) })
	return typeConverter
}

// schemeDefaulter applies our defaults for the field manager.
type schemeDefaulter struct{}

func (schemeDefaulter) Default(obj runtime.Object) { defaulting.Default(obj) }

// fieldManagers caches one field manager per served kind and subresource.
type fieldManagers struct {
	mu sync.Mutex
	m  map[fieldManagerKey]*managedfields.FieldManager
}

type fieldManagerKey struct {
	gvk         schema.GroupVersionKind
	subresource string
}

func (f *fieldManagers) get(gvk schema.GroupVersionKind, subresource string) (*managedfields.FieldManager, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := fieldManagerKey{gvk, subresource}
	if fm, ok := f.m[k]; ok {
		return fm, nil
	}
	fm, err := managedfields.NewDefaultFieldManager(builtinTypeConverter(), api.Scheme, schemeDefaulter{}, api.Scheme,
		gvk, gvk.GroupVersion(), subresource, nil)
	if err != nil {
		return nil, err
	}
	if f.m == nil {
		f.m = map[fieldManagerKey]*managedfields.FieldManager{}
	}
	f.m[k] = fm
	return fm, nil
}

// applyPatch is PATCH with application/apply-patch+yaml: the applied
// configuration is merged into the live object (or a new one) by field
// ownership; conflicts with other managers are 409 unless ?force=true.
func (s *Server) applyPatch(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo, sub string, choice mediaChoice, dryRun bool, body []byte) {
	manager := r.URL.Query().Get("fieldManager")
	if manager == "" {
		writeError(w, r, apierrors.NewBadRequest("PATCH, application/apply-patch+yaml requests must specify a fieldManager"))
		return
	}
	force := r.URL.Query().Get("force") == "true"
	applied := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(body, &applied.Object); err != nil {
		writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err)))
		return
	}
	if applied.Object == nil {
		writeError(w, r, apierrors.NewBadRequest("the applied configuration is empty"))
		return
	}
	if gvk := applied.GroupVersionKind(); gvk != rs.servedGVK {
		writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the applied configuration is for %s, but the URL is for %s", gvk, rs.servedGVK)))
		return
	}
	if applied.GetName() != info.Name {
		writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", applied.GetName(), info.Name)))
		return
	}
	if rs.res.Namespaced && applied.GetNamespace() != "" && applied.GetNamespace() != info.Namespace {
		writeError(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	fm, err := s.fieldManagers.get(rs.servedGVK, sub)
	if err != nil {
		writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	created := false
	out, err := s.doUpdate(r.Context(), rs, info.Namespace, info.Name, sub, dryRun, sub == "", func(existing runtime.Object, exists bool) (runtime.Object, error) {
		live, err := rs.fromStorage(existing)
		if err != nil {
			return nil, err
		}
		if !exists {
			created = true
			live = rs.res.New()
			acc, _ := meta.Accessor(live)
			acc.SetName(info.Name)
			acc.SetNamespace(info.Namespace)
		}
		live = withKind(live, rs.servedGVK).DeepCopyObject()
		obj, err := fm.Apply(live, applied.DeepCopy(), manager, force)
		if err != nil {
			if apierrors.IsConflict(err) {
				return nil, err
			}
			var se *apierrors.StatusError
			if ok := asStatus(err, &se); ok {
				return nil, se
			}
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return rs.toStorage(obj)
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

func asStatus(err error, target **apierrors.StatusError) bool {
	se, ok := err.(*apierrors.StatusError)
	if ok {
		*target = se
	}
	return ok
}
