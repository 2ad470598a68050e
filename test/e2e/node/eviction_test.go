//go:build e2e

package node

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Node-pressure eviction on a real node: a memory.available threshold
// above the machine's memory is always crossed, so the kubelet reports
// MemoryPressure and evicts the running BestEffort pod with upstream's
// status (Failed, reason Evicted, a message naming the resource).
func TestEviction_MemoryThresholdCrossedEvictsBestEffortPod(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	n.createPod(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "besteffort"}, Spec: v1.PodSpec{
		Containers: []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sleep", "3600"}}},
	}})
	n.waitPod("besteffort", 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })

	n.stopKubelet()
	n.cfg.EvictionHard = map[string]string{"memory.available": "100Ti"}
	n.cfg.EvictionPressureTransitionPeriod = time.Second
	n.startKubelet()

	p := n.waitPod("besteffort", 90*time.Second, "evicted", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if p.Status.Reason != "Evicted" || !strings.Contains(p.Status.Message, "memory") {
		t.Errorf("evicted pod: reason %q message %q, want Evicted about memory", p.Status.Reason, p.Status.Message)
	}
	if cs := containerStatus(p, "c"); cs == nil || cs.State.Terminated == nil {
		t.Errorf("evicted pod's container is not terminated: %s", describe(p))
	}
	n.eventually(30*time.Second, "MemoryPressure", func() (bool, string) {
		node, err := n.admin.CoreV1().Nodes().Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range node.Status.Conditions {
			if c.Type == v1.NodeMemoryPressure {
				return c.Status == v1.ConditionTrue, string(c.Status) + " " + c.Reason
			}
		}
		return false, "no MemoryPressure condition"
	})
}
