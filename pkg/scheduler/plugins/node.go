package plugins

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kstack/kstack/pkg/scheduler/framework"
)

// Rejection reasons, as upstream words them.
const (
	ErrReasonUnschedulable   = "node(s) were unschedulable"
	ErrReasonNodeName        = "node(s) didn't match the requested node name"
	ErrReasonNodeAffinity    = "node(s) didn't match Pod's node affinity/selector"
	ErrReasonNodePorts       = "node(s) didn't have free ports for the requested pod ports"
	errReasonNodeNotFound    = "node(s) not found"
	taintUnschedulableKey    = corev1.TaintNodeUnschedulable
	errReasonUntoleratedTmpl = "node(s) had untolerated taint {%s: %s}"
)

// NodeUnschedulable rejects nodes with spec.unschedulable unless the pod
// tolerates the node.kubernetes.io/unschedulable:NoSchedule taint.
type NodeUnschedulable struct{}

var _ framework.FilterPlugin = (*NodeUnschedulable)(nil)

// Name implements framework.Plugin.
func (*NodeUnschedulable) Name() string { return NodeUnschedulableName }

// Filter implements framework.FilterPlugin.
func (*NodeUnschedulable) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	node := ni.Node
	if node == nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, errReasonNodeNotFound)
	}
	if !node.Spec.Unschedulable {
		return nil
	}
	if tolerates(pod.Spec.Tolerations, &corev1.Taint{Key: taintUnschedulableKey, Effect: corev1.TaintEffectNoSchedule}) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnschedulable)
}

// NodeName rejects nodes other than spec.nodeName when it is set.
type NodeName struct{}

var _ framework.FilterPlugin = (*NodeName)(nil)

// Name implements framework.Plugin.
func (*NodeName) Name() string { return NodeNameName }

// Filter implements framework.FilterPlugin.
func (*NodeName) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	if pod.Spec.NodeName != "" && pod.Spec.NodeName != ni.NodeName() {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeName)
	}
	return nil
}

// NodeAffinity filters on nodeSelector and required node affinity and
// scores the sum of the weights of the preferred terms a node matches.
type NodeAffinity struct{}

var (
	_ framework.PreFilterPlugin      = (*NodeAffinity)(nil)
	_ framework.FilterPlugin         = (*NodeAffinity)(nil)
	_ framework.PreScorePlugin       = (*NodeAffinity)(nil)
	_ framework.NormalizeScorePlugin = (*NodeAffinity)(nil)
)

// NewNodeAffinity builds the plugin (args are not supported yet).
func NewNodeAffinity(runtime.RawExtension, framework.Handle) (framework.Plugin, error) {
	return &NodeAffinity{}, nil
}

// Name implements framework.Plugin.
func (*NodeAffinity) Name() string { return NodeAffinityName }

// PreFilter skips pods without node constraints and, when every required
// term pins metadata.name, narrows the nodes to those names.
func (*NodeAffinity) PreFilter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	a := pod.Spec.Affinity
	hasRequired := a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil
	if len(pod.Spec.NodeSelector) == 0 && !hasRequired {
		return nil, framework.NewStatus(framework.Skip)
	}
	if !hasRequired {
		return nil, nil
	}
	names := map[string]struct{}{}
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		pinned := false
		for _, f := range t.MatchFields {
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn {
				pinned = true
				for _, v := range f.Values {
					names[v] = struct{}{}
				}
			}
		}
		if !pinned {
			return nil, nil
		}
	}
	if len(names) == 0 {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeAffinity)
	}
	return &framework.PreFilterResult{NodeNames: names}, nil
}

// Filter implements framework.FilterPlugin.
func (*NodeAffinity) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	if ni.Node == nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, errReasonNodeNotFound)
	}
	if !requiredNodeAffinityMatches(pod, ni.Node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeAffinity)
	}
	return nil
}

// PreScore skips pods without preferred terms.
func (*NodeAffinity) PreScore(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	if a := pod.Spec.Affinity; a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score sums the weights of the preferred terms the node matches.
func (*NodeAffinity) Score(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	var score int64
	for _, t := range pod.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		if t.Weight != 0 && nodeSelectorTermMatches(&t.Preference, ni.Node) {
			score += int64(t.Weight)
		}
	}
	return score, nil
}

// NormalizeScore scales to [0, 100], the best node getting 100.
func (*NodeAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	framework.DefaultNormalizeScore(framework.MaxNodeScore, false, scores)
	return nil
}

// TaintToleration rejects nodes with NoSchedule/NoExecute taints the pod
// does not tolerate and prefers nodes with fewer untolerated
// PreferNoSchedule taints.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin         = (*TaintToleration)(nil)
	_ framework.NormalizeScorePlugin = (*TaintToleration)(nil)
)

// Name implements framework.Plugin.
func (*TaintToleration) Name() string { return TaintTolerationName }

// Filter implements framework.FilterPlugin.
func (*TaintToleration) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	if ni.Node == nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, errReasonNodeNotFound)
	}
	t, ok := untoleratedTaint(ni.Node.Spec.Taints, pod.Spec.Tolerations, corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute)
	if !ok {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf(errReasonUntoleratedTmpl, t.Key, t.Value))
}

// Score counts the node's PreferNoSchedule taints that the pod's
// PreferNoSchedule (or effect-less) tolerations do not tolerate.
func (*TaintToleration) Score(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	var tols []corev1.Toleration
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	var n int64
	for i := range ni.Node.Spec.Taints {
		t := &ni.Node.Spec.Taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule && !tolerates(tols, t) {
			n++
		}
	}
	return n, nil
}

// NormalizeScore reverses: the fewest untolerated taints score 100.
func (*TaintToleration) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	framework.DefaultNormalizeScore(framework.MaxNodeScore, true, scores)
	return nil
}

// NodePorts rejects nodes where a requested host port is taken.
type NodePorts struct{}

var (
	_ framework.PreFilterPlugin = (*NodePorts)(nil)
	_ framework.FilterPlugin    = (*NodePorts)(nil)
)

const nodePortsKey = "PreFilter" + NodePortsName

// Name implements framework.Plugin.
func (*NodePorts) Name() string { return NodePortsName }

// hostPorts lists the host ports a pod asks for (containers and
// restartable init containers).
func hostPorts(pod *corev1.Pod) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	add := func(cs []corev1.Container, sidecarsOnly bool) {
		for _, c := range cs {
			if sidecarsOnly && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
				continue
			}
			for _, p := range c.Ports {
				if p.HostPort > 0 {
					out = append(out, p)
				}
			}
		}
	}
	add(pod.Spec.InitContainers, true)
	add(pod.Spec.Containers, false)
	return out
}

// PreFilter implements framework.PreFilterPlugin.
func (*NodePorts) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	ports := hostPorts(pod)
	if len(ports) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	state.Write(nodePortsKey, &stateData[[]corev1.ContainerPort]{ports})
	return nil, nil
}

// Filter implements framework.FilterPlugin.
func (*NodePorts) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	ports, err := readState[[]corev1.ContainerPort](state, nodePortsKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	for _, p := range ports {
		if ni.UsedPorts.CheckConflict(p.HostIP, string(p.Protocol), p.HostPort) {
			return framework.NewStatus(framework.Unschedulable, ErrReasonNodePorts)
		}
	}
	return nil
}

// DefaultBinder binds through pods/binding.
type DefaultBinder struct {
	handle framework.Handle
}

var _ framework.BindPlugin = (*DefaultBinder)(nil)

// Name implements framework.Plugin.
func (*DefaultBinder) Name() string { return DefaultBinderName }

// Bind implements framework.BindPlugin.
func (b *DefaultBinder) Bind(ctx context.Context, _ *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	binding := &corev1.Binding{
		ObjectMeta: metaFor(pod),
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}
	if err := b.handle.ClientSet().CoreV1().Pods(pod.Namespace).Bind(ctx, binding, createOptions); err != nil {
		return framework.AsStatus(fmt.Errorf("bind pod %s/%s to %s: %w", pod.Namespace, pod.Name, node, err))
	}
	return nil
}
