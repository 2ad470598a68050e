// Package ttlafterfinished deletes finished Jobs (Complete or Failed) once
// their ttlSecondsAfterFinished has passed, with foreground propagation so
// their pods go first, as upstream.
package ttlafterfinished

import (
	"context"
	"fmt"
	"time"

	"github.com/kstack/kstack/pkg/controller"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Name is the controller's workqueue name.
const Name = "ttl-after-finished"

// Controller is the TTL-after-finished controller.
type Controller struct {
	client kubernetes.Interface
	lister batchlisters.JobLister
	synced cache.InformerSynced
	queue  controller.Queue
	clock  clock.Clock
}

// New returns the controller.
func New(client kubernetes.Interface, jobs batchinformers.JobInformer) *Controller {
	c := &Controller{client: client, lister: jobs.Lister(), synced: jobs.Informer().HasSynced,
		queue: controller.NewQueue(Name), clock: clock.RealClock{}}
	enqueue := func(obj any) {
		if j, ok := obj.(*batchv1.Job); ok && j.Spec.TTLSecondsAfterFinished != nil && j.DeletionTimestamp == nil && finishTime(j) != nil {
			controller.Enqueue(c.queue, j)
		}
	}
	_, _ = jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }})
	return c
}

// Run works the queue until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

// expired reports whether j's TTL ran out; if it will, key is requeued
// for then.
func (c *Controller) expired(key string, j *batchv1.Job) bool {
	ft := finishTime(j)
	if j.Spec.TTLSecondsAfterFinished == nil || ft == nil || j.DeletionTimestamp != nil {
		return false
	}
	left := ft.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second).Sub(c.clock.Now())
	if left > 0 {
		c.queue.AddAfter(key, left)
		return false
	}
	return true
}

// finishTime is when j finished, or nil.
func finishTime(j *batchv1.Job) *metav1.Time {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			t := c.LastTransitionTime
			return &t
		}
	}
	return nil
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	j, err := c.lister.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !c.expired(key, j) {
		return nil
	}
	// Re-read: the TTL may have been changed since the cache saw it.
	fresh, err := c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !c.expired(key, fresh) {
		return nil
	}
	policy := metav1.DeletePropagationForeground
	err = c.client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy,
		Preconditions: &metav1.Preconditions{UID: &fresh.UID, ResourceVersion: &fresh.ResourceVersion}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete expired job %s: %w", key, err)
	}
	return nil
}
