package job

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Pod tracking, as upstream: every pod a Job creates carries the
// batch.kubernetes.io/job-tracking finalizer, so a finished pod stays
// until the controller has counted it. Counting is two writes that
// survive a crash between them:
//
//	finished pod with finalizer ──► status.uncountedTerminatedPods += uid  (write 1)
//	remove the pod's finalizer  ──► status.succeeded/failed += 1,
//	                                uncountedTerminatedPods -= uid        (write 2)
//
// A uid in uncountedTerminatedPods whose pod has lost its finalizer (or
// is gone) is counted; a finished pod without the finalizer never is
// again. status.succeeded and status.failed are therefore exact even when
// pods are deleted before the Job finishes.

// hasFinalizer reports whether pod carries the job-tracking finalizer.
func hasFinalizer(p *corev1.Pod) bool {
	return slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer)
}

// podFinished classifies a tracked pod: succeeded, failed (a pod deleted
// before it succeeded counts as failed), or neither (still running).
func podFinished(p *corev1.Pod) (succeeded, failed bool) {
	switch {
	case p.Status.Phase == corev1.PodSucceeded:
		return true, false
	case p.Status.Phase == corev1.PodFailed:
		return false, true
	case p.DeletionTimestamp != nil:
		return false, true
	}
	return false, false
}

// uidSet is a concurrency-safe set of pod UIDs: the pods whose finalizer
// this controller removed but whose update its informer has not shown
// yet (so a stale cache cannot count them twice).
type uidSet struct {
	mu sync.Mutex
	m  map[types.UID]bool
}

func (s *uidSet) add(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[types.UID]bool{}
	}
	s.m[uid] = true
}

func (s *uidSet) has(uid types.UID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[uid]
}

func (s *uidSet) remove(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, uid)
}

// removeFinalizer drops the job-tracking finalizer from pod; a pod that
// is already gone counts as done.
func (c *Controller) removeFinalizer(ctx context.Context, p *corev1.Pod) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"$deleteFromPrimitiveList/finalizers": []string{batchv1.JobTrackingFinalizer},
		"uid":                                 p.UID,
	}})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove tracking finalizer of pod %s: %w", p.Name, err)
	}
	c.finalizerRemoved.add(p.UID)
	return nil
}

// removeFinalizers strips the finalizer from every pod in pods holding
// it; it returns the first error after trying all.
func (c *Controller) removeFinalizers(ctx context.Context, pods []*corev1.Pod) error {
	var first error
	for _, p := range pods {
		if !hasFinalizer(p) || c.finalizerRemoved.has(p.UID) {
			continue
		}
		if err := c.removeFinalizer(ctx, p); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// releaseOrphans strips the finalizer from the pods of ns that name a Job
// called name as controller but are not owned by the live Job with uid
// (deleted, or replaced by another of the same name).
func (c *Controller) releaseOrphans(ctx context.Context, ns, name string, uid types.UID) error {
	pods, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	var orphans []*corev1.Pod
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref != nil && ref.Kind == controllerKind.Kind && ref.Name == name && ref.UID != uid && hasFinalizer(p) {
			orphans = append(orphans, p)
		}
	}
	return c.removeFinalizers(ctx, orphans)
}

// parseIndexes reads a completedIndexes string ("1,3-5").
func parseIndexes(s string, completions int32) map[int]bool {
	out := map[int]bool{}
	if s == "" {
		return out
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := a; i <= b && i < int(completions); i++ {
			out[i] = true
		}
	}
	return out
}
