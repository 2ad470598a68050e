package printers

import (
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Placeholders upstream prints for missing values.
const (
	none    = "<none>"
	unset   = "<unset>"
	unknown = "<unknown>"
)

// objectMetaDoc holds ObjectMeta's field descriptions, which most column
// definitions reuse.
var objectMetaDoc = metav1.ObjectMeta{}.SwaggerDoc()

// nameColumn is the first column of nearly every table.
func nameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc["name"]}
}

// ageColumn is the AGE column.
func ageColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: objectMetaDoc["creationTimestamp"]}
}

// column is a plain column shown by default.
func column(name, typ, description string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: typ, Description: description}
}

// wide is a column kubectl shows only with -o wide.
func wide(name, typ, description string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: typ, Description: description, Priority: 1}
}

// Descriptions upstream spells out instead of taking from the API docs.
const (
	containersDescription = "Names of each container in the template."
	imagesDescription     = "Images referenced by each container in the template."
)

// since is upstream's translateTimestampSince: the short human duration
// from t to now, "<unknown>" for a zero time.
func (e *env) since(t metav1.Time) string {
	if t.IsZero() {
		return unknown
	}
	return duration.HumanDuration(e.now.Sub(t.Time))
}

// sinceMicro is since for MicroTime.
func (e *env) sinceMicro(t metav1.MicroTime) string {
	if t.IsZero() {
		return unknown
	}
	return duration.HumanDuration(e.now.Sub(t.Time))
}

// age is the AGE cell of an object.
func (e *env) age(m metav1.Object) string {
	return e.since(m.GetCreationTimestamp())
}

// containerCells lays the containers' names and images out on one line
// each, comma separated.
func containerCells(containers []corev1.Container) (names, images string) {
	switch len(containers) {
	case 0:
		return "", ""
	case 1:
		return containers[0].Name, containers[0].Image
	}
	var n, i strings.Builder
	for j := range containers {
		if j > 0 {
			n.WriteByte(',')
			i.WriteByte(',')
		}
		n.WriteString(containers[j].Name)
		i.WriteString(containers[j].Image)
	}
	return n.String(), i.String()
}

// ratio formats "a/b" (READY 1/1).
func ratio(a, b int64) string {
	buf := make([]byte, 0, 8)
	buf = strconv.AppendInt(buf, a, 10)
	buf = append(buf, '/')
	buf = strconv.AppendInt(buf, b, 10)
	return string(buf)
}

// boolPtr is upstream's printBoolPtr: "True", "False" or "<unset>".
func boolPtr(b *bool) string {
	switch {
	case b == nil:
		return unset
	case *b:
		return "True"
	}
	return "False"
}

// listWithMore joins up to max entries and appends " + N more..." when
// count exceeds them; an empty list is "<unset>".
func listWithMore(list []string, more bool, count, max int) string {
	ret := strings.Join(list, ",")
	if more {
		return ret + " + " + strconv.Itoa(count-max) + " more..."
	}
	if ret == "" {
		return unset
	}
	return ret
}

// int32Ptr dereferences a defaulted *int32 the way conversion to the
// internal types does: nil is 0.
func int32Ptr(p *int32) int64 {
	if p == nil {
		return 0
	}
	return int64(*p)
}

// defaultColumns are upstream's columns for kinds without a printer.
var defaultColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc["name"]},
	{Name: "Created At", Type: "date", Description: objectMetaDoc["creationTimestamp"]},
}

// defaultCells are the default table's cells: the name and the creation
// timestamp in RFC 3339, UTC.
func defaultCells[T any, P object[T]](p P, _ *env, out []any) ([]any, error) {
	return append(out, p.GetName(), p.GetCreationTimestamp().UTC().Format(time.RFC3339)), nil
}

// defaultPrinter prints any object with metadata the way upstream's
// default table convertor does. It walks lists by reflection, so kinds we
// serve in bulk are registered with typed printers instead.
type defaultPrinter struct{}

func (defaultPrinter) columns() []metav1.TableColumnDefinition { return defaultColumns }

func (defaultPrinter) rows(obj runtime.Object, e *env) ([]metav1.TableRow, error) {
	var rows []metav1.TableRow
	add := func(o runtime.Object) error {
		m, err := meta.Accessor(o)
		if err != nil {
			return err
		}
		row := metav1.TableRow{Cells: []any{m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)}}
		switch e.policy {
		case metav1.IncludeNone:
		case metav1.IncludeObject:
			if o.GetObjectKind().GroupVersionKind() != e.gvk {
				o = o.DeepCopyObject()
				o.GetObjectKind().SetGroupVersionKind(e.gvk)
			}
			row.Object.Object = o
		default:
			partial := meta.AsPartialObjectMetadata(m)
			partial.TypeMeta = partialObjectMetadataType
			row.Object.Object = partial
		}
		rows = append(rows, row)
		return nil
	}
	if meta.IsListType(obj) {
		if err := meta.EachListItem(obj, add); err != nil {
			return nil, err
		}
		if rows == nil {
			rows = []metav1.TableRow{}
		}
		return rows, nil
	}
	if err := add(obj); err != nil {
		return nil, err
	}
	return rows, nil
}
