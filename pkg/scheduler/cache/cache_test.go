package cache

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

func cnode(name, zone string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelTopologyZone: zone}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110")}}}
}

func cpod(name, node, cpu string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: corev1.PodSpec{NodeName: node,
		Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}}}
}

func TestCache_AssumeConfirmForgetExpire(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	c := New(clk, time.Minute)
	c.AddNode(cnode("n1", "a"))
	snap := NewSnapshot()
	requested := func() int64 {
		c.UpdateSnapshot(snap)
		return snap.Get("n1").Requested.MilliCPU
	}
	p := cpod("p", "n1", "1")
	if err := c.AssumePod(p); err != nil {
		t.Fatal(err)
	}
	if err := c.AssumePod(p); err == nil {
		t.Errorf("assuming twice succeeded")
	}
	if got := requested(); got != 1000 {
		t.Fatalf("assumed pod not counted: %dm", got)
	}
	c.ForgetPod(p)
	if got := requested(); got != 0 {
		t.Fatalf("forgotten pod still counted: %dm", got)
	}
	// Confirmed by the informer: stays after the TTL.
	_ = c.AssumePod(p)
	c.FinishBinding(p)
	c.AddPod(p)
	clk.Step(2 * time.Minute)
	c.CleanupExpired()
	if got := requested(); got != 1000 || c.IsAssumed(p) {
		t.Fatalf("confirmed pod: %dm assumed=%v, want 1000m and confirmed", got, c.IsAssumed(p))
	}
	// Never confirmed: expires TTL after its binding finished.
	q := cpod("q", "n1", "2")
	_ = c.AssumePod(q)
	c.FinishBinding(q)
	clk.Step(30 * time.Second)
	c.CleanupExpired()
	if got := requested(); got != 3000 {
		t.Fatalf("expired too early: %dm", got)
	}
	clk.Step(31 * time.Second)
	c.CleanupExpired()
	if got := requested(); got != 1000 {
		t.Fatalf("assumed pod not expired: %dm", got)
	}
}

func TestSnapshot_IncrementalAndZoneInterleaved(t *testing.T) {
	c := New(nil, 0)
	for _, n := range []struct{ name, zone string }{{"a1", "a"}, {"a2", "a"}, {"a3", "a"}, {"b1", "b"}, {"c1", "c"}} {
		c.AddNode(cnode(n.name, n.zone))
	}
	snap := NewSnapshot()
	c.UpdateSnapshot(snap)
	var order []string
	for _, n := range snap.List() {
		order = append(order, n.Node.Name)
	}
	want := []string{"a1", "b1", "c1", "a2", "a3"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	before := snap.Get("b1")
	c.AddPod(cpod("p", "b1", "1"))
	c.UpdateSnapshot(snap)
	if snap.Get("b1") != before || before.Requested.MilliCPU != 1000 {
		t.Errorf("updated node not refreshed in place")
	}
	c.RemoveNode(cnode("c1", "c"))
	c.UpdateSnapshot(snap)
	if snap.Get("c1") != nil || len(snap.List()) != 4 {
		t.Errorf("removed node still in snapshot: %d nodes", len(snap.List()))
	}
}

// TestSnapshot_SeesEveryChangeInAnyOrder: the snapshot update walks only
// the recently changed nodes; changes to nodes in any order, removals and
// re-additions all reach the snapshot, and an unchanged node keeps its
// copy.
func TestSnapshot_SeesEveryChangeInAnyOrder(t *testing.T) {
	c := New(nil, 0)
	for _, n := range []string{"n1", "n2", "n3", "n4"} {
		c.AddNode(cnode(n, "a"))
	}
	snap := NewSnapshot()
	c.UpdateSnapshot(snap)
	n4 := snap.Get("n4")
	cpuOf := func(name string) int64 {
		if ni := snap.Get(name); ni != nil {
			return ni.Requested.MilliCPU
		}
		return -1
	}
	// Change n1 (the oldest), then n3, then n1 again.
	c.AddPod(cpod("a", "n1", "1"))
	c.AddPod(cpod("b", "n3", "2"))
	c.AddPod(cpod("c", "n1", "1"))
	c.UpdateSnapshot(snap)
	if cpuOf("n1") != 2000 || cpuOf("n3") != 2000 || cpuOf("n2") != 0 {
		t.Errorf("after pods: n1 %d, n2 %d, n3 %d millicpu; want 2000, 0, 2000", cpuOf("n1"), cpuOf("n2"), cpuOf("n3"))
	}
	if snap.Get("n4") != n4 || n4.Requested.MilliCPU != 0 {
		t.Errorf("unchanged n4 was replaced or changed")
	}
	// Remove n2 (not recently changed) and a pod of n1; re-add n2.
	c.RemoveNode(cnode("n2", "a"))
	c.RemovePod(cpod("a", "n1", "1"))
	c.UpdateSnapshot(snap)
	if snap.Get("n2") != nil || len(snap.List()) != 3 || cpuOf("n1") != 1000 {
		t.Errorf("after removals: n2 present %v, %d nodes listed, n1 %d millicpu; want absent, 3, 1000", snap.Get("n2") != nil, len(snap.List()), cpuOf("n1"))
	}
	c.AddNode(cnode("n2", "a"))
	c.AddPod(cpod("d", "n2", "3"))
	c.UpdateSnapshot(snap)
	if cpuOf("n2") != 3000 || len(snap.List()) != 4 {
		t.Errorf("after re-adding n2: %d millicpu, %d nodes listed; want 3000, 4", cpuOf("n2"), len(snap.List()))
	}
	// Nothing changed: nothing to do, same result.
	c.UpdateSnapshot(snap)
	if cpuOf("n1") != 1000 || cpuOf("n2") != 3000 || cpuOf("n3") != 2000 || cpuOf("n4") != 0 {
		t.Errorf("idle update changed the snapshot")
	}
}
