package controller

import (
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestDisruption_BudgetStatusGatesEvictions(t *testing.T) {
	c := startCluster(t, []string{"disruption", "deployment", "replicaset"})
	ctx := t.Context()
	ns := c.namespace(t, "pdb")
	c.autoReady(t, ns)
	if _, err := c.client.AppsV1().Deployments(ns).Create(ctx, deployment("web", 3, "web:v1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitComplete(t, ns, "web", 3)
	one := intstr.FromInt32(1)
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: policyv1.PodDisruptionBudgetSpec{
		MaxUnavailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	if _, err := c.client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "budget status", func() (bool, error) {
		p, err := c.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := p.Status
		return st.ObservedGeneration == p.Generation && st.ExpectedPods == 3 && st.DesiredHealthy == 2 &&
			st.CurrentHealthy == 3 && st.DisruptionsAllowed == 1, nil
	})
	pods := activePods(c.pods(t, ns, "app=web"))
	evict := func(name string) error {
		return c.client.PolicyV1().Evictions(ns).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
	}
	if err := evict(pods[0].Name); err != nil {
		t.Fatalf("first eviction: %v", err)
	}
	// The second is refused until the replacement is ready and the budget
	// recomputed; with autoReady it comes back.
	err := evict(pods[1].Name)
	if err != nil && !apierrors.IsTooManyRequests(err) {
		t.Fatalf("second eviction: %v", err)
	}
	eventually(t, 30*time.Second, "budget recovered after the replacement", func() (bool, error) {
		p, err := c.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return p.Status.CurrentHealthy == 3 && p.Status.DisruptionsAllowed == 1 && len(activePods(c.pods(t, ns, "app=web"))) == 3, nil
	})
	for _, cond := range mustPDB(t, c, ns).Status.Conditions {
		if cond.Type == policyv1.DisruptionAllowedCondition && cond.Status != metav1.ConditionTrue {
			t.Errorf("DisruptionAllowed = %v", cond)
		}
	}
}

func mustPDB(t *testing.T, c *cluster, ns string) *policyv1.PodDisruptionBudget {
	p, err := c.client.PolicyV1().PodDisruptionBudgets(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
