package framework

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
)

// Plugin is what every plugin is: a name. What else it does, the framework
// finds out by type assertion on the capability interfaces below.
type Plugin interface {
	Name() string
}

// PreFilterResult narrows the nodes to evaluate (nil NodeNames: all).
type PreFilterResult struct {
	NodeNames map[string]struct{}
}

// PreFilterPlugin is called once per pod before filtering; it computes
// state for Filter (stored in CycleState) or rejects the pod outright.
// Returning Skip means its Filter is not called for this pod.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) (*PreFilterResult, *Status)
}

// FilterPlugin decides whether pod fits node. It is called concurrently
// for different nodes and must only read state and node.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status
}

// PreFilterExtensions let preemption adjust a plugin's PreFilter state
// when it simulates removing (or adding back) a pod on a node.
type PreFilterExtensions interface {
	AddPod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToAdd *PodInfo, node *NodeInfo) *Status
	RemovePod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToRemove *PodInfo, node *NodeInfo) *Status
}

// PostFilterPlugin is called when no node fits (preemption). A nil result
// leaves the pod's nomination as it is; a result names the node to
// nominate ("" clears the nomination).
type PostFilterPlugin interface {
	Plugin
	PostFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, statuses NodeToStatus) (*PostFilterResult, *Status)
}

// PostFilterResult is what a PostFilter decided about the pod's
// nomination: NominatedNodeName is the node it waits for ("" clears).
type PostFilterResult struct {
	NominatedNodeName string
}

// PodNominator knows the pending pods nominated to each node (preemptors
// waiting for their victims to go): filtering counts those of at least
// the incoming pod's priority as already there.
type PodNominator interface {
	// NominatedPodsForNode returns the pods nominated to node.
	NominatedPodsForNode(node string) []*PodInfo
}

// PreScorePlugin is called once with the feasible nodes before scoring;
// Skip means its Score is not called for this pod.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status
}

// ScorePlugin ranks a feasible node; called concurrently for different
// nodes.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) (int64, *Status)
}

// NormalizeScorePlugin maps a ScorePlugin's raw scores into
// [MinNodeScore, MaxNodeScore] in place.
type NormalizeScorePlugin interface {
	ScorePlugin
	NormalizeScore(ctx context.Context, state *CycleState, pod *corev1.Pod, scores []NodeScore) *Status
}

// ReservePlugin is told when a pod is assumed on a node, and unreserved if
// binding fails.
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string)
}

// BindPlugin binds the pod; Skip passes to the next bind plugin.
type BindPlugin interface {
	Plugin
	Bind(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
}

// SharedLister gives plugins the cycle's node snapshot.
type SharedLister interface {
	// List returns the nodes in the order filtering visits them.
	List() []*NodeInfo
	// Get returns a node by name, or nil.
	Get(name string) *NodeInfo
	// HavePodsWithAffinity are the nodes with pods that have affinity terms.
	HavePodsWithAffinity() []*NodeInfo
	// HavePodsWithRequiredAntiAffinity are the nodes with pods that have
	// required anti-affinity terms.
	HavePodsWithRequiredAntiAffinity() []*NodeInfo
	// ImageNumNodes is how many nodes hold the (normalized) image.
	ImageNumNodes(image string) int
}

// Handle is what the framework gives plugins when it builds them.
type Handle interface {
	// SnapshotSharedLister is the current cycle's snapshot.
	SnapshotSharedLister() SharedLister
	ClientSet() kubernetes.Interface
	SharedInformerFactory() informers.SharedInformerFactory
	// RunFilterPlugins runs every Filter plugin against node (preemption
	// uses it to test a node with victims removed).
	RunFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status
	// RunFilterPluginsWithNominatedPods runs them as if the pods nominated
	// to node with priority at least pod's were there (and, if it fits
	// so, also without them, as upstream).
	RunFilterPluginsWithNominatedPods(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status
	// NominatedPodsForNode returns the pending pods nominated to node.
	NominatedPodsForNode(node string) []*PodInfo
	// RunPreFilterExtensionAddPod/RemovePod update PreFilter state for a
	// simulated pod addition/removal.
	RunPreFilterExtensionAddPod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToAdd *PodInfo, node *NodeInfo) *Status
	RunPreFilterExtensionRemovePod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToRemove *PodInfo, node *NodeInfo) *Status
	// Parallelism is how many goroutines per parallel step.
	Parallelism() int
	// EventRecorder records events as the profile (nil in unit tests).
	EventRecorder() events.EventRecorder
}

// Factory builds a plugin from its pluginConfig args (nil for defaults,
// else the raw JSON of args).
type Factory func(args runtime.RawExtension, h Handle) (Plugin, error)

// Registry maps plugin names to factories.
type Registry map[string]Factory

// StateData is a plugin's per-cycle data.
type StateData interface {
	// Clone copies the data (preemption clones the state per candidate node).
	Clone() StateData
}

// CycleState is the per-pod scheduling cycle's plugin state. Writes happen
// in PreFilter/PreScore (one goroutine); Filter/Score only read.
type CycleState struct {
	mu   sync.RWMutex
	data map[string]StateData
	// SkipFilterPlugins and SkipScorePlugins are plugins that returned
	// Skip from PreFilter / PreScore.
	SkipFilterPlugins map[string]struct{}
	SkipScorePlugins  map[string]struct{}
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{data: map[string]StateData{}, SkipFilterPlugins: map[string]struct{}{}, SkipScorePlugins: map[string]struct{}{}}
}

// Read returns the data under key, or nil.
func (c *CycleState) Read(key string) StateData {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.data[key]
}

// Write stores data under key.
func (c *CycleState) Write(key string, d StateData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data[key] = d
}

// Clone deep-copies the state.
func (c *CycleState) Clone() *CycleState {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := NewCycleState()
	for k, v := range c.data {
		n.data[k] = v.Clone()
	}
	for k := range c.SkipFilterPlugins {
		n.SkipFilterPlugins[k] = struct{}{}
	}
	for k := range c.SkipScorePlugins {
		n.SkipScorePlugins[k] = struct{}{}
	}
	return n
}
