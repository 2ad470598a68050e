package resourcequota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestPodUsage(t *testing.T) {
	rl := func(kv ...string) corev1.ResourceList {
		out := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return out
	}
	hard := rl("pods", "10", "count/pods", "10", "requests.cpu", "10", "limits.memory", "10Gi", "cpu", "10")
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{
			{Resources: corev1.ResourceRequirements{Requests: rl("cpu", "250m"), Limits: rl("memory", "1Gi")}},
			{Resources: corev1.ResourceRequirements{Requests: rl("cpu", "250m"), Limits: rl("memory", "1Gi")}},
		},
		// An init container asking for more than the sum wins.
		InitContainers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: rl("cpu", "1")}}},
	}}
	u := PodUsage(pod, hard)
	want := rl("pods", "1", "count/pods", "1", "requests.cpu", "1", "cpu", "1", "limits.memory", "2Gi")
	for k, v := range want {
		if got := u[k]; got.Cmp(v) != 0 {
			t.Errorf("%s = %s, want %s", k, got.String(), v.String())
		}
	}
	pod.Status.Phase = corev1.PodSucceeded
	u = PodUsage(pod, hard)
	if _, ok := u["pods"]; ok || len(u) != 1 {
		t.Errorf("finished pod charges %v, want only count/pods", u)
	}
}

func TestScopes(t *testing.T) {
	deadline := int64(10)
	terminating := &corev1.Pod{Spec: corev1.PodSpec{ActiveDeadlineSeconds: &deadline, Containers: []corev1.Container{{}}}}
	burstable := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}}}
	quota := func(scopes ...corev1.ResourceQuotaScope) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Scopes: scopes}}
	}
	tests := []struct {
		pod  *corev1.Pod
		q    *corev1.ResourceQuota
		want bool
	}{
		{terminating, quota(corev1.ResourceQuotaScopeTerminating), true},
		{terminating, quota(corev1.ResourceQuotaScopeNotTerminating), false},
		{terminating, quota(corev1.ResourceQuotaScopeBestEffort), true},
		{burstable, quota(corev1.ResourceQuotaScopeBestEffort), false},
		{burstable, quota(corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopeNotTerminating), true},
	}
	for i, tc := range tests {
		if got := podMatchesScopes(tc.pod, tc.q); got != tc.want {
			t.Errorf("case %d: %v, want %v", i, got, tc.want)
		}
	}
}
