package podautoscaler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func cpuPod(name, request string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(request)}}}}}}
}

func TestProposal_Utilization(t *testing.T) {
	pods := []*corev1.Pod{cpuPod("a", "100m"), cpuPod("b", "100m"), cpuPod("c", "100m")}
	target := int32(50)
	tests := []struct {
		name  string
		usage map[string]int64
		want  int32
	}{
		{"at target", map[string]int64{"a": 50, "b": 50, "c": 50}, 3},
		{"within tolerance", map[string]int64{"a": 54, "b": 54, "c": 54}, 3},
		{"double the target", map[string]int64{"a": 100, "b": 100, "c": 100}, 6},
		{"a third of it", map[string]int64{"a": 10, "b": 20, "c": 20}, 1},
		{"one pod unmeasured", map[string]int64{"a": 150, "b": 150}, 6},
	}
	for _, tc := range tests {
		ratio, _, _, measured, err := usageRatio(pods, tc.usage, corev1.ResourceCPU, &target, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := proposal(3, ratio, measured, 0.1); got != tc.want {
			t.Errorf("%s: proposal = %d, want %d", tc.name, got, tc.want)
		}
	}
	noRequest := []*corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}}
	if _, _, _, _, err := usageRatio(noRequest, map[string]int64{"a": 10}, corev1.ResourceCPU, &target, nil); err == nil {
		t.Error("a pod without a cpu request must fail utilization")
	}
}

func TestProposal_AverageValue(t *testing.T) {
	pods := []*corev1.Pod{cpuPod("a", "1"), cpuPod("b", "1")}
	avg := resource.MustParse("200m")
	ratio, _, average, measured, err := usageRatio(pods, map[string]int64{"a": 500, "b": 300}, corev1.ResourceCPU, nil, &avg)
	if err != nil {
		t.Fatal(err)
	}
	if average != 400 || proposal(2, ratio, measured, 0.1) != 4 {
		t.Fatalf("average %d, proposal %d; want 400, 4", average, proposal(2, ratio, measured, 0.1))
	}
}
