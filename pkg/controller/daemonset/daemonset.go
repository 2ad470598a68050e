// Package daemonset runs one pod of each DaemonSet on every eligible node
// (nodeSelector, required node affinity, taints against the pod's
// tolerations plus the DaemonSet defaults), pinned to its node by node
// affinity for the scheduler to bind; it removes pods from nodes that stop
// qualifying or vanish, replaces failed pods, rolls template changes out
// with maxUnavailable or maxSurge (RollingUpdate) or on deletion
// (OnDelete), and reports status, as upstream.
package daemonset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/kstack/kstack/pkg/controller"
	"github.com/kstack/kstack/pkg/controller/history"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
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
const Name = "daemonset"

// templateGenerationKey is the deprecated label upstream still puts on
// daemon pods: the DaemonSet's generation when the pod was made.
const templateGenerationKey = "pod-template-generation"

var controllerKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Controller is the DaemonSet controller.
type Controller struct {
	client     kubernetes.Interface
	dsLister   appslisters.DaemonSetLister
	podLister  corelisters.PodLister
	nodeLister corelisters.NodeLister
	history    *history.History
	synced     []cache.InformerSynced
	queue      controller.Queue
	exp        *controller.Expectations
	recorder   record.EventRecorder
	clock      clock.Clock
}

// New returns a DaemonSet controller; its template history is kept in
// ControllerRevisions (package history).
func New(client kubernetes.Interface, dss appsinformers.DaemonSetInformer, pods coreinformers.PodInformer, nodes coreinformers.NodeInformer,
	revs appsinformers.ControllerRevisionInformer, recorder record.EventRecorder) *Controller {
	if recorder == nil {
		recorder = &record.FakeRecorder{}
	}
	c := &Controller{client: client, dsLister: dss.Lister(), podLister: pods.Lister(), nodeLister: nodes.Lister(),
		history: &history.History{Client: client, Lister: revs.Lister()},
		synced: []cache.InformerSynced{dss.Informer().HasSynced, pods.Informer().HasSynced, nodes.Informer().HasSynced,
			revs.Informer().HasSynced},
		queue: controller.NewQueue(Name), exp: controller.NewExpectations(), recorder: recorder, clock: clock.RealClock{}}
	revOwner := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if r, ok := obj.(*appsv1.ControllerRevision); ok {
			if ref := metav1.GetControllerOf(r); ref != nil && ref.Kind == controllerKind.Kind {
				c.queue.Add(r.Namespace + "/" + ref.Name)
			}
		}
	}
	_, _ = revs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: revOwner,
		UpdateFunc: func(_, o any) { revOwner(o) }, DeleteFunc: revOwner})
	enqueue := func(obj any) { controller.Enqueue(c.queue, obj) }
	_, _ = dss.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) },
		DeleteFunc: func(obj any) {
			if k, ok := controller.Key(obj); ok {
				c.exp.Delete(k)
			}
		}})
	owner := func(obj any) (string, *corev1.Pod) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return "", nil
		}
		if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == controllerKind.Kind {
			return pod.Namespace + "/" + ref.Name, pod
		}
		return "", pod
	}
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if k, _ := owner(obj); k != "" {
				c.exp.CreationObserved(k)
				c.queue.Add(k)
			}
		},
		UpdateFunc: func(_, obj any) {
			if k, p := owner(obj); k != "" {
				if p.DeletionTimestamp != nil {
					c.exp.DeletionObserved(k, controller.PodKey(p))
				}
				c.queue.Add(k)
			}
		},
		DeleteFunc: func(obj any) {
			if k, p := owner(obj); k != "" {
				c.exp.DeletionObserved(k, controller.PodKey(p))
				c.queue.Add(k)
			}
		},
	})
	all := func(any) {
		list, _ := c.dsLister.List(labels.Everything())
		for _, ds := range list {
			controller.Enqueue(c.queue, ds)
		}
	}
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: all, UpdateFunc: func(old, cur any) {
		o, n := old.(*corev1.Node), cur.(*corev1.Node)
		if !equality.Semantic.DeepEqual(o.Labels, n.Labels) || !equality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints) {
			all(cur)
		}
	}, DeleteFunc: all})
	return c
}

// Run syncs DaemonSets with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

// syncHistory makes sure ds's template has a ControllerRevision and
// returns its hash (the controller-revision-hash of updated pods) and the
// older revisions. A hash collision bumps status.collisionCount.
func (c *Controller) syncHistory(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector) (string, []*appsv1.ControllerRevision, error) {
	cur, old, err := c.history.Sync(ctx, history.Owner{Object: ds, GVK: controllerKind, Selector: sel,
		Template: &ds.Spec.Template, CollisionCount: ds.Status.CollisionCount})
	if errors.Is(err, history.ErrCollision) {
		n := int32(0)
		if ds.Status.CollisionCount != nil {
			n = *ds.Status.CollisionCount
		}
		n++
		ds.Status.CollisionCount = &n
		if _, uerr := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, ds, metav1.UpdateOptions{}); uerr != nil {
			return "", nil, fmt.Errorf("bump collision count of daemonset %s/%s: %w", ds.Namespace, ds.Name, uerr)
		}
		return "", nil, err
	}
	if err != nil {
		return "", nil, fmt.Errorf("history of daemonset %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	return cur.Labels[appsv1.ControllerRevisionHashLabelKey], old, nil
}

// cleanupHistory deletes old revisions beyond revisionHistoryLimit that
// no pod of ds runs.
func (c *Controller) cleanupHistory(ctx context.Context, ds *appsv1.DaemonSet, pods []*corev1.Pod, old []*appsv1.ControllerRevision) error {
	limit := int32(history.DefaultRevisionHistoryLimit)
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = *ds.Spec.RevisionHistoryLimit
	}
	live := map[string]bool{}
	for _, p := range pods {
		if h := p.Labels[appsv1.ControllerRevisionHashLabelKey]; h != "" {
			live[h] = true
		}
	}
	return c.history.CleanUp(ctx, old, limit, func(r *appsv1.ControllerRevision) bool {
		return live[r.Labels[appsv1.ControllerRevisionHashLabelKey]]
	})
}

// nodeState is what one node has and needs.
type nodeState struct {
	node       *corev1.Node
	run, keep  bool
	pods       []*corev1.Pod // active daemon pods targeting the node, oldest first
	terminated []*corev1.Pod
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.dsLister.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	ds := cached.DeepCopy()
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil || sel.Empty() {
		return nil
	}
	all, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	claimer := &controller.Claimer{Owner: ds, OwnerGVK: controllerKind, Selector: sel,
		Patch: func(ctx context.Context, n string, patch []byte) error {
			_, err := c.client.CoreV1().Pods(ns).Patch(ctx, n, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
		CanAdopt: controller.RecheckDeletion(ds.UID, func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		}),
	}
	pods, err := controller.Claim(ctx, claimer, all)
	if err != nil {
		return err
	}
	nodes, err := c.nodeLister.List(labels.Everything())
	if err != nil {
		return err
	}
	spec := ds.Spec.Template.Spec.DeepCopy()
	withDefaultTolerations(spec)
	states := map[string]*nodeState{}
	for _, n := range nodes {
		run, keep := shouldRun(n, spec)
		states[n.Name] = &nodeState{node: n, run: run, keep: keep}
	}
	var orphaned []*corev1.Pod // pods for nodes that are gone
	sort.Slice(pods, func(i, j int) bool { return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp) })
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		st, ok := states[targetNode(p)]
		if !ok {
			orphaned = append(orphaned, p)
			continue
		}
		if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			st.terminated = append(st.terminated, p)
			continue
		}
		st.pods = append(st.pods, p)
	}
	if ds.DeletionTimestamp != nil {
		return nil // the garbage collector removes the pods
	}
	hash, old, err := c.syncHistory(ctx, ds, sel)
	if err != nil {
		return err
	}
	var manageErr, cleanupErr error
	if c.exp.Satisfied(key) {
		manageErr = c.manage(ctx, key, ds, states, orphaned, hash)
		if manageErr == nil {
			cleanupErr = c.cleanupHistory(ctx, ds, pods, old)
		}
	}
	return errorsJoin(manageErr, cleanupErr, c.updateStatus(ctx, ds, states, hash))
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (c *Controller) available(ds *appsv1.DaemonSet, p *corev1.Pod) bool {
	return controller.IsPodAvailable(p, ds.Spec.MinReadySeconds, c.clock.Now())
}

// manage computes the creates and deletes and issues them.
func (c *Controller) manage(ctx context.Context, key string, ds *appsv1.DaemonSet, states map[string]*nodeState, orphaned []*corev1.Pod, hash string) error {
	var create []string
	del := append([]*corev1.Pod(nil), orphaned...)
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	rolling := ds.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType
	maxUnavailable, maxSurge := 1, 0
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; rolling && ru != nil {
		desired := 0
		for _, st := range states {
			if st.run {
				desired++
			}
		}
		if ru.MaxSurge != nil {
			maxSurge, _ = intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, desired, true)
		}
		if ru.MaxUnavailable != nil {
			maxUnavailable, _ = intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, desired, true)
		}
		if maxSurge == 0 && maxUnavailable == 0 {
			maxUnavailable = 1
		}
	}
	unavailable := 0
	type outdated struct {
		node string
		old  *corev1.Pod
		new  *corev1.Pod
	}
	var stale []outdated
	for _, n := range names {
		st := states[n]
		del = append(del, st.terminated...) // failed daemons are replaced
		if !st.keep {
			del = append(del, st.pods...)
			continue
		}
		if !st.run {
			continue // a pod tolerated to stay keeps running; none is added
		}
		if len(st.pods) == 0 {
			create = append(create, n)
			unavailable++
			continue
		}
		var cur, old []*corev1.Pod
		for _, p := range st.pods {
			if p.Labels[appsv1.ControllerRevisionHashLabelKey] == hash {
				cur = append(cur, p)
			} else {
				old = append(old, p)
			}
		}
		// One pod per node: surplus of the same revision goes.
		if len(cur) > 1 {
			del = append(del, cur[1:]...)
			cur = cur[:1]
		}
		if len(old) > 1 {
			del = append(del, old[1:]...)
			old = old[:1]
		}
		availableHere := (len(cur) == 1 && c.available(ds, cur[0])) || (len(old) == 1 && c.available(ds, old[0]))
		if !availableHere {
			unavailable++
		}
		if len(old) == 1 && rolling {
			o := outdated{node: n, old: old[0]}
			if len(cur) == 1 {
				o.new = cur[0]
			}
			stale = append(stale, o)
		}
	}
	// Rolling update.
	surged := 0
	for _, o := range stale {
		if o.new != nil {
			surged++
		}
	}
	for _, o := range stale {
		switch {
		case o.new != nil:
			if c.available(ds, o.new) {
				del = append(del, o.old) // the surge pod took over
			}
		case !c.available(ds, o.old):
			del = append(del, o.old) // replacing an unavailable pod costs nothing
		case maxSurge > 0:
			if surged < maxSurge {
				create = append(create, o.node)
				surged++
			}
		case unavailable < maxUnavailable:
			del = append(del, o.old)
			unavailable++
		}
	}
	return c.act(ctx, key, ds, create, del, hash)
}

func (c *Controller) act(ctx context.Context, key string, ds *appsv1.DaemonSet, create []string, del []*corev1.Pod, hash string) error {
	if len(create) > 0 {
		c.exp.ExpectCreations(key, len(create))
		var firstErr error
		for _, n := range create {
			tmpl := ds.Spec.Template.DeepCopy()
			withDefaultTolerations(&tmpl.Spec)
			pinToNode(&tmpl.Spec, n)
			if tmpl.Labels == nil {
				tmpl.Labels = map[string]string{}
			}
			tmpl.Labels[appsv1.ControllerRevisionHashLabelKey] = hash
			tmpl.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
			tmpl.Labels[templateGenerationKey] = templateGeneration(ds)
			pod := controller.PodFromTemplate(tmpl, ds, controller.NewControllerRef(ds, controllerKind))
			out, err := c.client.CoreV1().Pods(ds.Namespace).Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				c.exp.CreationObserved(key)
				if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					continue
				}
				c.recorder.Eventf(ds, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
				if firstErr == nil {
					firstErr = fmt.Errorf("create daemon pod on %s: %w", n, err)
				}
				continue
			}
			c.recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", out.Name)
		}
		if firstErr != nil {
			return firstErr
		}
	}
	if len(del) > 0 {
		keys := make([]string, len(del))
		for i, p := range del {
			keys[i] = controller.PodKey(p)
		}
		c.exp.ExpectDeletions(key, keys)
		for _, p := range del {
			err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
			if err != nil {
				c.exp.DeletionObserved(key, controller.PodKey(p))
				if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
					return fmt.Errorf("delete daemon pod %s: %w", p.Name, err)
				}
				continue
			}
			c.recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
		}
	}
	return nil
}

func (c *Controller) updateStatus(ctx context.Context, ds *appsv1.DaemonSet, states map[string]*nodeState, hash string) error {
	st := *ds.Status.DeepCopy()
	var desired, current, mis, ready, available, updated int32
	for _, s := range states {
		if s.run {
			desired++
		}
		if len(s.pods) == 0 {
			continue
		}
		if !s.run {
			mis++
			continue
		}
		current++
		p := s.pods[len(s.pods)-1] // the newest counts
		for _, x := range s.pods {
			if x.Labels[appsv1.ControllerRevisionHashLabelKey] == hash {
				p = x
				updated++
				break
			}
		}
		if controller.IsPodReady(p) {
			ready++
			if c.available(ds, p) {
				available++
			}
		}
	}
	st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberMisscheduled = desired, current, mis
	st.NumberReady, st.NumberAvailable, st.UpdatedNumberScheduled = ready, available, updated
	st.NumberUnavailable = max(desired-available, 0)
	st.ObservedGeneration = ds.Generation
	if equality.Semantic.DeepEqual(ds.Status, st) {
		return nil
	}
	ds.Status = st
	if _, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, ds, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of daemonset %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	return nil
}

// templateGeneration is the pod-template-generation label value: the
// apiserver's deprecated.daemonset.template.generation annotation (bumped
// only when the template changes), as upstream; the object's generation
// when a server does not set it.
func templateGeneration(ds *appsv1.DaemonSet) string {
	if g, ok := ds.Annotations[appsv1.DeprecatedTemplateGeneration]; ok && g != "" {
		return g
	}
	return strconv.FormatInt(ds.Generation, 10)
}
