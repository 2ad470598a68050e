package kubelet

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestEvictionThresholds_FromConfigMapOrUpstreamDefaults(t *testing.T) {
	for _, tt := range []struct {
		in   map[string]string
		want string
	}{
		{nil, "[memory.available<100Mi nodefs.available<10% nodefs.inodesFree<5% imagefs.available<15%]"},
		{map[string]string{}, "[]"},
		{map[string]string{"nodefs.available": "5%", "memory.available": "1Gi"}, "[memory.available<1Gi nodefs.available<5%]"},
	} {
		th, err := evictionThresholds(Config{EvictionHard: tt.in})
		if err != nil {
			t.Fatalf("%v: %v", tt.in, err)
		}
		if got := fmt.Sprint(th); got != tt.want {
			t.Errorf("%v: thresholds %s, want %s", tt.in, got, tt.want)
		}
	}
	if _, err := evictionThresholds(Config{EvictionHard: map[string]string{"memory.available": "much"}}); err == nil {
		t.Error("a bad quantity was accepted")
	}
}

func TestWithPressureTaints_FollowConditions(t *testing.T) {
	node := &v1.Node{
		Spec: v1.NodeSpec{Taints: []v1.Taint{{Key: "other", Effect: v1.TaintEffectNoExecute}, {Key: v1.TaintNodeDiskPressure, Effect: v1.TaintEffectNoSchedule}}},
		Status: v1.NodeStatus{Conditions: []v1.NodeCondition{
			{Type: v1.NodeMemoryPressure, Status: v1.ConditionTrue},
			{Type: v1.NodeDiskPressure, Status: v1.ConditionFalse},
			{Type: v1.NodeReady, Status: v1.ConditionTrue},
		}},
	}
	taints, changed := withPressureTaints(node)
	if !changed {
		t.Fatal("no change reported")
	}
	var keys []string
	for _, tn := range taints {
		keys = append(keys, tn.Key+":"+string(tn.Effect))
	}
	if got, want := fmt.Sprint(keys), "[other:NoExecute node.kubernetes.io/memory-pressure:NoSchedule]"; got != want {
		t.Errorf("taints %s, want %s", got, want)
	}
	node.Spec.Taints = taints
	if _, changed := withPressureTaints(node); changed {
		t.Error("a second round changed the taints again")
	}
}
