package integration

import (
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// TestConversion_WatchesOfSharedStorageServeTheirOwnVersion watches
// events.k8s.io/v1 events (stored as core/v1) and autoscaling/v1 HPAs
// (stored as v2), in JSON and protobuf, with field selectors in the served
// version's own terms: every event carries the served kind, converted.
func TestConversion_WatchesOfSharedStorageServeTheirOwnVersion(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	proto, err := kubernetes.NewForConfig(s.ProtobufConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []struct {
		name   string
		client kubernetes.Interface
	}{{"json", s.Client}, {"proto", proto}} {
		t.Run(enc.name, func(t *testing.T) {
			c := enc.client
			ns := createNamespace(t, c, "conv-"+enc.name)
			ew, err := c.EventsV1().Events(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "regarding.name=web-0"})
			if err != nil {
				t.Fatal(err)
			}
			defer ew.Stop()
			hw, err := c.AutoscalingV1().HorizontalPodAutoscalers(ns).Watch(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer hw.Stop()

			other := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "other"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "web-1"},
				Reason: "Pulled", Message: "other pod", Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "kubelet"}}
			if _, err := c.CoreV1().Events(ns).Create(ctx, other, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "web-0"},
				Reason: "Started", Message: "started container", Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "kubelet", Host: "n1"}, Count: 2}
			if _, err := c.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			got := nextEvent(t, ew)
			e, ok := got.Object.(*eventsv1.Event)
			if got.Type != watch.Added || !ok {
				t.Fatalf("events.k8s.io watch: %s %T", got.Type, got.Object)
			}
			if e.Name != "e" || e.Note != "started container" || e.Regarding.Name != "web-0" || e.DeprecatedCount != 2 || e.DeprecatedSource.Host != "n1" {
				t.Fatalf("events.k8s.io watch object: %+v", e)
			}

			if _, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, newHPAv2("web"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			got = nextEvent(t, hw)
			h, ok := got.Object.(*autoscalingv1.HorizontalPodAutoscaler)
			if got.Type != watch.Added || !ok {
				t.Fatalf("autoscaling/v1 watch: %s %T", got.Type, got.Object)
			}
			if h.Spec.TargetCPUUtilizationPercentage == nil || *h.Spec.TargetCPUUtilizationPercentage != 60 || h.Spec.MaxReplicas != 5 {
				t.Fatalf("autoscaling/v1 watch object: %+v", h.Spec)
			}
		})
	}
}
