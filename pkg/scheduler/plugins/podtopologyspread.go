package plugins

import (
	"context"
	"fmt"
	"math"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/kstack/kstack/pkg/scheduler/framework"
)

// PodTopologySpread reasons, as upstream.
const (
	ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
	ErrReasonNodeLabelNotMatch   = ErrReasonConstraintsNotMatch + " (missing required label)"
)

// PodTopologySpreadArgs are upstream's args: defaultingType System (the
// default) uses the system default constraints for pods without their own;
// List uses defaultConstraints.
type PodTopologySpreadArgs struct {
	DefaultConstraints []corev1.TopologySpreadConstraint `json:"defaultConstraints,omitempty"`
	DefaultingType     string                            `json:"defaultingType,omitempty"`
}

// systemDefaultConstraints spread a Service's or controller's pods over
// hosts (skew 3) and zones (skew 5), softly.
var systemDefaultConstraints = []corev1.TopologySpreadConstraint{
	{TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway, MaxSkew: 3},
	{TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway, MaxSkew: 5},
}

// PodTopologySpread enforces DoNotSchedule constraints (Filter) and
// prefers nodes that lower the skew of ScheduleAnyway constraints (Score).
type PodTopologySpread struct {
	defaults      []corev1.TopologySpreadConstraint
	systemDefault bool
	services      corelisters.ServiceLister
	rcs           corelisters.ReplicationControllerLister
	rss           appslisters.ReplicaSetLister
	sss           appslisters.StatefulSetLister
	handle        framework.Handle
}

var (
	_ framework.PreFilterPlugin      = (*PodTopologySpread)(nil)
	_ framework.FilterPlugin         = (*PodTopologySpread)(nil)
	_ framework.PreFilterExtensions  = (*PodTopologySpread)(nil)
	_ framework.PreScorePlugin       = (*PodTopologySpread)(nil)
	_ framework.NormalizeScorePlugin = (*PodTopologySpread)(nil)
)

// NewPodTopologySpread builds the plugin; with the System defaulting type
// it lists Services, ReplicationControllers, ReplicaSets and StatefulSets
// to find the selector of a pod's group.
func NewPodTopologySpread(raw runtime.RawExtension, h framework.Handle) (framework.Plugin, error) {
	args := PodTopologySpreadArgs{DefaultingType: "System"}
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	p := &PodTopologySpread{handle: h}
	switch args.DefaultingType {
	case "System", "":
		if len(args.DefaultConstraints) > 0 {
			return nil, fmt.Errorf("defaultConstraints must be empty with defaultingType System")
		}
		p.defaults, p.systemDefault = systemDefaultConstraints, true
	case "List":
		p.defaults = args.DefaultConstraints
	default:
		return nil, fmt.Errorf("defaultingType %q is not supported (System, List)", args.DefaultingType)
	}
	if f := h.SharedInformerFactory(); f != nil && len(p.defaults) > 0 {
		p.services = f.Core().V1().Services().Lister()
		p.rcs = f.Core().V1().ReplicationControllers().Lister()
		p.rss = f.Apps().V1().ReplicaSets().Lister()
		p.sss = f.Apps().V1().StatefulSets().Lister()
	}
	return p, nil
}

// Name implements framework.Plugin.
func (*PodTopologySpread) Name() string { return PodTopologySpreadName }

// constraint is a parsed topology spread constraint.
type constraint struct {
	MaxSkew            int32
	TopologyKey        string
	Selector           labels.Selector
	MinDomains         int32
	NodeAffinityPolicy corev1.NodeInclusionPolicy
	NodeTaintsPolicy   corev1.NodeInclusionPolicy
}

type tpPair struct{ key, value string }

func (p *PodTopologySpread) constraints(pod *corev1.Pod, action corev1.UnsatisfiableConstraintAction) ([]constraint, bool, error) {
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		var out []constraint
		for _, c := range pod.Spec.TopologySpreadConstraints {
			if c.WhenUnsatisfiable != action {
				continue
			}
			ls := c.LabelSelector
			if len(c.MatchLabelKeys) > 0 && ls != nil {
				ls = ls.DeepCopy()
				for _, k := range c.MatchLabelKeys {
					if v, ok := pod.Labels[k]; ok {
						ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn, Values: []string{v}})
					}
				}
			}
			sel, err := metav1.LabelSelectorAsSelector(ls)
			if err != nil {
				return nil, false, err
			}
			out = append(out, newConstraint(c, sel))
		}
		return out, false, nil
	}
	if len(p.defaults) == 0 || action == corev1.DoNotSchedule && p.systemDefault {
		return nil, false, nil
	}
	sel := p.defaultSelector(pod)
	if sel.Empty() {
		return nil, false, nil
	}
	var out []constraint
	for _, c := range p.defaults {
		if c.WhenUnsatisfiable == action {
			out = append(out, newConstraint(c, sel))
		}
	}
	return out, p.systemDefault, nil
}

func newConstraint(c corev1.TopologySpreadConstraint, sel labels.Selector) constraint {
	out := constraint{MaxSkew: c.MaxSkew, TopologyKey: c.TopologyKey, Selector: sel, MinDomains: 1,
		NodeAffinityPolicy: corev1.NodeInclusionPolicyHonor, NodeTaintsPolicy: corev1.NodeInclusionPolicyIgnore}
	if c.MinDomains != nil {
		out.MinDomains = *c.MinDomains
	}
	if c.NodeAffinityPolicy != nil {
		out.NodeAffinityPolicy = *c.NodeAffinityPolicy
	}
	if c.NodeTaintsPolicy != nil {
		out.NodeTaintsPolicy = *c.NodeTaintsPolicy
	}
	return out
}

// defaultSelector merges the selectors of the Services, RCs, ReplicaSets
// and StatefulSets that select pod (upstream's DefaultSelector).
func (p *PodTopologySpread) defaultSelector(pod *corev1.Pod) labels.Selector {
	sel := labels.NewSelector()
	if p.services == nil {
		return sel
	}
	podLabels := labels.Set(pod.Labels)
	set := labels.Set{}
	if svcs, err := p.services.Services(pod.Namespace).List(labels.Everything()); err == nil {
		for _, s := range svcs {
			if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels) {
				for k, v := range s.Spec.Selector {
					set[k] = v
				}
			}
		}
	}
	if rcs, err := p.rcs.ReplicationControllers(pod.Namespace).List(labels.Everything()); err == nil {
		for _, rc := range rcs {
			if len(rc.Spec.Selector) > 0 && labels.SelectorFromSet(rc.Spec.Selector).Matches(podLabels) {
				for k, v := range rc.Spec.Selector {
					set[k] = v
				}
			}
		}
	}
	if len(set) > 0 {
		sel = labels.SelectorFromSet(set)
	}
	addLS := func(ls *metav1.LabelSelector) {
		s, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil || s.Empty() || !s.Matches(podLabels) {
			return
		}
		if reqs, ok := s.Requirements(); ok {
			sel = sel.Add(reqs...)
		}
	}
	if rss, err := p.rss.ReplicaSets(pod.Namespace).List(labels.Everything()); err == nil {
		for _, rs := range rss {
			addLS(rs.Spec.Selector)
		}
	}
	if sss, err := p.sss.StatefulSets(pod.Namespace).List(labels.Everything()); err == nil {
		for _, ss := range sss {
			addLS(ss.Spec.Selector)
		}
	}
	return sel
}

// nodeIncluded applies a constraint's node inclusion policies.
func nodeIncluded(c *constraint, pod *corev1.Pod, node *corev1.Node) bool {
	if c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor && !requiredNodeAffinityMatches(pod, node) {
		return false
	}
	if c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor {
		if _, bad := untoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations, corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute); bad {
			return false
		}
	}
	return true
}

func hasAllKeys(node *corev1.Node, cs []constraint) bool {
	for _, c := range cs {
		if _, ok := node.Labels[c.TopologyKey]; !ok {
			return false
		}
	}
	return true
}

// spreadFilterState is the PreFilter state: matching pod counts per
// topology pair over the eligible nodes.
type spreadFilterState struct {
	constraints []constraint
	counts      map[tpPair]int
	// domains per topology key.
	domains map[string]int
}

// Clone implements framework.StateData.
func (s *spreadFilterState) Clone() framework.StateData {
	c := &spreadFilterState{constraints: s.constraints, counts: make(map[tpPair]int, len(s.counts)), domains: s.domains}
	for k, v := range s.counts {
		c.counts[k] = v
	}
	return c
}

// minMatch is the smallest count over the constraint's domains (0 when
// there are fewer domains than minDomains).
func (s *spreadFilterState) minMatch(c *constraint) int {
	if int32(s.domains[c.TopologyKey]) < c.MinDomains {
		return 0
	}
	m := math.MaxInt
	for p, n := range s.counts {
		if p.key == c.TopologyKey && n < m {
			m = n
		}
	}
	if m == math.MaxInt {
		return 0
	}
	return m
}

const spreadFilterKey = "PreFilter" + PodTopologySpreadName

// PreFilter counts, per topology pair, the pods matching each hard
// constraint on eligible nodes.
func (p *PodTopologySpread) PreFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	cs, _, err := p.constraints(pod, corev1.DoNotSchedule)
	if err != nil {
		return nil, framework.AsStatus(err)
	}
	if len(cs) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	s := &spreadFilterState{constraints: cs, counts: map[tpPair]int{}, domains: map[string]int{}}
	for _, ni := range nodes {
		node := ni.Node
		if node == nil || !hasAllKeys(node, cs) {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if !nodeIncluded(c, pod, node) {
				continue
			}
			pair := tpPair{c.TopologyKey, node.Labels[c.TopologyKey]}
			if _, ok := s.counts[pair]; !ok {
				s.domains[c.TopologyKey]++
			}
			s.counts[pair] += countMatchingPods(ni.Pods, c.Selector, pod.Namespace)
		}
	}
	state.Write(spreadFilterKey, s)
	return nil, nil
}

// Filter rejects nodes where placing the pod would make a constraint's
// skew exceed maxSkew.
func (p *PodTopologySpread) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	s, err := readState[*spreadFilterState](state, spreadFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	node := ni.Node
	podLabels := labels.Set(pod.Labels)
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Labels[c.TopologyKey]
		if !ok {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch)
		}
		self := 0
		if c.Selector.Matches(podLabels) {
			self = 1
		}
		skew := s.counts[tpPair{c.TopologyKey, v}] + self - s.minMatch(c)
		if skew > int(c.MaxSkew) {
			return framework.NewStatus(framework.Unschedulable, ErrReasonConstraintsNotMatch)
		}
	}
	return nil
}

func (p *PodTopologySpread) update(state *framework.CycleState, pod *corev1.Pod, other *framework.PodInfo, ni *framework.NodeInfo, delta int) *framework.Status {
	s, err := readState[*spreadFilterState](state, spreadFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	node := ni.Node
	if node == nil || !hasAllKeys(node, s.constraints) || other.Pod.Namespace != pod.Namespace {
		return nil
	}
	for i := range s.constraints {
		c := &s.constraints[i]
		if !nodeIncluded(c, pod, node) || !c.Selector.Matches(labels.Set(other.Pod.Labels)) {
			continue
		}
		s.counts[tpPair{c.TopologyKey, node.Labels[c.TopologyKey]}] += delta
	}
	return nil
}

// AddPod implements framework.PreFilterExtensions.
func (p *PodTopologySpread) AddPod(_ context.Context, state *framework.CycleState, pod *corev1.Pod, add *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.update(state, pod, add, ni, 1)
}

// RemovePod implements framework.PreFilterExtensions.
func (p *PodTopologySpread) RemovePod(_ context.Context, state *framework.CycleState, pod *corev1.Pod, rm *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.update(state, pod, rm, ni, -1)
}

// spreadScoreState is the PreScore state.
type spreadScoreState struct {
	constraints []constraint
	ignored     map[string]struct{}
	counts      map[tpPair]*int64
	weights     []float64
}

func (s *spreadScoreState) Clone() framework.StateData { return s }

const spreadScoreKey = "PreScore" + PodTopologySpreadName

// PreScore counts matching pods per topology pair of the soft constraints.
func (p *PodTopologySpread) PreScore(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, filtered []*framework.NodeInfo) *framework.Status {
	cs, systemDefaulted, err := p.constraints(pod, corev1.ScheduleAnyway)
	if err != nil {
		return framework.AsStatus(err)
	}
	if len(cs) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	requireAll := len(pod.Spec.TopologySpreadConstraints) > 0 || !systemDefaulted
	s := &spreadScoreState{constraints: cs, ignored: map[string]struct{}{}, counts: map[tpPair]*int64{}, weights: make([]float64, len(cs))}
	sizes := make([]int, len(cs))
	for _, ni := range filtered {
		if requireAll && !hasAllKeys(ni.Node, cs) {
			s.ignored[ni.Node.Name] = struct{}{}
			continue
		}
		for i, c := range cs {
			if c.TopologyKey == corev1.LabelHostname {
				continue
			}
			v, ok := ni.Node.Labels[c.TopologyKey]
			if !ok {
				continue
			}
			pair := tpPair{c.TopologyKey, v}
			if s.counts[pair] == nil {
				s.counts[pair] = new(int64)
				sizes[i]++
			}
		}
	}
	for i, c := range cs {
		if c.TopologyKey == corev1.LabelHostname {
			sizes[i] = len(filtered) - len(s.ignored)
		}
		s.weights[i] = math.Log(float64(sizes[i] + 2))
	}
	all := p.allNodes(filtered, state)
	var mu sync.Mutex
	framework.Parallelize(ctx, 16, len(all), func(i int) {
		ni := all[i]
		node := ni.Node
		if node == nil || (requireAll && !hasAllKeys(node, cs)) {
			return
		}
		for j := range cs {
			c := &cs[j]
			if c.TopologyKey == corev1.LabelHostname || !nodeIncluded(c, pod, node) {
				continue
			}
			v, ok := node.Labels[c.TopologyKey]
			if !ok {
				continue
			}
			cnt := s.counts[tpPair{c.TopologyKey, v}]
			if cnt == nil {
				continue
			}
			n := countMatchingPods(ni.Pods, c.Selector, pod.Namespace)
			mu.Lock()
			*cnt += int64(n)
			mu.Unlock()
		}
	})
	state.Write(spreadScoreKey, s)
	return nil
}

// allNodes is every node of the snapshot (filtered when no snapshot).
func (p *PodTopologySpread) allNodes(filtered []*framework.NodeInfo, _ *framework.CycleState) []*framework.NodeInfo {
	if p.handle != nil && p.handle.SnapshotSharedLister() != nil {
		return p.handle.SnapshotSharedLister().List()
	}
	return filtered
}

// Score implements framework.ScorePlugin: lower counts score lower here
// and higher after NormalizeScore reverses them.
func (p *PodTopologySpread) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, err := readState[*spreadScoreState](state, spreadScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	node := ni.Node
	if _, ok := s.ignored[node.Name]; ok {
		return 0, nil
	}
	var score float64
	for i, c := range s.constraints {
		v, ok := node.Labels[c.TopologyKey]
		if !ok {
			continue
		}
		var cnt int64
		if c.TopologyKey == corev1.LabelHostname {
			cnt = int64(countMatchingPods(ni.Pods, c.Selector, pod.Namespace))
		} else if pc := s.counts[tpPair{c.TopologyKey, v}]; pc != nil {
			cnt = *pc
		}
		score += float64(cnt)*s.weights[i] + float64(c.MaxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// NormalizeScore maps raw scores so the least crowded node gets 100;
// ignored nodes (missing topology labels) get 0.
func (p *PodTopologySpread) NormalizeScore(_ context.Context, state *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	s, err := readState[*spreadScoreState](state, spreadScoreKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	var minS int64 = math.MaxInt64
	var maxS int64
	for _, sc := range scores {
		if _, ok := s.ignored[sc.Name]; ok {
			continue
		}
		minS, maxS = min(minS, sc.Score), max(maxS, sc.Score)
	}
	for i := range scores {
		if _, ok := s.ignored[scores[i].Name]; ok {
			scores[i].Score = 0
			continue
		}
		if maxS == 0 {
			scores[i].Score = framework.MaxNodeScore
			continue
		}
		scores[i].Score = framework.MaxNodeScore * (maxS + minS - scores[i].Score) / maxS
	}
	return nil
}
