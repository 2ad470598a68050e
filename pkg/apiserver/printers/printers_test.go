package printers

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	testingclock "k8s.io/utils/clock/testing"
)

// now is the fixed "now" of every test; ages count back from it.
var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func init() { clk = testingclock.NewFakePassiveClock(now) }

// ago is a timestamp d before now.
func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func agoPtr(d time.Duration) *metav1.Time { t := ago(d); return &t }

var podGVK = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}

func objMeta(name string, age time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: "7", CreationTimestamp: ago(age)}
}

func columnNames(cols []metav1.TableColumnDefinition) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

func TestToTable_ListKeepsOrderAndListMeta(t *testing.T) {
	remaining := int64(3)
	list := &corev1.PodList{
		ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: "next", RemainingItemCount: &remaining},
		Items: []corev1.Pod{
			{ObjectMeta: objMeta("b", time.Hour)},
			{ObjectMeta: objMeta("a", time.Minute)},
			{ObjectMeta: objMeta("c", 3*24*time.Hour)},
		},
	}
	table, err := ToTable(podGVK, list, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if table.Kind != "Table" || table.APIVersion != "meta.k8s.io/v1" {
		t.Errorf("table TypeMeta = %v", table.TypeMeta)
	}
	if table.ResourceVersion != "42" || table.Continue != "next" || table.RemainingItemCount == nil || *table.RemainingItemCount != 3 {
		t.Errorf("ListMeta = %+v", table.ListMeta)
	}
	var got []any
	for _, r := range table.Rows {
		got = append(got, r.Cells[0], r.Cells[4])
	}
	want := []any{"b", "60m", "a", "60s", "c", "3d"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("name/age cells = %v, want %v", got, want)
	}
	for i, r := range table.Rows {
		if len(r.Cells) != len(table.ColumnDefinitions) {
			t.Errorf("row %d has %d cells for %d columns", i, len(r.Cells), len(table.ColumnDefinitions))
		}
	}
}

func TestToTable_SingleObjectResourceVersion(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: objMeta("p", time.Hour)}
	table, err := ToTable(podGVK, pod, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if table.ResourceVersion != "7" || len(table.Rows) != 1 {
		t.Errorf("resourceVersion %q, %d rows", table.ResourceVersion, len(table.Rows))
	}
}

func TestToTable_EmptyListHasColumnsAndNoRows(t *testing.T) {
	table, err := ToTable(podGVK, &corev1.PodList{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Rows) != 0 || len(table.ColumnDefinitions) != 9 {
		t.Errorf("%d rows, %d columns", len(table.Rows), len(table.ColumnDefinitions))
	}
}

func TestToTable_NoHeadersDropsColumns(t *testing.T) {
	table, err := ToTable(podGVK, &corev1.Pod{ObjectMeta: objMeta("p", time.Hour)}, Options{NoHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	if table.ColumnDefinitions != nil || len(table.Rows) != 1 {
		t.Errorf("columns %v, %d rows", table.ColumnDefinitions, len(table.Rows))
	}
}

func TestToTable_ColumnsAreACopy(t *testing.T) {
	table, err := ToTable(podGVK, &corev1.PodList{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	table.ColumnDefinitions[0].Name = "changed"
	if podColumns[0].Name != "Name" {
		t.Fatal("ToTable handed out the shared column definitions")
	}
}

func TestToTable_IncludeObjectPolicies(t *testing.T) {
	pod := corev1.Pod{ObjectMeta: objMeta("p", time.Hour)}
	pod.Labels = map[string]string{"app": "web"}
	list := &corev1.PodList{Items: []corev1.Pod{pod}}

	t.Run("None", func(t *testing.T) {
		table, err := ToTable(podGVK, list, Options{IncludeObject: metav1.IncludeNone})
		if err != nil {
			t.Fatal(err)
		}
		if o := table.Rows[0].Object; o.Object != nil || o.Raw != nil {
			t.Errorf("object = %+v, want empty", o)
		}
	})
	for _, policy := range []metav1.IncludeObjectPolicy{"", metav1.IncludeMetadata} {
		t.Run("Metadata"+string(policy), func(t *testing.T) {
			table, err := ToTable(podGVK, list, Options{IncludeObject: policy})
			if err != nil {
				t.Fatal(err)
			}
			partial, ok := table.Rows[0].Object.Object.(*metav1.PartialObjectMetadata)
			if !ok {
				t.Fatalf("object is %T", table.Rows[0].Object.Object)
			}
			if partial.APIVersion != "meta.k8s.io/v1" || partial.Kind != "PartialObjectMetadata" {
				t.Errorf("TypeMeta = %+v", partial.TypeMeta)
			}
			if partial.Name != "p" || partial.Namespace != "default" || partial.Labels["app"] != "web" {
				t.Errorf("ObjectMeta = %+v", partial.ObjectMeta)
			}
		})
	}
	t.Run("Object", func(t *testing.T) {
		table, err := ToTable(podGVK, list, Options{IncludeObject: metav1.IncludeObject})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := table.Rows[0].Object.Object.(*corev1.Pod)
		if !ok {
			t.Fatalf("object is %T", table.Rows[0].Object.Object)
		}
		if got.APIVersion != "v1" || got.Kind != "Pod" || got.Name != "p" {
			t.Errorf("object TypeMeta %+v name %q", got.TypeMeta, got.Name)
		}
		if list.Items[0].Kind != "" {
			t.Error("ToTable wrote the TypeMeta of the caller's object")
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		if _, err := ToTable(podGVK, list, Options{IncludeObject: "Everything"}); err == nil {
			t.Error("want an error for an unknown policy")
		}
	})
}

func TestToTable_DefaultTableForUnknownKinds(t *testing.T) {
	gvk := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	item := func(name string) unstructured.Unstructured {
		u := unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		u.SetName(name)
		u.SetCreationTimestamp(metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))))
		return u
	}
	list := &unstructured.UnstructuredList{Items: []unstructured.Unstructured{item("w1"), item("w2")}}
	list.SetResourceVersion("9")

	table, err := ToTable(gvk, list, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc["name"]},
		{Name: "Created At", Type: "date", Description: objectMetaDoc["creationTimestamp"]},
	}
	if !reflect.DeepEqual(table.ColumnDefinitions, wantCols) {
		t.Errorf("columns = %+v", table.ColumnDefinitions)
	}
	if len(table.Rows) != 2 || !reflect.DeepEqual(table.Rows[1].Cells, []any{"w2", "2026-01-02T02:04:05Z"}) {
		t.Errorf("rows = %+v", table.Rows)
	}
	if table.ResourceVersion != "9" {
		t.Errorf("resourceVersion = %q", table.ResourceVersion)
	}
	if _, ok := table.Rows[0].Object.Object.(*metav1.PartialObjectMetadata); !ok {
		t.Errorf("row object is %T", table.Rows[0].Object.Object)
	}
}

// BenchmarkToTable_5000Pods measures the LIST-as-Table path kubectl hits.
func BenchmarkToTable_5000Pods(b *testing.B) {
	list := &corev1.PodList{Items: make([]corev1.Pod, 5000)}
	for i := range list.Items {
		p := runningPod()
		p.Name = "web-" + strconv.Itoa(i)
		list.Items[i] = *p
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToTable(podGVK, list, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
