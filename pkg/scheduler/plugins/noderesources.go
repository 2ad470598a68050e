package plugins

import (
	"context"
	"fmt"
	"math"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kstack/kstack/pkg/scheduler/framework"
)

// Scoring strategies of NodeResourcesFit.
const (
	LeastAllocated = "LeastAllocated"
	MostAllocated  = "MostAllocated"
)

// ResourceSpec is a resource and its weight in scoring.
type ResourceSpec struct {
	Name   string `json:"name"`
	Weight int64  `json:"weight,omitempty"`
}

// ScoringStrategy is NodeResourcesFitArgs.scoringStrategy.
type ScoringStrategy struct {
	Type      string         `json:"type,omitempty"`
	Resources []ResourceSpec `json:"resources,omitempty"`
}

// NodeResourcesFitArgs are upstream's NodeResourcesFitArgs.
type NodeResourcesFitArgs struct {
	IgnoredResources      []string         `json:"ignoredResources,omitempty"`
	IgnoredResourceGroups []string         `json:"ignoredResourceGroups,omitempty"`
	ScoringStrategy       *ScoringStrategy `json:"scoringStrategy,omitempty"`
}

var defaultResources = []ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}

// NodeResourcesFit rejects nodes without room for the pod's requests and
// scores by how much would be left (LeastAllocated) or used
// (MostAllocated).
type NodeResourcesFit struct {
	ignored      map[string]struct{}
	ignoredGroup map[string]struct{}
	strategy     string
	resources    []ResourceSpec
}

var (
	_ framework.PreFilterPlugin = (*NodeResourcesFit)(nil)
	_ framework.FilterPlugin    = (*NodeResourcesFit)(nil)
	_ framework.ScorePlugin     = (*NodeResourcesFit)(nil)
)

// NewNodeResourcesFit builds the plugin from its args.
func NewNodeResourcesFit(raw runtime.RawExtension, _ framework.Handle) (framework.Plugin, error) {
	var args NodeResourcesFitArgs
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	f := &NodeResourcesFit{ignored: map[string]struct{}{}, ignoredGroup: map[string]struct{}{}, strategy: LeastAllocated, resources: defaultResources}
	for _, r := range args.IgnoredResources {
		f.ignored[r] = struct{}{}
	}
	for _, g := range args.IgnoredResourceGroups {
		f.ignoredGroup[g] = struct{}{}
	}
	if s := args.ScoringStrategy; s != nil {
		switch s.Type {
		case "", LeastAllocated:
		case MostAllocated:
			f.strategy = MostAllocated
		default:
			return nil, fmt.Errorf("scoringStrategy.type %q is not supported (LeastAllocated, MostAllocated)", s.Type)
		}
		if len(s.Resources) > 0 {
			f.resources = nil
			for _, r := range s.Resources {
				if r.Weight <= 0 || r.Weight > 100 {
					return nil, fmt.Errorf("scoringStrategy.resources[%s].weight %d must be in [1, 100]", r.Name, r.Weight)
				}
				f.resources = append(f.resources, r)
			}
		}
	}
	return f, nil
}

// Name implements framework.Plugin.
func (*NodeResourcesFit) Name() string { return NodeResourcesFitName }

const fitKey = "PreFilter" + NodeResourcesFitName

// PreFilter records the pod's requests.
func (f *NodeResourcesFit) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	state.Write(fitKey, &stateData[*framework.Resource]{framework.PodRequests(pod)})
	return nil, nil
}

// Filter implements framework.FilterPlugin.
func (f *NodeResourcesFit) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	req, err := readState[*framework.Resource](state, fitKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	if reasons := f.insufficient(req, ni); len(reasons) > 0 {
		return framework.NewStatus(framework.Unschedulable, reasons...)
	}
	return nil
}

// insufficient lists upstream's reasons ("Too many pods", "Insufficient
// cpu", ...) for why req does not fit on ni.
func (f *NodeResourcesFit) insufficient(req *framework.Resource, ni *framework.NodeInfo) []string {
	var reasons []string
	if int64(len(ni.Pods))+1 > ni.Allocatable.AllowedPodNumber {
		reasons = append(reasons, "Too many pods")
	}
	if req.MilliCPU == 0 && req.Memory == 0 && req.EphemeralStorage == 0 && len(req.Scalar) == 0 {
		return reasons
	}
	if req.MilliCPU > 0 && req.MilliCPU > ni.Allocatable.MilliCPU-ni.Requested.MilliCPU {
		reasons = append(reasons, "Insufficient cpu")
	}
	if req.Memory > 0 && req.Memory > ni.Allocatable.Memory-ni.Requested.Memory {
		reasons = append(reasons, "Insufficient memory")
	}
	if req.EphemeralStorage > 0 && req.EphemeralStorage > ni.Allocatable.EphemeralStorage-ni.Requested.EphemeralStorage {
		reasons = append(reasons, "Insufficient ephemeral-storage")
	}
	for name, v := range req.Scalar {
		if v == 0 {
			continue
		}
		if _, ok := f.ignored[string(name)]; ok {
			continue
		}
		if i := strings.Index(string(name), "/"); i > 0 {
			if _, ok := f.ignoredGroup[string(name)[:i]]; ok {
				continue
			}
		}
		if v > ni.Allocatable.Scalar[name]-ni.Requested.Scalar[name] {
			reasons = append(reasons, fmt.Sprintf("Insufficient %s", name))
		}
	}
	return reasons
}

// Score implements framework.ScorePlugin: per resource, the share left
// free (LeastAllocated) or used (MostAllocated) after placing the pod,
// times 100, weighted-averaged. CPU and memory count non-zero requests
// (100m / 200Mi for containers without requests).
func (f *NodeResourcesFit) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	podReq := nonZero(state, pod)
	var total, weights int64
	for _, r := range f.resources {
		requested, alloc := resourceAmounts(r.Name, ni, podReq, true)
		if alloc == 0 {
			continue
		}
		var s int64
		if f.strategy == MostAllocated {
			s = min(requested, alloc) * framework.MaxNodeScore / alloc
		} else if requested <= alloc {
			s = (alloc - requested) * framework.MaxNodeScore / alloc
		}
		total += s * r.Weight
		weights += r.Weight
	}
	if weights == 0 {
		return 0, nil
	}
	return total / weights, nil
}

// nonZero is the pod's requests with upstream's defaults for cpu/memory.
func nonZero(state *framework.CycleState, pod *corev1.Pod) *framework.Resource {
	req, err := readState[*framework.Resource](state, fitKey)
	if err != nil {
		req = framework.PodRequests(pod)
	}
	req = req.Clone()
	if req.MilliCPU == 0 {
		req.MilliCPU = framework.DefaultMilliCPURequest
	}
	if req.Memory == 0 {
		req.Memory = framework.DefaultMemoryRequest
	}
	return req
}

// resourceAmounts returns what the node would have requested of resource
// name with the pod added, and its allocatable.
func resourceAmounts(name string, ni *framework.NodeInfo, pod *framework.Resource, nonZeroNode bool) (requested, alloc int64) {
	node := ni.Requested
	if nonZeroNode {
		node = ni.NonZeroRequested
	}
	switch corev1.ResourceName(name) {
	case corev1.ResourceCPU:
		return node.MilliCPU + pod.MilliCPU, ni.Allocatable.MilliCPU
	case corev1.ResourceMemory:
		return node.Memory + pod.Memory, ni.Allocatable.Memory
	case corev1.ResourceEphemeralStorage:
		return ni.Requested.EphemeralStorage + pod.EphemeralStorage, ni.Allocatable.EphemeralStorage
	default:
		rn := corev1.ResourceName(name)
		return ni.Requested.Scalar[rn] + pod.Scalar[rn], ni.Allocatable.Scalar[rn]
	}
}

// BalancedAllocation prefers nodes whose cpu and memory would be used in
// equal shares: score = (1 - std deviation of the shares) * 100.
type BalancedAllocation struct {
	resources []ResourceSpec
}

var (
	_ framework.PreScorePlugin = (*BalancedAllocation)(nil)
	_ framework.ScorePlugin    = (*BalancedAllocation)(nil)
)

// BalancedAllocationArgs are upstream's NodeResourcesBalancedAllocationArgs.
type BalancedAllocationArgs struct {
	Resources []ResourceSpec `json:"resources,omitempty"`
}

// NewBalancedAllocation builds the plugin.
func NewBalancedAllocation(raw runtime.RawExtension, _ framework.Handle) (framework.Plugin, error) {
	var args BalancedAllocationArgs
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	b := &BalancedAllocation{resources: defaultResources}
	if len(args.Resources) > 0 {
		b.resources = args.Resources
	}
	return b, nil
}

// Name implements framework.Plugin.
func (*BalancedAllocation) Name() string { return NodeResourcesBalancedAllocationName }

const balancedKey = "PreScore" + NodeResourcesBalancedAllocationName

// PreScore skips best-effort pods (no requests of the scored resources).
func (b *BalancedAllocation) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	req := framework.PodRequests(pod)
	any := false
	for _, r := range b.resources {
		if v, _ := resourceAmounts(r.Name, framework.NewNodeInfo(), req, false); v > 0 {
			any = true
		}
	}
	if !any {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(balancedKey, &stateData[*framework.Resource]{req})
	return nil
}

// Score implements framework.ScorePlugin.
func (b *BalancedAllocation) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	req, err := readState[*framework.Resource](state, balancedKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var fractions []float64
	for _, r := range b.resources {
		requested, alloc := resourceAmounts(r.Name, ni, req, false)
		if alloc == 0 {
			continue
		}
		fractions = append(fractions, math.Min(float64(requested)/float64(alloc), 1))
	}
	var std float64
	switch len(fractions) {
	case 0, 1:
	case 2:
		std = math.Abs(fractions[0]-fractions[1]) / 2
	default:
		var sum float64
		for _, f := range fractions {
			sum += f
		}
		mean := sum / float64(len(fractions))
		var v float64
		for _, f := range fractions {
			v += (f - mean) * (f - mean)
		}
		std = math.Sqrt(v / float64(len(fractions)))
	}
	return int64((1 - std) * float64(framework.MaxNodeScore)), nil
}

// ImageLocality prefers nodes that already hold the pod's images, weighted
// by image size and by how widely the image is spread (to avoid piling
// pods onto the few nodes that have it).
type ImageLocality struct {
	handle framework.Handle
}

var _ framework.ScorePlugin = (*ImageLocality)(nil)

// Upstream's thresholds.
const (
	mb                    int64 = 1024 * 1024
	minImageThreshold           = 23 * mb
	maxContainerThreshold       = 1000 * mb
)

// Name implements framework.Plugin.
func (*ImageLocality) Name() string { return ImageLocalityName }

// Score implements framework.ScorePlugin.
func (il *ImageLocality) Score(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	total := len(il.handle.SnapshotSharedLister().List())
	if total == 0 {
		return 0, nil
	}
	var sum int64
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if st, ok := ni.ImageStates[normalizedImageName(c.Image)]; ok {
				sum += int64(float64(st.Size) * float64(st.NumNodes) / float64(total))
			}
		}
	}
	n := int64(len(pod.Spec.InitContainers) + len(pod.Spec.Containers))
	maxThreshold := maxContainerThreshold * n
	if sum < minImageThreshold {
		sum = minImageThreshold
	} else if sum > maxThreshold {
		sum = maxThreshold
	}
	return framework.MaxNodeScore * (sum - minImageThreshold) / (maxThreshold - minImageThreshold), nil
}

func normalizedImageName(name string) string {
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") && !strings.Contains(name, "@") {
		name += ":latest"
	}
	return name
}
