package endpointslice

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func readyAt(name string, ts time.Time) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(ts)}}}}
}

func TestTriggerTimes_AsUpstreamsTracker(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", CreationTimestamp: metav1.NewTime(t0)}}
	tt := newTriggerTimes()
	steps := []struct {
		what string
		pods []*corev1.Pod
		want time.Time
	}{
		{"a new Service: its creation", []*corev1.Pod{readyAt("a", t0.Add(time.Second))}, t0},
		{"nothing changed: none", []*corev1.Pod{readyAt("a", t0.Add(time.Second))}, time.Time{}},
		{"a pod turned ready: its transition", []*corev1.Pod{readyAt("a", t0.Add(time.Second)), readyAt("b", t0.Add(5*time.Second))}, t0.Add(5 * time.Second)},
		{"two pods changed: the earliest", []*corev1.Pod{readyAt("a", t0.Add(9*time.Second)), readyAt("b", t0.Add(7*time.Second))}, t0.Add(7 * time.Second)},
		{"a pod went away: none", []*corev1.Pod{readyAt("a", t0.Add(9*time.Second))}, time.Time{}},
	}
	for _, s := range steps {
		if got := tt.compute("ns/web", svc, s.pods); !got.Equal(s.want) {
			t.Errorf("%s: trigger %v, want %v", s.what, got, s.want)
		}
	}
	tt.forget("ns/web")
	if got := tt.compute("ns/web", svc, steps[0].pods); !got.Equal(t0) {
		t.Errorf("after forget: trigger %v, want the Service's creation %v", got, t0)
	}
}

func TestReconcile_WritesTriggerTimeAnnotation(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("create", "endpointslices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		a.(k8stesting.CreateAction).GetObject().(*discoveryv1.EndpointSlice).Name = "web-1"
		return false, nil, nil
	})
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(client, f.Core().V1().Services(), f.Core().V1().Pods(), f.Core().V1().Nodes(), f.Discovery().V1().EndpointSlices())
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc"}}
	group := func(ips ...string) []*group {
		g := &group{addressType: discoveryv1.AddressTypeIPv4}
		for _, ip := range ips {
			g.endpoints = append(g.endpoints, discoveryv1.Endpoint{Addresses: []string{ip}})
		}
		return []*group{g}
	}
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	ctx := t.Context()
	if err := c.reconcile(ctx, "ns/web", svc, group("10.0.0.1"), nil, t1); err != nil {
		t.Fatal(err)
	}
	get := func() *discoveryv1.EndpointSlice {
		t.Helper()
		s, err := client.DiscoveryV1().EndpointSlices("ns").Get(ctx, "web-1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := get()
	if got := s.Annotations[corev1.EndpointsLastChangeTriggerTime]; got != "2026-01-02T03:04:05.123456789Z" {
		t.Errorf("created slice's trigger time %q", got)
	}
	// An update for a new trigger carries it.
	t2 := t1.Add(time.Minute)
	if err := c.reconcile(ctx, "ns/web", svc, group("10.0.0.1", "10.0.0.2"), []*discoveryv1.EndpointSlice{s}, t2); err != nil {
		t.Fatal(err)
	}
	s = get()
	if got := s.Annotations[corev1.EndpointsLastChangeTriggerTime]; got != t2.Format(time.RFC3339Nano) || len(s.Endpoints) != 2 {
		t.Errorf("updated slice: trigger time %q, %d endpoints", got, len(s.Endpoints))
	}
	// An update without a trigger drops the old one.
	if err := c.reconcile(ctx, "ns/web", svc, group("10.0.0.2"), []*discoveryv1.EndpointSlice{s}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, ok := get().Annotations[corev1.EndpointsLastChangeTriggerTime]; ok {
		t.Errorf("update without a trigger kept %q", got)
	}
}
