package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestDisruption_BudgetStatusForPercentagesBarePodsAndFailures: a
// percentage minAvailable is scaled against the Deployment's replicas
// (expectedPods), a not-ready pod is not healthy; an integer minAvailable
// over bare pods expects the pods that exist; maxUnavailable over pods
// without a controller cannot be computed: SyncFailed and no disruptions.
func TestDisruption_BudgetStatusForPercentagesBarePodsAndFailures(t *testing.T) {
	c := startCluster(t, []string{"disruption", "deployment", "replicaset"})
	ctx := t.Context()
	ns := c.namespace(t, "pdb-status")
	c.autoReady(t, ns)
	if _, err := c.client.AppsV1().Deployments(ns).Create(ctx, deployment("web", 4, "web:v1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitComplete(t, ns, "web", 4)
	for i := 0; i < 3; i++ {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("bare-", i), Labels: map[string]string{"app": "bare"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
		if _, err := c.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	half, two, one := intstr.FromString("50%"), intstr.FromInt32(2), intstr.FromInt32(1)
	for _, pdb := range []*policyv1.PodDisruptionBudget{
		{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &half,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "bare"}, Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &two,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "bare"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "bare-max"}, Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "bare"}}}},
	} {
		if _, err := c.client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	status := func(name string) (policyv1.PodDisruptionBudgetStatus, *metav1.Condition) {
		p, err := c.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var cond *metav1.Condition
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == policyv1.DisruptionAllowedCondition {
				cond = &p.Status.Conditions[i]
			}
		}
		if p.Status.ObservedGeneration != p.Generation {
			return policyv1.PodDisruptionBudgetStatus{ExpectedPods: -1}, nil
		}
		return p.Status, cond
	}
	// Bare pods are not ready (autoReady marks them too, so wait for it).
	eventually(t, 20*time.Second, "percentage budget over the deployment", func() (bool, error) {
		st, cond := status("web")
		return st.ExpectedPods == 4 && st.DesiredHealthy == 2 && st.CurrentHealthy == 4 && st.DisruptionsAllowed == 2 &&
			cond != nil && cond.Status == metav1.ConditionTrue && cond.Reason == policyv1.SufficientPodsReason, nil
	})
	eventually(t, 20*time.Second, "integer budget over bare pods", func() (bool, error) {
		st, _ := status("bare")
		return st.ExpectedPods == 3 && st.DesiredHealthy == 2 && st.CurrentHealthy == 3 && st.DisruptionsAllowed == 1, nil
	})
	eventually(t, 20*time.Second, "maxUnavailable over bare pods fails closed", func() (bool, error) {
		st, cond := status("bare-max")
		return st.DisruptionsAllowed == 0 && cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == policyv1.SyncFailedReason &&
			strings.Contains(cond.Message, "controller"), nil
	})
	// One web pod stops being ready: 3 healthy of the 2 required.
	pods := activePods(c.pods(t, ns, "app=web"))
	p := pods[0]
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.Now()}}
	if _, err := c.client.CoreV1().Pods(ns).UpdateStatus(ctx, &p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "a not-ready pod is not healthy", func() (bool, error) {
		st, _ := status("web")
		return st.ExpectedPods == 4 && st.CurrentHealthy == 3 && st.DisruptionsAllowed == 1, nil
	})
	// Scaling the deployment changes the expected count and the 50%.
	if _, err := c.client.AppsV1().Deployments(ns).Patch(ctx, "web", "application/merge-patch+json", []byte(`{"spec":{"replicas":6}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "budget follows the scale", func() (bool, error) {
		st, _ := status("web")
		return st.ExpectedPods == 6 && st.DesiredHealthy == 3 && st.CurrentHealthy == 5 && st.DisruptionsAllowed == 2, nil
	})
}
