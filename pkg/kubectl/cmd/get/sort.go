package get

import (
	"fmt"
	"reflect"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/jsonpath"
)

// sortKeys evaluates field (a jsonpath template) on each object; the bool
// reports whether any object had the field.
func sortKeys(field string, objs []any) ([]reflect.Value, bool, error) {
	p := jsonpath.New("sorting").AllowMissingKeys(true)
	if err := p.Parse(field); err != nil {
		return nil, false, fmt.Errorf("sorting error: %v", err)
	}
	keys := make([]reflect.Value, len(objs))
	found := false
	for i, o := range objs {
		res, err := p.FindResults(o)
		if err != nil {
			return nil, false, fmt.Errorf("Failed to get values for %#v using %s (%#v)", res, field, err)
		}
		if len(res) > 0 && len(res[0]) > 0 {
			keys[i] = res[0][0]
			found = true
		}
	}
	return keys, found, nil
}

// less orders two jsonpath results: numbers numerically, strings
// lexically, anything missing first.
func less(a, b reflect.Value) bool {
	if !a.IsValid() {
		return true
	}
	if !b.IsValid() {
		return false
	}
	for a.Kind() == reflect.Interface || a.Kind() == reflect.Pointer {
		if a.IsNil() {
			return true
		}
		a = a.Elem()
	}
	for b.Kind() == reflect.Interface || b.Kind() == reflect.Pointer {
		if b.IsNil() {
			return false
		}
		b = b.Elem()
	}
	switch {
	case a.CanInt() && b.CanInt():
		return a.Int() < b.Int()
	case a.CanFloat() && b.CanFloat():
		return a.Float() < b.Float()
	case (a.CanInt() || a.CanFloat()) && (b.CanInt() || b.CanFloat()):
		return toFloat(a) < toFloat(b)
	case a.Kind() == reflect.String && b.Kind() == reflect.String:
		return a.String() < b.String()
	case (a.Kind() == reflect.Slice && b.Kind() == reflect.Slice) || (a.Kind() == reflect.Array && b.Kind() == reflect.Array):
		for i := 0; i < min(a.Len(), b.Len()); i++ {
			if !less(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	}
	return fmt.Sprint(a.Interface()) < fmt.Sprint(b.Interface())
}

func toFloat(v reflect.Value) float64 {
	if v.CanInt() {
		return float64(v.Int())
	}
	return v.Float()
}

// sortTable orders a server-side Table's rows by field, read from each
// row's object (requested with includeObject=Object).
func sortTable(t *metav1.Table, field string) error {
	objs := make([]any, len(t.Rows))
	for i := range t.Rows {
		if u, ok := t.Rows[i].Object.Object.(runtime.Unstructured); ok {
			objs[i] = u.UnstructuredContent()
		} else {
			objs[i] = map[string]any{}
		}
	}
	keys, found, err := sortKeys(field, objs)
	if err != nil {
		return err
	}
	if len(t.Rows) > 0 && !found {
		return fmt.Errorf("couldn't find any field with path %q in the list of objects", field)
	}
	idx := make([]int, len(t.Rows))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return less(keys[idx[i]], keys[idx[j]]) })
	rows := make([]metav1.TableRow, len(t.Rows))
	for i, k := range idx {
		rows[i] = t.Rows[k]
	}
	t.Rows = rows
	return nil
}

// sortObjects orders unstructured objects by field.
func sortObjects(items []runtime.Object, field string) ([]runtime.Object, error) {
	objs := make([]any, len(items))
	for i, o := range items {
		if u, ok := o.(runtime.Unstructured); ok {
			objs[i] = u.UnstructuredContent()
		} else {
			objs[i] = map[string]any{}
		}
	}
	keys, found, err := sortKeys(field, objs)
	if err != nil {
		return nil, err
	}
	if len(items) > 0 && !found {
		return nil, fmt.Errorf("couldn't find any field with path %q in the list of objects", field)
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return less(keys[idx[i]], keys[idx[j]]) })
	out := make([]runtime.Object, len(items))
	for i, k := range idx {
		out[i] = items[k]
	}
	return out, nil
}
