package attrs

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fuzzKinds are the kinds FuzzFieldSelector converts selectors for, each
// with an object whose field set the converted selector is matched against:
// kinds with their own fields, aliases, no namespace label, and a plain one.
var fuzzKinds = []struct {
	gk  schema.GroupKind
	obj runtime.Object
}{
	{podGK, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "prod", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "node-a", RestartPolicy: corev1.RestartPolicyAlways},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"},
	}},
	{nodeGK, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}, Spec: corev1.NodeSpec{Unschedulable: true}}},
	{namespaceGK, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}},
	{eventGK, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e1", Namespace: "prod"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1", Namespace: "prod"},
		Reason:         "Scheduled", Type: corev1.EventTypeNormal,
	}},
	{eventsGK, &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "e2", Namespace: "prod"},
		Regarding:  corev1.ObjectReference{Kind: "Node", Name: "node-a"},
		Reason:     "Ready", Type: corev1.EventTypeWarning, ReportingController: "kubelet",
	}},
	{schema.GroupKind{Kind: "Secret"}, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "prod"}, Type: corev1.SecretTypeOpaque}},
	{schema.GroupKind{Kind: "ConfigMap"}, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "prod"}}},
}

// FuzzFieldSelector parses arbitrary fieldSelector strings as the REST layer
// does and checks: a parsed selector round-trips through String(); for each
// kind, ConvertSelector and ValidateSelector agree, and a converted
// selector names only fields the kind's field set carries (so it can match),
// converts again to itself, and matches the same objects as before String().
func FuzzFieldSelector(f *testing.F) {
	for _, seed := range []string{
		"",
		"metadata.name=web-1",
		"metadata.name==web-1,metadata.namespace!=kube-system",
		"spec.nodeName=node-a,status.phase=Running",
		"spec.host=node-a",
		"status.podIPs=10.0.0.1",
		"spec.unschedulable=true",
		"status.phase=Active,name=prod",
		"involvedObject.kind=Pod,involvedObject.name=web-1,reason=Scheduled",
		"regarding.kind=Node,reportingController=kubelet,type=Warning",
		"type=Opaque",
		"metadata.name=a\\,b",
		"metadata.name=a\\=b\\\\",
		"metadata.name=",
		"=x",
		"metadata.name",
		"metadata.name=a,,metadata.namespace=b",
		"metadata.name!=a!=b",
		"a=b=c",
		"a\\=b=c",
		"spec.nodeName=\x00",
		" metadata.name = web-1 ",
		"metadata.name=\\",
		"unknown.field=x",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := fields.ParseSelector(s)
		if err != nil {
			return
		}
		again, err := fields.ParseSelector(sel.String())
		if err != nil {
			t.Fatalf("ParseSelector(%q).String() = %q does not parse: %v", s, sel.String(), err)
		}
		if !reflect.DeepEqual(requirementsOf(sel), requirementsOf(again)) {
			t.Fatalf("ParseSelector(%q) = %v, but its String() %q parses to %v", s, requirementsOf(sel), sel.String(), requirementsOf(again))
		}
		for _, k := range fuzzKinds {
			converted, err := ConvertSelector(k.gk, sel)
			verr := ValidateSelector(k.gk, sel)
			if (err == nil) != (verr == nil) {
				t.Fatalf("%v %q: ConvertSelector error %v, ValidateSelector error %v", k.gk, s, err, verr)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "field label not supported: ") {
					t.Fatalf("%v %q: error %q is not upstream's", k.gk, s, err)
				}
				continue
			}
			_, fieldSet, err := For(k.gk)(k.obj)
			if err != nil {
				t.Fatalf("%v: field set: %v", k.gk, err)
			}
			for _, r := range converted.Requirements() {
				_, inSet := fieldSet[r.Field]
				if !inSet && !(k.gk == podGK && r.Field == "status.podIPs") {
					t.Fatalf("%v %q: converted selector %q names %q, which the field set %v lacks", k.gk, s, converted, r.Field, fieldSet)
				}
			}
			twice, err := ConvertSelector(k.gk, converted)
			if k.gk != eventsGK && (err != nil || !reflect.DeepEqual(requirementsOf(twice), requirementsOf(converted))) {
				// events.k8s.io rewrites its spellings to core names it does
				// not itself accept, as upstream; every other kind is a fixed point.
				t.Fatalf("%v %q: converting %q again = %v, %v", k.gk, s, converted, twice, err)
			}
			conv2, err := ConvertSelector(k.gk, again)
			if err != nil {
				t.Fatalf("%v: %q converts but its String() %q does not: %v", k.gk, s, sel.String(), err)
			}
			if converted.Matches(fieldSet) != conv2.Matches(fieldSet) {
				t.Fatalf("%v: %q and its String() %q match %v differently", k.gk, s, sel.String(), fieldSet)
			}
		}
	})
}

// requirementsOf returns sel's requirements in a canonical order: String()
// sorts the terms, so order is not part of a selector's meaning.
func requirementsOf(sel fields.Selector) fields.Requirements {
	reqs := sel.Requirements()
	if len(reqs) == 0 {
		return nil
	}
	sort.Slice(reqs, func(i, j int) bool {
		a, b := reqs[i], reqs[j]
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		if a.Operator != b.Operator {
			return a.Operator < b.Operator
		}
		return a.Value < b.Value
	})
	return reqs
}

// FuzzLabelSelector parses arbitrary labelSelector strings and checks that
// a parsed selector round-trips through String() to the same requirements
// and matches a fuzzed label set the same way before and after.
func FuzzLabelSelector(f *testing.F) {
	for _, seed := range []struct{ sel, key, value string }{
		{"", "app", "web"},
		{"app=web", "app", "web"},
		{"app==web,tier!=db", "tier", "db"},
		{"app in (web, api),!canary", "app", "api"},
		{"env notin (prod),release", "release", ""},
		{"example.com/team=a-b_c.d", "example.com/team", "a-b_c.d"},
		{"app in ()", "app", ""},
		{"app in (a,,b)", "app", "a"},
		{"x>1,y<10", "x", "2"},
		{"x>a", "x", "1"},
		{"app=web,", "app", "web"},
		{"!app=web", "app", "web"},
		{"app=", "app", ""},
		{"app=" + strings.Repeat("a", 64), "app", strings.Repeat("a", 64)},
		{"-app=web", "-app", "web"},
		{"app=web app=api", "app", "web"},
		{"app=(web)", "app", "web"},
		{"a/b/c=d", "a/b/c", "d"},
		{"app in (web", "app", "web"},
	} {
		f.Add(seed.sel, seed.key, seed.value)
	}
	f.Fuzz(func(t *testing.T, s, key, value string) {
		sel, err := labels.Parse(s)
		if err != nil {
			return
		}
		again, err := labels.Parse(sel.String())
		if err != nil {
			t.Fatalf("labels.Parse(%q).String() = %q does not parse: %v", s, sel.String(), err)
		}
		r1, _ := sel.Requirements()
		r2, _ := again.Requirements()
		if len(r1) != len(r2) {
			t.Fatalf("labels.Parse(%q) has %d requirements, its String() %q has %d", s, len(r1), sel.String(), len(r2))
		}
		for i := range r1 {
			if !r1[i].Equal(r2[i]) {
				t.Fatalf("labels.Parse(%q) requirement %d = %v, after String() %q = %v", s, i, r1[i], sel.String(), r2[i])
			}
		}
		if again.String() != sel.String() {
			t.Fatalf("labels.Parse(%q).String() = %q is not a fixed point: %q", s, sel.String(), again.String())
		}
		for _, set := range []labels.Set{{}, {key: value}, {key: value, "app": "web"}} {
			if sel.Matches(set) != again.Matches(set) {
				t.Fatalf("labels.Parse(%q) and its String() %q match %v differently", s, sel.String(), set)
			}
		}
	})
}
