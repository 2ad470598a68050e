// Package podgc deletes pods nobody else will: finished pods beyond
// --terminated-pod-gc-threshold (oldest first), pods bound to nodes that no
// longer exist, and unscheduled pods stuck terminating, as upstream's pod
// garbage collector, every 20 seconds. A collected pod that had not
// finished is first marked Failed (an orphan with a DisruptionTarget
// condition, reason DeletionByPodGC).
package podgc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/kstack/kstack/pkg/controller"
)

// Name is the controller's name in logs.
const Name = "podgc"

// CheckPeriod is how often pods are collected, as upstream.
const CheckPeriod = 20 * time.Second

// quarantine is how long a node must be missing before its pods go (a
// node informer may lag behind a new node).
const quarantine = 40 * time.Second

// Controller is the pod garbage collector.
type Controller struct {
	client     kubernetes.Interface
	podLister  corelisters.PodLister
	nodeLister corelisters.NodeLister
	synced     []cache.InformerSynced
	threshold  int
	period     time.Duration
	clock      clock.Clock
	missing    map[string]time.Time // node -> first seen missing
}

// New returns a pod GC keeping at most threshold finished pods (0: no
// limit).
func New(client kubernetes.Interface, pods coreinformers.PodInformer, nodes coreinformers.NodeInformer, threshold int) *Controller {
	return &Controller{client: client, podLister: pods.Lister(), nodeLister: nodes.Lister(),
		synced:    []cache.InformerSynced{pods.Informer().HasSynced, nodes.Informer().HasSynced},
		threshold: threshold, period: CheckPeriod, clock: clock.RealClock{}, missing: map[string]time.Time{}}
}

// Run collects every period until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	for {
		if err := c.collect(ctx); err != nil {
			slog.Warn("pod garbage collection failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.clock.After(c.period):
		}
	}
}

func (c *Controller) collect(ctx context.Context) error {
	pods, err := c.podLister.List(labels.Everything())
	if err != nil {
		return err
	}
	var errs []error
	// Finished pods beyond the threshold, oldest first.
	var finished []*corev1.Pod
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			finished = append(finished, p)
		}
	}
	if c.threshold > 0 && len(finished) > c.threshold {
		sort.Slice(finished, func(i, j int) bool { return finished[i].CreationTimestamp.Before(&finished[j].CreationTimestamp) })
		for _, p := range finished[:len(finished)-c.threshold] {
			errs = append(errs, c.delete(ctx, p, nil))
		}
	}
	// Pods on nodes that are gone (checked live after the quarantine).
	now := c.clock.Now()
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			if p.DeletionTimestamp != nil {
				errs = append(errs, c.markFailedAndDelete(ctx, p, nil)) // unscheduled and terminating
			}
			continue
		}
		if _, err := c.nodeLister.Get(p.Spec.NodeName); err == nil {
			delete(c.missing, p.Spec.NodeName)
			continue
		}
		since, ok := c.missing[p.Spec.NodeName]
		if !ok {
			c.missing[p.Spec.NodeName] = now
			continue
		}
		if now.Sub(since) < quarantine {
			continue
		}
		if _, err := c.client.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			continue
		}
		errs = append(errs, c.markFailedAndDelete(ctx, p, &corev1.PodCondition{Type: corev1.DisruptionTarget,
			Status: corev1.ConditionTrue, Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists"}))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// markFailedAndDelete moves a pod that has not finished to phase Failed,
// with cond (a DisruptionTarget condition) when given, before deleting it
// at once, as upstream: whoever watches the pod (a Job, say) sees why it
// went.
func (c *Controller) markFailedAndDelete(ctx context.Context, p *corev1.Pod, cond *corev1.PodCondition) error {
	if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
		status := map[string]any{"phase": corev1.PodFailed}
		if cond != nil {
			withTime := *cond
			withTime.LastTransitionTime = metav1.NewTime(c.clock.Now())
			status["conditions"] = []corev1.PodCondition{withTime}
		}
		patch, err := json.Marshal(map[string]any{"status": status})
		if err != nil {
			return err
		}
		_, err = c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("mark pod %s/%s failed: %w", p.Namespace, p.Name, err)
		}
	}
	zero := int64(0)
	return c.delete(ctx, p, &zero)
}

func (c *Controller) delete(ctx context.Context, p *corev1.Pod, grace *int64) error {
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: grace,
		Preconditions: &metav1.Preconditions{UID: &p.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	slog.Info("garbage collected pod", "pod", p.Namespace+"/"+p.Name)
	return nil
}
