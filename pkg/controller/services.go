package controller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// FindPort resolves svcPort's targetPort for pod: a number as is, a name
// through the pod's container ports of the same protocol.
func FindPort(pod *corev1.Pod, svcPort *corev1.ServicePort) (int32, error) {
	tp := svcPort.TargetPort
	switch tp.Type {
	case intstr.String:
		name := tp.StrVal
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == name && p.Protocol == svcPort.Protocol {
					return p.ContainerPort, nil
				}
			}
		}
		return 0, fmt.Errorf("no container port %q (%s) in pod %s", name, svcPort.Protocol, pod.Name)
	case intstr.Int:
		if tp.IntVal == 0 {
			return svcPort.Port, nil
		}
		return tp.IntVal, nil
	}
	return 0, fmt.Errorf("unsupported targetPort %v", tp)
}

// ServicesForPod returns the keys of the Services in pod's namespace whose
// selector matches the pod's labels (ignoring Services without selector).
func ServicesForPod(lister corelisters.ServiceLister, pod *corev1.Pod) []string {
	svcs, err := lister.Services(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range svcs {
		if s.Spec.Selector == nil {
			continue
		}
		if labels.ValidatedSetSelector(s.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			out = append(out, s.Namespace+"/"+s.Name)
		}
	}
	return out
}

// ShouldPodBeInEndpoints reports whether pod is an endpoint candidate: it
// has an IP and is not finished; a terminating pod only when
// includeTerminating.
func ShouldPodBeInEndpoints(pod *corev1.Pod, includeTerminating bool) bool {
	if pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0 {
		return false
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if !includeTerminating && pod.DeletionTimestamp != nil {
		return false
	}
	return true
}
