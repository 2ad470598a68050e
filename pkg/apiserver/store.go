package apiserver

import (
	"context"
	"reflect"

	"github.com/kstack/kstack/api"
	"github.com/kstack/kstack/api/attrs"
	"github.com/kstack/kstack/api/conversion"
	"github.com/kstack/kstack/pkg/storage"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// resourceStore binds one served resource to the storage of its kind. Two
// served resources can share one storage (autoscaling/v1 and v2
// horizontalpodautoscalers; core and events.k8s.io events): then objects are
// converted between the served and the stored version on the way in and
// out.
type resourceStore struct {
	res     *api.Resource
	storage storage.Interface
	cfg     storage.Config
	// servedGVK and storageGVK differ when conversion is needed.
	servedGVK  schema.GroupVersionKind
	storageGVK schema.GroupVersionKind
	hooks      *hooks
	// hasSpec/hasStatus: the kind has top-level Spec / Status fields.
	hasSpec, hasStatus bool
}

func (s *resourceStore) converts() bool { return s.servedGVK != s.storageGVK }

// toStorage converts a served object to the stored kind.
func (s *resourceStore) toStorage(obj runtime.Object) (runtime.Object, error) {
	if !s.converts() {
		return obj, nil
	}
	return conversion.Convert(obj, s.storageGVK)
}

// fromStorage converts a stored object (or list) to the served kind.
func (s *resourceStore) fromStorage(obj runtime.Object) (runtime.Object, error) {
	if !s.converts() {
		return obj, nil
	}
	if meta.IsListType(obj) {
		return conversion.Convert(obj, s.servedGVK.GroupVersion().WithKind(s.servedGVK.Kind+"List"))
	}
	return conversion.Convert(obj, s.servedGVK)
}

func (s *resourceStore) key(namespace, name string) string {
	return s.cfg.ObjectKey(namespace, name)
}

func (s *resourceStore) getAttrs() storage.AttrFunc {
	return s.cfg.GetAttrs
}

// newStorageConfig describes the etcd storage of a resource.
func newStorageConfig(res *api.Resource, prefix string) storage.Config {
	gvk := res.StorageGVK()
	gr := res.StorageGroupResource()
	codec := api.Codecs.CodecForVersions(protobufInfo.Serializer, protobufInfo.Serializer, gvk.GroupVersion(), gvk.GroupVersion())
	newFunc := func() runtime.Object {
		obj, err := api.Scheme.New(gvk)
		if err != nil {
			panic(err)
		}
		return obj
	}
	newList := func() runtime.Object {
		obj, err := api.Scheme.New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err != nil {
			panic(err)
		}
		return obj
	}
	return storage.Config{
		Prefix:        prefix + res.KeyPrefix(),
		GroupResource: gr,
		Namespaced:    res.Namespaced,
		Codec:         codec,
		NewFunc:       newFunc,
		NewListFunc:   newList,
		GetAttrs:      storage.AttrFunc(attrs.For(gvk.GroupKind())),
	}
}

// specField and statusField return the Spec/Status struct fields of obj, or
// invalid values when the kind has none.
func specField(obj runtime.Object) reflect.Value   { return topField(obj, "Spec") }
func statusField(obj runtime.Object) reflect.Value { return topField(obj, "Status") }

func topField(obj runtime.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName(name)
}

// copyField sets dst's top-level field name to src's.
func copyField(dst, src runtime.Object, name string) {
	d, s := topField(dst, name), topField(src, name)
	if d.IsValid() && s.IsValid() && d.CanSet() {
		d.Set(s)
	}
}

// resetField zeroes obj's top-level field name.
func resetField(obj runtime.Object, name string) {
	f := topField(obj, name)
	if f.IsValid() && f.CanSet() {
		f.Set(reflect.Zero(f.Type()))
	}
}

// ctxKey types for request-scoped values.
type ctxKey int

const requestInfoKey ctxKey = iota

func withRequestInfo(ctx context.Context, info *RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey, info)
}
