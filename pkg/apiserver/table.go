package apiserver

import (
	"bytes"
	"net/http"

	"github.com/kstack/kstack/pkg/apiserver/printers"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// toTable renders obj (an object or a list of the served kind) as a
// meta.k8s.io/v1 Table with upstream's columns; the rows' embedded objects
// (metadata by default, ?includeObject=Object|None) are encoded as JSON.
func (s *Server) toTable(r *http.Request, rs *resourceStore, obj runtime.Object) (*metav1.Table, error) {
	opts := printers.Options{IncludeObject: metav1.IncludeMetadata}
	switch v := metav1.IncludeObjectPolicy(r.URL.Query().Get("includeObject")); v {
	case "":
	case metav1.IncludeNone, metav1.IncludeMetadata, metav1.IncludeObject:
		opts.IncludeObject = v
	default:
		return nil, apierrors.NewBadRequest("includeObject: Unsupported value: \"" + string(v) + "\": supported values: \"None\", \"Metadata\", \"Object\"")
	}
	table, err := printers.ToTable(rs.servedGVK, obj, opts)
	if err != nil {
		return nil, err
	}
	table.TypeMeta = metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"}
	var buf bytes.Buffer
	for i := range table.Rows {
		ext := &table.Rows[i].Object
		if ext.Object == nil || ext.Raw != nil {
			continue
		}
		buf.Reset()
		if err := jsonInfo.Serializer.Encode(ext.Object, &buf); err != nil {
			return nil, err
		}
		ext.Raw = bytes.TrimSpace(append([]byte(nil), buf.Bytes()...))
		ext.Object = nil
	}
	return table, nil
}

// toPartialObjectMetadata returns only the metadata of an object or a list.
func toPartialObjectMetadata(obj runtime.Object, gvk schema.GroupVersionKind) (runtime.Object, error) {
	pomGV := metav1.SchemeGroupVersion
	if meta.IsListType(obj) {
		items, err := meta.ExtractList(obj)
		if err != nil {
			return nil, err
		}
		list := &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{APIVersion: pomGV.String(), Kind: "PartialObjectMetadataList"}}
		if lm, err := meta.ListAccessor(obj); err == nil {
			list.ResourceVersion = lm.GetResourceVersion()
			list.Continue = lm.GetContinue()
			list.RemainingItemCount = lm.GetRemainingItemCount()
		}
		itemGVK := gvk
		if len(gvk.Kind) > 4 && gvk.Kind[len(gvk.Kind)-4:] == "List" {
			itemGVK.Kind = gvk.Kind[:len(gvk.Kind)-4]
		}
		list.Items = make([]metav1.PartialObjectMetadata, 0, len(items))
		for _, item := range items {
			acc, err := meta.Accessor(item)
			if err != nil {
				return nil, err
			}
			pom := metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: itemGVK.GroupVersion().String(), Kind: itemGVK.Kind}}
			pom.ObjectMeta = *objectMeta(acc)
			list.Items = append(list.Items, pom)
		}
		return list, nil
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	pom := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: pomGV.String(), Kind: "PartialObjectMetadata"}}
	pom.ObjectMeta = *objectMeta(acc)
	return pom, nil
}

// objectMeta copies an accessor's fields into an ObjectMeta.
func objectMeta(acc metav1.Object) *metav1.ObjectMeta {
	if om, ok := acc.(*metav1.ObjectMeta); ok {
		return om.DeepCopy()
	}
	return &metav1.ObjectMeta{
		Name: acc.GetName(), GenerateName: acc.GetGenerateName(), Namespace: acc.GetNamespace(),
		UID: acc.GetUID(), ResourceVersion: acc.GetResourceVersion(), Generation: acc.GetGeneration(),
		CreationTimestamp: acc.GetCreationTimestamp(), DeletionTimestamp: acc.GetDeletionTimestamp(),
		DeletionGracePeriodSeconds: acc.GetDeletionGracePeriodSeconds(), Labels: acc.GetLabels(),
		Annotations: acc.GetAnnotations(), OwnerReferences: acc.GetOwnerReferences(),
		Finalizers: acc.GetFinalizers(), ManagedFields: acc.GetManagedFields(),
	}
}
