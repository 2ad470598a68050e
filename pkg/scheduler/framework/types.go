// Package framework holds the scheduler's plugin interfaces, the per-node
// view plugins decide on (NodeInfo), the per-cycle state and the plugin
// registry. The scheduler (package scheduler) runs plugins; plugins never
// talk to the apiserver except through Handle's listers and clientset.
package framework

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// MaxNodeScore is the highest score a Score plugin returns after
// normalization; MinNodeScore the lowest.
const (
	MaxNodeScore int64 = 100
	MinNodeScore int64 = 0
)

// Defaults for pods that request no CPU or memory, used when scoring so
// that such pods still count (upstream's non-zero requests).
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Code is a plugin's verdict.
type Code int

// The verdicts, as upstream.
const (
	Success Code = iota
	Error
	// Unschedulable: the node does not fit now, but preemption may help.
	Unschedulable
	// UnschedulableAndUnresolvable: preemption would not help on this node.
	UnschedulableAndUnresolvable
	// Skip: from PreFilter/PreScore, the plugin has nothing to do for this
	// pod; its Filter/Score is not called.
	Skip
)

// Status is a plugin's result: a code, reasons for a person and the plugin
// that returned it. A nil *Status is Success.
type Status struct {
	code    Code
	reasons []string
	err     error
	plugin  string
}

// NewStatus returns a Status with code and reasons.
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons}
}

// AsStatus wraps an error as an Error Status.
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{code: Error, reasons: []string{err.Error()}, err: err}
}

// Code returns the status code (Success for nil).
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess reports a nil or Success status.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsSkip reports a Skip status.
func (s *Status) IsSkip() bool { return s.Code() == Skip }

// IsRejected reports Unschedulable or UnschedulableAndUnresolvable.
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}

// Reasons returns the reasons.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Plugin is the name of the plugin that returned the status.
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// WithPlugin records the plugin that returned s.
func (s *Status) WithPlugin(name string) *Status {
	if s != nil {
		s.plugin = name
	}
	return s
}

// AsError returns the status as an error (nil on success or rejection
// without an error).
func (s *Status) AsError() error {
	if s == nil || s.code != Error {
		return nil
	}
	if s.err != nil {
		return s.err
	}
	return fmt.Errorf("%s", strings.Join(s.reasons, ", "))
}

// Message joins the reasons.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.reasons, ", ")
}

// Resource is a quantity of each resource a pod requests or a node has.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	AllowedPodNumber int64
	// Scalar holds extended resources (e.g. example.com/gpu, hugepages-2Mi).
	Scalar map[corev1.ResourceName]int64
}

// NewResource reads a ResourceList.
func NewResource(rl corev1.ResourceList) *Resource {
	r := &Resource{}
	r.Add(rl)
	return r
}

// Add adds a ResourceList to r.
func (r *Resource) Add(rl corev1.ResourceList) {
	for name, q := range rl {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory += q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case corev1.ResourcePods:
			r.AllowedPodNumber += q.Value()
		default:
			if IsScalarResourceName(name) {
				r.AddScalar(name, q.Value())
			}
		}
	}
}

// AddScalar adds v of an extended resource.
func (r *Resource) AddScalar(name corev1.ResourceName, v int64) {
	if r.Scalar == nil {
		r.Scalar = map[corev1.ResourceName]int64{}
	}
	r.Scalar[name] += v
}

// AddResource adds o to r.
func (r *Resource) AddResource(o *Resource) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.AllowedPodNumber += o.AllowedPodNumber
	for k, v := range o.Scalar {
		r.AddScalar(k, v)
	}
}

// SubResource subtracts o from r.
func (r *Resource) SubResource(o *Resource) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.AllowedPodNumber -= o.AllowedPodNumber
	for k, v := range o.Scalar {
		r.AddScalar(k, -v)
	}
}

// SetMax raises each of r's quantities to o's where o's is larger.
func (r *Resource) SetMax(o *Resource) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	for k, v := range o.Scalar {
		if v > r.Scalar[k] {
			if r.Scalar == nil {
				r.Scalar = map[corev1.ResourceName]int64{}
			}
			r.Scalar[k] = v
		}
	}
}

// Clone deep-copies r.
func (r *Resource) Clone() *Resource {
	c := *r
	if r.Scalar != nil {
		c.Scalar = make(map[corev1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			c.Scalar[k] = v
		}
	}
	return &c
}

// IsScalarResourceName reports extended resources, hugepages and
// attachable volumes: everything the scheduler counts besides cpu, memory,
// ephemeral-storage and pods.
func IsScalarResourceName(name corev1.ResourceName) bool {
	s := string(name)
	if strings.HasPrefix(s, corev1.ResourceHugePagesPrefix) || strings.HasPrefix(s, corev1.ResourceAttachableVolumesPrefix) {
		return true
	}
	// Extended resources are fully qualified outside kubernetes.io.
	if !strings.Contains(s, "/") {
		return false
	}
	return !strings.HasPrefix(s, "kubernetes.io/") && !strings.HasPrefix(s, corev1.ResourceDefaultNamespacePrefix)
}

// HostPortInfo records the host ports in use on a node: ip -> protocol/port.
type HostPortInfo map[string]map[ProtocolPort]struct{}

// ProtocolPort is a protocol and port.
type ProtocolPort struct {
	Protocol string
	Port     int32
}

// Add records a host port.
func (h HostPortInfo) Add(ip, protocol string, port int32) {
	if port <= 0 {
		return
	}
	ip, protocol = sanitizeHostPort(ip, protocol)
	if h[ip] == nil {
		h[ip] = map[ProtocolPort]struct{}{}
	}
	h[ip][ProtocolPort{protocol, port}] = struct{}{}
}

// Remove forgets a host port.
func (h HostPortInfo) Remove(ip, protocol string, port int32) {
	if port <= 0 {
		return
	}
	ip, protocol = sanitizeHostPort(ip, protocol)
	if m, ok := h[ip]; ok {
		delete(m, ProtocolPort{protocol, port})
		if len(m) == 0 {
			delete(h, ip)
		}
	}
}

// CheckConflict reports whether ip/protocol/port clashes with a port in
// use: 0.0.0.0 clashes with every IP on the same protocol and port.
func (h HostPortInfo) CheckConflict(ip, protocol string, port int32) bool {
	if port <= 0 {
		return false
	}
	ip, protocol = sanitizeHostPort(ip, protocol)
	pp := ProtocolPort{protocol, port}
	if ip == "0.0.0.0" {
		for _, m := range h {
			if _, ok := m[pp]; ok {
				return true
			}
		}
		return false
	}
	for _, key := range []string{ip, "0.0.0.0"} {
		if _, ok := h[key][pp]; ok {
			return true
		}
	}
	return false
}

func sanitizeHostPort(ip, protocol string) (string, string) {
	if ip == "" {
		ip = "0.0.0.0"
	}
	if protocol == "" {
		protocol = string(corev1.ProtocolTCP)
	}
	return ip, protocol
}

// AffinityTerm is a parsed pod (anti-)affinity term.
type AffinityTerm struct {
	Namespaces        map[string]struct{}
	Selector          labels.Selector
	TopologyKey       string
	NamespaceSelector labels.Selector
}

// Matches reports whether pod matches the term (namespace and labels);
// nsLabels are the labels of pod's namespace (for namespaceSelector).
func (t *AffinityTerm) Matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	if _, ok := t.Namespaces[pod.Namespace]; ok || (t.NamespaceSelector != nil && t.NamespaceSelector.Matches(nsLabels)) {
		return t.Selector.Matches(labels.Set(pod.Labels))
	}
	return false
}

// WeightedAffinityTerm is a preferred term with its weight.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// PodInfo is a pod with its parsed affinity terms.
type PodInfo struct {
	Pod                        *corev1.Pod
	RequiredAffinityTerms      []AffinityTerm
	RequiredAntiAffinityTerms  []AffinityTerm
	PreferredAffinityTerms     []WeightedAffinityTerm
	PreferredAntiAffinityTerms []WeightedAffinityTerm
	// Requests are the pod's effective requests (see PodRequests).
	Requests *Resource
	// NonZeroRequests are Requests with defaults for zero cpu/memory.
	NonZeroRequests *Resource
}

// NewPodInfo parses pod's affinity terms and requests.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod}
	req := PodRequests(pod)
	pi.Requests = req
	nz := req.Clone()
	if nz.MilliCPU == 0 {
		nz.MilliCPU = DefaultMilliCPURequest
	}
	if nz.Memory == 0 {
		nz.Memory = DefaultMemoryRequest
	}
	pi.NonZeroRequests = nz
	if a := pod.Spec.Affinity; a != nil {
		if pa := a.PodAffinity; pa != nil {
			pi.RequiredAffinityTerms = parseTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution)
			pi.PreferredAffinityTerms = parseWeighted(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
		if pa := a.PodAntiAffinity; pa != nil {
			pi.RequiredAntiAffinityTerms = parseTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution)
			pi.PreferredAntiAffinityTerms = parseWeighted(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
	}
	return pi
}

// HasAffinity reports any pod affinity or anti-affinity term.
func (pi *PodInfo) HasAffinity() bool {
	return len(pi.RequiredAffinityTerms)+len(pi.RequiredAntiAffinityTerms)+len(pi.PreferredAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0
}

func parseTerms(pod *corev1.Pod, terms []corev1.PodAffinityTerm) []AffinityTerm {
	var out []AffinityTerm
	for i := range terms {
		if t, ok := NewAffinityTerm(pod, &terms[i]); ok {
			out = append(out, t)
		}
	}
	return out
}

func parseWeighted(pod *corev1.Pod, terms []corev1.WeightedPodAffinityTerm) []WeightedAffinityTerm {
	var out []WeightedAffinityTerm
	for i := range terms {
		if t, ok := NewAffinityTerm(pod, &terms[i].PodAffinityTerm); ok {
			out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: terms[i].Weight})
		}
	}
	return out
}

// NewAffinityTerm parses a term of pod: an empty namespaces list and a nil
// namespaceSelector mean pod's own namespace; matchLabelKeys and
// mismatchLabelKeys are merged into the selector from pod's labels. A term
// whose selector does not parse is dropped (ok false): validation rejects
// such pods.
func NewAffinityTerm(pod *corev1.Pod, t *corev1.PodAffinityTerm) (AffinityTerm, bool) {
	ls := t.LabelSelector
	if len(t.MatchLabelKeys) > 0 || len(t.MismatchLabelKeys) > 0 {
		ls = mergeLabelKeys(ls, pod.Labels, t.MatchLabelKeys, t.MismatchLabelKeys)
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return AffinityTerm{}, false
	}
	term := AffinityTerm{Selector: sel, TopologyKey: t.TopologyKey, Namespaces: map[string]struct{}{}}
	for _, ns := range t.Namespaces {
		term.Namespaces[ns] = struct{}{}
	}
	if t.NamespaceSelector != nil {
		nsSel, err := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
		if err != nil {
			return AffinityTerm{}, false
		}
		term.NamespaceSelector = nsSel
	}
	if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
		term.Namespaces[pod.Namespace] = struct{}{}
	}
	return term, true
}

func mergeLabelKeys(ls *metav1.LabelSelector, podLabels map[string]string, match, mismatch []string) *metav1.LabelSelector {
	if ls == nil {
		// A nil selector matches nothing; keys do not change that.
		return nil
	}
	ls = ls.DeepCopy()
	for _, k := range match {
		if v, ok := podLabels[k]; ok {
			ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn, Values: []string{v}})
		}
	}
	for _, k := range mismatch {
		if v, ok := podLabels[k]; ok {
			ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpNotIn, Values: []string{v}})
		}
	}
	return ls
}

// PodRequests returns what pod asks of a node: the larger of (the sum of
// its regular containers plus its restartable init containers, i.e.
// sidecars) and, for each init container in order, that container plus the
// sidecars started before it; plus the pod overhead. When the pod sets
// pod-level requests (spec.resources), those win for the resources they
// name.
func PodRequests(pod *corev1.Pod) *Resource {
	reqs := &Resource{}
	for i := range pod.Spec.Containers {
		reqs.Add(containerRequests(&pod.Spec.Containers[i]))
	}
	sidecars := &Resource{}
	initMax := &Resource{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r := NewResource(containerRequests(c))
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			reqs.AddResource(r)
			sidecars.AddResource(r)
			initMax.SetMax(sidecars)
			continue
		}
		r.AddResource(sidecars)
		initMax.SetMax(r)
	}
	reqs.SetMax(initMax)
	if pod.Spec.Resources != nil {
		for name, q := range pod.Spec.Resources.Requests {
			switch name {
			case corev1.ResourceCPU:
				reqs.MilliCPU = q.MilliValue()
			case corev1.ResourceMemory:
				reqs.Memory = q.Value()
			}
		}
	}
	if pod.Spec.Overhead != nil {
		reqs.Add(pod.Spec.Overhead)
	}
	reqs.AllowedPodNumber = 0
	return reqs
}

// containerRequests are a container's requests, defaulting to its limits
// (as the apiserver defaults them) when a request is absent.
func containerRequests(c *corev1.Container) corev1.ResourceList {
	if len(c.Resources.Limits) == 0 {
		return c.Resources.Requests
	}
	out := corev1.ResourceList{}
	for k, v := range c.Resources.Limits {
		out[k] = v
	}
	for k, v := range c.Resources.Requests {
		out[k] = v
	}
	return out
}

// ImageStateSummary is an image on a node: its size and on how many nodes
// it is present.
type ImageStateSummary struct {
	Size     int64
	NumNodes int
}

// NodeInfo is a node with the pods assigned (or assumed) to it and their
// sums. The scheduling cycle reads a snapshot copy; only the cache writes.
type NodeInfo struct {
	Node                         *corev1.Node
	Pods                         []*PodInfo
	PodsWithAffinity             []*PodInfo
	PodsWithRequiredAntiAffinity []*PodInfo
	UsedPorts                    HostPortInfo
	Requested                    *Resource
	NonZeroRequested             *Resource
	Allocatable                  *Resource
	// ImageStates are the node's images (normalized names).
	ImageStates map[string]*ImageStateSummary
	// Generation rises on every change.
	Generation int64
}

// NewNodeInfo returns an empty NodeInfo with pods added.
func NewNodeInfo(pods ...*corev1.Pod) *NodeInfo {
	ni := &NodeInfo{UsedPorts: HostPortInfo{}, Requested: &Resource{}, NonZeroRequested: &Resource{}, Allocatable: &Resource{}, ImageStates: map[string]*ImageStateSummary{}}
	for _, p := range pods {
		ni.AddPod(NewPodInfo(p))
	}
	return ni
}

// NodeName is the node's name ("" before the Node is known).
func (n *NodeInfo) NodeName() string {
	if n.Node == nil {
		return ""
	}
	return n.Node.Name
}

// SetNode sets the node and its allocatable.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.Node = node
	n.Allocatable = NewResource(node.Status.Allocatable)
}

// AddPod adds a pod's requests, ports and affinity to n.
func (n *NodeInfo) AddPod(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	if pi.HasAffinity() {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
	}
	if len(pi.RequiredAntiAffinityTerms) > 0 {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pi)
	}
	n.update(pi, 1)
}

// RemovePod removes the pod with pod's UID; it reports whether it was there.
func (n *NodeInfo) RemovePod(pod *corev1.Pod) bool {
	n.PodsWithAffinity = removeFrom(n.PodsWithAffinity, pod)
	n.PodsWithRequiredAntiAffinity = removeFrom(n.PodsWithRequiredAntiAffinity, pod)
	for i, pi := range n.Pods {
		if pi.Pod.UID == pod.UID {
			n.Pods[i] = n.Pods[len(n.Pods)-1]
			n.Pods = n.Pods[:len(n.Pods)-1]
			n.update(pi, -1)
			return true
		}
	}
	return false
}

func removeFrom(list []*PodInfo, pod *corev1.Pod) []*PodInfo {
	for i, pi := range list {
		if pi.Pod.UID == pod.UID {
			list[i] = list[len(list)-1]
			return list[:len(list)-1]
		}
	}
	return list
}

func (n *NodeInfo) update(pi *PodInfo, sign int64) {
	if sign > 0 {
		n.Requested.AddResource(pi.Requests)
		n.NonZeroRequested.AddResource(pi.NonZeroRequests)
	} else {
		n.Requested.SubResource(pi.Requests)
		n.NonZeroRequested.SubResource(pi.NonZeroRequests)
	}
	for _, c := range pi.Pod.Spec.Containers {
		for _, p := range c.Ports {
			if sign > 0 {
				n.UsedPorts.Add(p.HostIP, string(p.Protocol), p.HostPort)
			} else {
				n.UsedPorts.Remove(p.HostIP, string(p.Protocol), p.HostPort)
			}
		}
	}
}

// Clone copies n: its slices and maps are new, pods and the node shared.
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		Node:             n.Node,
		Pods:             append([]*PodInfo(nil), n.Pods...),
		UsedPorts:        HostPortInfo{},
		Requested:        n.Requested.Clone(),
		NonZeroRequested: n.NonZeroRequested.Clone(),
		Allocatable:      n.Allocatable.Clone(),
		ImageStates:      n.ImageStates,
		Generation:       n.Generation,
	}
	if len(n.PodsWithAffinity) > 0 {
		c.PodsWithAffinity = append([]*PodInfo(nil), n.PodsWithAffinity...)
	}
	if len(n.PodsWithRequiredAntiAffinity) > 0 {
		c.PodsWithRequiredAntiAffinity = append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...)
	}
	for ip, m := range n.UsedPorts {
		cm := make(map[ProtocolPort]struct{}, len(m))
		for k := range m {
			cm[k] = struct{}{}
		}
		c.UsedPorts[ip] = cm
	}
	return c
}

// NodeScore is a node's score.
type NodeScore struct {
	Name  string
	Score int64
}

// NodeToStatus maps node names to why they were rejected.
type NodeToStatus map[string]*Status

// FitError says why a pod fits no node.
type FitError struct {
	Pod          *corev1.Pod
	NumAllNodes  int
	NodeToStatus NodeToStatus
	// PreFilterMsg is set when a PreFilter plugin rejected the pod outright.
	PreFilterMsg string
	// PostFilterMsg is the preemption's explanation.
	PostFilterMsg string
	// UnschedulablePlugins are the plugins that rejected the pod.
	UnschedulablePlugins map[string]struct{}
}

// Error is upstream's message: "0/3 nodes are available: 1 node(s) had
// untolerated taint {k: v}, 2 Insufficient cpu. preemption: ...".
func (f *FitError) Error() string {
	msg := fmt.Sprintf("0/%d nodes are available", f.NumAllNodes)
	if f.PreFilterMsg != "" {
		msg += ": " + f.PreFilterMsg + "."
	} else {
		msg += ": " + ReasonHistogram(f.NodeToStatus) + "."
	}
	if f.PostFilterMsg != "" {
		msg += " " + f.PostFilterMsg
	}
	return msg
}

// ReasonHistogram counts each reason over the nodes: "2 Insufficient cpu,
// 1 node(s) were unschedulable", sorted as upstream (by the text).
func ReasonHistogram(m NodeToStatus) string {
	counts := map[string]int{}
	for _, s := range m {
		for _, r := range s.Reasons() {
			counts[r]++
		}
	}
	out := make([]string, 0, len(counts))
	for r, n := range counts {
		out = append(out, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
