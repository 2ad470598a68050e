package controller

import (
	"math"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodDeletionCostAnnotation orders the pods of one ReplicaSet for
// deletion: lower costs go first (an int32; missing or invalid is 0).
const PodDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// deletionCost is pod's PodDeletionCostAnnotation, 0 when absent or not an
// int32.
func deletionCost(pod *corev1.Pod) int32 {
	v, ok := pod.Annotations[PodDeletionCostAnnotation]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// SortForDeletion orders pods so the first are the ones a ReplicaSet
// deletes first when scaling down, as upstream ranks them (with the
// PodDeletionCost and LogarithmicScaleDown features on by default):
//
//  1. unscheduled before scheduled;
//  2. Pending before Unknown before Running;
//  3. not ready before ready;
//  4. lower pod-deletion-cost before higher;
//  5. pods sharing their node with more active related pods (the pods of
//     every ReplicaSet of the same Deployment) first: spread survives;
//  6. ready for less time first, compared in powers of two of the time
//     since now (pods in one bucket in UID order: pseudo-random);
//  7. more container restarts first;
//  8. newer first, compared in the same buckets.
func SortForDeletion(pods, related []*corev1.Pod, now time.Time) {
	onNode := map[string]int{}
	for _, p := range related {
		if IsPodActive(p) {
			onNode[p.Spec.NodeName]++
		}
	}
	rank := make(map[*corev1.Pod]int, len(pods))
	for _, p := range pods {
		rank[p] = onNode[p.Spec.NodeName]
	}
	sort.SliceStable(pods, func(i, j int) bool { return deleteFirst(pods[i], pods[j], rank[pods[i]], rank[pods[j]], now) })
}

func deleteFirst(a, b *corev1.Pod, rankA, rankB int, now time.Time) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if podPhaseRank[a.Status.Phase] != podPhaseRank[b.Status.Phase] {
		return podPhaseRank[a.Status.Phase] < podPhaseRank[b.Status.Phase]
	}
	if IsPodReady(a) != IsPodReady(b) {
		return !IsPodReady(a)
	}
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	if rankA != rankB {
		return rankA > rankB
	}
	if IsPodReady(a) && IsPodReady(b) {
		ta, tb := PodReadyCondition(a).LastTransitionTime, PodReadyCondition(b).LastTransitionTime
		if !ta.Equal(&tb) {
			return laterInBuckets(a, b, ta, tb, now)
		}
	}
	if ra, rb := maxRestarts(a), maxRestarts(b); ra != rb {
		return ra > rb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return laterInBuckets(a, b, a.CreationTimestamp, b.CreationTimestamp, now)
	}
	return false
}

// laterInBuckets reports whether a's time ta is later than b's tb
// (a zero time counts as latest), compared by the integer log2 of their
// age at now; equal buckets fall back to UID order.
func laterInBuckets(a, b *corev1.Pod, ta, tb metav1.Time, now time.Time) bool {
	if now.IsZero() || ta.IsZero() || tb.IsZero() {
		if ta.IsZero() {
			return true
		}
		if tb.IsZero() {
			return false
		}
		return ta.After(tb.Time)
	}
	bucket := func(t time.Time) int64 {
		if d := now.Sub(t); d > 0 {
			return int64(math.Log2(float64(d)))
		}
		return -1
	}
	if ra, rb := bucket(ta.Time), bucket(tb.Time); ra != rb {
		return ra < rb
	}
	return a.UID < b.UID
}
