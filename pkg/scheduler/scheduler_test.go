package scheduler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kstack/kstack/pkg/scheduler/plugins"
)

func boundPod(labels map[string]string, cpu string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "p", Labels: labels},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}}}
}

func TestAssignedPodUpdateEvent_OnlyLabelsOrScaleDown(t *testing.T) {
	base := boundPod(map[string]string{"app": "a"}, "1")
	tests := []struct {
		name    string
		update  *corev1.Pod
		plugins []string // nil: no event
	}{
		{"status only", func() *corev1.Pod {
			p := base.DeepCopy()
			p.Status.Phase = corev1.PodRunning
			return p
		}(), nil},
		{"labels", boundPod(map[string]string{"app": "b"}, "1"), []string{plugins.InterPodAffinityName, plugins.PodTopologySpreadName}},
		{"scale down", boundPod(map[string]string{"app": "a"}, "500m"), []string{plugins.NodeResourcesFitName}},
		{"scale up", boundPod(map[string]string{"app": "a"}, "2"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, ok := assignedPodUpdateEvent(base, tt.update)
			if ok != (tt.plugins != nil) {
				t.Fatalf("event %v (%v), want one: %v", ok, ev.Plugins, tt.plugins != nil)
			}
			if len(ev.Plugins) != len(tt.plugins) {
				t.Errorf("plugins %v, want %v", ev.Plugins, tt.plugins)
			}
			for _, p := range tt.plugins {
				if _, ok := ev.Plugins[p]; !ok {
					t.Errorf("plugins %v lack %s", ev.Plugins, p)
				}
			}
		})
	}
}

func TestNominator_StatusWinsMemoryKeptUntilCleared(t *testing.T) {
	n := newNominator()
	pending := func(nominated string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "high", UID: types.UID("high")}, Status: corev1.PodStatus{NominatedNodeName: nominated}}
	}
	nodeOf := func() string {
		for _, name := range []string{"n1", "n2"} {
			if len(n.NominatedPodsForNode(name)) == 1 {
				return name
			}
		}
		return ""
	}
	// Preemption nominates in memory before the status patch lands.
	n.nominate(pending(""), "n1")
	if got := nodeOf(); got != "n1" {
		t.Fatalf("nominated to %q, want n1", got)
	}
	// An update without the field yet keeps it.
	n.update(pending(""), pending(""))
	if got := nodeOf(); got != "n1" {
		t.Fatalf("after an update without the field: %q, want n1", got)
	}
	// The status names another node: it wins.
	n.update(pending(""), pending("n2"))
	if got := nodeOf(); got != "n2" || len(n.NominatedPodsForNode("n1")) != 0 {
		t.Fatalf("after status n2: %q, want n2 only", got)
	}
	// Cleared in the status: forgotten.
	n.update(pending("n2"), pending(""))
	if got := nodeOf(); got != "" || n.count.Load() != 0 {
		t.Fatalf("after clearing: %q (count %d), want none", got, n.count.Load())
	}
	// A bound pod is never nominated.
	bound := pending("n1")
	bound.Spec.NodeName = "n1"
	n.update(nil, bound)
	if got := nodeOf(); got != "" {
		t.Errorf("bound pod nominated to %q", got)
	}
}
