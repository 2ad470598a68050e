// Package serviceaccount makes sure every active namespace has the
// ServiceAccounts it should (upstream: "default"), recreating them when
// deleted.
package serviceaccount

import (
	"context"
	"fmt"

	"github.com/kstack/kstack/pkg/controller"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Name is the controller's workqueue name.
const Name = "serviceaccount"

// DefaultServiceAccounts are ensured in every namespace.
var DefaultServiceAccounts = []string{"default"}

// Controller is the service account controller.
type Controller struct {
	client   kubernetes.Interface
	nsLister corelisters.NamespaceLister
	saLister corelisters.ServiceAccountLister
	synced   []cache.InformerSynced
	queue    controller.Queue
}

// New returns a service account controller.
func New(client kubernetes.Interface, namespaces coreinformers.NamespaceInformer, sas coreinformers.ServiceAccountInformer) *Controller {
	c := &Controller{client: client, nsLister: namespaces.Lister(), saLister: sas.Lister(),
		synced: []cache.InformerSynced{namespaces.Informer().HasSynced, sas.Informer().HasSynced},
		queue:  controller.NewQueue(Name)}
	_, _ = namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { controller.Enqueue(c.queue, obj) },
		UpdateFunc: func(_, obj any) { controller.Enqueue(c.queue, obj) },
	})
	_, _ = sas.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if sa, ok := obj.(*corev1.ServiceAccount); ok {
				c.queue.Add(sa.Namespace)
			}
		},
	})
	return c
}

// Run ensures service accounts with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, ns string) error {
	n, err := c.nsLister.Get(ns)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if n.Status.Phase != corev1.NamespaceActive || n.DeletionTimestamp != nil {
		return nil
	}
	for _, name := range DefaultServiceAccounts {
		if _, err := c.saLister.ServiceAccounts(ns).Get(name); err == nil {
			continue
		}
		_, err := c.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return fmt.Errorf("create service account %s/%s: %w", ns, name, err)
		}
	}
	return nil
}
