package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/controllermanager"
	"github.com/kstack/kstack/test/integration/framework"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// readyNode creates a Ready node and its Lease, as a kubelet would.
func (c *cluster) readyNode(t *testing.T, name string) *coordinationv1.Lease {
	t.Helper()
	ctx := t.Context()
	n, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		LastHeartbeatTime: now, LastTransitionTime: now}}
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	renew := metav1.NewMicroTime(time.Now())
	holder := name
	secs := int32(40)
	l, err := c.client.CoordinationV1().Leases("kube-node-lease").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, RenewTime: &renew}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestNodeLifecycle_SilentNodeIsTaintedAndItsPodsEvicted(t *testing.T) {
	c := startCluster(t, []string{"nodelifecycle", "replicaset"}, func(cfg *controllermanager.Config) {
		cfg.NodeMonitorGracePeriod = 2 * time.Second
		cfg.NodeMonitorPeriod = 500 * time.Millisecond
	})
	ctx := t.Context()
	ns := c.namespace(t, "nodes")
	lease := c.readyNode(t, "alive")
	c.readyNode(t, "silent")
	// A pod on the silent node tolerating unreachable for 3s, one forever.
	mk := func(name string, secs *int64) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: "silent",
			Containers:  []corev1.Container{{Name: "c", Image: "x"}},
			Tolerations: []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs}}}}
		p, err := c.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.markReady(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	three := int64(3)
	mk("short", &three)
	mk("forever", nil)
	// A ReplicaSet's pod bound to the silent node, tolerating it for 1s.
	one := int64(1)
	rs := replicaSet("app", 1, map[string]string{"app": "rs"})
	rs.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
		Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &one}}
	if _, err := c.client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var rsPod string
	eventually(t, 20*time.Second, "the ReplicaSet's pod", func() (bool, error) {
		pods := c.pods(t, ns, "app=rs")
		if len(pods) == 1 {
			rsPod = pods[0].Name
		}
		return len(pods) == 1, nil
	})
	if err := c.client.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: rsPod},
		Target: corev1.ObjectReference{Kind: "Node", Name: "silent"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Keep renewing the live node's Lease.
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			l, err := c.client.CoordinationV1().Leases("kube-node-lease").Get(ctx, lease.Name, metav1.GetOptions{})
			if err != nil {
				continue
			}
			now := metav1.NewMicroTime(time.Now())
			l.Spec.RenewTime = &now
			_, _ = c.client.CoordinationV1().Leases("kube-node-lease").Update(ctx, l, metav1.UpdateOptions{})
		}
	}()
	t.Cleanup(func() { close(stop); <-renewed })

	eventually(t, 30*time.Second, "silent node Unknown and tainted unreachable", func() (bool, error) {
		n, err := c.client.CoreV1().Nodes().Get(ctx, "silent", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		var ready *corev1.NodeCondition
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == corev1.NodeReady {
				ready = &n.Status.Conditions[i]
			}
		}
		tainted := false
		for _, tn := range n.Spec.Taints {
			if tn.Key == corev1.TaintNodeUnreachable && tn.Effect == corev1.TaintEffectNoExecute {
				tainted = true
			}
		}
		return ready != nil && ready.Status == corev1.ConditionUnknown && tainted, nil
	})
	p, err := c.client.CoreV1().Pods(ns).Get(ctx, "forever", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if isReady(p) {
		t.Errorf("pod on the silent node still Ready")
	}
	eventually(t, 30*time.Second, "pod with a 3s toleration evicted", func() (bool, error) {
		p, err := c.client.CoreV1().Pods(ns).Get(ctx, "short", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && p.DeletionTimestamp != nil, nil
	})
	eventually(t, 30*time.Second, "the ReplicaSet's pod evicted and replaced", func() (bool, error) {
		var active []string
		for _, p := range activePods(c.pods(t, ns, "app=rs")) {
			active = append(active, p.Name)
		}
		return len(active) == 1 && active[0] != rsPod, nil
	})
	if p, err := c.client.CoreV1().Pods(ns).Get(ctx, "forever", metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Errorf("pod tolerating forever was evicted: %v", err)
	}
	n, err := c.client.CoreV1().Nodes().Get(ctx, "alive", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Spec.Taints) != 0 {
		t.Errorf("live node tainted: %v", n.Spec.Taints)
	}

	// The silent node comes back: taints go.
	l, err := c.client.CoordinationV1().Leases("kube-node-lease").Get(ctx, "silent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewMicroTime(time.Now())
	l.Spec.RenewTime = &now
	if _, err := c.client.CoordinationV1().Leases("kube-node-lease").Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	sn, _ := c.client.CoreV1().Nodes().Get(ctx, "silent", metav1.GetOptions{})
	hb := metav1.Now()
	sn.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: hb, LastTransitionTime: hb}}
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, sn, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "recovered node untainted", func() (bool, error) {
		n, err := c.client.CoreV1().Nodes().Get(ctx, "silent", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(n.Spec.Taints) == 0, nil
	})
}

func TestNodeIPAM_AllocatesUniqueCIDRs(t *testing.T) {
	c := startCluster(t, []string{"nodeipam"}, func(cfg *controllermanager.Config) {
		cfg.AllocateNodeCIDRs = true
		cfg.ClusterCIDR = "10.244.0.0/16"
	})
	ctx := t.Context()
	for i := 0; i < 5; i++ {
		if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, "5 distinct podCIDRs", func() (bool, error) {
		l, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		seen := map[string]bool{}
		for _, n := range l.Items {
			if n.Spec.PodCIDR == "" || seen[n.Spec.PodCIDR] || len(n.Spec.PodCIDRs) != 1 {
				return false, nil
			}
			seen[n.Spec.PodCIDR] = true
		}
		return len(seen) == 5, nil
	})
}

// nodeCIDRs maps every node to its podCIDR.
func (c *cluster) nodeCIDRs(t *testing.T) map[string]string {
	t.Helper()
	l, err := c.client.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range l.Items {
		out[n.Name] = n.Spec.PodCIDR
	}
	return out
}

// A cluster CIDR with room for two nodes: a restarted allocator must keep
// what nodes hold (a reassignment would collide), and a deleted node's CIDR
// must be free for the next node.
func TestNodeIPAM_SurvivesRestartAndReleasesDeletedNodesCIDR(t *testing.T) {
	s := framework.Start(t, framework.Options{})
	c := &cluster{s: s, client: s.Client}
	ipam := func(cfg *controllermanager.Config) {
		cfg.AllocateNodeCIDRs = true
		cfg.ClusterCIDR = "10.250.0.0/23"
		cfg.NodeCIDRMaskSize = 24
	}
	ctx := t.Context()
	create := func(name string) {
		if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	stop := runManager(t, s, []string{"nodeipam"}, ipam)
	t.Cleanup(stop)
	create("n0")
	eventually(t, 20*time.Second, "n0 gets a podCIDR", func() (bool, error) { return c.nodeCIDRs(t)["n0"] != "", nil })
	first := c.nodeCIDRs(t)["n0"]
	stop()

	// Restarted: n1 must get the other /24, n0 keep its own.
	stop = runManager(t, s, []string{"nodeipam"}, ipam)
	t.Cleanup(stop)
	create("n1")
	eventually(t, 20*time.Second, "n1 gets a podCIDR", func() (bool, error) { return c.nodeCIDRs(t)["n1"] != "", nil })
	got := c.nodeCIDRs(t)
	if got["n0"] != first || got["n1"] == first {
		t.Fatalf("after a restart: n0 %s (was %s), n1 %s", got["n0"], first, got["n1"])
	}

	// Full: n2 waits until n0 is deleted, then gets n0's CIDR.
	create("n2")
	if err := c.client.CoreV1().Nodes().Delete(ctx, "n0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "n2 gets the deleted node's podCIDR", func() (bool, error) { return c.nodeCIDRs(t)["n2"] == first, nil })
}
