package validation

import (
	"fmt"
	"math"

	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// updatablePodSpecFields lists what a pod update may change, as upstream's
// message words it.
var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

func validatePodUpdate(pod, old *corev1.Pod) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := validateMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)

	// Images may change but must stay valid.
	for i, c := range pod.Spec.Containers {
		if c.Image == "" {
			errs = append(errs, field.Required(specPath.Child("containers").Index(i).Child("image"), ""))
		} else if strings.TrimSpace(c.Image) != c.Image {
			errs = append(errs, field.Invalid(specPath.Child("containers").Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
	}
	for i, c := range pod.Spec.InitContainers {
		if c.Image == "" {
			errs = append(errs, field.Required(specPath.Child("initContainers").Index(i).Child("image"), ""))
		}
	}

	if ads := pod.Spec.ActiveDeadlineSeconds; ads != nil {
		p := specPath.Child("activeDeadlineSeconds")
		if *ads < 0 || *ads > math.MaxInt32 {
			return append(errs, field.Invalid(p, *ads, utilvalidation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if old.Spec.ActiveDeadlineSeconds != nil && *old.Spec.ActiveDeadlineSeconds < *ads {
			return append(errs, field.Invalid(p, *ads, "must be less than or equal to previous value"))
		}
	} else if old.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), pod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}

	tolErrs := validateOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))
	errs = append(errs, tolErrs...)

	// Munge the allowed changes into a copy of the old spec; anything left
	// different is a forbidden change.
	munged := *old.Spec.DeepCopy()
	if len(munged.Containers) == len(pod.Spec.Containers) {
		for i := range munged.Containers {
			munged.Containers[i].Image = pod.Spec.Containers[i].Image
		}
	}
	if len(munged.InitContainers) == len(pod.Spec.InitContainers) {
		for i := range munged.InitContainers {
			munged.InitContainers[i].Image = pod.Spec.InitContainers[i].Image
		}
	}
	munged.ActiveDeadlineSeconds = pod.Spec.ActiveDeadlineSeconds
	if len(tolErrs) == 0 {
		munged.Tolerations = pod.Spec.Tolerations
	}
	if old.Spec.TerminationGracePeriodSeconds != nil && *old.Spec.TerminationGracePeriodSeconds < 0 &&
		pod.Spec.TerminationGracePeriodSeconds != nil && *pod.Spec.TerminationGracePeriodSeconds == 1 {
		munged.TerminationGracePeriodSeconds = pod.Spec.TerminationGracePeriodSeconds
	}
	// Scheduling gates may only be removed, and only before scheduling.
	if isSubset(pod.Spec.SchedulingGates, old.Spec.SchedulingGates) {
		munged.SchedulingGates = pod.Spec.SchedulingGates
	}
	if !equality.Semantic.DeepEqual(munged, pod.Spec) {
		// Show only the forbidden part of the change: "-" stored, "+" sent.
		diff := cmp.Diff(munged, pod.Spec)
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%v", strings.Join(updatablePodSpecFields, ","), diff)))
	}
	return errs
}

func isSubset(gates, old []corev1.PodSchedulingGate) bool {
	have := make(map[string]bool, len(old))
	for _, g := range old {
		have[g.Name] = true
	}
	for _, g := range gates {
		if !have[g.Name] {
			return false
		}
	}
	return true
}

// validateOnlyAddedTolerations allows new tolerations and a changed
// tolerationSeconds, nothing else.
func validateOnlyAddedTolerations(tols, old []corev1.Toleration, p *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, n := range tols {
			oc := o
			oc.TolerationSeconds = n.TolerationSeconds
			if equality.Semantic.DeepEqual(oc, n) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(p, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return validateTolerations(tols, p)
}

func validatePodStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := validateMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	sp := field.NewPath("status")
	st := &pod.Status
	if st.NominatedNodeName != "" {
		errs = append(errs, dnsSubdomain(st.NominatedNodeName, sp.Child("nominatedNodeName"))...)
	}
	errs = append(errs, validatePodIPs(st, sp)...)
	errs = append(errs, validateContainerStatuses(st.ContainerStatuses, old.Status.ContainerStatuses, sp.Child("containerStatuses"), pod.Spec.RestartPolicy)...)
	errs = append(errs, validateContainerStatuses(st.InitContainerStatuses, old.Status.InitContainerStatuses, sp.Child("initContainerStatuses"), pod.Spec.RestartPolicy)...)
	errs = append(errs, validateContainerStatuses(st.EphemeralContainerStatuses, old.Status.EphemeralContainerStatuses, sp.Child("ephemeralContainerStatuses"), corev1.RestartPolicyNever)...)
	if old.Spec.NodeName != "" && pod.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "nodeName"), "cannot be changed"))
	}
	return errs
}

func validatePodIPs(st *corev1.PodStatus, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(st.PodIPs) > 0 && st.PodIP != st.PodIPs[0].IP {
		errs = append(errs, field.Invalid(p.Child("podIPs").Index(0).Child("ip"), st.PodIPs[0].IP, "must match `podIP`"))
	}
	if len(st.PodIPs) > 2 {
		errs = append(errs, field.TooMany(p.Child("podIPs"), len(st.PodIPs), 2))
	}
	seen := map[string]bool{}
	for i, ip := range st.PodIPs {
		ipp := p.Child("podIPs").Index(i)
		errs = append(errs, utilvalidation.IsValidIP(ipp.Child("ip"), ip.IP)...)
		if seen[ip.IP] {
			errs = append(errs, field.Duplicate(ipp.Child("ip"), ip.IP))
		}
		seen[ip.IP] = true
	}
	for i, ip := range st.HostIPs {
		errs = append(errs, utilvalidation.IsValidIP(p.Child("hostIPs").Index(i).Child("ip"), ip.IP)...)
	}
	return errs
}

func validateContainerStatuses(sts, old []corev1.ContainerStatus, p *field.Path, rp corev1.RestartPolicy) field.ErrorList {
	var errs field.ErrorList
	for i, s := range sts {
		ip := p.Index(i)
		errs = append(errs, nonNegative(int64(s.RestartCount), ip.Child("restartCount"))...)
		n := 0
		if s.State.Waiting != nil {
			n++
		}
		if s.State.Running != nil {
			n++
		}
		if s.State.Terminated != nil {
			n++
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(ip.Child("state"), "may not specify more than 1 state type"))
		}
		if rp != corev1.RestartPolicyNever {
			continue
		}
		for _, o := range old {
			if o.Name == s.Name && o.State.Terminated != nil && s.State.Terminated == nil {
				errs = append(errs, field.Forbidden(ip.Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

// ValidateEphemeralContainersUpdate validates a write to the
// pods/ephemeralcontainers subresource: ephemeral containers may be added,
// never changed or removed, and nothing else in the spec may change.
func ValidateEphemeralContainersUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := validateMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	ep := field.NewPath("spec", "ephemeralContainers")
	// Validate the whole spec so new containers are checked against the
	// pod's names and volumes; ephemeral-only rules apply.
	spec := pod.Spec.DeepCopy()
	errs = append(errs, filterPath(validatePodSpec(spec, field.NewPath("spec"), podOpts{}), ep.String())...)
	current := make(map[string]*corev1.EphemeralContainer, len(pod.Spec.EphemeralContainers))
	for i := range pod.Spec.EphemeralContainers {
		current[pod.Spec.EphemeralContainers[i].Name] = &pod.Spec.EphemeralContainers[i]
	}
	for i := range old.Spec.EphemeralContainers {
		o := &old.Spec.EphemeralContainers[i]
		n, ok := current[o.Name]
		if !ok {
			errs = append(errs, field.Forbidden(ep, fmt.Sprintf("existing ephemeral containers %q may not be removed", o.Name)))
		} else if !equality.Semantic.DeepEqual(o, n) {
			errs = append(errs, field.Forbidden(ep.Index(i), fmt.Sprintf("existing ephemeral containers %q may not be changed", o.Name)))
		}
	}
	rest, oldRest := pod.Spec.DeepCopy(), old.Spec.DeepCopy()
	rest.EphemeralContainers, oldRest.EphemeralContainers = nil, nil
	if !equality.Semantic.DeepEqual(rest, oldRest) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "only ephemeralContainers may change through the ephemeralcontainers subresource"))
	}
	return errs
}

// filterPath keeps the errors at or below the field path prefix.
func filterPath(errs field.ErrorList, prefix string) field.ErrorList {
	var out field.ErrorList
	for _, e := range errs {
		if strings.HasPrefix(e.Field, prefix) {
			out = append(out, e)
		}
	}
	return out
}
