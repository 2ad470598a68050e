// Package queue is the scheduler's pending-pod queue, shaped as upstream's:
//
//	activeQ: pods ready to be tried, highest priority first, then oldest;
//	backoffQ: pods that failed, waiting out a backoff (1s doubling to 10s);
//	unschedulable: pods no node fits, parked until a cluster event that
//	  could help them (node added or changed, pod deleted, ...) or until
//	  they have waited maxUnschedulableDuration (periodic flush).
//
// Pop blocks until activeQ has a pod. Run moves completed backoffs to
// activeQ every second and flushes long-parked pods every 30 seconds.
package queue

import (
	"container/heap"
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Defaults as upstream.
const (
	DefaultInitialBackoff           = 1 * time.Second
	DefaultMaxBackoff               = 10 * time.Second
	DefaultMaxUnschedulableDuration = 5 * time.Minute
)

// Queue names, for the scheduler_pending_pods metric.
const (
	ActiveQ       = "active"
	BackoffQ      = "backoff"
	Unschedulable = "unschedulable"
	GatedQ        = "gated"
)

// QueuedPodInfo is a pod in the queue with its scheduling history.
type QueuedPodInfo struct {
	Pod *corev1.Pod
	// Timestamp is when the pod was added (or last moved to activeQ).
	Timestamp time.Time
	// InitialAttemptTimestamp is when the pod was first popped.
	InitialAttemptTimestamp *time.Time
	// Attempts counts scheduling attempts.
	Attempts int
	// UnschedulablePlugins rejected the pod in its last attempt.
	UnschedulablePlugins map[string]struct{}
	// Gated pods have scheduling gates and are not tried.
	Gated bool
	// backoffExpiry is when backoff ends (while in backoffQ).
	backoffExpiry time.Time
	index         int
}

// Event is a cluster change that may make parked pods schedulable.
type Event struct {
	// Label is for logs and metrics ("NodeAdd", "AssignedPodDelete", ...).
	Label string
	// Plugins are the plugins whose rejections the event may cure; nil
	// means every pod is moved.
	Plugins map[string]struct{}
	// Pod, for pod events: only pods whose UnschedulablePlugins include a
	// plugin that cares move (also used for affinity checks upstream).
	Pod *corev1.Pod
}

// Metrics is what the queue reports (see the scheduler's metrics.go).
type Metrics interface {
	// Incoming counts a pod entering queue for event.
	Incoming(queue, event string)
	// Pending sets the number of pods in each queue.
	Pending(queue string, n int)
}

type noMetrics struct{}

func (noMetrics) Incoming(string, string) {}
func (noMetrics) Pending(string, int)     {}

// PriorityQueue is the queue. Safe for concurrent use.
type PriorityQueue struct {
	clock          clock.Clock
	initialBackoff time.Duration
	maxBackoff     time.Duration
	maxParked      time.Duration
	metrics        Metrics

	mu      sync.Mutex
	cond    *sync.Cond
	active  *podHeap
	backoff *podHeap
	parked  map[types.UID]*QueuedPodInfo
	gated   map[types.UID]*QueuedPodInfo
	// inFlight are popped pods not yet done, with the move-request cycle
	// at pop time.
	inFlight map[types.UID]int64
	// moveCycle counts MoveAllToActiveOrBackoffQueue calls: a pod that
	// fails while a move happened during its attempt goes to backoff, not
	// to the parked set (it may have missed the event).
	moveCycle int64
	closed    bool
}

// Option configures a PriorityQueue.
type Option func(*PriorityQueue)

// WithClock sets the clock (tests).
func WithClock(c clock.Clock) Option { return func(q *PriorityQueue) { q.clock = c } }

// WithBackoff sets initial and maximum backoff.
func WithBackoff(initial, maxB time.Duration) Option {
	return func(q *PriorityQueue) { q.initialBackoff, q.maxBackoff = initial, maxB }
}

// WithMetrics sets the metrics sink.
func WithMetrics(m Metrics) Option { return func(q *PriorityQueue) { q.metrics = m } }

// New returns an empty queue.
func New(opts ...Option) *PriorityQueue {
	q := &PriorityQueue{clock: clock.RealClock{}, initialBackoff: DefaultInitialBackoff, maxBackoff: DefaultMaxBackoff,
		maxParked: DefaultMaxUnschedulableDuration, metrics: noMetrics{},
		parked: map[types.UID]*QueuedPodInfo{}, gated: map[types.UID]*QueuedPodInfo{}, inFlight: map[types.UID]int64{}}
	for _, o := range opts {
		o(q)
	}
	q.cond = sync.NewCond(&q.mu)
	q.active = &podHeap{less: activeLess, byUID: map[types.UID]*QueuedPodInfo{}}
	q.backoff = &podHeap{less: func(a, b *QueuedPodInfo) bool { return a.backoffExpiry.Before(b.backoffExpiry) }, byUID: map[types.UID]*QueuedPodInfo{}}
	return q
}

// activeLess orders by priority (higher first), then by timestamp.
func activeLess(a, b *QueuedPodInfo) bool {
	pa, pb := PodPriority(a.Pod), PodPriority(b.Pod)
	if pa != pb {
		return pa > pb
	}
	return a.Timestamp.Before(b.Timestamp)
}

// PodPriority is spec.priority, 0 when unset.
func PodPriority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

func (q *PriorityQueue) updateMetrics() {
	q.metrics.Pending(ActiveQ, q.active.Len())
	q.metrics.Pending(BackoffQ, q.backoff.Len())
	q.metrics.Pending(Unschedulable, len(q.parked))
	q.metrics.Pending(GatedQ, len(q.gated))
}

// Add queues a new pending pod.
func (q *PriorityQueue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	pi := &QueuedPodInfo{Pod: pod, Timestamp: q.clock.Now()}
	q.deleteLocked(pod.UID)
	if len(pod.Spec.SchedulingGates) > 0 {
		pi.Gated = true
		q.gated[pod.UID] = pi
		q.metrics.Incoming(GatedQ, "PodAdd")
		q.updateMetrics()
		return
	}
	q.active.push(pi)
	q.metrics.Incoming(ActiveQ, "PodAdd")
	q.updateMetrics()
	q.cond.Broadcast()
}

// Update replaces a pending pod. A pod parked as unschedulable whose spec
// changed is moved to activeQ (or backoffQ when still backing off); a
// gated pod whose gates are gone becomes active.
func (q *PriorityQueue) Update(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	uid := pod.UID
	if pi := q.active.get(uid); pi != nil {
		pi.Pod = pod
		heap.Fix(q.active, pi.index)
		return
	}
	if pi := q.backoff.get(uid); pi != nil {
		pi.Pod = pod
		return
	}
	if pi, ok := q.gated[uid]; ok {
		pi.Pod = pod
		if len(pod.Spec.SchedulingGates) == 0 {
			delete(q.gated, uid)
			pi.Gated = false
			pi.Timestamp = q.clock.Now()
			q.active.push(pi)
			q.metrics.Incoming(ActiveQ, "PodUpdate")
			q.updateMetrics()
			q.cond.Broadcast()
		}
		return
	}
	if pi, ok := q.parked[uid]; ok {
		old := pi.Pod
		pi.Pod = pod
		if specChanged(old, pod) {
			delete(q.parked, uid)
			q.requeueLocked(pi, "PodUpdate")
		}
		return
	}
	if _, ok := q.inFlight[uid]; ok {
		// Being scheduled: the failure path re-adds it with the new object.
		return
	}
	q.mu.Unlock()
	q.Add(pod)
	q.mu.Lock()
}

// specChanged reports an update that may change the pod's fit, as
// upstream's isPodUpdated: anything but the status and bookkeeping
// metadata (the scheduler's own condition patches move nothing).
func specChanged(a, b *corev1.Pod) bool {
	return !apiequality.Semantic.DeepEqual(a.Spec, b.Spec) || !apiequality.Semantic.DeepEqual(a.Labels, b.Labels) ||
		!apiequality.Semantic.DeepEqual(a.Annotations, b.Annotations)
}

// Delete removes a pod wherever it is.
func (q *PriorityQueue) Delete(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleteLocked(pod.UID)
	q.updateMetrics()
}

func (q *PriorityQueue) deleteLocked(uid types.UID) {
	q.active.remove(uid)
	q.backoff.remove(uid)
	delete(q.parked, uid)
	delete(q.gated, uid)
}

// Pop blocks until a pod is active (or ctx ends / the queue closes: nil).
func (q *PriorityQueue) Pop(ctx context.Context) *QueuedPodInfo {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 {
		if q.closed || ctx.Err() != nil {
			return nil
		}
		q.cond.Wait()
	}
	pi := heap.Pop(q.active).(*QueuedPodInfo)
	delete(q.active.byUID, pi.Pod.UID)
	pi.Attempts++
	if pi.InitialAttemptTimestamp == nil {
		t := q.clock.Now()
		pi.InitialAttemptTimestamp = &t
	}
	q.inFlight[pi.Pod.UID] = q.moveCycle
	q.updateMetrics()
	return pi
}

// Done says the attempt of a popped pod ended (bound or re-queued).
func (q *PriorityQueue) Done(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, uid)
}

// AddUnschedulable re-queues a popped pod that failed: to backoffQ when an
// event that may help it happened during its attempt or the failure was
// an error, else parked until such an event.
func (q *PriorityQueue) AddUnschedulable(pi *QueuedPodInfo, isError bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	uid := pi.Pod.UID
	popCycle, wasInFlight := q.inFlight[uid]
	delete(q.inFlight, uid)
	if q.active.get(uid) != nil || q.backoff.get(uid) != nil || q.parked[uid] != nil {
		return
	}
	pi.Timestamp = q.clock.Now()
	if isError || (wasInFlight && q.moveCycle > popCycle) {
		q.pushBackoffLocked(pi)
		q.metrics.Incoming(BackoffQ, "ScheduleAttemptFailure")
	} else {
		q.parked[uid] = pi
		q.metrics.Incoming(Unschedulable, "ScheduleAttemptFailure")
	}
	q.updateMetrics()
}

func (q *PriorityQueue) backoffDuration(pi *QueuedPodInfo) time.Duration {
	d := q.initialBackoff
	for i := 1; i < pi.Attempts; i++ {
		d *= 2
		if d >= q.maxBackoff {
			return q.maxBackoff
		}
	}
	return d
}

func (q *PriorityQueue) pushBackoffLocked(pi *QueuedPodInfo) {
	pi.backoffExpiry = pi.Timestamp.Add(q.backoffDuration(pi))
	q.backoff.push(pi)
}

// requeueLocked moves pi to backoffQ if its backoff has not ended, else to
// activeQ.
func (q *PriorityQueue) requeueLocked(pi *QueuedPodInfo, event string) {
	expiry := pi.Timestamp.Add(q.backoffDuration(pi))
	if expiry.After(q.clock.Now()) {
		pi.backoffExpiry = expiry
		q.backoff.push(pi)
		q.metrics.Incoming(BackoffQ, event)
	} else {
		q.active.push(pi)
		q.metrics.Incoming(ActiveQ, event)
		q.cond.Broadcast()
	}
	q.updateMetrics()
}

// MoveAllToActiveOrBackoffQueue moves parked pods that ev may help.
func (q *PriorityQueue) MoveAllToActiveOrBackoffQueue(ev Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moveCycle++
	for uid, pi := range q.parked {
		if !eventHelps(ev, pi) {
			continue
		}
		delete(q.parked, uid)
		q.requeueLocked(pi, ev.Label)
	}
}

func eventHelps(ev Event, pi *QueuedPodInfo) bool {
	if ev.Plugins == nil || len(pi.UnschedulablePlugins) == 0 {
		return true
	}
	for p := range pi.UnschedulablePlugins {
		if _, ok := ev.Plugins[p]; ok {
			return true
		}
	}
	return false
}

// FlushBackoffCompleted moves pods whose backoff ended to activeQ.
func (q *PriorityQueue) FlushBackoffCompleted() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	moved := false
	for q.backoff.Len() > 0 {
		pi := q.backoff.items[0]
		if pi.backoffExpiry.After(now) {
			break
		}
		heap.Pop(q.backoff)
		delete(q.backoff.byUID, pi.Pod.UID)
		q.active.push(pi)
		q.metrics.Incoming(ActiveQ, "BackoffComplete")
		moved = true
	}
	if moved {
		q.updateMetrics()
		q.cond.Broadcast()
	}
}

// FlushUnschedulableLeftover moves pods parked longer than
// maxUnschedulableDuration.
func (q *PriorityQueue) FlushUnschedulableLeftover() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for uid, pi := range q.parked {
		if now.Sub(pi.Timestamp) > q.maxParked {
			delete(q.parked, uid)
			q.requeueLocked(pi, "UnschedulableTimeout")
		}
	}
}

// Run flushes backoffQ every second and parked pods every 30 seconds
// until ctx ends, then closes the queue (waking Pop).
func (q *PriorityQueue) Run(ctx context.Context) {
	backoff := time.NewTicker(time.Second)
	parked := time.NewTicker(30 * time.Second)
	defer backoff.Stop()
	defer parked.Stop()
	for {
		select {
		case <-ctx.Done():
			q.Close()
			return
		case <-backoff.C:
			q.FlushBackoffCompleted()
		case <-parked.C:
			q.FlushUnschedulableLeftover()
		}
	}
}

// Close wakes Pop callers; Pop returns nil from then on.
func (q *PriorityQueue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// Lengths returns the number of pods in activeQ, backoffQ and parked.
func (q *PriorityQueue) Lengths() (active, backoff, parked int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoff.Len(), len(q.parked)
}

// PendingPods lists every queued pod (for debugging and tests).
func (q *PriorityQueue) PendingPods() []*corev1.Pod {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*corev1.Pod
	for _, pi := range q.active.items {
		out = append(out, pi.Pod)
	}
	for _, pi := range q.backoff.items {
		out = append(out, pi.Pod)
	}
	for _, pi := range q.parked {
		out = append(out, pi.Pod)
	}
	for _, pi := range q.gated {
		out = append(out, pi.Pod)
	}
	return out
}

// podHeap is a heap of pods indexed by UID.
type podHeap struct {
	items []*QueuedPodInfo
	byUID map[types.UID]*QueuedPodInfo
	less  func(a, b *QueuedPodInfo) bool
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index, h.items[j].index = i, j
}
func (h *podHeap) Push(x any) {
	pi := x.(*QueuedPodInfo)
	pi.index = len(h.items)
	h.items = append(h.items, pi)
}
func (h *podHeap) Pop() any {
	n := len(h.items)
	pi := h.items[n-1]
	h.items[n-1] = nil
	h.items = h.items[:n-1]
	return pi
}

func (h *podHeap) push(pi *QueuedPodInfo) {
	if old, ok := h.byUID[pi.Pod.UID]; ok {
		heap.Remove(h, old.index)
	}
	h.byUID[pi.Pod.UID] = pi
	heap.Push(h, pi)
}

func (h *podHeap) get(uid types.UID) *QueuedPodInfo { return h.byUID[uid] }

func (h *podHeap) remove(uid types.UID) {
	if pi, ok := h.byUID[uid]; ok {
		heap.Remove(h, pi.index)
		delete(h.byUID, uid)
	}
}
