package plugins

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	policylisters "k8s.io/client-go/listers/policy/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"

	"github.com/kstack/kstack/pkg/scheduler/cache"
	"github.com/kstack/kstack/pkg/scheduler/framework"
)

// fakeHandle is a framework.Handle over a fixed snapshot.
type fakeHandle struct {
	snap *cache.Snapshot
	fwk  *framework.Framework
}

func (h *fakeHandle) SnapshotSharedLister() framework.SharedLister { return h.snap }
func (h *fakeHandle) ClientSet() kubernetes.Interface              { return nil }
func (h *fakeHandle) SharedInformerFactory() informers.SharedInformerFactory {
	return nil
}
func (h *fakeHandle) RunFilterPlugins(ctx context.Context, s *framework.CycleState, p *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	return h.fwk.RunFilterPlugins(ctx, s, p, n)
}
func (h *fakeHandle) RunPreFilterExtensionAddPod(ctx context.Context, s *framework.CycleState, p *corev1.Pod, a *framework.PodInfo, n *framework.NodeInfo) *framework.Status {
	return h.fwk.RunPreFilterExtensionAddPod(ctx, s, p, a, n)
}
func (h *fakeHandle) RunPreFilterExtensionRemovePod(ctx context.Context, s *framework.CycleState, p *corev1.Pod, r *framework.PodInfo, n *framework.NodeInfo) *framework.Status {
	return h.fwk.RunPreFilterExtensionRemovePod(ctx, s, p, r, n)
}
func (h *fakeHandle) RunFilterPluginsWithNominatedPods(ctx context.Context, s *framework.CycleState, p *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	return h.fwk.RunFilterPluginsWithNominatedPods(ctx, s, p, n)
}
func (h *fakeHandle) NominatedPodsForNode(n string) []*framework.PodInfo {
	return h.fwk.NominatedPodsForNode(n)
}
func (h *fakeHandle) EventRecorder() events.EventRecorder { return nil }
func (h *fakeHandle) Parallelism() int                    { return 4 }

// node builds a node with allocatable cpu/memory/pods and labels.
func node(name, cpu, mem string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
	l := map[string]string{corev1.LabelHostname: name}
	for k, v := range labels {
		l[k] = v
	}
	alloc := corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}
	if cpu != "" {
		alloc[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		alloc[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}, Spec: corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Allocatable: alloc}}
}

// pod builds a pod; nodeName "" means pending.
func pod(name, nodeName, cpu, mem string, labels map[string]string) *corev1.Pod {
	req := corev1.ResourceList{}
	if cpu != "" {
		req[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		req[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name), Labels: labels},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: req}}}}}
}

// filterAll runs PreFilter and Filter of p on every node of the snapshot
// and returns node -> first reason ("" when it fits).
func filterAll(t *testing.T, pl framework.Plugin, snap *cache.Snapshot, pd *corev1.Pod) map[string]string {
	t.Helper()
	state := framework.NewCycleState()
	if pf, ok := pl.(framework.PreFilterPlugin); ok {
		_, st := pf.PreFilter(context.Background(), state, pd, snap.List())
		if st.IsSkip() {
			out := map[string]string{}
			for _, n := range snap.List() {
				out[n.Node.Name] = ""
			}
			return out
		}
		if st.Code() == framework.Error {
			t.Fatalf("PreFilter: %v", st.AsError())
		}
	}
	out := map[string]string{}
	for _, n := range snap.List() {
		st := pl.(framework.FilterPlugin).Filter(context.Background(), state, pd, n)
		if st.Code() == framework.Error {
			t.Fatalf("Filter %s: %v", n.Node.Name, st.AsError())
		}
		r := ""
		if len(st.Reasons()) > 0 {
			r = st.Reasons()[0]
		}
		out[n.Node.Name] = r
	}
	return out
}

// scoreAll runs PreScore, Score and NormalizeScore over every node.
func scoreAll(t *testing.T, pl framework.ScorePlugin, snap *cache.Snapshot, pd *corev1.Pod) map[string]int64 {
	t.Helper()
	state := framework.NewCycleState()
	if pf, ok := pl.(framework.PreFilterPlugin); ok {
		pf.PreFilter(context.Background(), state, pd, snap.List())
	}
	if ps, ok := pl.(framework.PreScorePlugin); ok {
		if st := ps.PreScore(context.Background(), state, pd, snap.List()); st.IsSkip() {
			return nil
		} else if !st.IsSuccess() {
			t.Fatalf("PreScore: %v", st.AsError())
		}
	}
	var scores []framework.NodeScore
	for _, n := range snap.List() {
		s, st := pl.Score(context.Background(), state, pd, n)
		if !st.IsSuccess() {
			t.Fatalf("Score: %v", st.AsError())
		}
		scores = append(scores, framework.NodeScore{Name: n.Node.Name, Score: s})
	}
	if np, ok := pl.(framework.NormalizeScorePlugin); ok {
		np.NormalizeScore(context.Background(), state, pd, scores)
	}
	out := map[string]int64{}
	for _, s := range scores {
		out[s.Name] = s.Score
	}
	return out
}

func build(t *testing.T, name string, args string, snap *cache.Snapshot) framework.Plugin {
	t.Helper()
	h := &fakeHandle{snap: snap}
	var raw runtime.RawExtension
	if args != "" {
		raw.Raw = []byte(args)
	}
	p, err := NewRegistry()[name](raw, h)
	if err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	fwk, err := framework.New(NewRegistry(), []framework.PluginSpec{{Name: name}, {Name: DefaultBinderName}}, framework.Options{Snapshot: snap, Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	h.fwk = fwk
	return p
}

func TestNodeResourcesFit_Filter(t *testing.T) {
	nodes := []*corev1.Node{node("small", "1", "1Gi", nil), node("big", "4", "8Gi", nil)}
	existing := []*corev1.Pod{pod("e1", "big", "3", "1Gi", nil)}
	gpuNode := node("gpu", "8", "8Gi", nil)
	gpuNode.Status.Allocatable["example.com/gpu"] = resource.MustParse("1")
	nodes = append(nodes, gpuNode)
	withInit := pod("init", "", "100m", "", nil)
	withInit.Spec.InitContainers = []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}}}
	withOverhead := pod("overhead", "", "900m", "", nil)
	withOverhead.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m")}
	gpuPod := pod("gpu", "", "100m", "", nil)
	gpuPod.Spec.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("1")
	tests := []struct {
		name string
		pod  *corev1.Pod
		want map[string]string
	}{
		{"fits everywhere", pod("p", "", "500m", "512Mi", nil), map[string]string{"small": "", "big": "", "gpu": ""}},
		{"cpu left only on gpu node", pod("p", "", "2", "", nil), map[string]string{"small": "Insufficient cpu", "big": "Insufficient cpu", "gpu": ""}},
		{"memory", pod("p", "", "", "2Gi", nil), map[string]string{"small": "Insufficient memory", "big": "", "gpu": ""}},
		{"init container counts as its max", withInit, map[string]string{"small": "Insufficient cpu", "big": "Insufficient cpu", "gpu": ""}},
		{"overhead adds up", withOverhead, map[string]string{"small": "Insufficient cpu", "big": "Insufficient cpu", "gpu": ""}},
		{"extended resource", gpuPod, map[string]string{"small": "Insufficient example.com/gpu", "big": "Insufficient example.com/gpu", "gpu": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := cache.NewSnapshotFrom(existing, nodes)
			got := filterAll(t, build(t, NodeResourcesFitName, "", snap), snap, tt.pod)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNodeResourcesFit_TooManyPods(t *testing.T) {
	n := node("n", "4", "4Gi", nil)
	n.Status.Allocatable[corev1.ResourcePods] = resource.MustParse("1")
	snap := cache.NewSnapshotFrom([]*corev1.Pod{pod("e", "n", "", "", nil)}, []*corev1.Node{n})
	got := filterAll(t, build(t, NodeResourcesFitName, "", snap), snap, pod("p", "", "", "", nil))
	if got["n"] != "Too many pods" {
		t.Errorf("got %q, want Too many pods", got["n"])
	}
}

func TestPodRequests_SidecarsAndInit(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	req := func(cpu string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}
	}
	tests := []struct {
		name    string
		init    []corev1.Container
		regular string
		want    int64
	}{
		{"regular only", nil, "1", 1000},
		{"init larger than regular", []corev1.Container{{Name: "i", Resources: req("3")}}, "1", 3000},
		{"sidecar adds to regular", []corev1.Container{{Name: "s", RestartPolicy: &always, Resources: req("500m")}}, "1", 1500},
		{"init after sidecar counts both", []corev1.Container{{Name: "s", RestartPolicy: &always, Resources: req("1")}, {Name: "i", Resources: req("2")}}, "500m", 3000},
		{"init before sidecar counts alone", []corev1.Container{{Name: "i", Resources: req("2")}, {Name: "s", RestartPolicy: &always, Resources: req("1")}}, "500m", 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pod("p", "", tt.regular, "", nil)
			p.Spec.InitContainers = tt.init
			if got := framework.PodRequests(p).MilliCPU; got != tt.want {
				t.Errorf("cpu = %dm, want %dm", got, tt.want)
			}
		})
	}
}

func TestNodeResourcesFit_Score(t *testing.T) {
	nodes := []*corev1.Node{node("empty", "4", "8Gi", nil), node("half", "4", "8Gi", nil)}
	existing := []*corev1.Pod{pod("e", "half", "2", "4Gi", nil)}
	snap := cache.NewSnapshotFrom(existing, nodes)
	p := pod("p", "", "1", "2Gi", nil)
	// LeastAllocated: (4-1)/4*100=75 both resources; half: (4-3)/4=25.
	if got := scoreAll(t, build(t, NodeResourcesFitName, "", snap).(framework.ScorePlugin), snap, p); got["empty"] != 75 || got["half"] != 25 {
		t.Errorf("LeastAllocated = %v, want empty 75 half 25", got)
	}
	most := build(t, NodeResourcesFitName, `{"scoringStrategy":{"type":"MostAllocated"}}`, snap).(framework.ScorePlugin)
	if got := scoreAll(t, most, snap, p); got["empty"] != 25 || got["half"] != 75 {
		t.Errorf("MostAllocated = %v, want empty 25 half 75", got)
	}
	// A pod without requests counts as 100m / 200Mi.
	got := scoreAll(t, build(t, NodeResourcesFitName, "", snap).(framework.ScorePlugin), snap, pod("be", "", "", "", nil))
	if got["empty"] <= got["half"] {
		t.Errorf("best-effort pod: %v, want empty > half", got)
	}
}

func TestBalancedAllocation_Score(t *testing.T) {
	nodes := []*corev1.Node{node("cpu-heavy", "4", "8Gi", nil), node("balanced", "4", "8Gi", nil)}
	existing := []*corev1.Pod{pod("e1", "cpu-heavy", "3", "", nil), pod("e2", "balanced", "1", "2Gi", nil)}
	snap := cache.NewSnapshotFrom(existing, nodes)
	got := scoreAll(t, build(t, NodeResourcesBalancedAllocationName, "", snap).(framework.ScorePlugin), snap, pod("p", "", "1", "2Gi", nil))
	// cpu-heavy: cpu 4/4=1, mem 2/8=.25 -> std .375 -> 62; balanced: .5/.5 -> 100.
	if got["balanced"] != 100 || got["cpu-heavy"] != 62 {
		t.Errorf("got %v, want balanced 100 cpu-heavy 62", got)
	}
	if got := scoreAll(t, build(t, NodeResourcesBalancedAllocationName, "", snap).(framework.ScorePlugin), snap, pod("be", "", "", "", nil)); got != nil {
		t.Errorf("best-effort pod scored %v, want skipped", got)
	}
}

func TestTaintToleration(t *testing.T) {
	nodes := []*corev1.Node{
		node("clean", "1", "1Gi", nil),
		node("noschedule", "1", "1Gi", nil, corev1.Taint{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}),
		node("noexecute", "1", "1Gi", nil, corev1.Taint{Key: "x", Effect: corev1.TaintEffectNoExecute}),
		node("prefer", "1", "1Gi", nil, corev1.Taint{Key: "p", Effect: corev1.TaintEffectPreferNoSchedule}),
	}
	snap := cache.NewSnapshotFrom(nil, nodes)
	tolerant := pod("t", "", "", "", nil)
	tolerant.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpEqual, Value: "v", Effect: corev1.TaintEffectNoSchedule}, {Key: "x", Operator: corev1.TolerationOpExists}}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want map[string]string
	}{
		{"no tolerations", pod("p", "", "", "", nil), map[string]string{"clean": "", "noschedule": "node(s) had untolerated taint {k: v}", "noexecute": "node(s) had untolerated taint {x: }", "prefer": ""}},
		{"tolerates both", tolerant, map[string]string{"clean": "", "noschedule": "", "noexecute": "", "prefer": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := filterAll(t, build(t, TaintTolerationName, "", snap), snap, tt.pod); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	got := scoreAll(t, build(t, TaintTolerationName, "", snap).(framework.ScorePlugin), snap, pod("p", "", "", "", nil))
	if got["prefer"] != 0 || got["clean"] != 100 {
		t.Errorf("scores %v, want prefer 0 clean 100", got)
	}
}

func TestNodeUnschedulableAndNodeName(t *testing.T) {
	cordoned := node("cordoned", "1", "1Gi", nil)
	cordoned.Spec.Unschedulable = true
	snap := cache.NewSnapshotFrom(nil, []*corev1.Node{cordoned, node("open", "1", "1Gi", nil)})
	got := filterAll(t, build(t, NodeUnschedulableName, "", snap), snap, pod("p", "", "", "", nil))
	if got["cordoned"] != ErrReasonUnschedulable || got["open"] != "" {
		t.Errorf("NodeUnschedulable: %v", got)
	}
	tol := pod("t", "", "", "", nil)
	tol.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	if got := filterAll(t, build(t, NodeUnschedulableName, "", snap), snap, tol); got["cordoned"] != "" {
		t.Errorf("tolerating pod rejected: %v", got)
	}
	named := pod("n", "", "", "", nil)
	named.Spec.NodeName = "open"
	if got := filterAll(t, build(t, NodeNameName, "", snap), snap, named); got["cordoned"] != ErrReasonNodeName || got["open"] != "" {
		t.Errorf("NodeName: %v", got)
	}
}

func TestNodeAffinity(t *testing.T) {
	nodes := []*corev1.Node{
		node("a", "1", "1Gi", map[string]string{"zone": "a", "disk": "ssd", "gen": "3"}),
		node("b", "1", "1Gi", map[string]string{"zone": "b", "gen": "5"}),
		node("c", "1", "1Gi", map[string]string{"zone": "c"}),
	}
	snap := cache.NewSnapshotFrom(nil, nodes)
	withSelector := pod("s", "", "", "", nil)
	withSelector.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	req := func(reqs ...corev1.NodeSelectorRequirement) *corev1.Pod {
		p := pod("r", "", "", "", nil)
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: reqs}}}}}
		return p
	}
	no := ErrReasonNodeAffinity
	tests := []struct {
		name string
		pod  *corev1.Pod
		want map[string]string
	}{
		{"no constraints", pod("p", "", "", "", nil), map[string]string{"a": "", "b": "", "c": ""}},
		{"nodeSelector", withSelector, map[string]string{"a": "", "b": no, "c": no}},
		{"In", req(corev1.NodeSelectorRequirement{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}), map[string]string{"a": "", "b": "", "c": no}},
		{"NotIn", req(corev1.NodeSelectorRequirement{Key: "zone", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"a"}}), map[string]string{"a": no, "b": "", "c": ""}},
		{"Exists", req(corev1.NodeSelectorRequirement{Key: "gen", Operator: corev1.NodeSelectorOpExists}), map[string]string{"a": "", "b": "", "c": no}},
		{"Gt", req(corev1.NodeSelectorRequirement{Key: "gen", Operator: corev1.NodeSelectorOpGt, Values: []string{"4"}}), map[string]string{"a": no, "b": "", "c": no}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := filterAll(t, build(t, NodeAffinityName, "", snap), snap, tt.pod); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	pref := pod("pref", "", "", "", nil)
	pref.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
		{Weight: 10, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}}},
		{Weight: 30, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "gen", Operator: corev1.NodeSelectorOpExists}}}},
	}}}
	got := scoreAll(t, build(t, NodeAffinityName, "", snap).(framework.ScorePlugin), snap, pref)
	// a: 40 -> 100; b: 30 -> 75; c: 0.
	if got["a"] != 100 || got["b"] != 75 || got["c"] != 0 {
		t.Errorf("scores %v, want a 100 b 75 c 0", got)
	}
}

func TestNodePorts(t *testing.T) {
	withPort := func(name, node string, port int32, ip string) *corev1.Pod {
		p := pod(name, node, "", "", nil)
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: port, HostIP: ip, Protocol: corev1.ProtocolTCP}}
		return p
	}
	snap := cache.NewSnapshotFrom([]*corev1.Pod{withPort("e", "busy", 8080, "")},
		[]*corev1.Node{node("busy", "1", "1Gi", nil), node("free", "1", "1Gi", nil)})
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"same port clashes", withPort("p", "", 8080, ""), ErrReasonNodePorts},
		{"specific IP clashes with 0.0.0.0", withPort("p", "", 8080, "10.0.0.1"), ErrReasonNodePorts},
		{"other port fits", withPort("p", "", 8081, ""), ""},
		{"no host port", pod("p", "", "", "", nil), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := filterAll(t, build(t, NodePortsName, "", snap), snap, tt.pod)
			if got["busy"] != tt.want || got["free"] != "" {
				t.Errorf("got %v, want busy %q free fits", got, tt.want)
			}
		})
	}
}

func TestPodTopologySpread_Filter(t *testing.T) {
	zone := func(name, z string) *corev1.Node {
		return node(name, "4", "4Gi", map[string]string{corev1.LabelTopologyZone: z})
	}
	nodes := []*corev1.Node{zone("a1", "a"), zone("a2", "a"), zone("b1", "b"), node("nolabel", "4", "4Gi", nil)}
	app := map[string]string{"app": "x"}
	existing := []*corev1.Pod{pod("e1", "a1", "", "", app), pod("e2", "a2", "", "", app)}
	snap := cache.NewSnapshotFrom(existing, nodes)
	p := pod("p", "", "", "", app)
	p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone,
		WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: app}}}
	got := filterAll(t, build(t, PodTopologySpreadName, "", snap), snap, p)
	want := map[string]string{"a1": ErrReasonConstraintsNotMatch, "a2": ErrReasonConstraintsNotMatch, "b1": "", "nolabel": ErrReasonNodeLabelNotMatch}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("maxSkew 1: got %v, want %v", got, want)
	}
	p.Spec.TopologySpreadConstraints[0].MaxSkew = 3
	got = filterAll(t, build(t, PodTopologySpreadName, "", snap), snap, p)
	if got["a1"] != "" || got["b1"] != "" {
		t.Errorf("maxSkew 3: got %v, want a1 (3 vs 0) and b1 to fit", got)
	}
}

func TestPodTopologySpread_ScorePrefersEmptierDomain(t *testing.T) {
	nodes := []*corev1.Node{node("n1", "4", "4Gi", nil), node("n2", "4", "4Gi", nil)}
	app := map[string]string{"app": "x"}
	snap := cache.NewSnapshotFrom([]*corev1.Pod{pod("e1", "n1", "", "", app), pod("e2", "n1", "", "", app)}, nodes)
	p := pod("p", "", "", "", app)
	p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: corev1.LabelHostname,
		WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: app}}}
	got := scoreAll(t, build(t, PodTopologySpreadName, "", snap).(framework.ScorePlugin), snap, p)
	if got["n2"] != 100 || got["n1"] >= got["n2"] {
		t.Errorf("got %v, want n2 100 and n1 lower", got)
	}
}

func TestInterPodAffinity_Filter(t *testing.T) {
	zone := func(name, z string) *corev1.Node {
		return node(name, "4", "4Gi", map[string]string{corev1.LabelTopologyZone: z})
	}
	nodes := []*corev1.Node{zone("a1", "a"), zone("a2", "a"), zone("b1", "b")}
	db := map[string]string{"app": "db"}
	web := map[string]string{"app": "web"}
	guarded := pod("guard", "b1", "", "", map[string]string{"app": "guard"})
	guarded.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
		LabelSelector: &metav1.LabelSelector{MatchLabels: web}, TopologyKey: corev1.LabelHostname}}}}
	snap := cache.NewSnapshotFrom([]*corev1.Pod{pod("db", "a1", "", "", db), guarded}, nodes)
	term := func(sel map[string]string, key string) []corev1.PodAffinityTerm {
		return []corev1.PodAffinityTerm{{LabelSelector: &metav1.LabelSelector{MatchLabels: sel}, TopologyKey: key}}
	}
	withAff := pod("p", "", "", "", nil)
	withAff.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: term(db, corev1.LabelTopologyZone)}}
	withAnti := pod("p", "", "", "", nil)
	withAnti.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: term(db, corev1.LabelTopologyZone)}}
	firstOfGroup := pod("p", "", "", "", map[string]string{"app": "new"})
	firstOfGroup.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: term(map[string]string{"app": "new"}, corev1.LabelTopologyZone)}}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want map[string]string
	}{
		{"affinity to db's zone", withAff, map[string]string{"a1": "", "a2": "", "b1": ErrReasonAffinityRulesNotMatch}},
		{"anti-affinity to db's zone", withAnti, map[string]string{"a1": ErrReasonAntiAffinityRulesNotMatch, "a2": ErrReasonAntiAffinityRulesNotMatch, "b1": ""}},
		{"existing pod's anti-affinity", pod("p", "", "", "", web), map[string]string{"a1": "", "a2": "", "b1": ErrReasonExistingAntiAffinityRulesNotMatch}},
		{"first pod of a self-affine group", firstOfGroup, map[string]string{"a1": "", "a2": "", "b1": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := filterAll(t, build(t, InterPodAffinityName, "", snap), snap, tt.pod); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInterPodAffinity_ScorePreferred(t *testing.T) {
	nodes := []*corev1.Node{node("n1", "4", "4Gi", nil), node("n2", "4", "4Gi", nil)}
	cache1 := map[string]string{"app": "cache"}
	snap := cache.NewSnapshotFrom([]*corev1.Pod{pod("c", "n1", "", "", cache1)}, nodes)
	p := pod("p", "", "", "", nil)
	p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
		Weight: 50, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: cache1}, TopologyKey: corev1.LabelHostname}}}}}
	got := scoreAll(t, build(t, InterPodAffinityName, "", snap).(framework.ScorePlugin), snap, p)
	if got["n1"] != 100 || got["n2"] != 0 {
		t.Errorf("affinity scores %v, want n1 100 n2 0", got)
	}
	p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: p.Spec.Affinity.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution}}
	got = scoreAll(t, build(t, InterPodAffinityName, "", snap).(framework.ScorePlugin), snap, p)
	if got["n1"] != 0 || got["n2"] != 100 {
		t.Errorf("anti-affinity scores %v, want n1 0 n2 100", got)
	}
}

func TestImageLocality_Score(t *testing.T) {
	withImage := node("has", "1", "1Gi", nil)
	withImage.Status.Images = []corev1.ContainerImage{{Names: []string{"big/image:v1"}, SizeBytes: 500 * mb}}
	snap := cache.NewSnapshotFrom(nil, []*corev1.Node{withImage, node("lacks", "1", "1Gi", nil)})
	p := pod("p", "", "", "", nil)
	p.Spec.Containers[0].Image = "big/image:v1"
	got := scoreAll(t, build(t, ImageLocalityName, "", snap).(framework.ScorePlugin), snap, p)
	// 500MB spread on 1 of 2 nodes = 250MB; (250-23)/(1000-23)*100 = 23.
	if got["has"] != 23 || got["lacks"] != 0 {
		t.Errorf("got %v, want has 23 lacks 0", got)
	}
}

func TestPreemption_PickCandidate(t *testing.T) {
	prio := func(name string, p int32) *corev1.Pod {
		pd := pod(name, "", "", "", nil)
		pd.Spec.Priority = &p
		return pd
	}
	tests := []struct {
		name  string
		cands []Candidate
		want  string
	}{
		{"fewest PDB violations", []Candidate{{Node: "a", Victims: []*corev1.Pod{prio("x", 1)}, PDBViolations: 1}, {Node: "b", Victims: []*corev1.Pod{prio("y", 5)}}}, "b"},
		{"lowest top priority", []Candidate{{Node: "a", Victims: []*corev1.Pod{prio("x", 5)}}, {Node: "b", Victims: []*corev1.Pod{prio("y", 3), prio("z", 3)}}}, "b"},
		{"smallest priority sum", []Candidate{{Node: "a", Victims: []*corev1.Pod{prio("x", 5), prio("x2", 4)}}, {Node: "b", Victims: []*corev1.Pod{prio("y", 5), prio("z", 1)}}}, "b"},
		{"fewest victims", []Candidate{{Node: "a", Victims: []*corev1.Pod{prio("x", 5), prio("x2", 0)}}, {Node: "b", Victims: []*corev1.Pod{prio("y", 5)}}}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PickCandidate(tt.cands).Node; got != tt.want {
				t.Errorf("picked %s, want %s", got, tt.want)
			}
		})
	}
}

// preemptionEnv is DefaultPreemption over a snapshot, with NodeResourcesFit
// and TaintToleration as filters, optional PDBs and nominated pods.
type preemptionEnv struct {
	fwk   *framework.Framework
	pl    *DefaultPreemption
	state *framework.CycleState
	snap  *cache.Snapshot
}

type mapNominator map[string][]*framework.PodInfo

func (m mapNominator) NominatedPodsForNode(n string) []*framework.PodInfo { return m[n] }

func newPreemptionEnv(t *testing.T, nodes []*corev1.Node, existing []*corev1.Pod, pdbs []*policyv1.PodDisruptionBudget, nom mapNominator) *preemptionEnv {
	t.Helper()
	snap := cache.NewSnapshotFrom(existing, nodes)
	h := &fakeHandle{snap: snap}
	fwk, err := framework.New(NewRegistry(), []framework.PluginSpec{{Name: TaintTolerationName}, {Name: NodeResourcesFitName}, {Name: DefaultBinderName}},
		framework.Options{Snapshot: snap, Parallelism: 2, Nominator: nom})
	if err != nil {
		t.Fatal(err)
	}
	h.fwk = fwk
	p, err := NewDefaultPreemption(runtime.RawExtension{}, h)
	if err != nil {
		t.Fatal(err)
	}
	pl := p.(*DefaultPreemption)
	if pdbs != nil {
		idx := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
		for _, pdb := range pdbs {
			if err := idx.Add(pdb); err != nil {
				t.Fatal(err)
			}
		}
		pl.pdbs = policylisters.NewPodDisruptionBudgetLister(idx)
	}
	return &preemptionEnv{fwk: fwk, pl: pl, snap: snap}
}

// filter runs the cycle's PreFilter and Filter as the scheduler does and
// returns the per-node statuses.
func (e *preemptionEnv) filter(t *testing.T, incoming *corev1.Pod) framework.NodeToStatus {
	t.Helper()
	e.state = framework.NewCycleState()
	if _, st := e.fwk.RunPreFilterPlugins(context.Background(), e.state, incoming, e.snap.List()); !st.IsSuccess() {
		t.Fatalf("PreFilter: %v", st.Reasons())
	}
	statuses := framework.NodeToStatus{}
	for _, n := range e.snap.List() {
		if st := e.fwk.RunFilterPluginsWithNominatedPods(context.Background(), e.state, incoming, n); !st.IsSuccess() {
			statuses[n.Node.Name] = st
		}
	}
	return statuses
}

func prioPod(name, nodeName, cpu string, p int32) *corev1.Pod {
	pd := pod(name, nodeName, cpu, "", nil)
	pd.Spec.Priority = &p
	return pd
}

func victimNames(c Candidate) []string {
	var out []string
	for _, v := range c.Victims {
		out = append(out, v.Name)
	}
	return out
}

func TestPreemption_SelectsOnlyNeededVictims(t *testing.T) {
	nodes := []*corev1.Node{node("n1", "2", "4Gi", nil), node("n2", "2", "4Gi", nil)}
	existing := []*corev1.Pod{prioPod("low1", "n1", "1", 1), prioPod("low2", "n1", "1", 1), prioPod("mid", "n2", "2", 5)}
	e := newPreemptionEnv(t, nodes, existing, nil, nil)
	incoming := prioPod("high", "", "1", 100)
	statuses := e.filter(t, incoming)
	cands, msg := e.pl.FindCandidates(context.Background(), e.state, incoming, statuses)
	if len(cands) != 2 {
		t.Fatalf("candidates %v (%s), want n1 and n2", cands, msg)
	}
	best := PickCandidate(cands)
	if best.Node != "n1" || len(best.Victims) != 1 {
		t.Errorf("picked %s with %v, want n1 with 1 victim (one low pod frees enough)", best.Node, victimNames(best))
	}
	never := corev1.PreemptNever
	incoming.Spec.PreemptionPolicy = &never
	if r, st := e.pl.PostFilter(context.Background(), e.state, incoming, statuses); r != nil || st.IsSuccess() || !reflect.DeepEqual(st.Reasons(), []string{"preemption: not eligible due to preemptionPolicy=Never."}) {
		t.Errorf("PreemptNever: result %v reasons %v, want no result and upstream's reason", r, st.Reasons())
	}
}

func TestPreemption_ReprievesMoreImportantVictimsFirst(t *testing.T) {
	// 3 cpu full with priorities 1, 2, 3: a 1-cpu preemptor needs one
	// victim, and it is the least important one.
	nodes := []*corev1.Node{node("n1", "3", "4Gi", nil)}
	existing := []*corev1.Pod{prioPod("p3", "n1", "1", 3), prioPod("p1", "n1", "1", 1), prioPod("p2", "n1", "1", 2)}
	e := newPreemptionEnv(t, nodes, existing, nil, nil)
	incoming := prioPod("high", "", "1", 100)
	cands, msg := e.pl.FindCandidates(context.Background(), e.state, incoming, e.filter(t, incoming))
	if len(cands) != 1 || !reflect.DeepEqual(victimNames(cands[0]), []string{"p1"}) {
		t.Fatalf("candidates %v (%s), want n1 evicting only p1", cands, msg)
	}
	// A 2-cpu preemptor needs two: p1 and p2, most important first.
	incoming = prioPod("wide", "", "2", 100)
	cands, _ = e.pl.FindCandidates(context.Background(), e.state, incoming, e.filter(t, incoming))
	if len(cands) != 1 || !reflect.DeepEqual(victimNames(cands[0]), []string{"p2", "p1"}) {
		t.Fatalf("candidates %v, want n1 evicting p2 and p1", cands)
	}
}

func TestPreemption_PrefersNodeWithoutPDBViolation(t *testing.T) {
	// Same victims' priority on both nodes; n1's victim is protected by a
	// PDB in another namespace than the preemptor's, with no disruption
	// allowed: n2 is picked, and reprieve keeps PDB-protected pods first.
	nodes := []*corev1.Node{node("n1", "1", "4Gi", nil), node("n2", "1", "4Gi", nil)}
	guarded := prioPod("guarded", "n1", "1", 1)
	guarded.Namespace, guarded.Labels = "shop", map[string]string{"app": "db"}
	free := prioPod("free", "n2", "1", 1)
	free.Labels = map[string]string{"app": "db"} // same labels, other namespace: not covered
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"},
		Spec:   policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0}}
	e := newPreemptionEnv(t, nodes, []*corev1.Pod{guarded, free}, []*policyv1.PodDisruptionBudget{pdb}, nil)
	incoming := prioPod("high", "", "1", 100)
	cands, msg := e.pl.FindCandidates(context.Background(), e.state, incoming, e.filter(t, incoming))
	if len(cands) != 2 {
		t.Fatalf("candidates %v (%s), want both nodes", cands, msg)
	}
	violations := map[string]int{}
	for _, c := range cands {
		violations[c.Node] = c.PDBViolations
	}
	if violations["n1"] != 1 || violations["n2"] != 0 {
		t.Errorf("PDB violations %v, want n1:1 n2:0", violations)
	}
	if best := PickCandidate(cands); best.Node != "n2" {
		t.Errorf("picked %s, want n2 (no PDB violated)", best.Node)
	}
}

func TestPreemption_MessagePerNodeAsUpstream(t *testing.T) {
	taint := corev1.Taint{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoSchedule}
	nodes := []*corev1.Node{
		node("equal", "1", "4Gi", nil),          // only a pod of the same priority
		node("small", "1", "4Gi", nil),          // a victim, but 2 cpu never fit
		node("tainted", "8", "4Gi", nil, taint), // unresolvable: not helpful
	}
	existing := []*corev1.Pod{prioPod("peer", "equal", "1", 100), prioPod("low", "small", "500m", 1)}
	e := newPreemptionEnv(t, nodes, existing, nil, nil)
	incoming := prioPod("high", "", "2", 100)
	r, st := e.pl.PostFilter(context.Background(), e.state, incoming, e.filter(t, incoming))
	want := "preemption: 0/3 nodes are available: 1 Insufficient cpu, 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
	if st.IsSuccess() || st.Message() != want {
		t.Errorf("message %q\nwant    %q", st.Message(), want)
	}
	if r == nil || r.NominatedNodeName != "" {
		t.Errorf("result %v, want a cleared nomination", r)
	}
}

func TestPreemption_PickCandidateLatestStart(t *testing.T) {
	early, late := metav1.Unix(100, 0), metav1.Unix(200, 0)
	a, b := prioPod("a", "", "", 5), prioPod("b", "", "", 5)
	a.Status.StartTime, b.Status.StartTime = &early, &late
	cands := []Candidate{{Node: "na", Victims: []*corev1.Pod{a}}, {Node: "nb", Victims: []*corev1.Pod{b}}}
	if got := PickCandidate(cands).Node; got != "nb" {
		t.Errorf("picked %s, want nb (its highest-priority victim started latest)", got)
	}
}

func TestPreemption_TerminatingVictimOnNominatedNodeBlocksAnotherRound(t *testing.T) {
	nodes := []*corev1.Node{node("n1", "1", "4Gi", nil)}
	victim := prioPod("victim", "n1", "1", 1)
	now := metav1.Now()
	victim.DeletionTimestamp = &now
	victim.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: corev1.PodReasonPreemptionByScheduler}}
	e := newPreemptionEnv(t, nodes, []*corev1.Pod{victim}, nil, nil)
	incoming := prioPod("high", "", "1", 100)
	incoming.Status.NominatedNodeName = "n1"
	r, st := e.pl.PostFilter(context.Background(), e.state, incoming, e.filter(t, incoming))
	if r != nil || st.Message() != "preemption: not eligible due to a terminating pod on the nominated node." {
		t.Errorf("result %v message %q, want nomination kept and upstream's reason", r, st.Message())
	}
}

func TestFilterWithNominatedPods_RoomIsKeptForHigherPriority(t *testing.T) {
	nodes := []*corev1.Node{node("n1", "2", "4Gi", nil)}
	nominated := prioPod("preemptor", "", "1500m", 50)
	nom := mapNominator{"n1": {framework.NewPodInfo(nominated)}}
	e := newPreemptionEnv(t, nodes, nil, nil, nom)
	for _, tt := range []struct {
		name string
		prio int32
		want string
	}{
		{"lower priority sees the nominated pod", 10, "Insufficient cpu"},
		{"equal priority sees it too", 50, "Insufficient cpu"},
		{"higher priority ignores it", 60, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if st := e.filter(t, prioPod("other", "", "1", tt.prio))["n1"]; st != nil {
				got = st.Message()
			}
			if got != tt.want {
				t.Errorf("n1: %q, want %q", got, tt.want)
			}
		})
	}
	// The nominated pod itself is not counted twice.
	if st := e.filter(t, nominated)["n1"]; st != nil {
		t.Errorf("nominated pod on its own node: %v", st.Message())
	}
}

func TestFitError_Message(t *testing.T) {
	fe := &framework.FitError{NumAllNodes: 3, NodeToStatus: framework.NodeToStatus{
		"a": framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"),
		"b": framework.NewStatus(framework.Unschedulable, "Insufficient cpu"),
		"c": framework.NewStatus(framework.Unschedulable, "Insufficient cpu"),
	}, PostFilterMsg: "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."}
	want := "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
	if got := fe.Error(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
