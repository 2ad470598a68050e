package controller

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func names(pods []*corev1.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return strings.Join(out, ",")
}

func TestSortForDeletion(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ready := func(name, node string, readyAgo time.Duration) *corev1.Pod {
		p := pod(name, node, corev1.PodRunning, true, now.Add(-readyAgo), 0, now.Add(-readyAgo-time.Minute))
		p.UID = types.UID(name)
		return p
	}
	withCost := func(p *corev1.Pod, cost string) *corev1.Pod {
		p.Annotations = map[string]string{PodDeletionCostAnnotation: cost}
		return p
	}
	tests := []struct {
		name    string
		pods    []*corev1.Pod
		related []*corev1.Pod // nil: the pods themselves
		want    string
	}{
		{
			name: "upstream's first rules still come first",
			pods: []*corev1.Pod{ready("ready", "n1", time.Hour), pod("notready", "n1", corev1.PodRunning, false, now, 0, now),
				pod("pending", "n1", corev1.PodPending, false, now, 0, now), pod("unscheduled", "", corev1.PodPending, false, now, 0, now)},
			want: "unscheduled,pending,notready,ready",
		},
		{
			name: "lower deletion cost first, invalid counts as zero, before colocation",
			pods: []*corev1.Pod{withCost(ready("high", "n1", time.Hour), "100"), withCost(ready("neg", "n2", time.Hour), "-5"),
				withCost(ready("junk", "n3", time.Hour), "abc"), ready("none", "n1", 2*time.Hour)},
			want: "neg,none,junk,high",
		},
		{
			name: "pods doubled up on a node go first, counting related ReplicaSets' pods",
			pods: []*corev1.Pod{ready("alone", "n1", time.Minute), ready("crowded", "n2", 10*time.Hour)},
			related: []*corev1.Pod{ready("alone", "n1", time.Minute), ready("crowded", "n2", 10*time.Hour),
				ready("sibling", "n2", time.Hour)},
			want: "crowded,alone",
		},
		{
			name: "ready times within one power of two are a tie broken by UID",
			// 100s and 120s ago: both in bucket log2(~1e11 ns) = 36.
			pods: []*corev1.Pod{ready("b", "n1", 100*time.Second), ready("a", "n2", 120*time.Second)},
			want: "a,b",
		},
		{
			name: "ready for less time first across buckets",
			pods: []*corev1.Pod{ready("old", "n1", 10*time.Hour), ready("young", "n2", time.Minute)},
			want: "young,old",
		},
	}
	for _, tc := range tests {
		related := tc.related
		if related == nil {
			related = tc.pods
		}
		SortForDeletion(tc.pods, related, now)
		if got := names(tc.pods); got != tc.want {
			t.Errorf("%s: order %s, want %s", tc.name, got, tc.want)
		}
	}
}
