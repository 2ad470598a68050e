// Package nodelifecycle watches node heartbeats (the node's Lease in
// kube-node-lease and its Ready condition) and acts on silent nodes, as
// upstream's node lifecycle and taint-eviction controllers:
//
//   - a node not heard from within the grace period gets its conditions set
//     to Unknown ("Kubelet stopped posting node status.") and the pods on it
//     Ready=False;
//   - Ready=Unknown taints it node.kubernetes.io/unreachable, Ready=False
//     node.kubernetes.io/not-ready, each with NoSchedule and (rate-limited
//     by --node-eviction-rate) NoExecute; a recovered node loses them;
//   - pods on a node with a NoExecute taint are deleted when they do not
//     tolerate it, or when their tolerationSeconds run out;
//   - zone disruption (zones.go): nodes are grouped by their region and
//     zone labels; when every zone has no ready node, NoExecute taints are
//     removed and none are added (the control plane, not the nodes, is
//     assumed broken); a zone with more than two not-ready nodes making up
//     --unhealthy-zone-threshold of it is tainted at
//     --secondary-node-eviction-rate, or not at all when it has at most
//     --large-cluster-size-threshold nodes.
//
// Heartbeats are timed with this process's clock when they are observed to
// change, so clock skew between nodes and the controller does not matter.
package nodelifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kstack/kstack/pkg/controller"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coordinformers "k8s.io/client-go/informers/coordination/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Name is the node queue's name; the eviction queue is Name+"-eviction".
const Name = "nodelifecycle"

// LeaseNamespace holds the nodes' heartbeat Leases.
const LeaseNamespace = corev1.NamespaceNodeLease

// Taints this controller manages.
var (
	UnreachableNoExecute = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	NotReadyNoExecute    = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}
	UnreachableNoSched   = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule}
	NotReadyNoSched      = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}
)

// Options are the controller's knobs (upstream flag names in comments).
type Options struct {
	MonitorPeriod      time.Duration // --node-monitor-period
	GracePeriod        time.Duration // --node-monitor-grace-period
	StartupGracePeriod time.Duration // --node-startup-grace-period
	EvictionRate       float32       // --node-eviction-rate (nodes/s tainted NoExecute)
	// SecondaryEvictionRate is --secondary-node-eviction-rate: the rate
	// in a partially disrupted zone of a large cluster.
	SecondaryEvictionRate float32
	// UnhealthyZoneThreshold is --unhealthy-zone-threshold: the share of
	// not-ready nodes (more than two) that makes a zone partially
	// disrupted.
	UnhealthyZoneThreshold float32
	// LargeClusterSizeThreshold is --large-cluster-size-threshold: a
	// partially disrupted zone of at most this many nodes stops evictions.
	LargeClusterSizeThreshold int32
	Clock                     clock.Clock
	Recorder                  record.EventRecorder
}

// health is what the controller observed of one node's heartbeats.
type health struct {
	probe         time.Time // local time a heartbeat last changed
	readyBeat     metav1.Time
	leaseRenew    metav1.MicroTime
	noExecuteSent bool
}

// Controller is the node lifecycle controller.
type Controller struct {
	client      kubernetes.Interface
	nodeLister  corelisters.NodeLister
	leaseLister coordlisters.LeaseLister
	podLister   corelisters.PodLister
	podIndexer  cache.Indexer
	synced      []cache.InformerSynced
	nodes       controller.Queue
	evictions   controller.Queue
	opts        Options

	mu     sync.Mutex
	health map[string]*health

	zmu   sync.Mutex
	zones zones
}

const nodeNameIndex = "spec.nodeName"

// New returns a node lifecycle controller.
func New(client kubernetes.Interface, nodes coreinformers.NodeInformer, leases coordinformers.LeaseInformer, pods coreinformers.PodInformer, opts Options) *Controller {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Recorder == nil {
		opts.Recorder = &record.FakeRecorder{}
	}
	if opts.EvictionRate <= 0 {
		opts.EvictionRate = 0.1
	}
	if opts.SecondaryEvictionRate < 0 {
		opts.SecondaryEvictionRate = 0
	}
	if opts.UnhealthyZoneThreshold <= 0 {
		opts.UnhealthyZoneThreshold = 0.55
	}
	_ = pods.Informer().AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}})
	c := &Controller{
		client: client, nodeLister: nodes.Lister(), leaseLister: leases.Lister(), podLister: pods.Lister(),
		podIndexer: pods.Informer().GetIndexer(),
		synced:     []cache.InformerSynced{nodes.Informer().HasSynced, leases.Informer().HasSynced, pods.Informer().HasSynced},
		nodes:      controller.NewQueue(Name),
		evictions:  controller.NewQueue(Name + "-eviction"),
		opts:       opts,
		health:     map[string]*health{},
	}
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			c.markZonesDirty()
			controller.Enqueue(c.nodes, obj)
		},
		UpdateFunc: func(_, obj any) {
			c.markZonesDirty()
			controller.Enqueue(c.nodes, obj)
			c.enqueuePodsOn(obj.(*corev1.Node).Name)
		},
		DeleteFunc: func(obj any) {
			c.markZonesDirty()
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				c.opts.Recorder.Eventf(n, corev1.EventTypeNormal, "RemovingNode", "Node %s event: Removing Node %s from Controller", n.Name, n.Name)
			}
			if k, ok := controller.Key(obj); ok {
				c.mu.Lock()
				delete(c.health, k)
				c.mu.Unlock()
			}
		},
	})
	_, _ = leases.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.leaseChanged(obj) },
		UpdateFunc: func(_, obj any) { c.leaseChanged(obj) },
	})
	podChanged := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			controller.Enqueue(c.evictions, p)
		}
	}
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: podChanged, UpdateFunc: func(_, obj any) { podChanged(obj) },
	})
	return c
}

func (c *Controller) leaseChanged(obj any) {
	if l, ok := obj.(*coordinationv1.Lease); ok && l.Namespace == LeaseNamespace {
		c.nodes.Add(l.Name)
	}
}

func (c *Controller) enqueuePodsOn(node string) {
	objs, _ := c.podIndexer.ByIndex(nodeNameIndex, node)
	for _, o := range objs {
		controller.Enqueue(c.evictions, o)
	}
}

// Run monitors nodes every MonitorPeriod and works both queues until ctx
// ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.opts.Clock.After(c.opts.MonitorPeriod):
				c.markZonesDirty()
				nodes, _ := c.nodeLister.List(labels.Everything())
				for _, n := range nodes {
					c.nodes.Add(n.Name)
				}
			}
		}
	}()
	go controller.RunWorkers(ctx, Name+"-eviction", c.evictions, workers, c.syncPod)
	controller.RunWorkers(ctx, Name, c.nodes, workers, c.syncNode)
}

func readyCondition(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// observe updates the node's probe time from its heartbeats and returns it.
func (c *Controller) observe(n *corev1.Node) *health {
	now := c.opts.Clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.health[n.Name]
	if !ok {
		h = &health{probe: now}
		c.health[n.Name] = h
		c.opts.Recorder.Eventf(n, corev1.EventTypeNormal, "RegisteredNode", "Node %s event: Registered Node %s in Controller", n.Name, n.Name)
	}
	if rc := readyCondition(n); rc != nil && !rc.LastHeartbeatTime.Equal(&h.readyBeat) {
		h.readyBeat = rc.LastHeartbeatTime
		h.probe = now
	}
	if l, err := c.leaseLister.Leases(LeaseNamespace).Get(n.Name); err == nil && l.Spec.RenewTime != nil && !l.Spec.RenewTime.Equal(&h.leaseRenew) {
		h.leaseRenew = *l.Spec.RenewTime
		h.probe = now
	}
	cp := *h
	return &cp
}

func (c *Controller) syncNode(ctx context.Context, name string) error {
	cached, err := c.nodeLister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	n := cached.DeepCopy()
	h := c.observe(n)
	now := c.opts.Clock.Now()
	ready := readyCondition(n)
	grace := c.opts.GracePeriod
	if ready == nil {
		grace = c.opts.StartupGracePeriod
	}
	if now.After(h.probe.Add(grace)) {
		if err := c.markUnknown(ctx, n, now); err != nil {
			return err
		}
		ready = readyCondition(n)
	} else {
		// Re-check once the grace period would run out.
		c.nodes.AddAfter(name, h.probe.Add(grace).Sub(now)+time.Second)
	}
	return c.reconcileTaints(ctx, n, ready)
}

// markUnknown sets the node's conditions to Unknown and its pods not ready.
func (c *Controller) markUnknown(ctx context.Context, n *corev1.Node, now time.Time) error {
	rc := readyCondition(n)
	if rc != nil && rc.Status == corev1.ConditionUnknown {
		return nil
	}
	t := metav1.NewTime(now)
	if rc == nil {
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown,
			Reason: "NodeStatusNeverUpdated", Message: "Kubelet never posted node status.", LastHeartbeatTime: t, LastTransitionTime: t})
	}
	for i := range n.Status.Conditions {
		cond := &n.Status.Conditions[i]
		if cond.Status == corev1.ConditionUnknown {
			continue
		}
		cond.Status = corev1.ConditionUnknown
		cond.Reason = "NodeStatusUnknown"
		cond.Message = "Kubelet stopped posting node status."
		cond.LastTransitionTime = t
	}
	out, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("mark node %s unknown: %w", n.Name, err)
	}
	*n = *out
	c.opts.Recorder.Eventf(n, corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", n.Name)
	return c.markPodsNotReady(ctx, n.Name)
}

// markPodsNotReady sets Ready=False on every pod bound to node.
func (c *Controller) markPodsNotReady(ctx context.Context, node string) error {
	objs, err := c.podIndexer.ByIndex(nodeNameIndex, node)
	if err != nil {
		return err
	}
	now := metav1.NewTime(c.opts.Clock.Now())
	for _, o := range objs {
		pod := o.(*corev1.Pod).DeepCopy()
		changed := false
		for i := range pod.Status.Conditions {
			cond := &pod.Status.Conditions[i]
			if cond.Type == corev1.PodReady && cond.Status != corev1.ConditionFalse {
				cond.Status = corev1.ConditionFalse
				cond.LastTransitionTime = now
				changed = true
			}
		}
		if !changed {
			continue
		}
		if _, err := c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("mark pod %s/%s not ready: %w", pod.Namespace, pod.Name, err)
		}
	}
	return nil
}

// reconcileTaints makes the node's managed taints match its Ready
// condition.
func (c *Controller) reconcileTaints(ctx context.Context, n *corev1.Node, ready *corev1.NodeCondition) error {
	var want []corev1.Taint
	switch {
	case ready == nil:
	case ready.Status == corev1.ConditionUnknown:
		want = []corev1.Taint{UnreachableNoSched, UnreachableNoExecute}
	case ready.Status == corev1.ConditionFalse:
		want = []corev1.Taint{NotReadyNoSched, NotReadyNoExecute}
	}
	managed := func(t corev1.Taint) bool {
		return (t.Key == corev1.TaintNodeUnreachable || t.Key == corev1.TaintNodeNotReady) &&
			(t.Effect == corev1.TaintEffectNoExecute || t.Effect == corev1.TaintEffectNoSchedule)
	}
	has := func(t corev1.Taint) bool {
		for _, x := range n.Spec.Taints {
			if x.Key == t.Key && x.Effect == t.Effect {
				return true
			}
		}
		return false
	}
	limiter, allFull := c.zoneLimiter(n)
	if allFull {
		// Every zone is down: blame the control plane, not the nodes, and
		// evict nothing (upstream's master disruption mode).
		want = slices.DeleteFunc(want, func(t corev1.Taint) bool { return t.Effect == corev1.TaintEffectNoExecute })
	}
	// A node already tainted NoExecute for the other reason swaps at once.
	swapping := false
	for _, t := range n.Spec.Taints {
		if managed(t) && t.Effect == corev1.TaintEffectNoExecute {
			swapping = true
		}
	}
	var taints []corev1.Taint
	changed := false
	for _, t := range n.Spec.Taints {
		keep := !managed(t)
		for _, w := range want {
			if w.Key == t.Key && w.Effect == t.Effect {
				keep = true
			}
		}
		if keep {
			taints = append(taints, t)
		} else {
			changed = true
		}
	}
	now := metav1.NewTime(c.opts.Clock.Now())
	for _, w := range want {
		if has(w) {
			continue
		}
		if w.Effect == corev1.TaintEffectNoExecute && !swapping && !limiter.TryAccept() {
			// Rate-limited eviction; a zone with no eviction at all is
			// looked at again by the monitor.
			if limiter.QPS() > 0 {
				c.nodes.AddAfter(n.Name, time.Duration(float32(time.Second)/limiter.QPS()))
			}
			continue
		}
		w.TimeAdded = &now
		taints = append(taints, w)
		changed = true
	}
	if !changed {
		return nil
	}
	if taints == nil {
		taints = []corev1.Taint{}
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": n.ResourceVersion}, "spec": map[string]any{"taints": taints}})
	if _, err := c.client.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("update taints of node %s: %w", n.Name, err)
	}
	return nil
}

// syncPod deletes a pod whose node has a NoExecute taint it does not
// tolerate, or whose toleration ran out; otherwise it comes back when it
// would.
func (c *Controller) syncPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.podLister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pod.DeletionTimestamp != nil || pod.Spec.NodeName == "" {
		return nil
	}
	node, err := c.nodeLister.Get(pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	wait, evict := EvictionDelay(node.Spec.Taints, pod.Spec.Tolerations, c.opts.Clock.Now())
	if !evict {
		return nil
	}
	if wait > 0 {
		c.evictions.AddAfter(key, wait)
		return nil
	}
	err = c.client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("evict pod %s: %w", key, err)
	}
	c.opts.Recorder.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s", key)
	return nil
}

// EvictionDelay says whether a pod with tolerations on a node with taints
// is to be evicted, and after how long: at once for an untolerated
// NoExecute taint, else at the earliest expiry of the tolerationSeconds
// that apply (counted from each taint's timeAdded); never when every
// NoExecute taint is tolerated forever.
func EvictionDelay(taints []corev1.Taint, tolerations []corev1.Toleration, now time.Time) (time.Duration, bool) {
	evict := false
	var earliest time.Time
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		var secs *int64
		tolerated := false
		for j := range tolerations {
			tol := &tolerations[j]
			if !tol.ToleratesTaint(klog.Background(), t, false) {
				continue
			}
			tolerated = true
			if tol.TolerationSeconds == nil {
				continue
			}
			if secs == nil || *tol.TolerationSeconds < *secs {
				secs = tol.TolerationSeconds
			}
		}
		if !tolerated {
			return 0, true
		}
		if secs == nil {
			continue // tolerated forever
		}
		evict = true
		added := now
		if t.TimeAdded != nil {
			added = t.TimeAdded.Time
		}
		at := added.Add(time.Duration(max(*secs, 0)) * time.Second)
		if earliest.IsZero() || at.Before(earliest) {
			earliest = at
		}
	}
	if !evict {
		return 0, false
	}
	return max(earliest.Sub(now), 0), true
}
