// Package replicaset keeps each ReplicaSet's number of pods: it creates
// pods from the template in slow-start batches, deletes the least valuable
// extra pods, adopts matching orphans and releases pods that stop
// matching, and reports status (replicas, fullyLabeledReplicas,
// readyReplicas, availableReplicas, observedGeneration).
package replicaset

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kstack/kstack/pkg/controller"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

// Name is the controller's name in --controllers and its workqueue.
const Name = "replicaset"

// BurstReplicas caps the creates or deletes of one sync, as upstream.
const BurstReplicas = 500

var controllerKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")

// Source is the kind of object the controller keeps the pods of, seen as
// ReplicaSets: ReplicaSets themselves, or ReplicationControllers converted
// as if they were an older version of ReplicaSet (as upstream).
type Source interface {
	// Get reads ns/name from the informer's cache.
	Get(ns, name string) (*appsv1.ReplicaSet, error)
	// List reads the objects of ns from the cache.
	List(ns string) ([]*appsv1.ReplicaSet, error)
	// GetFresh reads ns/name from the apiserver.
	GetFresh(ctx context.Context, ns, name string) (*appsv1.ReplicaSet, error)
	// UpdateStatus writes rs's status and returns the stored object.
	UpdateStatus(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error)
	// EventObject is the object events about rs are recorded on.
	EventObject(rs *appsv1.ReplicaSet) runtime.Object
}

// replicaSets is the Source of ReplicaSets.
type replicaSets struct {
	client kubernetes.Interface
	lister appslisters.ReplicaSetLister
}

func (r replicaSets) Get(ns, name string) (*appsv1.ReplicaSet, error) {
	return r.lister.ReplicaSets(ns).Get(name)
}

func (r replicaSets) List(ns string) ([]*appsv1.ReplicaSet, error) {
	return r.lister.ReplicaSets(ns).List(labels.Everything())
}

func (r replicaSets) GetFresh(ctx context.Context, ns, name string) (*appsv1.ReplicaSet, error) {
	return r.client.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
}

func (r replicaSets) UpdateStatus(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	return r.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{})
}

func (r replicaSets) EventObject(rs *appsv1.ReplicaSet) runtime.Object { return rs }

// Controller is the ReplicaSet controller.
type Controller struct {
	client    kubernetes.Interface
	src       Source
	kind      schema.GroupVersionKind
	name      string
	podLister corelisters.PodLister
	pods      cache.Indexer // by ControllerUIDIndex
	synced    []cache.InformerSynced
	queue     controller.Queue
	exp       *controller.Expectations
	recorder  record.EventRecorder
	clock     clock.Clock
}

// Option adjusts a Controller.
type Option func(*Controller)

// WithClock replaces the wall clock (minReadySeconds).
func WithClock(c clock.Clock) Option { return func(rc *Controller) { rc.clock = c } }

// WithRecorder replaces the event recorder.
func WithRecorder(r record.EventRecorder) Option { return func(rc *Controller) { rc.recorder = r } }

// New returns a controller that writes through client and reads from the
// informers; Run starts it.
func New(client kubernetes.Interface, rsInformer appsinformers.ReplicaSetInformer, podInformer coreinformers.PodInformer, opts ...Option) *Controller {
	return NewForSource(client, replicaSets{client: client, lister: rsInformer.Lister()}, controllerKind, Name,
		rsInformer.Informer(), podInformer, opts...)
}

// NewForSource returns the controller for objects of kind read through
// src, whose changes informer reports; name names its workqueue.
func NewForSource(client kubernetes.Interface, src Source, kind schema.GroupVersionKind, name string,
	informer cache.SharedIndexInformer, podInformer coreinformers.PodInformer, opts ...Option) *Controller {
	c := &Controller{
		client:    client,
		src:       src,
		kind:      kind,
		name:      name,
		podLister: podInformer.Lister(),
		pods:      podInformer.Informer().GetIndexer(),
		synced:    []cache.InformerSynced{informer.HasSynced, podInformer.Informer().HasSynced},
		queue:     controller.NewQueue(name),
		exp:       controller.NewExpectations(),
		recorder:  &record.FakeRecorder{},
		clock:     clock.RealClock{},
	}
	for _, o := range opts {
		o(c)
	}
	if err := controller.AddControllerUIDIndex(podInformer.Informer()); err != nil {
		// The informer already runs: list the namespace instead.
		slog.Warn("replicaset: pods by controller index unavailable", "err", err)
		c.pods = nil
	}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { controller.Enqueue(c.queue, obj) },
		UpdateFunc: func(_, obj any) { controller.Enqueue(c.queue, obj) },
		DeleteFunc: func(obj any) {
			if k, ok := controller.Key(obj); ok {
				c.exp.Delete(k)
				c.queue.Add(k)
			}
		},
	})
	_, _ = podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	})
	return c
}

// Run syncs ReplicaSets with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, c.name, c.synced...) {
		return
	}
	controller.RunWorkers(ctx, c.name, c.queue, workers, c.sync)
}

// resolve returns the ReplicaSet ref names if it is the one with ref's UID.
func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *appsv1.ReplicaSet {
	if ref.Kind != c.kind.Kind {
		return nil
	}
	rs, err := c.src.Get(ns, ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil
	}
	return rs
}

// matching returns the ReplicaSets whose selector matches pod.
func (c *Controller) matching(pod *corev1.Pod) []*appsv1.ReplicaSet {
	all, err := c.src.List(pod.Namespace)
	if err != nil {
		return nil
	}
	var out []*appsv1.ReplicaSet
	for _, rs := range all {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, rs)
	}
	return out
}

func rsKey(rs *appsv1.ReplicaSet) string { return rs.Namespace + "/" + rs.Name }

func (c *Controller) addPod(obj any) {
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		c.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if rs := c.resolve(pod.Namespace, ref); rs != nil {
			c.exp.CreationObserved(rsKey(rs))
			c.queue.Add(rsKey(rs))
		}
		return
	}
	for _, rs := range c.matching(pod) {
		c.queue.Add(rsKey(rs))
	}
}

func (c *Controller) updatePod(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
		// A graceful delete: count it as observed now, not when the pod
		// finally goes, so a replacement starts at once (as upstream).
		c.deletePod(cur)
	}
	oldRef, curRef := metav1.GetControllerOf(old), metav1.GetControllerOf(cur)
	if oldRef != nil && (curRef == nil || oldRef.UID != curRef.UID) {
		if rs := c.resolve(old.Namespace, oldRef); rs != nil {
			c.queue.Add(rsKey(rs))
		}
	}
	if curRef != nil {
		if rs := c.resolve(cur.Namespace, curRef); rs != nil {
			c.queue.Add(rsKey(rs))
			// Availability changes minReadySeconds after readiness.
			if !controller.IsPodReady(old) && controller.IsPodReady(cur) && rs.Spec.MinReadySeconds > 0 {
				c.queue.AddAfter(rsKey(rs), time.Duration(rs.Spec.MinReadySeconds)*time.Second+time.Second)
			}
		}
		return
	}
	if !labels.Equals(old.Labels, cur.Labels) || oldRef != nil {
		for _, rs := range c.matching(cur) {
			c.queue.Add(rsKey(rs))
		}
	}
}

func (c *Controller) deletePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		t, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = t.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return
	}
	rs := c.resolve(pod.Namespace, ref)
	if rs == nil {
		return
	}
	c.exp.DeletionObserved(rsKey(rs), controller.PodKey(pod))
	c.queue.Add(rsKey(rs))
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	rs, err := c.src.Get(ns, name)
	if apierrors.IsNotFound(err) {
		c.exp.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return nil // invalid selector: nothing to do until the object changes
	}
	satisfied := c.exp.Satisfied(key)
	var all []*corev1.Pod
	if c.pods != nil {
		all, err = controller.OwnedOrOrphaned[*corev1.Pod](c.pods, ns, rs.UID)
	} else {
		all, err = c.podLister.Pods(ns).List(labels.Everything())
	}
	if err != nil {
		return err
	}
	claimer := &controller.Claimer{
		Owner: rs, OwnerGVK: c.kind, Selector: selector,
		Patch: func(ctx context.Context, name string, patch []byte) error {
			_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
		CanAdopt: controller.RecheckDeletion(rs.UID, func(ctx context.Context) (metav1.Object, error) {
			return c.src.GetFresh(ctx, ns, name)
		}),
	}
	pods, err := controller.Claim(ctx, claimer, controller.ActivePods(all))
	if err != nil {
		return err
	}
	var manageErr error
	if satisfied && rs.DeletionTimestamp == nil {
		manageErr = c.manage(ctx, key, rs, pods)
	}
	status := CalculateStatus(rs, pods, manageErr, c.clock.Now())
	updated, err := c.updateStatus(ctx, rs, status)
	if err != nil {
		return err
	}
	if manageErr == nil && updated.Spec.MinReadySeconds > 0 &&
		updated.Status.ReadyReplicas == *updated.Spec.Replicas &&
		updated.Status.AvailableReplicas != *updated.Spec.Replicas {
		c.queue.AddAfter(key, time.Duration(updated.Spec.MinReadySeconds)*time.Second)
	}
	return manageErr
}

// manage creates or deletes pods so that len(pods) == replicas.
func (c *Controller) manage(ctx context.Context, key string, rs *appsv1.ReplicaSet, pods []*corev1.Pod) error {
	diff := len(pods) - int(*rs.Spec.Replicas)
	switch {
	case diff < 0:
		n := min(-diff, BurstReplicas)
		c.exp.ExpectCreations(key, n)
		ref := controller.NewControllerRef(rs, c.kind)
		var calls atomic.Int32
		_, err := controller.SlowStartBatch(n, 1, func() error {
			calls.Add(1)
			pod := controller.PodFromTemplate(&rs.Spec.Template, rs, ref)
			created, err := c.client.CoreV1().Pods(rs.Namespace).Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				c.exp.CreationObserved(key) // never to be seen
				if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					return nil
				}
				c.recorder.Eventf(c.src.EventObject(rs), corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
				return err
			}
			c.recorder.Eventf(c.src.EventObject(rs), corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", created.Name)
			return nil
		})
		// Creations that were skipped after a failure will not be seen.
		for i := int(calls.Load()); i < n; i++ {
			c.exp.CreationObserved(key)
		}
		if err != nil {
			return fmt.Errorf("create pods for %s: %w", key, err)
		}
	case diff > 0:
		n := min(diff, BurstReplicas)
		victims := append([]*corev1.Pod(nil), pods...)
		controller.SortForDeletion(victims, c.relatedPods(rs), c.clock.Now())
		victims = victims[:n]
		keys := make([]string, len(victims))
		for i, p := range victims {
			keys[i] = controller.PodKey(p)
		}
		c.exp.ExpectDeletions(key, keys)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for _, p := range victims {
			wg.Add(1)
			go func(p *corev1.Pod) {
				defer wg.Done()
				err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
					Preconditions: &metav1.Preconditions{UID: &p.UID}})
				if err != nil {
					c.exp.DeletionObserved(key, controller.PodKey(p))
					if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
						return
					}
					c.recorder.Eventf(c.src.EventObject(rs), corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
					errs <- err
					return
				}
				c.recorder.Eventf(c.src.EventObject(rs), corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
			}(p)
		}
		wg.Wait()
		select {
		case err := <-errs:
			return fmt.Errorf("delete pods of %s: %w", key, err)
		default:
		}
	}
	return nil
}

// relatedPods are the pods of every ReplicaSet controlled by the same
// owner as rs (a Deployment's old and new ones), whose spread over nodes
// ranks rs's pods for deletion; none when rs has no controller.
func (c *Controller) relatedPods(rs *appsv1.ReplicaSet) []*corev1.Pod {
	ref := metav1.GetControllerOfNoCopy(rs)
	if ref == nil || c.pods == nil {
		return nil
	}
	siblings, err := c.src.List(rs.Namespace)
	if err != nil {
		return nil
	}
	var out []*corev1.Pod
	for _, sib := range siblings {
		if r := metav1.GetControllerOfNoCopy(sib); r == nil || r.UID != ref.UID {
			continue
		}
		objs, err := c.pods.ByIndex(controller.ControllerUIDIndex, string(sib.UID))
		if err != nil {
			continue
		}
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

// CalculateStatus is rs's status for its claimed active pods at now;
// manageErr sets (or, when nil, clears) the ReplicaFailure condition.
func CalculateStatus(rs *appsv1.ReplicaSet, pods []*corev1.Pod, manageErr error, now time.Time) appsv1.ReplicaSetStatus {
	st := *rs.Status.DeepCopy()
	tmpl := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	var fully, ready, available int32
	for _, p := range pods {
		if tmpl.Matches(labels.Set(p.Labels)) {
			fully++
		}
		if controller.IsPodReady(p) {
			ready++
			if controller.IsPodAvailable(p, rs.Spec.MinReadySeconds, now) {
				available++
			}
		}
	}
	st.Replicas = int32(len(pods))
	st.FullyLabeledReplicas = fully
	st.ReadyReplicas = ready
	st.AvailableReplicas = available
	st.ObservedGeneration = rs.Generation
	var conds []appsv1.ReplicaSetCondition
	for _, c := range st.Conditions {
		if c.Type != appsv1.ReplicaSetReplicaFailure {
			conds = append(conds, c)
		}
	}
	if manageErr != nil {
		reason := "FailedCreate"
		if len(pods) > int(*rs.Spec.Replicas) {
			reason = "FailedDelete"
		}
		conds = append(conds, appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetReplicaFailure,
			Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: manageErr.Error()})
		for _, c := range st.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure {
				conds[len(conds)-1] = c // keep the first failure's time
			}
		}
	}
	st.Conditions = conds
	return st
}

// updateStatus writes status when it differs, retrying conflicts once
// with a fresh read.
func (c *Controller) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) (*appsv1.ReplicaSet, error) {
	if equality.Semantic.DeepEqual(rs.Status, st) {
		return rs, nil
	}
	cp := rs.DeepCopy()
	for i := 0; ; i++ {
		cp.Status = st
		slog.Debug("update replicaset status", "replicaset", klogKey(cp), "replicas", st.Replicas, "ready", st.ReadyReplicas)
		out, err := c.src.UpdateStatus(ctx, cp)
		if err == nil {
			return out, nil
		}
		if !apierrors.IsConflict(err) || i > 0 {
			return nil, fmt.Errorf("update status of %s: %w", klogKey(cp), err)
		}
		fresh, gerr := c.src.GetFresh(ctx, cp.Namespace, cp.Name)
		if gerr != nil {
			return nil, fmt.Errorf("update status of %s: %w", klogKey(cp), gerr)
		}
		st.ObservedGeneration = rs.Generation
		cp = fresh
	}
}

func klogKey(rs *appsv1.ReplicaSet) string { return rs.Namespace + "/" + rs.Name }
