package plugins

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/kstack/kstack/pkg/scheduler/framework"
)

// InterPodAffinity reasons, as upstream.
const (
	ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
	ErrReasonAffinityRulesNotMatch             = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinityRulesNotMatch         = "node(s) didn't match pod anti-affinity rules"
)

// InterPodAffinityArgs are upstream's args.
type InterPodAffinityArgs struct {
	HardPodAffinityWeight              *int32 `json:"hardPodAffinityWeight,omitempty"`
	IgnorePreferredTermsOfExistingPods bool   `json:"ignorePreferredTermsOfExistingPods,omitempty"`
}

// InterPodAffinity enforces required pod affinity and anti-affinity (the
// incoming pod's and existing pods' anti-affinity) and scores preferred
// terms in both directions.
type InterPodAffinity struct {
	handle     framework.Handle
	namespaces corelisters.NamespaceLister
	hardWeight int32
	ignorePref bool
}

var (
	_ framework.PreFilterPlugin      = (*InterPodAffinity)(nil)
	_ framework.FilterPlugin         = (*InterPodAffinity)(nil)
	_ framework.PreFilterExtensions  = (*InterPodAffinity)(nil)
	_ framework.PreScorePlugin       = (*InterPodAffinity)(nil)
	_ framework.NormalizeScorePlugin = (*InterPodAffinity)(nil)
)

// NewInterPodAffinity builds the plugin.
func NewInterPodAffinity(raw runtime.RawExtension, h framework.Handle) (framework.Plugin, error) {
	args := InterPodAffinityArgs{}
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	p := &InterPodAffinity{handle: h, hardWeight: 1, ignorePref: args.IgnorePreferredTermsOfExistingPods}
	if args.HardPodAffinityWeight != nil {
		p.hardWeight = *args.HardPodAffinityWeight
	}
	if f := h.SharedInformerFactory(); f != nil {
		p.namespaces = f.Core().V1().Namespaces().Lister()
	}
	return p, nil
}

// Name implements framework.Plugin.
func (*InterPodAffinity) Name() string { return InterPodAffinityName }

// nsLabels are the labels of namespace ns.
func (p *InterPodAffinity) nsLabels(ns string) labels.Set {
	if p.namespaces == nil {
		return nil
	}
	n, err := p.namespaces.Get(ns)
	if err != nil {
		return nil
	}
	return labels.Set(n.Labels)
}

// resolveNamespaces folds each term's namespaceSelector into its
// namespace set, so that matching existing pods needs no lister.
func (p *InterPodAffinity) resolveNamespaces(terms []framework.AffinityTerm) {
	for i := range terms {
		t := &terms[i]
		if t.NamespaceSelector == nil {
			continue
		}
		if p.namespaces != nil {
			if nss, err := p.namespaces.List(t.NamespaceSelector); err == nil {
				for _, n := range nss {
					t.Namespaces[n.Name] = struct{}{}
				}
			}
		}
		t.NamespaceSelector = nil
	}
}

func (p *InterPodAffinity) resolveWeighted(terms []framework.WeightedAffinityTerm) {
	for i := range terms {
		t := terms[i].AffinityTerm
		one := []framework.AffinityTerm{t}
		p.resolveNamespaces(one)
		terms[i].AffinityTerm = one[0]
	}
}

type affinityFilterState struct {
	pod *framework.PodInfo
	// existingAnti counts existing pods' required anti-affinity terms that
	// match the incoming pod, per topology pair of the existing pod's node.
	existingAnti map[tpPair]int
	// affinity / anti count existing pods matching the incoming pod's
	// required terms, per topology pair.
	affinity map[tpPair]int
	anti     map[tpPair]int
	nsLabels labels.Set
}

func copyCounts(m map[tpPair]int) map[tpPair]int {
	c := make(map[tpPair]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Clone implements framework.StateData.
func (s *affinityFilterState) Clone() framework.StateData {
	return &affinityFilterState{pod: s.pod, existingAnti: copyCounts(s.existingAnti), affinity: copyCounts(s.affinity), anti: copyCounts(s.anti), nsLabels: s.nsLabels}
}

// add counts existing pod other on node into the state (delta ±1).
func (s *affinityFilterState) add(other *framework.PodInfo, node *corev1.Node, delta int) {
	if node == nil {
		return
	}
	for _, t := range other.RequiredAntiAffinityTerms {
		if v, ok := node.Labels[t.TopologyKey]; ok && t.Matches(s.pod.Pod, s.nsLabels) {
			s.existingAnti[tpPair{t.TopologyKey, v}] += delta
		}
	}
	if len(s.pod.RequiredAffinityTerms) > 0 {
		all := true
		for _, t := range s.pod.RequiredAffinityTerms {
			if !t.Matches(other.Pod, nil) {
				all = false
				break
			}
		}
		if all {
			for _, t := range s.pod.RequiredAffinityTerms {
				if v, ok := node.Labels[t.TopologyKey]; ok {
					s.affinity[tpPair{t.TopologyKey, v}] += delta
				}
			}
		}
	}
	for _, t := range s.pod.RequiredAntiAffinityTerms {
		if v, ok := node.Labels[t.TopologyKey]; ok && t.Matches(other.Pod, nil) {
			s.anti[tpPair{t.TopologyKey, v}] += delta
		}
	}
}

const affinityFilterKey = "PreFilter" + InterPodAffinityName

// PreFilter counts matches of existing pods' anti-affinity and of the
// incoming pod's required terms, per topology pair.
func (p *InterPodAffinity) PreFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	pi := framework.NewPodInfo(pod)
	p.resolveNamespaces(pi.RequiredAffinityTerms)
	p.resolveNamespaces(pi.RequiredAntiAffinityTerms)
	lister := p.handle.SnapshotSharedLister()
	withAnti := lister.HavePodsWithRequiredAntiAffinity()
	if len(withAnti) == 0 && len(pi.RequiredAffinityTerms) == 0 && len(pi.RequiredAntiAffinityTerms) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	s := &affinityFilterState{pod: pi, existingAnti: map[tpPair]int{}, affinity: map[tpPair]int{}, anti: map[tpPair]int{}, nsLabels: p.nsLabels(pod.Namespace)}
	for _, ni := range withAnti {
		for _, other := range ni.PodsWithRequiredAntiAffinity {
			for _, t := range other.RequiredAntiAffinityTerms {
				if v, ok := ni.Node.Labels[t.TopologyKey]; ok && t.Matches(pod, s.nsLabels) {
					s.existingAnti[tpPair{t.TopologyKey, v}]++
				}
			}
		}
	}
	if len(pi.RequiredAffinityTerms) > 0 || len(pi.RequiredAntiAffinityTerms) > 0 {
		all := lister.List()
		var mu sync.Mutex
		framework.Parallelize(ctx, p.handle.Parallelism(), len(all), func(i int) {
			ni := all[i]
			local := &affinityFilterState{pod: pi, existingAnti: map[tpPair]int{}, affinity: map[tpPair]int{}, anti: map[tpPair]int{}}
			for _, other := range ni.Pods {
				// Terminating pods count, as upstream's: they still run.
				local.add(&framework.PodInfo{Pod: other.Pod}, ni.Node, 1)
			}
			mu.Lock()
			for k, v := range local.affinity {
				s.affinity[k] += v
			}
			for k, v := range local.anti {
				s.anti[k] += v
			}
			mu.Unlock()
		})
	}
	state.Write(affinityFilterKey, s)
	return nil, nil
}

// Filter implements framework.FilterPlugin.
func (p *InterPodAffinity) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	s, err := readState[*affinityFilterState](state, affinityFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	node := ni.Node
	if !s.satisfiesAffinity(pod, node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
	}
	for _, t := range s.pod.RequiredAntiAffinityTerms {
		if v, ok := node.Labels[t.TopologyKey]; ok && s.anti[tpPair{t.TopologyKey, v}] > 0 {
			return framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinityRulesNotMatch)
		}
	}
	for k, v := range node.Labels {
		if s.existingAnti[tpPair{k, v}] > 0 {
			return framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch)
		}
	}
	return nil
}

// satisfiesAffinity checks the incoming pod's required affinity terms on
// node: each term's topology pair must hold a matching pod, except for the
// first pod of a group that matches its own terms while no pod matches
// them anywhere.
func (s *affinityFilterState) satisfiesAffinity(pod *corev1.Pod, node *corev1.Node) bool {
	if len(s.pod.RequiredAffinityTerms) == 0 {
		return true
	}
	satisfied := true
	for _, t := range s.pod.RequiredAffinityTerms {
		v, ok := node.Labels[t.TopologyKey]
		if !ok {
			return false
		}
		if s.affinity[tpPair{t.TopologyKey, v}] <= 0 {
			satisfied = false
		}
	}
	if satisfied {
		return true
	}
	if !allZero(s.affinity) {
		return false
	}
	for _, t := range s.pod.RequiredAffinityTerms {
		if !t.Matches(pod, s.nsLabels) {
			return false
		}
	}
	return true
}

func allZero(m map[tpPair]int) bool {
	for _, v := range m {
		if v > 0 {
			return false
		}
	}
	return true
}

// AddPod implements framework.PreFilterExtensions.
func (p *InterPodAffinity) AddPod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, add *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	s, err := readState[*affinityFilterState](state, affinityFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s.add(add, ni.Node, 1)
	return nil
}

// RemovePod implements framework.PreFilterExtensions.
func (p *InterPodAffinity) RemovePod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, rm *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	s, err := readState[*affinityFilterState](state, affinityFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s.add(rm, ni.Node, -1)
	return nil
}

type affinityScoreState struct {
	scores map[string]map[string]int64
}

func (s *affinityScoreState) Clone() framework.StateData { return s }

const affinityScoreKey = "PreScore" + InterPodAffinityName

// PreScore sums, per topology pair, the weights of preferred terms (the
// incoming pod's over existing pods, and existing pods' over the incoming
// pod, plus existing pods' required affinity at hardPodAffinityWeight).
func (p *InterPodAffinity) PreScore(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	pi := framework.NewPodInfo(pod)
	p.resolveWeighted(pi.PreferredAffinityTerms)
	p.resolveWeighted(pi.PreferredAntiAffinityTerms)
	hasOwn := len(pi.PreferredAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0
	lister := p.handle.SnapshotSharedLister()
	if !hasOwn && (p.ignorePref || len(lister.HavePodsWithAffinity()) == 0) {
		return framework.NewStatus(framework.Skip)
	}
	nodes := lister.HavePodsWithAffinity()
	if hasOwn {
		nodes = lister.List()
	}
	nsLabels := p.nsLabels(pod.Namespace)
	total := map[string]map[string]int64{}
	var mu sync.Mutex
	framework.Parallelize(ctx, p.handle.Parallelism(), len(nodes), func(i int) {
		ni := nodes[i]
		if ni.Node == nil || len(ni.Node.Labels) == 0 {
			return
		}
		pods := ni.PodsWithAffinity
		if hasOwn {
			pods = ni.Pods
		}
		local := map[string]map[string]int64{}
		add := func(t *framework.AffinityTerm, weight int64, target *corev1.Pod, ns labels.Set) {
			if v, ok := ni.Node.Labels[t.TopologyKey]; ok && t.Matches(target, ns) {
				if local[t.TopologyKey] == nil {
					local[t.TopologyKey] = map[string]int64{}
				}
				local[t.TopologyKey][v] += weight
			}
		}
		for _, other := range pods {
			for j := range pi.PreferredAffinityTerms {
				add(&pi.PreferredAffinityTerms[j].AffinityTerm, int64(pi.PreferredAffinityTerms[j].Weight), other.Pod, nil)
			}
			for j := range pi.PreferredAntiAffinityTerms {
				add(&pi.PreferredAntiAffinityTerms[j].AffinityTerm, -int64(pi.PreferredAntiAffinityTerms[j].Weight), other.Pod, nil)
			}
			if p.hardWeight > 0 {
				for j := range other.RequiredAffinityTerms {
					add(&other.RequiredAffinityTerms[j], int64(p.hardWeight), pod, nsLabels)
				}
			}
			if !p.ignorePref {
				for j := range other.PreferredAffinityTerms {
					add(&other.PreferredAffinityTerms[j].AffinityTerm, int64(other.PreferredAffinityTerms[j].Weight), pod, nsLabels)
				}
				for j := range other.PreferredAntiAffinityTerms {
					add(&other.PreferredAntiAffinityTerms[j].AffinityTerm, -int64(other.PreferredAntiAffinityTerms[j].Weight), pod, nsLabels)
				}
			}
		}
		if len(local) == 0 {
			return
		}
		mu.Lock()
		for k, vs := range local {
			if total[k] == nil {
				total[k] = map[string]int64{}
			}
			for v, w := range vs {
				total[k][v] += w
			}
		}
		mu.Unlock()
	})
	state.Write(affinityScoreKey, &affinityScoreState{scores: total})
	return nil
}

// Score sums the topology pair scores of the node's labels.
func (p *InterPodAffinity) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, err := readState[*affinityScoreState](state, affinityScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var score int64
	for k, vs := range s.scores {
		if v, ok := ni.Node.Labels[k]; ok {
			score += vs[v]
		}
	}
	return score, nil
}

// NormalizeScore scales [min, max] to [0, 100].
func (p *InterPodAffinity) NormalizeScore(_ context.Context, state *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	s, err := readState[*affinityScoreState](state, affinityScoreKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	if len(s.scores) == 0 {
		return nil
	}
	minS, maxS := scores[0].Score, scores[0].Score
	for _, sc := range scores {
		minS, maxS = min(minS, sc.Score), max(maxS, sc.Score)
	}
	diff := maxS - minS
	for i := range scores {
		if diff > 0 {
			scores[i].Score = int64(float64(framework.MaxNodeScore) * float64(scores[i].Score-minS) / float64(diff))
		} else {
			scores[i].Score = 0
		}
	}
	return nil
}
