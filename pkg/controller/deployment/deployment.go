// Package deployment rolls Deployments out through ReplicaSets: one new
// ReplicaSet per pod template (named by the template's hash, labelled
// pod-template-hash), rolling updates bounded by maxSurge and
// maxUnavailable, Recreate, revisions and change-cause annotations,
// revisionHistoryLimit cleanup, pause, proportional scaling while a
// rollout is in flight, and the Available and Progressing conditions
// (ProgressDeadlineExceeded after progressDeadlineSeconds without
// progress), as upstream's deployment controller.
//
// A rollback (kubectl rollout undo) is a template change back to an old
// ReplicaSet's template: that ReplicaSet becomes the new one again and
// takes the next revision.
package deployment

import (
	"context"
	"fmt"

	"github.com/kstack/kstack/pkg/controller"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// Name is the controller's workqueue name.
const Name = "deployment"

var controllerKind = appsv1.SchemeGroupVersion.WithKind("Deployment")

// Controller is the Deployment controller.
type Controller struct {
	client    kubernetes.Interface
	dLister   appslisters.DeploymentLister
	rsLister  appslisters.ReplicaSetLister
	rsIndex   cache.Indexer // by controller.ControllerUIDIndex; nil: list the namespace
	podLister corelisters.PodLister
	synced    []cache.InformerSynced
	queue     controller.Queue
	recorder  record.EventRecorder
	clock     clock.Clock
}

// Option adjusts a Controller.
type Option func(*Controller)

// WithClock replaces the wall clock (progress deadlines, conditions).
func WithClock(c clock.Clock) Option { return func(dc *Controller) { dc.clock = c } }

// WithRecorder replaces the event recorder.
func WithRecorder(r record.EventRecorder) Option { return func(dc *Controller) { dc.recorder = r } }

// New returns a Deployment controller writing through client.
func New(client kubernetes.Interface, dInformer appsinformers.DeploymentInformer, rsInformer appsinformers.ReplicaSetInformer, podInformer coreinformers.PodInformer, opts ...Option) *Controller {
	c := &Controller{
		client:    client,
		dLister:   dInformer.Lister(),
		rsLister:  rsInformer.Lister(),
		podLister: podInformer.Lister(),
		synced:    []cache.InformerSynced{dInformer.Informer().HasSynced, rsInformer.Informer().HasSynced, podInformer.Informer().HasSynced},
		queue:     controller.NewQueue(Name),
		recorder:  &record.FakeRecorder{},
		clock:     clock.RealClock{},
	}
	c.rsIndex = rsInformer.Informer().GetIndexer()
	if err := controller.AddControllerUIDIndex(rsInformer.Informer()); err != nil {
		c.rsIndex = nil // the informer already runs
	}
	for _, o := range opts {
		o(c)
	}
	enqueue := func(obj any) { controller.Enqueue(c.queue, obj) }
	_, _ = dInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue,
	})
	_, _ = rsInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.rsChanged,
		UpdateFunc: func(old, cur any) { c.rsChanged(old); c.rsChanged(cur) },
		DeleteFunc: c.rsChanged,
	})
	_, _ = podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: c.podDeleted,
	})
	return c
}

// Run syncs Deployments with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

func unwrap[T any](obj any) (T, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	v, ok := obj.(T)
	return v, ok
}

// rsChanged enqueues the ReplicaSet's controller, or, for an orphan, every
// Deployment that could adopt it.
func (c *Controller) rsChanged(obj any) {
	rs, ok := unwrap[*appsv1.ReplicaSet](obj)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(rs); ref != nil {
		if ref.Kind == controllerKind.Kind {
			c.queue.Add(rs.Namespace + "/" + ref.Name)
		}
		return
	}
	ds, err := c.dLister.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, d := range ds {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(rs.Labels)) {
			c.queue.Add(d.Namespace + "/" + d.Name)
		}
	}
}

// podDeleted wakes a Recreate Deployment waiting for its old pods to go.
func (c *Controller) podDeleted(obj any) {
	pod, ok := unwrap[*corev1.Pod](obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return
	}
	rs, err := c.rsLister.ReplicaSets(pod.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return
	}
	if dref := metav1.GetControllerOf(rs); dref != nil && dref.Kind == controllerKind.Kind {
		d, err := c.dLister.Deployments(pod.Namespace).Get(dref.Name)
		if err == nil && d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			c.queue.Add(d.Namespace + "/" + d.Name)
		}
	}
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.dLister.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	d := cached.DeepCopy()
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() {
		c.recorder.Eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			_, err := c.client.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{})
			return err
		}
		return nil
	}
	rsList, err := c.claimReplicaSets(ctx, d, sel)
	if err != nil {
		return err
	}
	if d.DeletionTimestamp != nil {
		return c.syncStatusOnly(ctx, d, rsList)
	}
	if err := c.checkPausedConditions(ctx, d); err != nil {
		return err
	}
	if d.Spec.Paused {
		return c.syncScale(ctx, d, rsList)
	}
	scaling, err := c.isScalingEvent(ctx, d, rsList)
	if err != nil {
		return err
	}
	if scaling {
		return c.syncScale(ctx, d, rsList)
	}
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return c.rolloutRecreate(ctx, d, rsList)
	}
	return c.rolloutRolling(ctx, d, rsList)
}

// claimReplicaSets adopts and releases ReplicaSets and returns the ones d
// controls.
func (c *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment, sel labels.Selector) ([]*appsv1.ReplicaSet, error) {
	var all []*appsv1.ReplicaSet
	var err error
	if c.rsIndex != nil {
		all, err = controller.OwnedOrOrphaned[*appsv1.ReplicaSet](c.rsIndex, d.Namespace, d.UID)
	} else {
		all, err = c.rsLister.ReplicaSets(d.Namespace).List(labels.Everything())
	}
	if err != nil {
		return nil, err
	}
	claimer := &controller.Claimer{
		Owner: d, OwnerGVK: controllerKind, Selector: sel,
		Patch: func(ctx context.Context, name string, patch []byte) error {
			_, err := c.client.AppsV1().ReplicaSets(d.Namespace).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
		CanAdopt: controller.RecheckDeletion(d.UID, func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		}),
	}
	owned, err := controller.Claim(ctx, claimer, all)
	if err != nil {
		return nil, fmt.Errorf("claim replicasets of %s/%s: %w", d.Namespace, d.Name, err)
	}
	return owned, nil
}
