// Package plugins holds kstack's scheduler plugins, each in its own file,
// with upstream's names, reasons and scoring so that placements match
// upstream's on the same input. NewRegistry lists them all.
package plugins

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/klog/v2"

	"github.com/kstack/kstack/pkg/scheduler/framework"
)

// Plugin names, as upstream.
const (
	NodeUnschedulableName               = "NodeUnschedulable"
	NodeNameName                        = "NodeName"
	NodeAffinityName                    = "NodeAffinity"
	TaintTolerationName                 = "TaintToleration"
	NodeResourcesFitName                = "NodeResourcesFit"
	NodeResourcesBalancedAllocationName = "NodeResourcesBalancedAllocation"
	NodePortsName                       = "NodePorts"
	PodTopologySpreadName               = "PodTopologySpread"
	InterPodAffinityName                = "InterPodAffinity"
	ImageLocalityName                   = "ImageLocality"
	DefaultPreemptionName               = "DefaultPreemption"
	DefaultBinderName                   = "DefaultBinder"
	PrioritySortName                    = "PrioritySort"
)

// NewRegistry returns every in-tree plugin by name.
func NewRegistry() framework.Registry {
	return framework.Registry{
		NodeUnschedulableName: func(runtime.RawExtension, framework.Handle) (framework.Plugin, error) {
			return &NodeUnschedulable{}, nil
		},
		NodeNameName:                        func(runtime.RawExtension, framework.Handle) (framework.Plugin, error) { return &NodeName{}, nil },
		NodeAffinityName:                    NewNodeAffinity,
		TaintTolerationName:                 func(runtime.RawExtension, framework.Handle) (framework.Plugin, error) { return &TaintToleration{}, nil },
		NodeResourcesFitName:                NewNodeResourcesFit,
		NodeResourcesBalancedAllocationName: NewBalancedAllocation,
		NodePortsName:                       func(runtime.RawExtension, framework.Handle) (framework.Plugin, error) { return &NodePorts{}, nil },
		PodTopologySpreadName:               NewPodTopologySpread,
		InterPodAffinityName:                NewInterPodAffinity,
		ImageLocalityName: func(_ runtime.RawExtension, h framework.Handle) (framework.Plugin, error) {
			return &ImageLocality{handle: h}, nil
		},
		DefaultPreemptionName: NewDefaultPreemption,
		DefaultBinderName: func(_ runtime.RawExtension, h framework.Handle) (framework.Plugin, error) {
			return &DefaultBinder{handle: h}, nil
		},
		PrioritySortName: func(runtime.RawExtension, framework.Handle) (framework.Plugin, error) { return prioritySort{}, nil },
	}
}

// DefaultPlugin is one plugin of the default profile and its score weight.
type DefaultPlugin struct {
	Name   string
	Weight int32
}

// DefaultPlugins are upstream's default profile (kubescheduler.config.k8s.io/v1
// multiPoint), minus the volume plugins, in upstream's order.
func DefaultPlugins() []DefaultPlugin {
	return []DefaultPlugin{
		{PrioritySortName, 0},
		{NodeUnschedulableName, 0},
		{NodeNameName, 0},
		{TaintTolerationName, 3},
		{NodeAffinityName, 2},
		{NodePortsName, 0},
		{NodeResourcesFitName, 1},
		{PodTopologySpreadName, 2},
		{InterPodAffinityName, 2},
		{DefaultPreemptionName, 0},
		{NodeResourcesBalancedAllocationName, 1},
		{ImageLocalityName, 1},
		{DefaultBinderName, 0},
	}
}

// prioritySort is the queue-sort plugin; the queue always orders by
// priority then time, so it exists to be named in configs.
type prioritySort struct{}

func (prioritySort) Name() string { return PrioritySortName }

// decodeArgs reads a plugin's args (JSON) into out; empty args keep out.
func decodeArgs(args runtime.RawExtension, out any) error {
	if len(args.Raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(args.Raw, out); err != nil {
		return fmt.Errorf("decode args: %w", err)
	}
	return nil
}

// stateData wraps a value that needs no deep copy to be a StateData.
type stateData[T any] struct{ v T }

func (s *stateData[T]) Clone() framework.StateData { return s }

func readState[T any](state *framework.CycleState, key string) (T, error) {
	var zero T
	d := state.Read(key)
	if d == nil {
		return zero, fmt.Errorf("reading %q from cycleState: not found", key)
	}
	if sd, ok := d.(*stateData[T]); ok {
		return sd.v, nil
	}
	if v, ok := d.(T); ok {
		return v, nil
	}
	return zero, fmt.Errorf("%q in cycleState has type %T", key, d)
}

// nodeSelectorTermMatches reports whether node matches one term: every
// expression on labels and every field (only metadata.name) must match;
// an empty term matches nothing.
func nodeSelectorTermMatches(term *corev1.NodeSelectorTerm, node *corev1.Node) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	if len(term.MatchExpressions) > 0 {
		sel, err := nodeSelectorRequirementsAsSelector(term.MatchExpressions)
		if err != nil || !sel.Matches(labels.Set(node.Labels)) {
			return false
		}
	}
	if len(term.MatchFields) > 0 {
		sel, err := nodeSelectorRequirementsAsSelector(term.MatchFields)
		if err != nil || !sel.Matches(labels.Set{"metadata.name": node.Name}) {
			return false
		}
	}
	return true
}

// nodeSelectorMatches ORs the terms.
func nodeSelectorMatches(ns *corev1.NodeSelector, node *corev1.Node) bool {
	for i := range ns.NodeSelectorTerms {
		if nodeSelectorTermMatches(&ns.NodeSelectorTerms[i], node) {
			return true
		}
	}
	return false
}

func nodeSelectorRequirementsAsSelector(reqs []corev1.NodeSelectorRequirement) (labels.Selector, error) {
	sel := labels.NewSelector()
	for _, r := range reqs {
		var op selection.Operator
		switch r.Operator {
		case corev1.NodeSelectorOpIn:
			op = selection.In
		case corev1.NodeSelectorOpNotIn:
			op = selection.NotIn
		case corev1.NodeSelectorOpExists:
			op = selection.Exists
		case corev1.NodeSelectorOpDoesNotExist:
			op = selection.DoesNotExist
		case corev1.NodeSelectorOpGt:
			op = selection.GreaterThan
		case corev1.NodeSelectorOpLt:
			op = selection.LessThan
		default:
			return nil, fmt.Errorf("%q is not a valid node selector operator", r.Operator)
		}
		req, err := labels.NewRequirement(r.Key, op, r.Values)
		if err != nil {
			return nil, err
		}
		sel = sel.Add(*req)
	}
	return sel, nil
}

// requiredNodeAffinityMatches reports whether node passes pod's
// nodeSelector and required node affinity.
func requiredNodeAffinityMatches(pod *corev1.Pod, node *corev1.Node) bool {
	if len(pod.Spec.NodeSelector) > 0 && !labels.SelectorFromSet(pod.Spec.NodeSelector).Matches(labels.Set(node.Labels)) {
		return false
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		return nodeSelectorMatches(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, node)
	}
	return true
}

// untoleratedTaint returns the first taint with an effect in effects that
// no toleration tolerates.
func untoleratedTaint(taints []corev1.Taint, tolerations []corev1.Toleration, effects ...corev1.TaintEffect) (*corev1.Taint, bool) {
	for i := range taints {
		t := &taints[i]
		relevant := false
		for _, e := range effects {
			if t.Effect == e {
				relevant = true
			}
		}
		if !relevant {
			continue
		}
		if !tolerates(tolerations, t) {
			return t, true
		}
	}
	return nil, false
}

func tolerates(tolerations []corev1.Toleration, t *corev1.Taint) bool {
	for i := range tolerations {
		if tolerations[i].ToleratesTaint(klog.Background(), t, false) {
			return true
		}
	}
	return false
}

// countMatchingPods counts non-terminating pods in namespace ns matching sel.
func countMatchingPods(pods []*framework.PodInfo, sel labels.Selector, ns string) int {
	if sel.Empty() {
		return 0
	}
	n := 0
	for _, pi := range pods {
		p := pi.Pod
		if p.DeletionTimestamp != nil || p.Namespace != ns {
			continue
		}
		if sel.Matches(labels.Set(p.Labels)) {
			n++
		}
	}
	return n
}
