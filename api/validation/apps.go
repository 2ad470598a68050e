package validation

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var specPath = field.NewPath("spec")

// validateSelectorAndTemplate checks a controller's required, non-empty
// selector, that it matches the template's labels, and the template itself
// with the restart policies the controller allows.
func validateSelectorAndTemplate(kind string, sel *metav1.LabelSelector, t *corev1.PodTemplateSpec, p *field.Path, restart ...corev1.RestartPolicy) field.ErrorList {
	var errs field.ErrorList
	sp := p.Child("selector")
	var selector k8slabels.Selector
	if sel == nil {
		errs = append(errs, field.Required(sp, ""))
	} else {
		selErrs := labelSelector(sel, sp)
		errs = append(errs, selErrs...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(sp, sel, fmt.Sprintf("empty selector is invalid for %s", kind)))
		} else if len(selErrs) == 0 {
			var err error
			if selector, err = metav1.LabelSelectorAsSelector(sel); err != nil {
				errs = append(errs, field.Invalid(sp, sel, err.Error()))
			}
		}
	}
	tp := p.Child("template")
	if selector != nil && !selector.Matches(k8slabels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, validatePodTemplateSpec(t, tp, podOpts{})...)
	errs = append(errs, validateTemplateRestartPolicy(t.Spec.RestartPolicy, tp.Child("spec", "restartPolicy"), restart...)...)
	if t.Spec.ActiveDeadlineSeconds != nil && kind != "job" {
		errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), fmt.Sprintf("activeDeadlineSeconds in %s is not Supported", kindTitle[kind])))
	}
	return errs
}

var kindTitle = map[string]string{"deployment": "ReplicaSet", "replicaset": "ReplicaSet", "statefulset": "StatefulSet", "daemonset": "DaemonSet"}

// Deployment.

func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	errs := validateMeta(&d.ObjectMeta, nameSubdomain)
	return append(errs, validateDeploymentSpec(&d.Spec, specPath)...)
}

func validateDeploymentSpec(spec *appsv1.DeploymentSpec, p *field.Path) field.ErrorList {
	errs := nonNegative32(spec.Replicas, p.Child("replicas"))
	errs = append(errs, validateSelectorAndTemplate("deployment", spec.Selector, &spec.Template, p, corev1.RestartPolicyAlways)...)
	errs = append(errs, validateDeploymentStrategy(&spec.Strategy, p.Child("strategy"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	errs = append(errs, nonNegative32(spec.RevisionHistoryLimit, p.Child("revisionHistoryLimit"))...)
	if spec.ProgressDeadlineSeconds != nil {
		errs = append(errs, nonNegative(int64(*spec.ProgressDeadlineSeconds), p.Child("progressDeadlineSeconds"))...)
		if *spec.ProgressDeadlineSeconds <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(p.Child("progressDeadlineSeconds"), *spec.ProgressDeadlineSeconds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch s.Type {
	case "":
		errs = append(errs, field.Required(p.Child("type"), ""))
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			errs = append(errs, field.Forbidden(p.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			errs = append(errs, field.Required(p.Child("rollingUpdate"), "this should be defaulted and never be nil"))
		} else {
			errs = append(errs, validateRollingUpdate(s.RollingUpdate.MaxUnavailable, s.RollingUpdate.MaxSurge, p.Child("rollingUpdate"))...)
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), s.Type, []appsv1.DeploymentStrategyType{appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType}))
	}
	return errs
}

// validateRollingUpdate checks maxUnavailable and maxSurge: non-negative
// integers or percentages, maxUnavailable at most 100%, not both zero.
func validateRollingUpdate(maxUnavailable, maxSurge *intstr.IntOrString, p *field.Path) field.ErrorList {
	up := p.Child("maxUnavailable")
	errs := intOrPercent(maxUnavailable, up)
	errs = append(errs, intOrPercent(maxSurge, p.Child("maxSurge"))...)
	if len(errs) > 0 {
		return errs
	}
	if isZeroIntOrPercent(maxUnavailable) && isZeroIntOrPercent(maxSurge) {
		errs = append(errs, field.Invalid(up, maxUnavailable, "may not be 0 when `maxSurge` is 0"))
	}
	return append(errs, notMoreThan100Percent(maxUnavailable, up)...)
}

func validateDeploymentUpdate(d, old *appsv1.Deployment) field.ErrorList {
	errs := validateMetaUpdate(&d.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateDeploymentSpec(&d.Spec, specPath)...)
	return append(errs, immutable(d.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
}

func validateDeploymentStatusUpdate(d, old *appsv1.Deployment) field.ErrorList {
	errs := validateMetaUpdate(&d.ObjectMeta, &old.ObjectMeta)
	s := &d.Status
	p := field.NewPath("status")
	errs = append(errs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	errs = append(errs, nonNegative(int64(s.Replicas), p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(s.UpdatedReplicas), p.Child("updatedReplicas"))...)
	errs = append(errs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(int64(s.UnavailableReplicas), p.Child("unavailableReplicas"))...)
	errs = append(errs, nonNegative32(s.CollisionCount, p.Child("collisionCount"))...)
	if s.AvailableReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than status.replicas"))
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

// ReplicaSet.

func validateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	errs := validateMeta(&rs.ObjectMeta, nameSubdomain)
	return append(errs, validateReplicaSetSpec(&rs.Spec, specPath)...)
}

func validateReplicaSetSpec(spec *appsv1.ReplicaSetSpec, p *field.Path) field.ErrorList {
	errs := nonNegative32(spec.Replicas, p.Child("replicas"))
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	// Upstream words the empty-selector error for ReplicaSets as for Deployments.
	return append(errs, validateSelectorAndTemplate("deployment", spec.Selector, &spec.Template, p, corev1.RestartPolicyAlways)...)
}

func validateReplicaSetUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	errs := validateMetaUpdate(&rs.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateReplicaSetSpec(&rs.Spec, specPath)...)
	return append(errs, immutable(rs.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
}

// StatefulSet.

func validateStatefulSet(s *appsv1.StatefulSet) field.ErrorList {
	errs := validateMeta(&s.ObjectMeta, nameSubdomain)
	return append(errs, validateStatefulSetSpec(&s.Spec, specPath)...)
}

func validateStatefulSetSpec(spec *appsv1.StatefulSetSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch spec.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(p.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(p.Child("podManagementPolicy"), spec.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	up := p.Child("updateStrategy")
	switch spec.UpdateStrategy.Type {
	case "":
		errs = append(errs, field.Required(up, ""))
	case appsv1.OnDeleteStatefulSetStrategyType:
		if spec.UpdateStrategy.RollingUpdate != nil {
			errs = append(errs, field.Invalid(up.Child("rollingUpdate"), spec.UpdateStrategy.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)))
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if ru := spec.UpdateStrategy.RollingUpdate; ru != nil {
			rp := up.Child("rollingUpdate")
			errs = append(errs, nonNegative32(ru.Partition, rp.Child("partition"))...)
			if ru.MaxUnavailable != nil {
				mp := rp.Child("maxUnavailable")
				muErrs := intOrPercent(ru.MaxUnavailable, mp)
				errs = append(errs, muErrs...)
				if len(muErrs) == 0 && isZeroIntOrPercent(ru.MaxUnavailable) {
					errs = append(errs, field.Invalid(mp, ru.MaxUnavailable, "must be greater than 0"))
				}
				errs = append(errs, notMoreThan100Percent(ru.MaxUnavailable, mp)...)
			}
		}
	default:
		errs = append(errs, field.Invalid(up, spec.UpdateStrategy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)))
	}
	if pol := spec.PersistentVolumeClaimRetentionPolicy; pol != nil {
		pp := p.Child("persistentVolumeClaimRetentionPolicy")
		allowed := []appsv1.PersistentVolumeClaimRetentionPolicyType{appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType}
		errs = append(errs, oneOf(pol.WhenDeleted, pp.Child("whenDeleted"), true, allowed...)...)
		errs = append(errs, oneOf(pol.WhenScaled, pp.Child("whenScaled"), true, allowed...)...)
	}
	errs = append(errs, nonNegative32(spec.Replicas, p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	errs = append(errs, nonNegative32(spec.RevisionHistoryLimit, p.Child("revisionHistoryLimit"))...)
	if spec.Ordinals != nil {
		errs = append(errs, nonNegative(int64(spec.Ordinals.Start), p.Child("ordinals", "start"))...)
	}
	if spec.ServiceName != "" {
		errs = append(errs, msgs(p.Child("serviceName"), spec.ServiceName, name1035Label(spec.ServiceName, false))...)
	}
	errs = append(errs, validateSelectorAndTemplate("statefulset", spec.Selector, &spec.Template, p, corev1.RestartPolicyAlways)...)
	for i := range spec.VolumeClaimTemplates {
		vp := p.Child("volumeClaimTemplates").Index(i)
		vct := &spec.VolumeClaimTemplates[i]
		if vct.Name == "" {
			errs = append(errs, field.Required(vp.Child("metadata", "name"), ""))
		} else {
			errs = append(errs, dnsSubdomain(vct.Name, vp.Child("metadata", "name"))...)
		}
		errs = append(errs, validatePVCSpec(&vct.Spec, vp.Child("spec"))...)
	}
	return errs
}

func validateStatefulSetUpdate(s, old *appsv1.StatefulSet) field.ErrorList {
	errs := validateMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateStatefulSetSpec(&s.Spec, specPath)...)
	// Only these may change; everything else is compared.
	cmpOld := old.Spec.DeepCopy()
	cmpOld.Replicas = s.Spec.Replicas
	cmpOld.Ordinals = s.Spec.Ordinals
	cmpOld.Template = s.Spec.Template
	cmpOld.UpdateStrategy = s.Spec.UpdateStrategy
	cmpOld.PersistentVolumeClaimRetentionPolicy = s.Spec.PersistentVolumeClaimRetentionPolicy
	cmpOld.MinReadySeconds = s.Spec.MinReadySeconds
	cmpOld.RevisionHistoryLimit = s.Spec.RevisionHistoryLimit
	if !equalJSON(cmpOld, &s.Spec) {
		errs = append(errs, field.Forbidden(specPath, "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
	}
	return errs
}

func validateStatefulSetStatusUpdate(s, old *appsv1.StatefulSet) field.ErrorList {
	errs := validateMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	st := &s.Status
	p := field.NewPath("status")
	errs = append(errs, nonNegative(int64(st.Replicas), p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(st.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(st.CurrentReplicas), p.Child("currentReplicas"))...)
	errs = append(errs, nonNegative(int64(st.UpdatedReplicas), p.Child("updatedReplicas"))...)
	errs = append(errs, nonNegative(int64(st.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(st.ObservedGeneration, p.Child("observedGeneration"))...)
	errs = append(errs, nonNegative32(st.CollisionCount, p.Child("collisionCount"))...)
	for _, c := range []struct {
		name string
		v    int32
	}{{"readyReplicas", st.ReadyReplicas}, {"currentReplicas", st.CurrentReplicas}, {"updatedReplicas", st.UpdatedReplicas}, {"availableReplicas", st.AvailableReplicas}} {
		if c.v > st.Replicas {
			errs = append(errs, field.Invalid(p.Child(c.name), c.v, "cannot be greater than status.replicas"))
		}
	}
	if st.AvailableReplicas > st.ReadyReplicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), st.AvailableReplicas, "cannot be greater than status.readyReplicas"))
	}
	return errs
}

// DaemonSet.

func validateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	errs := validateMeta(&ds.ObjectMeta, nameSubdomain)
	return append(errs, validateDaemonSetSpec(&ds.Spec, specPath)...)
}

func validateDaemonSetSpec(spec *appsv1.DaemonSetSpec, p *field.Path) field.ErrorList {
	errs := validateSelectorAndTemplate("daemonset", spec.Selector, &spec.Template, p, corev1.RestartPolicyAlways)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	errs = append(errs, nonNegative32(spec.RevisionHistoryLimit, p.Child("revisionHistoryLimit"))...)
	up := p.Child("updateStrategy")
	switch spec.UpdateStrategy.Type {
	case "":
		errs = append(errs, field.Required(up.Child("type"), ""))
	case appsv1.OnDeleteDaemonSetStrategyType:
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if ru := spec.UpdateStrategy.RollingUpdate; ru == nil {
			errs = append(errs, field.Required(up.Child("rollingUpdate"), ""))
		} else {
			errs = append(errs, validateRollingUpdate(ru.MaxUnavailable, ru.MaxSurge, up.Child("rollingUpdate"))...)
		}
	default:
		errs = append(errs, field.NotSupported(up.Child("type"), spec.UpdateStrategy.Type, []appsv1.DaemonSetUpdateStrategyType{appsv1.RollingUpdateDaemonSetStrategyType, appsv1.OnDeleteDaemonSetStrategyType}))
	}
	return errs
}

func validateDaemonSetUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	errs := validateMetaUpdate(&ds.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateDaemonSetSpec(&ds.Spec, specPath)...)
	return append(errs, immutable(ds.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
}

func validateDaemonSetStatusUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	errs := validateMetaUpdate(&ds.ObjectMeta, &old.ObjectMeta)
	st := &ds.Status
	p := field.NewPath("status")
	for _, c := range []struct {
		name string
		v    int32
	}{{"currentNumberScheduled", st.CurrentNumberScheduled}, {"numberMisscheduled", st.NumberMisscheduled},
		{"desiredNumberScheduled", st.DesiredNumberScheduled}, {"numberReady", st.NumberReady},
		{"updatedNumberScheduled", st.UpdatedNumberScheduled}, {"numberAvailable", st.NumberAvailable},
		{"numberUnavailable", st.NumberUnavailable}} {
		errs = append(errs, nonNegative(int64(c.v), p.Child(c.name))...)
	}
	errs = append(errs, nonNegative(st.ObservedGeneration, p.Child("observedGeneration"))...)
	errs = append(errs, nonNegative32(st.CollisionCount, p.Child("collisionCount"))...)
	return errs
}

// ControllerRevision.

func validateControllerRevision(r *appsv1.ControllerRevision) field.ErrorList {
	errs := validateMeta(&r.ObjectMeta, nameSubdomain)
	if r.Data.Raw == nil && r.Data.Object == nil {
		errs = append(errs, field.Required(field.NewPath("data"), ""))
	}
	return append(errs, nonNegative(r.Revision, field.NewPath("revision"))...)
}

func validateControllerRevisionUpdate(r, old *appsv1.ControllerRevision) field.ErrorList {
	errs := validateMetaUpdate(&r.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, nonNegative(r.Revision, field.NewPath("revision"))...)
	return append(errs, immutable(r.Data, old.Data, field.NewPath("data"))...)
}
