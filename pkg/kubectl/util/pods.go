package util

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
)

// DefaultContainerAnnotation names the container kubectl logs, exec and
// attach pick when none is given.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// AllContainerNames lists a pod's containers as upstream's messages do:
// "a, b, dbg (ephem), setup (init)".
func AllContainerNames(pod *corev1.Pod) string {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		names = append(names, c.Name+" (ephem)")
	}
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name+" (init)")
	}
	return strings.Join(names, ", ")
}

// HasContainer says whether name is one of the pod's containers (any
// kind).
func HasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// DefaultContainer resolves the container exec, attach and cp use: name,
// else the default-container annotation, else the first container (with
// upstream's "Defaulted container" note on warn unless quiet).
func DefaultContainer(pod *corev1.Pod, name string, quiet bool, warn io.Writer) (string, error) {
	if len(pod.Spec.Containers) == 0 {
		return "", fmt.Errorf("pod %s/%s does not have any containers", pod.Namespace, pod.Name)
	}
	if name == "" {
		name = pod.Annotations[DefaultContainerAnnotation]
	}
	if name != "" {
		if !HasContainer(pod, name) {
			return "", fmt.Errorf("container %s is not valid for pod %s out of: %s", name, pod.Name, AllContainerNames(pod))
		}
		return name, nil
	}
	first := pod.Spec.Containers[0].Name
	if !quiet && (len(pod.Spec.Containers) > 1 || len(pod.Spec.InitContainers) > 0 || len(pod.Spec.EphemeralContainers) > 0) {
		fmt.Fprintf(warn, "Defaulted container %q out of: %s\n", first, AllContainerNames(pod))
	}
	return first, nil
}

// SelectorOf is the namespace and pod selector of a workload or service
// (spec.selector as a map or a LabelSelector).
func SelectorOf(obj runtime.Object) (string, labels.Selector, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return "", nil, err
		}
		u = &unstructured.Unstructured{Object: m}
	}
	raw, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "selector")
	if !found || raw == nil {
		return "", nil, fmt.Errorf("selector for %T not implemented", obj)
	}
	sel, _ := raw.(map[string]any)
	if _, isLabelSelector := sel["matchLabels"]; isLabelSelector || sel["matchExpressions"] != nil {
		ls := &metav1.LabelSelector{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, ls); err != nil {
			return "", nil, err
		}
		s, err := metav1.LabelSelectorAsSelector(ls)
		return u.GetNamespace(), s, err
	}
	set := labels.Set{}
	for k, v := range sel {
		s, _ := v.(string)
		set[k] = s
	}
	if len(set) == 0 {
		return "", nil, fmt.Errorf("invalid label selector")
	}
	return u.GetNamespace(), labels.SelectorFromSet(set), nil
}

// PodsForObject lists the pods a workload or service selects, best first
// for logs, exec and attach: on a node, running, ready, most restarts,
// oldest.
func PodsForObject(ctx context.Context, cs kubernetes.Interface, obj runtime.Object) ([]*corev1.Pod, error) {
	if pod, ok := obj.(*corev1.Pod); ok {
		return []*corev1.Pod{pod}, nil
	}
	if u, ok := obj.(*unstructured.Unstructured); ok && u.GetKind() == "Pod" && u.GetAPIVersion() == "v1" {
		pod := &corev1.Pod{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, pod); err != nil {
			return nil, err
		}
		return []*corev1.Pod{pod}, nil
	}
	ns, sel, err := SelectorOf(obj)
	if err != nil {
		return nil, fmt.Errorf("cannot attach to %T: %v", obj, err)
	}
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	pods := make([]*corev1.Pod, 0, len(list.Items))
	for i := range list.Items {
		pods = append(pods, &list.Items[i])
	}
	sort.SliceStable(pods, func(i, j int) bool { return betterForLogging(pods[i], pods[j]) })
	return pods, nil
}

func betterForLogging(a, b *corev1.Pod) bool {
	if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
		return a.Spec.NodeName != ""
	}
	rank := map[corev1.PodPhase]int{corev1.PodRunning: 0, corev1.PodUnknown: 1, corev1.PodPending: 2}
	ra, oka := rank[a.Status.Phase]
	rb, okb := rank[b.Status.Phase]
	if !oka {
		ra = 3
	}
	if !okb {
		rb = 3
	}
	if ra != rb {
		return ra < rb
	}
	if ReadyPod(a) != ReadyPod(b) {
		return ReadyPod(a)
	}
	if ca, cb := restarts(a), restarts(b); ca != cb {
		return ca > cb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return false
}

// ReadyPod says whether the pod's Ready condition is True.
func ReadyPod(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}
