package conversion

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func i32(v int32) *int32 { return &v }

func q(s string) *resource.Quantity { v := resource.MustParse(s); return &v }

func fullHPA() *autoscalingv2.HorizontalPodAutoscaler {
	maxPolicy := autoscalingv2.MaxChangePolicySelect
	gen := int64(3)
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod", Annotations: map[string]string{"team": "a"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
			MinReplicas:    i32(2), MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("100")}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("30")}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
					DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Ingress", Name: "main", APIVersion: "networking.k8s.io/v1"},
					Metric:          autoscalingv2.MetricIdentifier{Name: "rps"},
					Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("5")}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(60)}}},
			},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: i32(120), SelectPolicy: &maxPolicy,
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}}},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			ObservedGeneration: &gen, CurrentReplicas: 3, DesiredReplicas: 4,
			CurrentMetrics: []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
					Current: autoscalingv2.MetricValueStatus{AverageUtilization: i32(72), AverageValue: q("144m")}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
					Metric: autoscalingv2.MetricIdentifier{Name: "qps"}, Current: autoscalingv2.MetricValueStatus{AverageValue: q("90")}}},
			},
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{
				Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale",
				LastTransitionTime: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}},
		},
	}
}

func TestHPA_V2ToV1(t *testing.T) {
	v1, err := HPAToV1(fullHPA())
	if err != nil {
		t.Fatal(err)
	}
	if v1.Spec.TargetCPUUtilizationPercentage == nil || *v1.Spec.TargetCPUUtilizationPercentage != 60 {
		t.Fatalf("targetCPUUtilizationPercentage = %v, want 60", v1.Spec.TargetCPUUtilizationPercentage)
	}
	if v1.Status.CurrentCPUUtilizationPercentage == nil || *v1.Status.CurrentCPUUtilizationPercentage != 72 {
		t.Fatalf("currentCPUUtilizationPercentage = %v, want 72", v1.Status.CurrentCPUUtilizationPercentage)
	}
	for _, k := range []string{MetricSpecsAnnotation, MetricStatusesAnnotation, ConditionsAnnotation, BehaviorAnnotation, "team"} {
		if _, ok := v1.Annotations[k]; !ok {
			t.Errorf("annotation %s missing: %v", k, v1.Annotations)
		}
	}
	want := `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"100"}},` +
		`{"type":"External","external":{"metricName":"queue","targetValue":"30"}},` +
		`{"type":"Object","object":{"target":{"kind":"Ingress","name":"main","apiVersion":"networking.k8s.io/v1"},"metricName":"rps","targetValue":"0","averageValue":"5"}}]`
	if got := v1.Annotations[MetricSpecsAnnotation]; got != want {
		t.Errorf("metrics annotation\n got %s\nwant %s", got, want)
	}
}

func TestHPA_RoundTripFromV2(t *testing.T) {
	in := fullHPA()
	v1, err := HPAToV1(in)
	if err != nil {
		t.Fatal(err)
	}
	back := HPAToV2(v1)
	// v1 puts the CPU target after the other metrics, as upstream.
	want := in.DeepCopy()
	cpu := want.Spec.Metrics[3]
	want.Spec.Metrics = append([]autoscalingv2.MetricSpec{}, want.Spec.Metrics[:3]...)
	want.Spec.Metrics = append(want.Spec.Metrics, cpu)
	if !equality.Semantic.DeepEqual(want, back) {
		t.Fatalf("v2 -> v1 -> v2 changed the object:\n%s", cmp.Diff(want, back))
	}
}

func TestHPA_RoundTripFromV1(t *testing.T) {
	in := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod"},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
			MinReplicas:    i32(1), MaxReplicas: 5, TargetCPUUtilizationPercentage: i32(50)},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, DesiredReplicas: 2},
	}
	v2 := HPAToV2(in)
	if len(v2.Spec.Metrics) != 1 || *v2.Spec.Metrics[0].Resource.Target.AverageUtilization != 50 {
		t.Fatalf("v2 metrics = %+v", v2.Spec.Metrics)
	}
	back, err := HPAToV1(v2)
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(in, back) {
		t.Fatalf("v1 -> v2 -> v1 changed the object:\n%s", cmp.Diff(in, back))
	}
}

func TestHPA_V1WithoutTargetMeans80PercentCPU(t *testing.T) {
	v2 := HPAToV2(&autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3}})
	if len(v2.Spec.Metrics) != 1 || !isCPUUtilization(&v2.Spec.Metrics[0]) || *v2.Spec.Metrics[0].Resource.Target.AverageUtilization != 80 {
		t.Fatalf("metrics = %+v, want CPU 80%%", v2.Spec.Metrics)
	}
}

func TestHPA_ClientAnnotationsAreNotTrusted(t *testing.T) {
	// A v1 client cannot smuggle metrics into a v2 read by sending the
	// annotation on a v2 object: HPAToV1 rebuilds them from the spec.
	in := fullHPA()
	in.Spec.Metrics = in.Spec.Metrics[3:]
	in.Spec.Behavior = nil
	in.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
	in.Annotations[MetricSpecsAnnotation] = `[{"type":"Pods"}]`
	v1, err := HPAToV1(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v1.Annotations[MetricSpecsAnnotation]; ok {
		t.Fatalf("stale metrics annotation kept: %v", v1.Annotations)
	}
	back := HPAToV2(v1)
	if _, ok := back.Annotations[MetricSpecsAnnotation]; ok || back.Annotations["team"] != "a" {
		t.Fatalf("annotations after v1 -> v2: %v", back.Annotations)
	}
}

func coreEvent() *corev1.Event {
	ts := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "prod"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "prod", UID: "u1", APIVersion: "v1", FieldPath: "spec.containers{c}"},
		Reason:         "Pulled", Message: "image pulled", Type: corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "kubelet", Host: "node-a"},
		FirstTimestamp: ts, LastTimestamp: ts, Count: 4,
		EventTime: metav1.NewMicroTime(ts.Time),
		Series:    &corev1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(ts.Time)},
		Action:    "Pulling", Related: &corev1.ObjectReference{Kind: "Node", Name: "node-a"},
		ReportingController: "kubelet", ReportingInstance: "kubelet-node-a",
	}
}

func TestEvent_FieldMapping(t *testing.T) {
	in := coreEvent()
	out := EventToEventsV1(in)
	if out.Regarding != in.InvolvedObject || out.Note != in.Message || out.DeprecatedSource != in.Source ||
		out.DeprecatedCount != 4 || !out.DeprecatedFirstTimestamp.Equal(&in.FirstTimestamp) ||
		out.ReportingController != "kubelet" || out.ReportingInstance != "kubelet-node-a" || out.Action != "Pulling" ||
		out.Series == nil || out.Series.Count != 4 || out.Related == nil || out.Related.Name != "node-a" {
		t.Fatalf("events.k8s.io event = %+v", out)
	}
}

func TestEvent_RoundTrips(t *testing.T) {
	in := coreEvent()
	if back := EventToCoreV1(EventToEventsV1(in)); !equality.Semantic.DeepEqual(in, back) {
		t.Fatalf("core -> events -> core:\n%s", cmp.Diff(in, back))
	}
	ev := EventToEventsV1(in)
	if back := EventToEventsV1(EventToCoreV1(ev)); !equality.Semantic.DeepEqual(ev, back) {
		t.Fatalf("events -> core -> events:\n%s", cmp.Diff(ev, back))
	}
}

func TestConvert(t *testing.T) {
	hpaList := &autoscalingv2.HorizontalPodAutoscalerList{ListMeta: metav1.ListMeta{ResourceVersion: "9"},
		Items: []autoscalingv2.HorizontalPodAutoscaler{*fullHPA(), *fullHPA()}}
	evList := &corev1.EventList{ListMeta: metav1.ListMeta{ResourceVersion: "5"}, Items: []corev1.Event{*coreEvent()}}
	tests := []struct {
		name  string
		in    runtime.Object
		to    string // group/version/kind
		check func(t *testing.T, out runtime.Object)
	}{
		{"hpa v2 to v1", fullHPA(), "autoscaling/v1/HorizontalPodAutoscaler", func(t *testing.T, out runtime.Object) {
			if h := out.(*autoscalingv1.HorizontalPodAutoscaler); *h.Spec.TargetCPUUtilizationPercentage != 60 {
				t.Fatalf("cpu target %d", *h.Spec.TargetCPUUtilizationPercentage)
			}
		}},
		{"hpa list v2 to v1 by item kind", hpaList, "autoscaling/v1/HorizontalPodAutoscaler", func(t *testing.T, out runtime.Object) {
			l := out.(*autoscalingv1.HorizontalPodAutoscalerList)
			if len(l.Items) != 2 || l.ResourceVersion != "9" || *l.Items[1].Spec.TargetCPUUtilizationPercentage != 60 {
				t.Fatalf("list = %+v", l)
			}
		}},
		{"hpa list v1 back to v2", func() runtime.Object {
			o, _ := Convert(hpaList, autoscalingv1.SchemeGroupVersion.WithKind("HorizontalPodAutoscalerList"))
			return o
		}(), "autoscaling/v2/HorizontalPodAutoscalerList", func(t *testing.T, out runtime.Object) {
			if l := out.(*autoscalingv2.HorizontalPodAutoscalerList); len(l.Items) != 2 || len(l.Items[0].Spec.Metrics) != 4 {
				t.Fatalf("list = %+v", l)
			}
		}},
		{"event list core to events.k8s.io", evList, "events.k8s.io/v1/EventList", func(t *testing.T, out runtime.Object) {
			l := out.(*eventsv1.EventList)
			if len(l.Items) != 1 || l.Items[0].Note != "image pulled" || l.ResourceVersion != "5" {
				t.Fatalf("list = %+v", l)
			}
		}},
		{"event events.k8s.io to core sets TypeMeta when the input had it", func() runtime.Object {
			e := EventToEventsV1(coreEvent())
			e.TypeMeta = metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"}
			return e
		}(), "/v1/Event", func(t *testing.T, out runtime.Object) {
			e := out.(*corev1.Event)
			if e.Message != "image pulled" || e.APIVersion != "v1" || e.Kind != "Event" {
				t.Fatalf("event = %+v", e)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Convert(tt.in, parseGVK(tt.to))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, out)
		})
	}
}

func TestConvert_IdentityAndErrors(t *testing.T) {
	h := fullHPA()
	out, err := Convert(h, autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"))
	if err != nil || out != runtime.Object(h) {
		t.Fatalf("identity conversion: %v, %v", out, err)
	}
	if _, err := Convert(h, eventsv1.SchemeGroupVersion.WithKind("Event")); err == nil {
		t.Fatal("HPA converted to an Event")
	}
	if _, err := Convert(&corev1.Pod{}, corev1.SchemeGroupVersion.WithKind("Pod")); err == nil {
		t.Fatal("Pod is not convertible but no error")
	}
}

func parseGVK(s string) (gvk schema.GroupVersionKind) {
	var parts [3]string
	n := 0
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '/' {
			parts[n] = s[start:i]
			n++
			start = i + 1
		}
	}
	return schema.GroupVersionKind{Group: parts[0], Version: parts[1], Kind: parts[2]}
}
