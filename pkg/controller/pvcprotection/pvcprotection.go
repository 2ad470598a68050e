// Package pvcprotection keeps a PersistentVolumeClaim that a pod uses from
// going away under it, as upstream: every claim carries the
// kubernetes.io/pvc-protection finalizer; once a claim is being deleted,
// the finalizer is removed when no pod that has not terminated uses it
// (a persistentVolumeClaim volume, or a generic ephemeral volume's
// "<pod>-<volume>" claim), checked against the cache and then against a
// live list so a pod the cache has not seen yet still counts.
package pvcprotection

import (
	"context"
	"fmt"
	"slices"

	"github.com/kstack/kstack/pkg/controller"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Finalizer is the finalizer this controller owns.
const Finalizer = "kubernetes.io/pvc-protection"

// Name is the controller's workqueue name.
const Name = "pvcprotection"

// Controller is the PVC protection controller.
type Controller struct {
	client    kubernetes.Interface
	pvcLister corelisters.PersistentVolumeClaimLister
	podLister corelisters.PodLister
	synced    []cache.InformerSynced
	queue     controller.Queue
}

// New returns the controller.
func New(client kubernetes.Interface, pvcs coreinformers.PersistentVolumeClaimInformer, pods coreinformers.PodInformer) *Controller {
	c := &Controller{client: client, pvcLister: pvcs.Lister(), podLister: pods.Lister(),
		synced: []cache.InformerSynced{pvcs.Informer().HasSynced, pods.Informer().HasSynced}, queue: controller.NewQueue(Name)}
	enqueue := func(obj any) { controller.Enqueue(c.queue, obj) }
	_, _ = pvcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }})
	// A pod that goes away or terminates may free the claims it used.
	onPod := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if pod, ok := obj.(*corev1.Pod); ok {
			for _, n := range claimNames(pod) {
				c.queue.Add(pod.Namespace + "/" + n)
			}
		}
	}
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: onPod, UpdateFunc: func(_, o any) { onPod(o) }, DeleteFunc: onPod})
	return c
}

// Run syncs claims with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

// claimNames are the claims pod's volumes refer to.
func claimNames(pod *corev1.Pod) []string {
	var out []string
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, pod.Name+"-"+v.Name)
		}
	}
	return out
}

// uses reports whether pod is not terminated and uses claim.
func uses(pod *corev1.Pod, claim string) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	return slices.Contains(claimNames(pod), claim)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.pvcLister.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	has := slices.Contains(cached.Finalizers, Finalizer)
	if cached.DeletionTimestamp == nil {
		if has {
			return nil
		}
		pvc := cached.DeepCopy()
		pvc.Finalizers = append(pvc.Finalizers, Finalizer)
		if _, err := c.client.CoreV1().PersistentVolumeClaims(ns).Update(ctx, pvc, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("add %s to claim %s: %w", Finalizer, key, err)
		}
		return nil
	}
	if !has {
		return nil
	}
	inUse, err := c.inUse(ctx, ns, name)
	if err != nil || inUse {
		return err
	}
	pvc := cached.DeepCopy()
	pvc.Finalizers = slices.DeleteFunc(pvc.Finalizers, func(f string) bool { return f == Finalizer })
	if _, err := c.client.CoreV1().PersistentVolumeClaims(ns).Update(ctx, pvc, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove %s from claim %s: %w", Finalizer, key, err)
	}
	return nil
}

// inUse asks the cache, then (when the cache says no) the apiserver.
func (c *Controller) inUse(ctx context.Context, ns, claim string) (bool, error) {
	pods, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return false, err
	}
	for _, p := range pods {
		if uses(p, claim) {
			return true, nil
		}
	}
	live, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, fmt.Errorf("list pods of %s: %w", ns, err)
	}
	for i := range live.Items {
		if uses(&live.Items[i], claim) {
			return true, nil
		}
	}
	return false, nil
}
