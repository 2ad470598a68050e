// Package rootcacertpublisher publishes the cluster's root CA bundle as
// the ConfigMap kube-root-ca.crt (key ca.crt) in every namespace, and puts
// it back when it is changed or deleted.
package rootcacertpublisher

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
const Name = "root-ca-cert-publisher"

// ConfigMapName is the published ConfigMap.
const ConfigMapName = "kube-root-ca.crt"

// DescriptionAnnotation explains the ConfigMap, as upstream.
const DescriptionAnnotation = "kubernetes.io/description"

const description = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
	"No other usage is guaranteed across distributions of Kubernetes clusters."

// Controller is the root CA publisher.
type Controller struct {
	client   kubernetes.Interface
	rootCA   []byte
	nsLister corelisters.NamespaceLister
	cmLister corelisters.ConfigMapLister
	synced   []cache.InformerSynced
	queue    controller.Queue
}

// New returns a publisher of rootCA (PEM).
func New(client kubernetes.Interface, rootCA []byte, namespaces coreinformers.NamespaceInformer, cms coreinformers.ConfigMapInformer) (*Controller, error) {
	if len(rootCA) == 0 {
		return nil, fmt.Errorf("no root CA to publish: set --root-ca-file")
	}
	c := &Controller{client: client, rootCA: rootCA, nsLister: namespaces.Lister(), cmLister: cms.Lister(),
		synced: []cache.InformerSynced{namespaces.Informer().HasSynced, cms.Informer().HasSynced},
		queue:  controller.NewQueue(Name)}
	_, _ = namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { controller.Enqueue(c.queue, obj) },
		UpdateFunc: func(_, obj any) { controller.Enqueue(c.queue, obj) },
	})
	cmChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name == ConfigMapName {
			c.queue.Add(cm.Namespace)
		}
	}
	_, _ = cms.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { cmChanged(obj) }, DeleteFunc: cmChanged,
	})
	return c, nil
}

// Run publishes with workers goroutines until ctx ends.
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
	data := map[string]string{"ca.crt": string(c.rootCA)}
	cm, err := c.cmLister.ConfigMaps(ns).Get(ConfigMapName)
	if apierrors.IsNotFound(err) {
		_, err := c.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Annotations: map[string]string{DescriptionAnnotation: description}},
			Data:       data,
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return fmt.Errorf("create %s/%s: %w", ns, ConfigMapName, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if cm.Data["ca.crt"] == data["ca.crt"] && len(cm.Data) == 1 && cm.Annotations[DescriptionAnnotation] == description {
		return nil
	}
	upd := cm.DeepCopy()
	upd.Data = data
	if upd.Annotations == nil {
		upd.Annotations = map[string]string{}
	}
	upd.Annotations[DescriptionAnnotation] = description
	if _, err := c.client.CoreV1().ConfigMaps(ns).Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update %s/%s: %w", ns, ConfigMapName, err)
	}
	return nil
}
