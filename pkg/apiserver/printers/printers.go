// Package printers converts served objects into metav1.Table, the
// server-side printing that `kubectl get` asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//
// Columns and cell values follow upstream kube-apiserver's printers
// (k8s.io/kubernetes/pkg/printers/internalversion), written here over the
// external k8s.io/api types. As upstream's apiserver does, every table is
// generated "wide": all columns, including the priority-1 ones that kubectl
// shows only with `-o wide`, carry cells. Kinds without a printer get
// upstream's default table (Name, Created At).
//
// Data flow: ToTable looks the object's Go type up in a registry of typed
// printers (one per kind, holding both the item and the list type), fills
// all rows of a list from one backing array of cells, then attaches each
// row's object according to the IncludeObject policy.
package printers

import (
	"fmt"
	"reflect"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/clock"
)

// Options select what the table carries.
type Options struct {
	// NoHeaders drops the column definitions (the "noHeaders" table option,
	// which kubectl sends when it already has the headers from an earlier
	// page).
	NoHeaders bool
	// IncludeObject selects what each row's Object holds: None, Metadata
	// (the default when empty) or Object.
	IncludeObject metav1.IncludeObjectPolicy
}

// clk supplies "now" for the AGE-like columns; tests replace it.
var clk clock.PassiveClock = clock.RealClock{}

// partialObjectMetadataType is the TypeMeta of the row objects under the
// Metadata policy.
var partialObjectMetadataType = metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}

// tableType is the TypeMeta of the returned table.
var tableType = metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"}

// ToTable converts one object or a list (*corev1.PodList etc.) of the given
// served kind into a Table. Rows keep list order. Each row's Object is a
// runtime.RawExtension whose .Object is set (not .Raw): a
// *metav1.PartialObjectMetadata for the Metadata policy, the object itself
// with its TypeMeta set to gvk for Object (a shallow copy when the stored
// TypeMeta differs, so shared cache objects are never written), and nothing
// for None. The REST layer encodes the embedded objects.
// Table.ResourceVersion, Continue and RemainingItemCount come from the
// list's ListMeta, or the object's resourceVersion.
//
// The column definitions in the table are the caller's to keep; cells are
// strings, int64s and bools as upstream emits them.
func ToTable(gvk schema.GroupVersionKind, obj runtime.Object, opts Options) (*metav1.Table, error) {
	if obj == nil {
		return nil, fmt.Errorf("convert %s to table: nil object", gvk.Kind)
	}
	switch opts.IncludeObject {
	case "", metav1.IncludeNone, metav1.IncludeMetadata, metav1.IncludeObject:
	default:
		return nil, fmt.Errorf("convert %s to table: unknown includeObject policy %q", gvk.Kind, opts.IncludeObject)
	}
	e := &env{now: clk.Now(), gvk: gvk, policy: opts.IncludeObject}

	h, ok := registry[reflect.TypeOf(obj)]
	if !ok {
		h = defaultPrinter{}
	}
	rows, err := h.rows(obj, e)
	if err != nil {
		return nil, fmt.Errorf("convert %s to table: %w", gvk.Kind, err)
	}

	table := &metav1.Table{TypeMeta: tableType, Rows: rows}
	if !opts.NoHeaders {
		cols := h.columns()
		table.ColumnDefinitions = make([]metav1.TableColumnDefinition, len(cols))
		copy(table.ColumnDefinitions, cols)
	}
	if l, ok := obj.(metav1.ListInterface); ok {
		table.ResourceVersion = l.GetResourceVersion()
		table.Continue = l.GetContinue()
		table.RemainingItemCount = l.GetRemainingItemCount()
	} else if m, ok := obj.(metav1.Object); ok {
		table.ResourceVersion = m.GetResourceVersion()
	}
	return table, nil
}

// env is the per-call state the cell functions share.
type env struct {
	now    time.Time
	gvk    schema.GroupVersionKind
	policy metav1.IncludeObjectPolicy

	// defaultStorageClass is the one class of a StorageClass list marked
	// "(default)"; listed reports that it was computed from a list.
	defaultStorageClass string
	listed              bool
}

// printer turns one object or one list of a kind into rows.
type printer interface {
	columns() []metav1.TableColumnDefinition
	rows(obj runtime.Object, e *env) ([]metav1.TableRow, error)
}

// object is what every printable item type satisfies (*corev1.Pod, ...).
type object[T any] interface {
	*T
	runtime.Object
	metav1.Object
	metav1.ObjectMetaAccessor
}

// list is what every list type satisfies (*corev1.PodList, ...).
type list[L any] interface {
	*L
	runtime.Object
}

// typed prints one kind: item type T (through its pointer P) and list type
// L (through PL).
type typed[T any, P object[T], L any, PL list[L]] struct {
	cols  []metav1.TableColumnDefinition
	items func(PL) []T
	// cells appends the row's cells to out (len 0, cap len(cols)) and
	// returns it.
	cells func(p P, e *env, out []any) ([]any, error)
	// conditions, when set, gives the row's conditions (pods only).
	conditions func(p P) []metav1.TableRowCondition
	// prepare, when set, sees a list's items before their rows are made,
	// for cells that depend on the whole list.
	prepare func(items []T, e *env)
}

func (k *typed[T, P, L, PL]) columns() []metav1.TableColumnDefinition { return k.cols }

func (k *typed[T, P, L, PL]) rows(obj runtime.Object, e *env) ([]metav1.TableRow, error) {
	var items []T
	switch o := obj.(type) {
	case P:
		row := make([]metav1.TableRow, 1)
		if err := k.fill(&row[0], o, e, make([]any, 0, len(k.cols)), nil); err != nil {
			return nil, err
		}
		return row, nil
	case PL:
		items = k.items(o)
		if k.prepare != nil {
			k.prepare(items, e)
		}
	default:
		return nil, fmt.Errorf("unexpected type %T", obj)
	}

	// One allocation each for the rows, all their cells and (for the
	// Metadata policy) all their metadata objects.
	n := len(k.cols)
	rows := make([]metav1.TableRow, len(items))
	cells := make([]any, len(items)*n)
	var partials []metav1.PartialObjectMetadata
	if e.policy == "" || e.policy == metav1.IncludeMetadata {
		partials = make([]metav1.PartialObjectMetadata, len(items))
	}
	for i := range items {
		var partial *metav1.PartialObjectMetadata
		if partials != nil {
			partial = &partials[i]
		}
		if err := k.fill(&rows[i], P(&items[i]), e, cells[i*n:i*n:(i+1)*n], partial); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// fill sets one row: its cells, conditions and object. partial, when not
// nil, is the storage for the Metadata policy's object.
func (k *typed[T, P, L, PL]) fill(row *metav1.TableRow, p P, e *env, out []any, partial *metav1.PartialObjectMetadata) error {
	cells, err := k.cells(p, e, out)
	if err != nil {
		return fmt.Errorf("%s: %w", p.GetName(), err)
	}
	row.Cells = cells
	if k.conditions != nil {
		row.Conditions = k.conditions(p)
	}
	switch e.policy {
	case metav1.IncludeNone:
	case metav1.IncludeObject:
		if p.GetObjectKind().GroupVersionKind() == e.gvk {
			row.Object.Object = p
			break
		}
		cp := P(new(T))
		*cp = *p
		cp.GetObjectKind().SetGroupVersionKind(e.gvk)
		row.Object.Object = cp
	default:
		if partial == nil {
			partial = new(metav1.PartialObjectMetadata)
		}
		partial.TypeMeta = partialObjectMetadataType
		if om, ok := p.GetObjectMeta().(*metav1.ObjectMeta); ok {
			partial.ObjectMeta = *om
		} else {
			partial.ObjectMeta = meta.AsPartialObjectMetadata(p).ObjectMeta
		}
		row.Object.Object = partial
	}
	return nil
}

// registry maps the Go types of items and lists to their printer.
var registry = map[reflect.Type]printer{}

// register adds a kind's printer under its item and list types and
// returns it for optional settings.
func register[T any, P object[T], L any, PL list[L]](cols []metav1.TableColumnDefinition, items func(PL) []T, cells func(P, *env, []any) ([]any, error)) *typed[T, P, L, PL] {
	k := &typed[T, P, L, PL]{cols: cols, items: items, cells: cells}
	registry[reflect.TypeOf(P(nil))] = k
	registry[reflect.TypeOf(PL(nil))] = k
	return k
}
