package controller

import (
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/controllermanager"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func hpaCondition(h *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType) *autoscalingv2.HorizontalPodAutoscalerCondition {
	for i := range h.Status.Conditions {
		if h.Status.Conditions[i].Type == t {
			return &h.Status.Conditions[i]
		}
	}
	return nil
}

// TestHPA_ClampsToMinMaxAndReportsMissingMetrics: the cluster serves no
// metrics.k8s.io, so the HPA can only enforce its bounds; it says why it
// cannot do more, as upstream.
func TestHPA_ClampsToMinMaxAndReportsMissingMetrics(t *testing.T) {
	c := startCluster(t, []string{"horizontalpodautoscaling"}, func(cfg *controllermanager.Config) {
		cfg.HorizontalPodAutoscalerSyncPeriod = 500 * time.Millisecond
	})
	ctx := t.Context()
	ns := c.namespace(t, "hpa")
	labels := map[string]string{"app": "web"}
	one := int32(1)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
		Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: podTemplate(labels, "web:v1")}}
	if _, err := c.client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	minR, util := int32(3), int32(50)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
		MinReplicas:    &minR, MaxReplicas: 5,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}},
	}}
	if _, err := c.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	replicas := func() int32 {
		d, err := c.client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas
	}
	getHPA := func() *autoscalingv2.HorizontalPodAutoscaler {
		h, err := c.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	events := func() map[string]string {
		evs, err := c.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=HorizontalPodAutoscaler"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, e := range evs.Items {
			out[e.Reason] = e.Message
		}
		return out
	}
	// 1 < minReplicas: scaled up to 3 through deployments/scale.
	eventually(t, 20*time.Second, "scaled up to minReplicas", func() (bool, error) {
		h := getHPA()
		able, limited := hpaCondition(h, autoscalingv2.AbleToScale), hpaCondition(h, autoscalingv2.ScalingLimited)
		return replicas() == 3 && h.Status.DesiredReplicas == 3 && h.Status.LastScaleTime != nil &&
			able != nil && able.Status == corev1.ConditionTrue && able.Reason == "SucceededRescale" &&
			limited != nil && limited.Status == corev1.ConditionTrue && limited.Reason == "TooFewReplicas" &&
			events()["SuccessfulRescale"] == "New size: 3; reason: Current number of replicas below Spec.MinReplicas", nil
	})
	// Within bounds the HPA needs metrics, which are not served.
	eventually(t, 20*time.Second, "ScalingActive=False FailedGetResourceMetric", func() (bool, error) {
		h := getHPA()
		active := hpaCondition(h, autoscalingv2.ScalingActive)
		ev := events()
		_, failedMetric := ev["FailedGetResourceMetric"]
		_, failedCompute := ev["FailedComputeMetricsReplicas"]
		return active != nil && active.Status == corev1.ConditionFalse && active.Reason == "FailedGetResourceMetric" &&
			failedMetric && failedCompute, nil
	})
	if n := replicas(); n != 3 {
		t.Fatalf("replicas changed to %d without metrics", n)
	}
	// maxReplicas lowered below the current count: scaled down to it.
	if _, err := c.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Patch(ctx, "web", types.MergePatchType,
		[]byte(`{"spec":{"minReplicas":1,"maxReplicas":2}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "scaled down to maxReplicas", func() (bool, error) {
		h := getHPA()
		limited := hpaCondition(h, autoscalingv2.ScalingLimited)
		return replicas() == 2 && h.Status.DesiredReplicas == 2 && limited != nil && limited.Reason == "TooManyReplicas" &&
			events()["SuccessfulRescale"] == "New size: 2; reason: Current number of replicas above Spec.MaxReplicas", nil
	})
}
