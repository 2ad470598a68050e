package nodelifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEvictionDelay(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	added := metav1.NewTime(now.Add(-100 * time.Second))
	unreachable := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}
	noSched := corev1.Taint{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}
	secs := func(n int64) *int64 { return &n }
	tol := func(key string, s *int64) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: s}
	}
	tests := []struct {
		name        string
		taints      []corev1.Taint
		tolerations []corev1.Toleration
		wait        time.Duration
		evict       bool
	}{
		{"no taints", nil, nil, 0, false},
		{"NoSchedule only", []corev1.Taint{noSched}, nil, 0, false},
		{"untolerated NoExecute evicts at once", []corev1.Taint{unreachable}, nil, 0, true},
		{"default 300s toleration: 200s left", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, secs(300))}, 200 * time.Second, true},
		{"expired toleration", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, secs(30))}, 0, true},
		{"shortest toleration wins", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, secs(300)), tol("", secs(150))}, 50 * time.Second, true},
		{"tolerated forever", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, nil)}, 0, false},
		{"other key not tolerated", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeNotReady, nil)}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, evict := EvictionDelay(tc.taints, tc.tolerations, now)
			if wait != tc.wait || evict != tc.evict {
				t.Errorf("EvictionDelay = %v, %v; want %v, %v", wait, evict, tc.wait, tc.evict)
			}
		})
	}
}
