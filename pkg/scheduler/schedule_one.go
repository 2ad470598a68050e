package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/kstack/kstack/pkg/scheduler/framework"
	"github.com/kstack/kstack/pkg/scheduler/queue"
)

// Upstream's bounds for the adaptive number of nodes to find.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// Results of an attempt, for metrics.
const (
	resultScheduled     = "scheduled"
	resultUnschedulable = "unschedulable"
	resultError         = "error"
)

// errNoNodes is upstream's message when the cluster has no nodes.
var errNoNodes = errors.New("no nodes available to schedule pods")

// scheduleOne pops one pod and runs its scheduling cycle; binding goes on
// in its own goroutine.
func (s *Scheduler) scheduleOne(ctx context.Context) {
	pi := s.queue.Pop(ctx)
	if pi == nil {
		return
	}
	pod := pi.Pod
	prof, ok := s.profiles[pod.Spec.SchedulerName]
	if !ok || pod.DeletionTimestamp != nil || s.cache.IsAssumed(pod) {
		s.queue.Done(pod.UID)
		return
	}
	fwk := prof.fwk
	start := s.clock.Now()
	s.cache.UpdateSnapshot(s.snapshot)
	state := framework.NewCycleState()
	host, err := s.schedulePod(ctx, prof, state, pod)
	if err != nil {
		var nominating *framework.PostFilterResult
		var fitErr *framework.FitError
		if errors.As(err, &fitErr) && fwk.HasPostFilterPlugins() {
			r, st := fwk.RunPostFilterPlugins(ctx, state, pod, fitErr.NodeToStatus)
			if st.Code() == framework.Error {
				slog.Error("preemption failed", "pod", klog.KObj(pod), "err", st.AsError())
			}
			// Upstream's explanation, also on success ("preemption: found
			// a potential placement for pod on node ...").
			fitErr.PostFilterMsg = st.Message()
			nominating = r
		}
		s.handleFailure(ctx, prof, pi, err, nominating, start)
		return
	}
	assumed := pod.DeepCopy()
	assumed.Spec.NodeName = host
	if err := s.cache.AssumePod(assumed); err != nil {
		s.handleFailure(ctx, prof, pi, err, nil, start)
		return
	}
	// Placed: no longer waiting for room on a nominated node.
	s.nominator.forget(pod.UID)
	if st := fwk.RunReservePlugins(ctx, state, assumed, host); !st.IsSuccess() {
		fwk.RunUnreservePlugins(ctx, state, assumed, host)
		s.cache.ForgetPod(assumed)
		s.handleFailure(ctx, prof, pi, st.AsError(), nil, start)
		return
	}
	s.queue.Done(pod.UID)
	// Wait for a binding slot here rather than in the goroutine: the
	// loop must not run thousands of pods ahead of the apiserver, each
	// waiting binding holding its cycle state (O(nodes) for some
	// plugins) and a goroutine.
	select {
	case s.bindSlots <- struct{}{}:
	case <-ctx.Done():
		s.cache.ForgetPod(assumed)
		fwk.RunUnreservePlugins(ctx, state, assumed, host)
		return
	}
	go s.bind(ctx, prof, state, pi, assumed, host, start)
}

// bind runs the bind plugins in a binding slot the caller took, and
// frees it; failure forgets the assumption and re-queues the pod.
func (s *Scheduler) bind(ctx context.Context, prof *profile, state *framework.CycleState, pi *queue.QueuedPodInfo, assumed *corev1.Pod, host string, start time.Time) {
	st := prof.fwk.RunBindPlugins(ctx, state, assumed, host)
	<-s.bindSlots
	if !st.IsSuccess() {
		s.cache.ForgetPod(assumed)
		prof.fwk.RunUnreservePlugins(ctx, state, assumed, host)
		if ctx.Err() != nil {
			return
		}
		s.handleFailure(ctx, prof, pi, fmt.Errorf("binding rejected: %w", st.AsError()), nil, start)
		return
	}
	s.cache.FinishBinding(assumed)
	now := s.clock.Now()
	s.metrics.ScheduleAttempts.WithLabelValues(resultScheduled, prof.fwk.ProfileName()).Inc()
	s.metrics.AttemptDuration.WithLabelValues(resultScheduled, prof.fwk.ProfileName()).Observe(now.Sub(start).Seconds())
	if pi.InitialAttemptTimestamp != nil {
		s.metrics.E2EDuration.WithLabelValues(strconv.Itoa(min(pi.Attempts, 16))).Observe(now.Sub(*pi.InitialAttemptTimestamp).Seconds())
	}
	prof.recorder.Eventf(assumed, nil, corev1.EventTypeNormal, "Scheduled", "Binding", "Successfully assigned %v/%v to %v", assumed.Namespace, assumed.Name, host)
}

// schedulePod finds the best node for pod, or returns a *FitError.
func (s *Scheduler) schedulePod(ctx context.Context, prof *profile, state *framework.CycleState, pod *corev1.Pod) (string, error) {
	fwk := prof.fwk
	all := s.snapshot.List()
	if len(all) == 0 {
		return "", errNoNodes
	}
	feasible, statuses, err := s.findFeasible(ctx, prof, state, pod, all)
	if err != nil {
		return "", err
	}
	if len(feasible) == 0 {
		fe := &framework.FitError{Pod: pod, NumAllNodes: len(all), NodeToStatus: statuses, UnschedulablePlugins: map[string]struct{}{}}
		for _, st := range statuses {
			if p := st.Plugin(); p != "" {
				fe.UnschedulablePlugins[p] = struct{}{}
			}
		}
		return "", fe
	}
	if len(feasible) == 1 {
		return feasible[0].Node.Name, nil
	}
	if st := fwk.RunPreScorePlugins(ctx, state, pod, feasible); !st.IsSuccess() {
		return "", st.AsError()
	}
	scores, st := fwk.RunScorePlugins(ctx, state, pod, feasible)
	if !st.IsSuccess() {
		return "", st.AsError()
	}
	return selectHost(scores), nil
}

// selectHost picks a top-scoring node, uniformly at random among ties.
func selectHost(scores []framework.NodeScore) string {
	best, ties := 0, 1
	for i := 1; i < len(scores); i++ {
		switch {
		case scores[i].Score > scores[best].Score:
			best, ties = i, 1
		case scores[i].Score == scores[best].Score:
			ties++
			if rand.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return scores[best].Name
}

// numFeasibleNodesToFind is upstream's adaptive count: all nodes below
// 100; otherwise percentage (default 50% minus 1% per 125 nodes, at least
// 5%) of them, at least 100.
func numFeasibleNodesToFind(percentage int32, numAll int) int {
	if numAll < minFeasibleNodesToFind {
		return numAll
	}
	adaptive := percentage
	if adaptive <= 0 {
		adaptive = 50 - int32(numAll/125)
		if adaptive < minFeasibleNodesPercentageToFind {
			adaptive = minFeasibleNodesPercentageToFind
		}
	}
	n := numAll * int(adaptive) / 100
	if n < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return n
}

// findFeasible runs PreFilter, then Filter on nodes in parallel starting
// where the previous pod stopped (to spread the work) until enough
// feasible nodes are found. A pod with a nominated node tries it first.
func (s *Scheduler) findFeasible(ctx context.Context, prof *profile, state *framework.CycleState, pod *corev1.Pod, all []*framework.NodeInfo) ([]*framework.NodeInfo, framework.NodeToStatus, error) {
	fwk := prof.fwk
	statuses := framework.NodeToStatus{}
	pre, st := fwk.RunPreFilterPlugins(ctx, state, pod, all)
	if !st.IsSuccess() {
		if !st.IsRejected() {
			return nil, nil, st.AsError()
		}
		for _, n := range all {
			statuses[n.Node.Name] = st
		}
		return nil, statuses, nil
	}
	if nom := pod.Status.NominatedNodeName; nom != "" {
		if ni := s.snapshot.Get(nom); ni != nil {
			if fwk.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni).IsSuccess() {
				return []*framework.NodeInfo{ni}, statuses, nil
			}
		}
	}
	nodes := all
	if pre != nil && pre.NodeNames != nil {
		nodes = nil
		for name := range pre.NodeNames {
			if ni := s.snapshot.Get(name); ni != nil {
				nodes = append(nodes, ni)
			}
		}
		for _, n := range all {
			if _, ok := pre.NodeNames[n.Node.Name]; !ok {
				statuses[n.Node.Name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't satisfy plugin(s) [PreFilter]")
			}
		}
	}
	pct := s.percentage
	if prof.percentage != nil {
		pct = *prof.percentage
	}
	want := numFeasibleNodesToFind(pct, len(nodes))
	if !fwk.HasFilterPlugins() {
		out := make([]*framework.NodeInfo, 0, want)
		for i := 0; i < want; i++ {
			out = append(out, nodes[(s.nextStartNodeIndex+i)%len(nodes)])
		}
		s.nextStartNodeIndex = (s.nextStartNodeIndex + want) % len(nodes)
		return out, statuses, nil
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feasible := make([]*framework.NodeInfo, len(nodes))
	var found, processed atomic.Int32
	var mu sync.Mutex
	var firstErr error
	start := s.nextStartNodeIndex
	framework.Parallelize(fctx, s.parallelism, len(nodes), func(i int) {
		ni := nodes[(start+i)%len(nodes)]
		st := fwk.RunFilterPluginsWithNominatedPods(fctx, state, pod, ni)
		processed.Add(1)
		if st.IsSuccess() {
			if n := found.Add(1); int(n) <= want {
				feasible[i] = ni
			}
			if int(found.Load()) >= want {
				cancel()
			}
			return
		}
		mu.Lock()
		if st.Code() == framework.Error {
			if firstErr == nil {
				firstErr = st.AsError()
			}
		} else {
			statuses[ni.Node.Name] = st
		}
		mu.Unlock()
	})
	if firstErr != nil {
		return nil, nil, firstErr
	}
	s.nextStartNodeIndex = (start + int(processed.Load())) % len(nodes)
	out := make([]*framework.NodeInfo, 0, min(int(found.Load()), want))
	for _, ni := range feasible {
		if ni != nil {
			out = append(out, ni)
		}
	}
	return out, statuses, nil
}

// handleFailure records a failed attempt: metrics, re-queue (unless the
// pod is gone or bound meanwhile), a FailedScheduling event and the
// PodScheduled=False condition, plus the nomination preemption decided
// (nil: unchanged; a node; "" cleared), kept in memory at once so the
// next pods' filtering leaves the room to the preemptor.
func (s *Scheduler) handleFailure(ctx context.Context, prof *profile, pi *queue.QueuedPodInfo, err error, nominating *framework.PostFilterResult, start time.Time) {
	pod := pi.Pod
	result, reason := resultError, "SchedulerError"
	var fitErr *framework.FitError
	if errors.As(err, &fitErr) || errors.Is(err, errNoNodes) {
		result, reason = resultUnschedulable, corev1.PodReasonUnschedulable
	}
	name := prof.fwk.ProfileName()
	s.metrics.ScheduleAttempts.WithLabelValues(result, name).Inc()
	s.metrics.AttemptDuration.WithLabelValues(result, name).Observe(s.clock.Now().Sub(start).Seconds())
	msg := err.Error()
	if result == resultUnschedulable {
		slog.Debug("unable to schedule pod; waiting", "pod", klog.KObj(pod), "err", msg)
	} else {
		slog.Error("error scheduling pod; retrying", "pod", klog.KObj(pod), "err", msg)
	}

	cached, gerr := s.podLister.Pods(pod.Namespace).Get(pod.Name)
	switch {
	case gerr != nil || cached.UID != pod.UID:
		s.queue.Done(pod.UID)
		return // deleted meanwhile
	case cached.Spec.NodeName != "":
		s.queue.Done(pod.UID)
		return // bound by someone else
	}
	if nominating != nil {
		s.nominator.nominate(cached, nominating.NominatedNodeName)
	}
	pi.Pod = cached.DeepCopy()
	pi.UnschedulablePlugins = nil
	if fitErr != nil {
		pi.UnschedulablePlugins = fitErr.UnschedulablePlugins
	}
	s.queue.AddUnschedulable(pi, result == resultError)

	prof.recorder.Eventf(cached, nil, corev1.EventTypeWarning, "FailedScheduling", "Scheduling", "%s", msg)
	go s.updateStatus(ctx, cached, &corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: msg}, nominating)
}

// updateStatus patches the PodScheduled condition and nominatedNodeName
// (when nominating is not nil: set, or cleared when "") through
// pods/status when they change.
func (s *Scheduler) updateStatus(ctx context.Context, pod *corev1.Pod, cond *corev1.PodCondition, nominating *framework.PostFilterResult) {
	nominationSame := nominating == nil || nominating.NominatedNodeName == pod.Status.NominatedNodeName
	for _, c := range pod.Status.Conditions {
		if c.Type == cond.Type && c.Status == cond.Status && c.Reason == cond.Reason && c.Message == cond.Message && nominationSame {
			return
		}
	}
	now := metav1.Now()
	cond.LastTransitionTime = now
	status := map[string]any{"conditions": []any{map[string]any{
		"type": cond.Type, "status": cond.Status, "reason": cond.Reason, "message": cond.Message,
		"lastProbeTime": nil, "lastTransitionTime": now,
	}}}
	if !nominationSame {
		if nominating.NominatedNodeName == "" {
			status["nominatedNodeName"] = nil
		} else {
			status["nominatedNodeName"] = nominating.NominatedNodeName
		}
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   status,
	})
	if err != nil {
		return
	}
	_, err = s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		slog.Warn("could not update the pod's scheduling condition", "pod", klog.KObj(pod), "err", err)
	}
}
