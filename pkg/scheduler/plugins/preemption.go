package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/klog/v2"

	"github.com/kstack/kstack/pkg/scheduler/framework"
)

// Preemption messages, as upstream.
const (
	msgNoVictims     = "No preemption victims found for incoming pod"
	msgNotHelpful    = "Preemption is not helpful for scheduling"
	msgPolicyNever   = "not eligible due to preemptionPolicy=Never."
	msgTerminatingOn = "not eligible due to a terminating pod on the nominated node."
)

// Upstream's DefaultPreemptionArgs defaults: dry-run preemption on at
// least 10% of the potential nodes and at least 100 of them.
const (
	minCandidateNodesPercentage = 10
	minCandidateNodesAbsolute   = 100
)

// DefaultPreemptionArgs are upstream's args.
type DefaultPreemptionArgs struct {
	MinCandidateNodesPercentage *int32 `json:"minCandidateNodesPercentage,omitempty"`
	MinCandidateNodesAbsolute   *int32 `json:"minCandidateNodesAbsolute,omitempty"`
}

// DefaultPreemption is the PostFilter that, when a pod fits nowhere,
// finds the node where evicting the cheapest set of lower-priority pods
// makes it fit, evicts those pods and nominates the node.
type DefaultPreemption struct {
	handle          framework.Handle
	pdbs            policylisters.PodDisruptionBudgetLister
	minCandidatePct int32
	minCandidateAbs int32
	randomOffset    func(n int) int
}

var _ framework.PostFilterPlugin = (*DefaultPreemption)(nil)

// NewDefaultPreemption builds the plugin.
func NewDefaultPreemption(raw runtime.RawExtension, h framework.Handle) (framework.Plugin, error) {
	args := DefaultPreemptionArgs{}
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	p := &DefaultPreemption{handle: h, minCandidatePct: minCandidateNodesPercentage, minCandidateAbs: minCandidateNodesAbsolute, randomOffset: rand.IntN}
	if args.MinCandidateNodesPercentage != nil {
		p.minCandidatePct = *args.MinCandidateNodesPercentage
	}
	if args.MinCandidateNodesAbsolute != nil {
		p.minCandidateAbs = *args.MinCandidateNodesAbsolute
	}
	if f := h.SharedInformerFactory(); f != nil {
		p.pdbs = f.Policy().V1().PodDisruptionBudgets().Lister()
	}
	return p, nil
}

// Name implements framework.Plugin.
func (*DefaultPreemption) Name() string { return DefaultPreemptionName }

func priority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// Candidate is a node with the pods to evict there, most important first.
type Candidate struct {
	Node          string
	Victims       []*corev1.Pod
	PDBViolations int
}

// PostFilter implements framework.PostFilterPlugin. On success the pod is
// nominated to the chosen node; when no node can be freed the nomination
// is cleared and the status explains each node, as upstream's.
func (p *DefaultPreemption) PostFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, statuses framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	if msg := p.ineligible(pod, statuses); msg != "" {
		return nil, framework.NewStatus(framework.Unschedulable, "preemption: "+msg)
	}
	cands, msg := p.FindCandidates(ctx, state, pod, statuses)
	if len(cands) == 0 {
		return &framework.PostFilterResult{}, framework.NewStatus(framework.Unschedulable, "preemption: "+msg)
	}
	best := PickCandidate(cands)
	if st := p.evict(ctx, pod, best); !st.IsSuccess() {
		return nil, st
	}
	return &framework.PostFilterResult{NominatedNodeName: best.Node}, framework.NewStatus(framework.Success,
		fmt.Sprintf("preemption: found a potential placement for pod on node %v, preempting %d victims", best.Node, len(best.Victims)))
}

// evict marks each victim DisruptionTarget (reason PreemptionByScheduler)
// and deletes it, skipping victims already terminating, then clears the
// nomination of lower-priority pods nominated to the node (they may no
// longer fit there).
func (p *DefaultPreemption) evict(ctx context.Context, preemptor *corev1.Pod, c Candidate) *framework.Status {
	cs := p.handle.ClientSet()
	for _, v := range c.Victims {
		if v.DeletionTimestamp != nil {
			continue
		}
		if err := markDisruptionTarget(ctx, cs, v, preemptor); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return framework.AsStatus(fmt.Errorf("preempt victim %s/%s: %w", v.Namespace, v.Name, err))
		}
		err := cs.CoreV1().Pods(v.Namespace).Delete(ctx, v.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &v.UID}})
		if err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				continue // gone (or replaced) meanwhile
			}
			return framework.AsStatus(fmt.Errorf("preempt victim %s/%s: %w", v.Namespace, v.Name, err))
		}
		if r := p.handle.EventRecorder(); r != nil {
			r.Eventf(v, preemptor, corev1.EventTypeNormal, "Preempted", "Preempting", "Preempted by pod %v on node %v", preemptor.UID, c.Node)
		}
	}
	for _, pi := range p.handle.NominatedPodsForNode(c.Node) {
		if pi.Pod.UID == preemptor.UID || priority(pi.Pod) >= priority(preemptor) {
			continue
		}
		patch := []byte(`{"status":{"nominatedNodeName":null}}`)
		_, err := cs.CoreV1().Pods(pi.Pod.Namespace).Patch(ctx, pi.Pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		if err != nil && !apierrors.IsNotFound(err) {
			slog.Warn("could not clear the nomination of a lower-priority pod", "pod", klog.KObj(pi.Pod), "node", c.Node, "err", err)
		}
	}
	return nil
}

// markDisruptionTarget adds upstream's DisruptionTarget condition to a
// victim before its deletion.
func markDisruptionTarget(ctx context.Context, cs kubernetes.Interface, victim, preemptor *corev1.Pod) error {
	for _, c := range victim.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue && c.Reason == corev1.PodReasonPreemptionByScheduler {
			return nil
		}
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": victim.UID},
		"status": map[string]any{"conditions": []any{map[string]any{
			"type": corev1.DisruptionTarget, "status": corev1.ConditionTrue, "reason": corev1.PodReasonPreemptionByScheduler,
			"message":            preemptor.Spec.SchedulerName + ": preempting to accommodate a higher priority pod",
			"lastTransitionTime": metav1.Now(),
		}}},
	})
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Pods(victim.Namespace).Patch(ctx, victim.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}

// ineligible says why pod may not preempt ("" if it may): its
// preemptionPolicy is Never, or a lower-priority pod on its nominated node
// is still terminating because of an earlier preemption (unless filters
// found that node unresolvable: then it may preempt elsewhere).
func (p *DefaultPreemption) ineligible(pod *corev1.Pod, statuses framework.NodeToStatus) string {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return msgPolicyNever
	}
	nom := pod.Status.NominatedNodeName
	if nom == "" {
		return ""
	}
	if st, ok := statuses[nom]; ok && st.Code() == framework.UnschedulableAndUnresolvable {
		return ""
	}
	if ni := p.handle.SnapshotSharedLister().Get(nom); ni != nil {
		for _, pi := range ni.Pods {
			if priority(pi.Pod) < priority(pod) && terminatingByPreemption(pi.Pod) {
				return msgTerminatingOn
			}
		}
	}
	return ""
}

// terminatingByPreemption: deleting and marked DisruptionTarget by a
// scheduler's preemption.
func terminatingByPreemption(p *corev1.Pod) bool {
	if p.DeletionTimestamp == nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget {
			return c.Status == corev1.ConditionTrue && c.Reason == corev1.PodReasonPreemptionByScheduler
		}
	}
	return false
}

// numCandidates is how many candidates the dry run looks for among n
// potential nodes: 10% of them, at least 100, at most n.
func (p *DefaultPreemption) numCandidates(n int) int {
	c := n * int(p.minCandidatePct) / 100
	c = max(c, int(p.minCandidateAbs))
	return min(c, n)
}

// FindCandidates dry-runs preemption on the nodes filters rejected as
// Unschedulable (removing pods cannot cure UnschedulableAndUnresolvable),
// from a random offset, until enough candidates are found (upstream's
// numCandidates, at least one that violates no PDB). msg explains an
// empty result in upstream's words: the filter's reason where even
// evicting every lower-priority pod is not enough, "No preemption victims
// found for incoming pod" where there are none, "Preemption is not
// helpful for scheduling" for the other nodes.
func (p *DefaultPreemption) FindCandidates(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, statuses framework.NodeToStatus) ([]Candidate, string) {
	all := p.handle.SnapshotSharedLister().List()
	var potential []*framework.NodeInfo
	for _, ni := range all {
		if st, ok := statuses[ni.Node.Name]; ok && st.Code() == framework.Unschedulable {
			potential = append(potential, ni)
		}
	}
	reasons := framework.NodeToStatus{}
	var nonViolating, violating []Candidate
	if len(potential) > 0 {
		pdbs := p.listPDBs()
		want := p.numCandidates(len(potential))
		offset := 0
		if p.randomOffset != nil {
			offset = p.randomOffset(len(potential))
		}
		dctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var mu sync.Mutex
		framework.Parallelize(dctx, p.handle.Parallelism(), len(potential), func(i int) {
			ni := potential[(offset+i)%len(potential)]
			c, st := p.selectVictims(ctx, state, pod, ni, pdbs)
			mu.Lock()
			defer mu.Unlock()
			if !st.IsSuccess() {
				reasons[ni.Node.Name] = st
				return
			}
			if c.PDBViolations == 0 {
				nonViolating = append(nonViolating, c)
			} else {
				violating = append(violating, c)
			}
			if len(nonViolating) > 0 && len(nonViolating)+len(violating) >= want {
				cancel()
			}
		})
	}
	byNode := func(c []Candidate) {
		sort.Slice(c, func(i, j int) bool { return c[i].Node < c[j].Node })
	}
	byNode(nonViolating)
	byNode(violating)
	if cands := append(nonViolating, violating...); len(cands) > 0 {
		return cands, ""
	}
	for _, ni := range all {
		if _, ok := reasons[ni.Node.Name]; !ok {
			reasons[ni.Node.Name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, msgNotHelpful)
		}
	}
	return nil, fmt.Sprintf("0/%d nodes are available: %s.", len(all), framework.ReasonHistogram(reasons))
}

// listPDBs lists every PodDisruptionBudget (victims may be in any
// namespace).
func (p *DefaultPreemption) listPDBs() []*policyv1.PodDisruptionBudget {
	if p.pdbs == nil {
		return nil
	}
	l, err := p.pdbs.List(labels.Everything())
	if err != nil {
		return nil
	}
	return l
}

// selectVictims removes every lower-priority pod from a copy of the node,
// checks the pod fits (counting the pods nominated there), then adds
// victims back, most important first (PDB protected ones before the
// others), keeping each one the pod still fits with. A failed status says
// why the node is no candidate.
func (p *DefaultPreemption) selectVictims(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, orig *framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) (Candidate, *framework.Status) {
	prio := priority(pod)
	var potential []*framework.PodInfo
	for _, pi := range orig.Pods {
		if priority(pi.Pod) < prio {
			potential = append(potential, pi)
		}
	}
	if len(potential) == 0 {
		return Candidate{}, framework.NewStatus(framework.UnschedulableAndUnresolvable, msgNoVictims)
	}
	ni := orig.Clone()
	st := state.Clone()
	for _, pi := range potential {
		ni.RemovePod(pi.Pod)
		if s := p.handle.RunPreFilterExtensionRemovePod(ctx, st, pod, pi, ni); !s.IsSuccess() {
			return Candidate{}, s
		}
	}
	if s := p.handle.RunFilterPluginsWithNominatedPods(ctx, st, pod, ni); !s.IsSuccess() {
		return Candidate{}, s
	}
	sort.SliceStable(potential, func(i, j int) bool { return moreImportant(potential[i].Pod, potential[j].Pod) })
	violating, other := splitByPDB(potential, pdbs)
	c := Candidate{Node: orig.Node.Name}
	var failed *framework.Status
	reprieve := func(pi *framework.PodInfo) bool {
		ni.AddPod(pi)
		if s := p.handle.RunPreFilterExtensionAddPod(ctx, st, pod, pi, ni); !s.IsSuccess() {
			failed = s
			return false
		}
		if s := p.handle.RunFilterPluginsWithNominatedPods(ctx, st, pod, ni); s.IsSuccess() {
			return true
		}
		ni.RemovePod(pi.Pod)
		if s := p.handle.RunPreFilterExtensionRemovePod(ctx, st, pod, pi, ni); !s.IsSuccess() {
			failed = s
		}
		c.Victims = append(c.Victims, pi.Pod)
		return false
	}
	for _, pi := range violating {
		if !reprieve(pi) {
			c.PDBViolations++
		}
	}
	for _, pi := range other {
		reprieve(pi)
	}
	if failed != nil {
		return Candidate{}, framework.AsStatus(failed.AsError())
	}
	if len(c.Victims) == 0 {
		return Candidate{}, framework.AsStatus(fmt.Errorf("expected at least one victim pod on node %q", orig.Node.Name))
	}
	sort.SliceStable(c.Victims, func(i, j int) bool { return moreImportant(c.Victims[i], c.Victims[j]) })
	return c, nil
}

// moreImportant orders by priority, then earlier start.
func moreImportant(a, b *corev1.Pod) bool {
	pa, pb := priority(a), priority(b)
	if pa != pb {
		return pa > pb
	}
	ta, tb := startTime(a), startTime(b)
	return ta.Before(&tb)
}

func startTime(p *corev1.Pod) metav1.Time {
	if p.Status.StartTime != nil {
		return *p.Status.StartTime
	}
	return p.CreationTimestamp
}

// splitByPDB splits pods into those whose eviction would exceed a PDB's
// allowed disruptions and the rest, as upstream: a pod without labels
// violates nothing; a PDB with an empty selector matches nothing; a pod
// already in a PDB's disruptedPods does not count against it; a pod's
// check stops at the first PDB it would take below zero.
func splitByPDB(pods []*framework.PodInfo, pdbs []*policyv1.PodDisruptionBudget) (violating, other []*framework.PodInfo) {
	allowed := make([]int32, len(pdbs))
	sels := make([]labels.Selector, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
		if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil {
			sels[i] = s
		}
	}
	violates := func(pod *corev1.Pod) bool {
		if len(pod.Labels) == 0 {
			return false
		}
		for i, pdb := range pdbs {
			if pdb.Namespace != pod.Namespace || sels[i] == nil || sels[i].Empty() || !sels[i].Matches(labels.Set(pod.Labels)) {
				continue
			}
			if _, disrupted := pdb.Status.DisruptedPods[pod.Name]; disrupted {
				continue
			}
			allowed[i]--
			if allowed[i] < 0 {
				return true
			}
		}
		return false
	}
	for _, pi := range pods {
		if violates(pi.Pod) {
			violating = append(violating, pi)
		} else {
			other = append(other, pi)
		}
	}
	return violating, other
}

// PickCandidate chooses as upstream: fewest PDB violations, then the
// lowest highest-priority victim, then the smallest sum of priorities,
// then the fewest victims, then the latest-started highest-priority
// victim, then the first.
func PickCandidate(cands []Candidate) Candidate {
	best := cands[:]
	filter := func(key func(c Candidate) int64) {
		m := int64(math.MaxInt64)
		for _, c := range best {
			m = min(m, key(c))
		}
		var out []Candidate
		for _, c := range best {
			if key(c) == m {
				out = append(out, c)
			}
		}
		best = out
	}
	filter(func(c Candidate) int64 { return int64(c.PDBViolations) })
	filter(func(c Candidate) int64 { return int64(priority(c.Victims[0])) })
	filter(func(c Candidate) int64 {
		var sum int64
		for _, v := range c.Victims {
			sum += int64(priority(v)) + math.MaxInt32 + 1
		}
		return sum
	})
	filter(func(c Candidate) int64 { return int64(len(c.Victims)) })
	filter(func(c Candidate) int64 {
		// Latest start among the highest-priority victims wins: minimize
		// its negation.
		top := priority(c.Victims[0])
		var earliest int64 = math.MaxInt64
		for _, v := range c.Victims {
			if priority(v) == top {
				earliest = min(earliest, startTime(v).UnixNano())
			}
		}
		return -earliest
	})
	return best[0]
}
