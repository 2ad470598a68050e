package openapi

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/kube-openapi/pkg/validation/spec"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
)

// listSemantics answers, per model and field, the merge semantics that
// upstream declares with +listType, +listMapKey, +mapType and +structType
// markers. Those markers are comments, invisible to reflection; client-go
// ships the structured-merge-diff schema generated from them (the schema
// behind its apply configurations), so we read them from there. The
// results become x-kubernetes-list-type, x-kubernetes-list-map-keys and
// x-kubernetes-map-type, which server-side apply's type converter and
// kubectl read.
type listSemantics struct {
	types map[string]*smdschema.TypeDef
}

// loadListSemantics parses client-go's schema (once per process, about
// 1 MB resident; client-go memoizes it).
func loadListSemantics(scheme *runtime.Scheme) (*listSemantics, error) {
	tc := applyconfigurations.NewTypeConverter(scheme)
	pod := &corev1.Pod{}
	pod.APIVersion, pod.Kind = "v1", "Pod"
	tv, err := tc.ObjectToTyped(pod)
	if err != nil {
		return nil, fmt.Errorf("load client-go's structured-merge-diff schema: %w", err)
	}
	s := tv.Schema()
	ls := &listSemantics{types: make(map[string]*smdschema.TypeDef, len(s.Types))}
	for i := range s.Types {
		ls.types[s.Types[i].Name] = &s.Types[i]
	}
	return ls, nil
}

// atomicStruct reports a struct marked +structType=atomic.
func (l *listSemantics) atomicStruct(model string) bool {
	if l == nil {
		return false
	}
	td, ok := l.types[model]
	return ok && td.Map != nil && td.Map.ElementRelationship == smdschema.Atomic
}

// annotateField adds the list and map extensions of field jsonName of
// model to its schema fs.
func (l *listSemantics) annotateField(model, jsonName string, fs *spec.Schema) {
	if l == nil {
		return
	}
	td, ok := l.types[model]
	if !ok || td.Map == nil {
		return
	}
	var ref *smdschema.TypeRef
	for i := range td.Map.Fields {
		if td.Map.Fields[i].Name == jsonName {
			ref = &td.Map.Fields[i].Type
			break
		}
	}
	if ref == nil {
		return
	}
	if ref.ElementRelationship != nil && *ref.ElementRelationship == smdschema.Atomic {
		fs.AddExtension("x-kubernetes-map-type", "atomic")
	}
	if list := ref.Inlined.List; list != nil {
		switch {
		case list.ElementRelationship == smdschema.Associative && len(list.Keys) > 0:
			fs.AddExtension("x-kubernetes-list-type", "map")
			keys := make([]any, len(list.Keys))
			for i, k := range list.Keys {
				keys[i] = k
			}
			fs.AddExtension("x-kubernetes-list-map-keys", keys)
		case list.ElementRelationship == smdschema.Associative:
			fs.AddExtension("x-kubernetes-list-type", "set")
		default:
			// Explicit, so that a patch strategy does not make the list
			// associative for server-side apply.
			fs.AddExtension("x-kubernetes-list-type", "atomic")
		}
	}
	if m := ref.Inlined.Map; m != nil && m.ElementRelationship == smdschema.Atomic {
		fs.AddExtension("x-kubernetes-map-type", "atomic")
	}
}
