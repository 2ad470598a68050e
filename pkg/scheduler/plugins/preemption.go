package plugins

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	policylisters "k8s.io/client-go/listers/policy/v1"

	"github.com/kstack/kstack/pkg/scheduler/framework"
)

// Preemption messages, as upstream.
const (
	msgNoVictims     = "No preemption victims found for incoming pod"
	msgNotHelpful    = "Preemption is not helpful for scheduling"
	msgPolicyNever   = "not eligible due to preemptionPolicy=Never."
	msgTerminatingOn = "not eligible due to a terminating pod on the nominated node."
)

// DefaultPreemption is the PostFilter that, when a pod fits nowhere,
// finds the node where evicting the cheapest set of lower-priority pods
// makes it fit, deletes those pods and nominates the node.
type DefaultPreemption struct {
	handle framework.Handle
	pdbs   policylisters.PodDisruptionBudgetLister
}

var _ framework.PostFilterPlugin = (*DefaultPreemption)(nil)

// NewDefaultPreemption builds the plugin.
func NewDefaultPreemption(_ runtime.RawExtension, h framework.Handle) (framework.Plugin, error) {
	p := &DefaultPreemption{handle: h}
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

// Candidate is a node with the pods to evict there.
type Candidate struct {
	Node          string
	Victims       []*corev1.Pod
	PDBViolations int
}

// PostFilter implements framework.PostFilterPlugin.
func (p *DefaultPreemption) PostFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, statuses framework.NodeToStatus) (string, *framework.Status) {
	if msg := p.ineligible(pod); msg != "" {
		return "", framework.NewStatus(framework.Unschedulable, "preemption: "+msg)
	}
	cands, msg := p.FindCandidates(ctx, state, pod, statuses)
	if len(cands) == 0 {
		return "", framework.NewStatus(framework.Unschedulable, msg)
	}
	best := PickCandidate(cands)
	for _, v := range best.Victims {
		err := p.handle.ClientSet().CoreV1().Pods(v.Namespace).Delete(ctx, v.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &v.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return "", framework.AsStatus(fmt.Errorf("preempt victim %s/%s: %w", v.Namespace, v.Name, err))
		}
	}
	return best.Node, nil
}

// ineligible says why pod may not preempt ("" if it may).
func (p *DefaultPreemption) ineligible(pod *corev1.Pod) string {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return msgPolicyNever
	}
	if nom := pod.Status.NominatedNodeName; nom != "" {
		if ni := p.handle.SnapshotSharedLister().Get(nom); ni != nil {
			for _, pi := range ni.Pods {
				if pi.Pod.DeletionTimestamp != nil && priority(pi.Pod) < priority(pod) {
					return msgTerminatingOn
				}
			}
		}
	}
	return ""
}

// FindCandidates tries every node rejected as Unschedulable (preemption
// cannot cure UnschedulableAndUnresolvable); msg explains an empty result
// in upstream's words.
func (p *DefaultPreemption) FindCandidates(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, statuses framework.NodeToStatus) ([]Candidate, string) {
	all := p.handle.SnapshotSharedLister().List()
	reasons := framework.NodeToStatus{}
	var potential []*framework.NodeInfo
	for _, ni := range all {
		st := statuses[ni.Node.Name]
		if st.Code() == framework.UnschedulableAndUnresolvable {
			reasons[ni.Node.Name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, msgNotHelpful)
			continue
		}
		potential = append(potential, ni)
	}
	pdbs := p.listPDBs(pod)
	var mu sync.Mutex
	var cands []Candidate
	framework.Parallelize(ctx, p.handle.Parallelism(), len(potential), func(i int) {
		ni := potential[i]
		c, ok := p.selectVictims(ctx, state, pod, ni, pdbs)
		mu.Lock()
		defer mu.Unlock()
		if !ok {
			reasons[ni.Node.Name] = framework.NewStatus(framework.Unschedulable, msgNoVictims)
			return
		}
		cands = append(cands, c)
	})
	sort.Slice(cands, func(i, j int) bool { return cands[i].Node < cands[j].Node })
	if len(cands) > 0 {
		return cands, ""
	}
	return nil, fmt.Sprintf("preemption: 0/%d nodes are available: %s.", len(all), framework.ReasonHistogram(reasons))
}

func (p *DefaultPreemption) listPDBs(pod *corev1.Pod) []*policyv1.PodDisruptionBudget {
	if p.pdbs == nil {
		return nil
	}
	l, err := p.pdbs.PodDisruptionBudgets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	return l
}

// selectVictims removes every lower-priority pod from a copy of the node,
// checks the pod fits, then adds victims back, most important first (PDB
// protected ones before the others), keeping each one the pod still fits
// with. ok is false when the pod does not fit even with all removed.
func (p *DefaultPreemption) selectVictims(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, orig *framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) (Candidate, bool) {
	ni := orig.Clone()
	st := state.Clone()
	prio := priority(pod)
	var potential []*framework.PodInfo
	for _, pi := range orig.Pods {
		if priority(pi.Pod) < prio {
			potential = append(potential, pi)
			ni.RemovePod(pi.Pod)
			if s := p.handle.RunPreFilterExtensionRemovePod(ctx, st, pod, pi, ni); !s.IsSuccess() {
				return Candidate{}, false
			}
		}
	}
	if len(potential) == 0 {
		return Candidate{}, false
	}
	if s := p.handle.RunFilterPlugins(ctx, st, pod, ni); !s.IsSuccess() {
		return Candidate{}, false
	}
	sort.SliceStable(potential, func(i, j int) bool { return moreImportant(potential[i].Pod, potential[j].Pod) })
	violating, other := splitByPDB(potential, pdbs)
	c := Candidate{Node: orig.Node.Name}
	reprieve := func(pi *framework.PodInfo) bool {
		ni.AddPod(pi)
		_ = p.handle.RunPreFilterExtensionAddPod(ctx, st, pod, pi, ni)
		if s := p.handle.RunFilterPlugins(ctx, st, pod, ni); s.IsSuccess() {
			return true
		}
		ni.RemovePod(pi.Pod)
		_ = p.handle.RunPreFilterExtensionRemovePod(ctx, st, pod, pi, ni)
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
	if len(c.Victims) == 0 {
		return Candidate{}, false
	}
	sort.SliceStable(c.Victims, func(i, j int) bool { return moreImportant(c.Victims[i], c.Victims[j]) })
	return c, true
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
// allowed disruptions and the rest.
func splitByPDB(pods []*framework.PodInfo, pdbs []*policyv1.PodDisruptionBudget) (violating, other []*framework.PodInfo) {
	allowed := make([]int32, len(pdbs))
	sels := make([]labels.Selector, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
		if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil {
			sels[i] = s
		}
	}
	for _, pi := range pods {
		bad := false
		for i, pdb := range pdbs {
			if sels[i] == nil || sels[i].Empty() || pdb.Namespace != pi.Pod.Namespace || !sels[i].Matches(labels.Set(pi.Pod.Labels)) {
				continue
			}
			if _, disrupted := pdb.Status.DisruptedPods[pi.Pod.Name]; disrupted {
				continue
			}
			allowed[i]--
			if allowed[i] < 0 {
				bad = true
			}
		}
		if bad {
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
