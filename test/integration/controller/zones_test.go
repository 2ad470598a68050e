package controller

import (
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/controllermanager"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// zoneNode creates a node in zone whose kubelet reports Ready=status.
func (c *cluster) zoneNode(t *testing.T, name, zone string, status corev1.ConditionStatus) {
	t.Helper()
	ctx := t.Context()
	n, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{corev1.LabelTopologyRegion: "r", corev1.LabelTopologyZone: zone}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status, Reason: "KubeletReady",
		LastHeartbeatTime: now, LastTransitionTime: now}}
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// nodeTaints are the node's taints as "key:effect" strings.
func (c *cluster) nodeTaints(t *testing.T, name string) map[string]bool {
	t.Helper()
	n, err := c.client.CoreV1().Nodes().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, tn := range n.Spec.Taints {
		out[tn.Key+":"+string(tn.Effect)] = true
	}
	return out
}

var (
	notReadyNoSchedule = corev1.TaintNodeNotReady + ":" + string(corev1.TaintEffectNoSchedule)
	notReadyNoExecute  = corev1.TaintNodeNotReady + ":" + string(corev1.TaintEffectNoExecute)
)

// Every intermediate state of this story is safe: the NoExecute taints a
// controller without zone rules would add at the same time as the
// NoSchedule ones must never appear on the nodes of a disrupted cluster
// or of a partially disrupted small zone.
func TestNodeLifecycle_ZoneDisruptionRules(t *testing.T) {
	c := startCluster(t, []string{"nodelifecycle"}, func(cfg *controllermanager.Config) {
		cfg.NodeMonitorGracePeriod = time.Minute // conditions are set by the test
		cfg.NodeMonitorPeriod = 200 * time.Millisecond
		cfg.NodeEvictionRate = 100
	})
	ctx := t.Context()
	ns := c.namespace(t, "zones")
	zero := int64(0)

	// Zone a: every node not ready, and no other zone: full disruption
	// everywhere, so nothing is tainted NoExecute and nothing evicted.
	c.zoneNode(t, "a1", "a", corev1.ConditionFalse)
	c.zoneNode(t, "a2", "a", corev1.ConditionFalse)
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "victim"},
		Spec: corev1.PodSpec{NodeName: "a1", Containers: []corev1.Container{{Name: "c", Image: "x"}},
			// Not the apiserver's default 300s: evicted as soon as tainted.
			Tolerations: []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists,
				Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &zero}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a1", "a2"} {
		eventually(t, 20*time.Second, n+" tainted not-ready NoSchedule", func() (bool, error) {
			return c.nodeTaints(t, n)[notReadyNoSchedule], nil
		})
		if c.nodeTaints(t, n)[notReadyNoExecute] {
			t.Errorf("%s tainted NoExecute while every zone is fully disrupted", n)
		}
	}
	if p, err := c.client.CoreV1().Pods(ns).Get(ctx, "victim", metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Errorf("pod evicted while every zone is fully disrupted: %v", err)
	}

	// Zone b: three of four nodes not ready: partially disrupted, and small
	// (at most --large-cluster-size-threshold nodes), so no evictions in
	// it. Zone a is now the only fully disrupted zone: evictions resume
	// there at the normal rate.
	for _, n := range []string{"b1", "b2", "b3"} {
		c.zoneNode(t, n, "b", corev1.ConditionFalse)
	}
	c.zoneNode(t, "b4", "b", corev1.ConditionTrue)
	for _, n := range []string{"a1", "a2"} {
		eventually(t, 20*time.Second, n+" tainted not-ready NoExecute", func() (bool, error) {
			return c.nodeTaints(t, n)[notReadyNoExecute], nil
		})
	}
	eventually(t, 20*time.Second, "the pod on a1 evicted", func() (bool, error) {
		p, err := c.client.CoreV1().Pods(ns).Get(ctx, "victim", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && p.DeletionTimestamp != nil, nil
	})
	for _, n := range []string{"b1", "b2", "b3"} {
		eventually(t, 20*time.Second, n+" tainted not-ready NoSchedule", func() (bool, error) {
			return c.nodeTaints(t, n)[notReadyNoSchedule], nil
		})
		if c.nodeTaints(t, n)[notReadyNoExecute] {
			t.Errorf("%s tainted NoExecute in a partially disrupted small zone", n)
		}
	}
	if len(c.nodeTaints(t, "b4")) != 0 {
		t.Errorf("ready node b4 tainted: %v", c.nodeTaints(t, "b4"))
	}
	eventually(t, 20*time.Second, "a RegisteredNode event for b4", func() (bool, error) {
		l, err := c.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=b4,reason=RegisteredNode"})
		return err == nil && len(l.Items) > 0, err
	})
}
