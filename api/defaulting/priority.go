package defaulting

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
)

// PodPriority sets a new pod's priority and preemption policy the way
// upstream's Priority admission plugin does; it is not part of Default
// because the result depends on a PriorityClass lookup.
//
// The caller resolves class: the PriorityClass named by
// pod.Spec.PriorityClassName, or, when the pod names none, the class with
// globalDefault=true; nil when the pod names none and there is no global
// default (a named class that does not exist is the caller's 404-style
// error, upstream: `no PriorityClass with name X was found`). With a nil
// class the pod gets priority 0 and PreemptLowerPriority. A value the pod
// already carries must agree with the computed one; otherwise the returned
// error is upstream's message (the REST layer makes it 403 Forbidden).
func PodPriority(pod *corev1.Pod, class *schedulingv1.PriorityClass) error {
	priority := int32(0)
	policy := corev1.PreemptLowerPriority
	if class != nil {
		priority = class.Value
		if class.PreemptionPolicy != nil {
			policy = *class.PreemptionPolicy
		}
		if pod.Spec.PriorityClassName == "" {
			pod.Spec.PriorityClassName = class.Name
		}
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != priority {
		return fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, priority)
	}
	pod.Spec.Priority = &priority
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy != policy {
		return fmt.Errorf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *pod.Spec.PreemptionPolicy, policy)
	}
	pod.Spec.PreemptionPolicy = &policy
	return nil
}
