// Package pvprotection keeps a bound PersistentVolume from being removed,
// as upstream: every volume carries the kubernetes.io/pv-protection
// finalizer; once a volume is being deleted, the finalizer is removed
// when the volume is no longer Bound to a claim.
package pvprotection

import (
	"context"
	"fmt"
	"slices"

	"github.com/kstack/kstack/pkg/controller"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Finalizer is the finalizer this controller owns.
const Finalizer = "kubernetes.io/pv-protection"

// Name is the controller's workqueue name.
const Name = "pvprotection"

// Controller is the PV protection controller.
type Controller struct {
	client   kubernetes.Interface
	pvLister corelisters.PersistentVolumeLister
	synced   cache.InformerSynced
	queue    controller.Queue
}

// New returns the controller.
func New(client kubernetes.Interface, pvs coreinformers.PersistentVolumeInformer) *Controller {
	c := &Controller{client: client, pvLister: pvs.Lister(), synced: pvs.Informer().HasSynced, queue: controller.NewQueue(Name)}
	enqueue := func(obj any) { controller.Enqueue(c.queue, obj) }
	_, _ = pvs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }})
	return c
}

// Run syncs volumes with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	cached, err := c.pvLister.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	has := slices.Contains(cached.Finalizers, Finalizer)
	pv := cached.DeepCopy()
	switch {
	case cached.DeletionTimestamp == nil && !has:
		pv.Finalizers = append(pv.Finalizers, Finalizer)
	case cached.DeletionTimestamp != nil && has && cached.Status.Phase != corev1.VolumeBound:
		pv.Finalizers = slices.DeleteFunc(pv.Finalizers, func(f string) bool { return f == Finalizer })
	default:
		return nil
	}
	if _, err := c.client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update %s of volume %s: %w", Finalizer, key, err)
	}
	return nil
}
