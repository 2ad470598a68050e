package framework

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
)

// ExtensionPoint names one place in the scheduling cycle.
type ExtensionPoint uint

// The extension points, as bits so a PluginSpec can name several.
const (
	PointPreFilter ExtensionPoint = 1 << iota
	PointFilter
	PointPostFilter
	PointPreScore
	PointScore
	PointReserve
	PointBind
	// AllPoints is every point the plugin implements (multiPoint).
	AllPoints ExtensionPoint = 1<<iota - 1
)

// PluginSpec says how a profile uses one plugin: where (Points), how much
// its score counts (Weight) and its args.
type PluginSpec struct {
	Name   string
	Points ExtensionPoint
	Weight int32
	Args   runtime.RawExtension
}

type scorePlugin struct {
	ScorePlugin
	weight int64
}

// Framework runs one profile's plugins.
type Framework struct {
	profile     string
	client      kubernetes.Interface
	informers   informers.SharedInformerFactory
	parallelism int
	snapshot    SharedLister
	nominator   PodNominator
	recorder    events.EventRecorder

	preFilter  []PreFilterPlugin
	filter     []FilterPlugin
	postFilter []PostFilterPlugin
	preScore   []PreScorePlugin
	score      []scorePlugin
	reserve    []ReservePlugin
	bind       []BindPlugin
	extensions map[string]PreFilterExtensions
}

var _ Handle = (*Framework)(nil)

// Options are a Framework's collaborators.
type Options struct {
	ProfileName string
	Client      kubernetes.Interface
	Informers   informers.SharedInformerFactory
	Snapshot    SharedLister
	Parallelism int
	// Nominator, when set, makes filtering account for nominated pods.
	Nominator PodNominator
	// Recorder records the profile's events (preemption's Preempted).
	Recorder events.EventRecorder
}

// New builds a profile's plugins from the registry, in spec order. A
// plugin is built once and registered at each point it implements that its
// spec allows.
func New(reg Registry, specs []PluginSpec, o Options) (*Framework, error) {
	f := &Framework{profile: o.ProfileName, client: o.Client, informers: o.Informers, parallelism: o.Parallelism,
		snapshot: o.Snapshot, nominator: o.Nominator, recorder: o.Recorder, extensions: map[string]PreFilterExtensions{}}
	if f.parallelism <= 0 {
		f.parallelism = 16
	}
	built := map[string]Plugin{}
	for _, s := range specs {
		p, ok := built[s.Name]
		if !ok {
			factory, ok := reg[s.Name]
			if !ok {
				return nil, fmt.Errorf("profile %s: unknown plugin %q", o.ProfileName, s.Name)
			}
			var err error
			if p, err = factory(s.Args, f); err != nil {
				return nil, fmt.Errorf("profile %s: plugin %s: %w", o.ProfileName, s.Name, err)
			}
			built[s.Name] = p
		}
		pts := s.Points
		if pts == 0 {
			pts = AllPoints
		}
		if x, ok := p.(PreFilterPlugin); ok && pts&PointPreFilter != 0 {
			f.preFilter = append(f.preFilter, x)
			if e, ok := p.(PreFilterExtensions); ok {
				f.extensions[s.Name] = e
			}
		}
		if x, ok := p.(FilterPlugin); ok && pts&PointFilter != 0 {
			f.filter = append(f.filter, x)
		}
		if x, ok := p.(PostFilterPlugin); ok && pts&PointPostFilter != 0 {
			f.postFilter = append(f.postFilter, x)
		}
		if x, ok := p.(PreScorePlugin); ok && pts&PointPreScore != 0 {
			f.preScore = append(f.preScore, x)
		}
		if x, ok := p.(ScorePlugin); ok && pts&PointScore != 0 {
			w := int64(s.Weight)
			if w == 0 {
				w = 1
			}
			f.score = append(f.score, scorePlugin{x, w})
		}
		if x, ok := p.(ReservePlugin); ok && pts&PointReserve != 0 {
			f.reserve = append(f.reserve, x)
		}
		if x, ok := p.(BindPlugin); ok && pts&PointBind != 0 {
			f.bind = append(f.bind, x)
		}
	}
	if len(f.bind) == 0 {
		return nil, fmt.Errorf("profile %s: no bind plugin enabled", o.ProfileName)
	}
	return f, nil
}

// ProfileName is the schedulerName this framework serves.
func (f *Framework) ProfileName() string { return f.profile }

// SnapshotSharedLister implements Handle.
func (f *Framework) SnapshotSharedLister() SharedLister { return f.snapshot }

// ClientSet implements Handle.
func (f *Framework) ClientSet() kubernetes.Interface { return f.client }

// SharedInformerFactory implements Handle.
func (f *Framework) SharedInformerFactory() informers.SharedInformerFactory { return f.informers }

// Parallelism implements Handle.
func (f *Framework) Parallelism() int { return f.parallelism }

// HasFilterPlugins reports whether any Filter plugin is enabled.
func (f *Framework) HasFilterPlugins() bool { return len(f.filter) > 0 }

// HasScorePlugins reports whether any Score plugin is enabled.
func (f *Framework) HasScorePlugins() bool { return len(f.score) > 0 }

// HasPostFilterPlugins reports whether any PostFilter plugin is enabled.
func (f *Framework) HasPostFilterPlugins() bool { return len(f.postFilter) > 0 }

// RunPreFilterPlugins runs PreFilter plugins; the result is the
// intersection of their node sets. A rejection stops at once.
func (f *Framework) RunPreFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) (*PreFilterResult, *Status) {
	var result *PreFilterResult
	for _, p := range f.preFilter {
		r, st := p.PreFilter(ctx, state, pod, nodes)
		if st.IsSkip() {
			state.SkipFilterPlugins[p.Name()] = struct{}{}
			continue
		}
		if !st.IsSuccess() {
			if st.Code() == Error {
				return nil, AsStatus(fmt.Errorf("running PreFilter plugin %q: %w", p.Name(), st.AsError())).WithPlugin(p.Name())
			}
			return nil, st.WithPlugin(p.Name())
		}
		if r != nil && r.NodeNames != nil {
			if result == nil {
				result = &PreFilterResult{NodeNames: r.NodeNames}
			} else {
				merged := map[string]struct{}{}
				for n := range result.NodeNames {
					if _, ok := r.NodeNames[n]; ok {
						merged[n] = struct{}{}
					}
				}
				result.NodeNames = merged
			}
		}
	}
	return result, nil
}

// RunFilterPlugins runs Filter plugins on one node until one rejects it.
func (f *Framework) RunFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status {
	for _, p := range f.filter {
		if _, skip := state.SkipFilterPlugins[p.Name()]; skip {
			continue
		}
		if st := p.Filter(ctx, state, pod, node); !st.IsSuccess() {
			if st.Code() == Error {
				return AsStatus(fmt.Errorf("running %q filter plugin: %w", p.Name(), st.AsError())).WithPlugin(p.Name())
			}
			return st.WithPlugin(p.Name())
		}
	}
	return nil
}

// EventRecorder implements Handle.
func (f *Framework) EventRecorder() events.EventRecorder { return f.recorder }

// NominatedPodsForNode implements Handle.
func (f *Framework) NominatedPodsForNode(node string) []*PodInfo {
	if f.nominator == nil {
		return nil
	}
	return f.nominator.NominatedPodsForNode(node)
}

// RunFilterPluginsWithNominatedPods implements Handle: a first pass with
// the nominated pods of at least pod's priority added to a copy of node
// (resources and ports they will take); when that fits and pods were
// added, a second pass without them (affinity to a nominated pod must not
// count, since it may never run there).
func (f *Framework) RunFilterPluginsWithNominatedPods(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status {
	added, st2, node2, st := f.addNominatedPods(ctx, state, pod, node)
	if !st.IsSuccess() {
		return st
	}
	st = f.RunFilterPlugins(ctx, st2, pod, node2)
	if !added || !st.IsSuccess() {
		return st
	}
	return f.RunFilterPlugins(ctx, state, pod, node)
}

func (f *Framework) addNominatedPods(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) (bool, *CycleState, *NodeInfo, *Status) {
	if f.nominator == nil || node == nil || node.Node == nil {
		return false, state, node, nil
	}
	nominated := f.nominator.NominatedPodsForNode(node.Node.Name)
	if len(nominated) == 0 {
		return false, state, node, nil
	}
	prio := podPriority(pod)
	var stateOut *CycleState
	var nodeOut *NodeInfo
	for _, pi := range nominated {
		if pi.Pod.UID == pod.UID || podPriority(pi.Pod) < prio {
			continue
		}
		if nodeOut == nil {
			stateOut, nodeOut = state.Clone(), node.Clone()
		}
		nodeOut.AddPod(pi)
		if st := f.RunPreFilterExtensionAddPod(ctx, stateOut, pod, pi, nodeOut); !st.IsSuccess() {
			return false, state, node, st
		}
	}
	if nodeOut == nil {
		return false, state, node, nil
	}
	return true, stateOut, nodeOut, nil
}

func podPriority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// RunPreFilterExtensionAddPod implements Handle.
func (f *Framework) RunPreFilterExtensionAddPod(ctx context.Context, state *CycleState, pod *corev1.Pod, add *PodInfo, node *NodeInfo) *Status {
	for name, e := range f.extensions {
		if _, skip := state.SkipFilterPlugins[name]; skip {
			continue
		}
		if st := e.AddPod(ctx, state, pod, add, node); !st.IsSuccess() {
			return st.WithPlugin(name)
		}
	}
	return nil
}

// RunPreFilterExtensionRemovePod implements Handle.
func (f *Framework) RunPreFilterExtensionRemovePod(ctx context.Context, state *CycleState, pod *corev1.Pod, rm *PodInfo, node *NodeInfo) *Status {
	for name, e := range f.extensions {
		if _, skip := state.SkipFilterPlugins[name]; skip {
			continue
		}
		if st := e.RemovePod(ctx, state, pod, rm, node); !st.IsSuccess() {
			return st.WithPlugin(name)
		}
	}
	return nil
}

// RunPostFilterPlugins runs PostFilter plugins until one succeeds; the
// result is the last non-nil one (nil: keep the nomination as it is).
// When none succeeds the status joins their reasons, as upstream.
func (f *Framework) RunPostFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, statuses NodeToStatus) (*PostFilterResult, *Status) {
	var result *PostFilterResult
	var reasons []string
	rejector := ""
	for _, p := range f.postFilter {
		r, st := p.PostFilter(ctx, state, pod, statuses)
		switch {
		case st.IsSuccess():
			return r, st
		case st.Code() == UnschedulableAndUnresolvable:
			return r, st.WithPlugin(p.Name())
		case !st.IsRejected():
			return nil, st.WithPlugin(p.Name())
		}
		if r != nil {
			result = r
		}
		reasons = append(reasons, st.Reasons()...)
		if rejector == "" {
			rejector = p.Name()
		}
	}
	return result, NewStatus(Unschedulable, reasons...).WithPlugin(rejector)
}

// RunPreScorePlugins runs PreScore plugins.
func (f *Framework) RunPreScorePlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status {
	for _, p := range f.preScore {
		st := p.PreScore(ctx, state, pod, nodes)
		if st.IsSkip() {
			state.SkipScorePlugins[p.Name()] = struct{}{}
			continue
		}
		if !st.IsSuccess() {
			return AsStatus(fmt.Errorf("running PreScore plugin %q: %w", p.Name(), st.AsError())).WithPlugin(p.Name())
		}
	}
	return nil
}

// RunScorePlugins scores nodes with every Score plugin in parallel,
// normalizes each plugin's scores and returns the weighted sums, in
// nodes' order.
func (f *Framework) RunScorePlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) ([]NodeScore, *Status) {
	var active []scorePlugin
	for _, p := range f.score {
		if _, skip := state.SkipScorePlugins[p.Name()]; !skip {
			active = append(active, p)
		}
	}
	perPlugin := make([][]NodeScore, len(active))
	for i := range active {
		perPlugin[i] = make([]NodeScore, len(nodes))
	}
	var firstErr atomic.Pointer[Status]
	Parallelize(ctx, f.parallelism, len(nodes), func(i int) {
		for j, p := range active {
			s, st := p.Score(ctx, state, pod, nodes[i])
			if !st.IsSuccess() {
				firstErr.CompareAndSwap(nil, AsStatus(fmt.Errorf("running Score plugin %q: %w", p.Name(), st.AsError())).WithPlugin(p.Name()))
				return
			}
			perPlugin[j][i] = NodeScore{Name: nodes[i].Node.Name, Score: s}
		}
	})
	if st := firstErr.Load(); st != nil {
		return nil, st
	}
	total := make([]NodeScore, len(nodes))
	for i, n := range nodes {
		total[i].Name = n.Node.Name
	}
	for j, p := range active {
		if np, ok := p.ScorePlugin.(NormalizeScorePlugin); ok {
			if st := np.NormalizeScore(ctx, state, pod, perPlugin[j]); !st.IsSuccess() {
				return nil, AsStatus(fmt.Errorf("running Normalize on Score plugin %q: %w", p.Name(), st.AsError()))
			}
		}
		for i := range perPlugin[j] {
			s := perPlugin[j][i].Score
			if s > MaxNodeScore || s < MinNodeScore {
				return nil, AsStatus(fmt.Errorf("plugin %q returns an invalid score %d, it should be in the range of [%d, %d] after normalizing", p.Name(), s, MinNodeScore, MaxNodeScore))
			}
			total[i].Score += s * p.weight
		}
	}
	return total, nil
}

// RunReservePlugins reserves; on failure the caller runs Unreserve.
func (f *Framework) RunReservePlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, node string) *Status {
	for _, p := range f.reserve {
		if st := p.Reserve(ctx, state, pod, node); !st.IsSuccess() {
			return st.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunUnreservePlugins undoes Reserve, in reverse order.
func (f *Framework) RunUnreservePlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, node string) {
	for i := len(f.reserve) - 1; i >= 0; i-- {
		f.reserve[i].Unreserve(ctx, state, pod, node)
	}
}

// RunBindPlugins binds with the first bind plugin that does not Skip.
func (f *Framework) RunBindPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, node string) *Status {
	for _, p := range f.bind {
		st := p.Bind(ctx, state, pod, node)
		if st.IsSkip() {
			continue
		}
		return st.WithPlugin(p.Name())
	}
	return NewStatus(Error, "no bind plugin bound the pod")
}

// Parallelize runs work(i) for i in [0, n) on up to workers goroutines,
// handing out indexes in small chunks; it stops handing out work when ctx
// ends.
func Parallelize(ctx context.Context, workers, n int, work func(i int)) {
	if n == 0 {
		return
	}
	if workers > n {
		workers = n
	}
	chunk := n / (workers * 4)
	if chunk < 1 {
		chunk = 1
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				start := int(next.Add(int64(chunk))) - chunk
				if start >= n {
					return
				}
				for i := start; i < min(start+chunk, n); i++ {
					work(i)
				}
			}
		}()
	}
	wg.Wait()
}

// DefaultNormalizeScore scales scores so the highest is maxPriority (all
// maxPriority when every score is 0 and reverse); reverse flips them.
func DefaultNormalizeScore(maxPriority int64, reverse bool, scores []NodeScore) {
	var maxCount int64
	for i := range scores {
		maxCount = max(maxCount, scores[i].Score)
	}
	if maxCount == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = maxPriority
			}
		}
		return
	}
	for i := range scores {
		s := maxPriority * scores[i].Score / maxCount
		if reverse {
			s = maxPriority - s
		}
		scores[i].Score = s
	}
}
