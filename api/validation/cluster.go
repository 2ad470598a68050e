package validation

import (
	"fmt"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// StorageClass, VolumeAttachment, CSIDriver.

const maxProvisionerParameterSize = 256 * 1024

func validateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	errs := validateMeta(&sc.ObjectMeta, nameSubdomain)
	return append(errs, validateStorageClassBody(sc)...)
}

func validateStorageClassBody(sc *storagev1.StorageClass) field.ErrorList {
	var errs field.ErrorList
	pp := field.NewPath("provisioner")
	if sc.Provisioner == "" {
		errs = append(errs, field.Required(pp, ""))
	} else {
		if len(sc.Provisioner) > 63 {
			errs = append(errs, field.TooLong(pp, "", 63))
		}
		errs = append(errs, qualifiedName(strings.ToLower(sc.Provisioner), pp)...)
	}
	size := 0
	for k, v := range sc.Parameters {
		if k == "" {
			errs = append(errs, field.Invalid(field.NewPath("parameters"), k, "field can not be empty."))
		}
		size += len(k) + len(v)
	}
	if size > maxProvisionerParameterSize {
		errs = append(errs, field.TooLong(field.NewPath("parameters"), "", maxProvisionerParameterSize))
	}
	if sc.ReclaimPolicy != nil {
		errs = append(errs, oneOf(*sc.ReclaimPolicy, field.NewPath("reclaimPolicy"), true, corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain)...)
	}
	if sc.VolumeBindingMode == nil {
		errs = append(errs, field.Required(field.NewPath("volumeBindingMode"), ""))
	} else {
		errs = append(errs, oneOf(*sc.VolumeBindingMode, field.NewPath("volumeBindingMode"), true, storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer)...)
	}
	for i, t := range sc.AllowedTopologies {
		tp := field.NewPath("allowedTopologies").Index(i)
		if len(t.MatchLabelExpressions) == 0 {
			errs = append(errs, field.Required(tp.Child("matchLabelExpressions"), "must contain at least one key/value pair"))
		}
		for j, e := range t.MatchLabelExpressions {
			ep := tp.Child("matchLabelExpressions").Index(j)
			errs = append(errs, qualifiedName(e.Key, ep.Child("key"))...)
			if len(e.Values) == 0 {
				errs = append(errs, field.Required(ep.Child("values"), "must specify as least one value"))
			}
		}
	}
	return errs
}

func validateStorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	errs := validateMetaUpdate(&sc.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateStorageClassBody(sc)...)
	if !equalStringMaps(sc.Parameters, old.Parameters) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.Provisioner != old.Provisioner {
		errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if fmt.Sprint(deref(sc.ReclaimPolicy)) != fmt.Sprint(deref(old.ReclaimPolicy)) {
		errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	errs = append(errs, immutable(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
	return errs
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func validateVolumeAttachment(va *storagev1.VolumeAttachment) field.ErrorList {
	errs := validateMeta(&va.ObjectMeta, nameSubdomain)
	if va.Spec.Attacher == "" {
		errs = append(errs, field.Required(specPath.Child("attacher"), ""))
	}
	if va.Spec.NodeName == "" {
		errs = append(errs, field.Required(specPath.Child("nodeName"), ""))
	} else {
		errs = append(errs, dnsSubdomain(va.Spec.NodeName, specPath.Child("nodeName"))...)
	}
	s := va.Spec.Source
	if (s.PersistentVolumeName == nil) == (s.InlineVolumeSpec == nil) {
		errs = append(errs, field.Required(specPath.Child("source"), "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	} else if s.PersistentVolumeName != nil && *s.PersistentVolumeName == "" {
		errs = append(errs, field.Required(specPath.Child("source", "persistentVolumeName"), "must specify non empty persistentVolumeName"))
	}
	return errs
}

func validateCSIDriver(d *storagev1.CSIDriver) field.ErrorList {
	errs := validateMeta(&d.ObjectMeta, nameSubdomain)
	if len(d.Name) > 63 {
		errs = append(errs, field.TooLong(metaPath.Child("name"), "", 63))
	}
	if m := d.Spec.FSGroupPolicy; m != nil {
		errs = append(errs, oneOf(*m, specPath.Child("fsGroupPolicy"), true, storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy, storagev1.FileFSGroupPolicy, storagev1.NoneFSGroupPolicy)...)
	}
	for i, m := range d.Spec.VolumeLifecycleModes {
		errs = append(errs, oneOf(m, specPath.Child("volumeLifecycleModes").Index(i), true, storagev1.VolumeLifecyclePersistent, storagev1.VolumeLifecycleEphemeral)...)
	}
	return errs
}

// PriorityClass.

const (
	highestUserDefinablePriority = 1000000000
	systemPriorityClassPrefix    = "system-"
)

// systemPriorityClasses are the built-in classes and their fixed values.
var systemPriorityClasses = map[string]int32{
	"system-cluster-critical": 2 * highestUserDefinablePriority,
	"system-node-critical":    2*highestUserDefinablePriority + 1000,
}

func validatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	errs := validateMeta(&pc.ObjectMeta, nameSubdomain)
	if strings.HasPrefix(pc.Name, systemPriorityClassPrefix) {
		v, known := systemPriorityClasses[pc.Name]
		var why string
		switch {
		case !known:
			why = fmt.Sprintf("%v is not a known system priority class", pc.Name)
		case v != pc.Value:
			why = fmt.Sprintf("value of %v PriorityClass must be %v", pc.Name, v)
		case pc.GlobalDefault:
			why = fmt.Sprintf("globalDefault of %v PriorityClass must be false", pc.Name)
		}
		if why != "" {
			errs = append(errs, field.Forbidden(metaPath.Child("name"), "priority class names with '"+systemPriorityClassPrefix+"' prefix are reserved for system use only. error: "+why))
		}
	} else if pc.Value > highestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", highestUserDefinablePriority)))
	}
	if pc.PreemptionPolicy != nil {
		errs = append(errs, oneOf(*pc.PreemptionPolicy, field.NewPath("preemptionPolicy"), true, corev1.PreemptLowerPriority, corev1.PreemptNever)...)
	}
	return errs
}

func validatePriorityClassUpdate(pc, old *schedulingv1.PriorityClass) field.ErrorList {
	errs := validateMetaUpdate(&pc.ObjectMeta, &old.ObjectMeta)
	if pc.Value != old.Value {
		errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	errs = append(errs, immutable(pc.PreemptionPolicy, old.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
	return errs
}

// RuntimeClass.

func validateRuntimeClass(rc *nodev1.RuntimeClass) field.ErrorList {
	errs := validateMeta(&rc.ObjectMeta, nameSubdomain)
	return append(errs, validateRuntimeClassBody(rc)...)
}

func validateRuntimeClassBody(rc *nodev1.RuntimeClass) field.ErrorList {
	var errs field.ErrorList
	hp := field.NewPath("handler")
	if rc.Handler == "" {
		errs = append(errs, field.Required(hp, ""))
	} else {
		errs = append(errs, dnsLabel(rc.Handler, hp)...)
	}
	if rc.Overhead != nil {
		errs = append(errs, validateResourceList(rc.Overhead.PodFixed, field.NewPath("overhead", "podFixed"))...)
	}
	if s := rc.Scheduling; s != nil {
		errs = append(errs, labels(s.NodeSelector, field.NewPath("scheduling", "nodeSelector"))...)
		errs = append(errs, validateTolerations(s.Tolerations, field.NewPath("scheduling", "tolerations"))...)
	}
	return errs
}

func validateRuntimeClassUpdate(rc, old *nodev1.RuntimeClass) field.ErrorList {
	errs := validateMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateRuntimeClassBody(rc)...)
	return append(errs, immutable(rc.Handler, old.Handler, field.NewPath("handler"))...)
}

// Lease.

func validateLease(l *coordinationv1.Lease) field.ErrorList {
	errs := validateMeta(&l.ObjectMeta, nameSubdomain)
	return append(errs, validateLeaseSpec(&l.Spec, specPath)...)
}

func validateLeaseSpec(spec *coordinationv1.LeaseSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.LeaseDurationSeconds != nil && *spec.LeaseDurationSeconds <= 0 {
		errs = append(errs, field.Invalid(p.Child("leaseDurationSeconds"), *spec.LeaseDurationSeconds, "must be greater than 0"))
	}
	if spec.LeaseTransitions != nil && *spec.LeaseTransitions < 0 {
		errs = append(errs, field.Invalid(p.Child("leaseTransitions"), *spec.LeaseTransitions, isNegativeErrorMsg))
	}
	if spec.Strategy != nil {
		errs = append(errs, oneOf(*spec.Strategy, p.Child("strategy"), true, coordinationv1.OldestEmulationVersion)...)
	}
	if spec.PreferredHolder != nil && *spec.PreferredHolder != "" && (spec.Strategy == nil || *spec.Strategy == "") {
		errs = append(errs, field.Forbidden(p.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return errs
}

// events.k8s.io Event.

func validateEventsV1(e *eventsv1.Event) field.ErrorList {
	errs := validateMeta(&e.ObjectMeta, nameSubdomain)
	return append(errs, validateEventsV1Body(e)...)
}

func validateEventsV1Body(e *eventsv1.Event) field.ErrorList {
	var errs field.ErrorList
	if e.Regarding.Namespace == "" {
		if e.Namespace != "" && e.Namespace != "default" {
			errs = append(errs, field.Invalid(field.NewPath("regarding", "namespace"), e.Regarding.Namespace, "does not match event.namespace"))
		}
	} else if e.Namespace != e.Regarding.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("regarding", "namespace"), e.Regarding.Namespace, "does not match event.namespace"))
	}
	if e.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	required := func(name, v string, max int) {
		p := field.NewPath(name)
		switch {
		case v == "":
			errs = append(errs, field.Required(p, ""))
		case len(v) > max:
			errs = append(errs, field.TooLong(p, "", max))
		}
	}
	required("reportingController", e.ReportingController, 253)
	if e.ReportingController != "" {
		errs = append(errs, qualifiedName(e.ReportingController, field.NewPath("reportingController"))...)
	}
	required("reportingInstance", e.ReportingInstance, reportingInstanceMaxL)
	required("action", e.Action, eventActionMaxLength)
	required("reason", e.Reason, eventReasonMaxLength)
	if len(e.Note) > eventNoteMaxLength {
		errs = append(errs, field.TooLong(field.NewPath("note"), "", eventNoteMaxLength))
	}
	if e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), e.Type, fmt.Sprintf("has invalid value: %v", e.Type)))
	}
	return errs
}

func validateEventsV1Update(e, old *eventsv1.Event) field.ErrorList {
	errs := validateMetaUpdate(&e.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateEventsV1Body(e)...)
	for _, f := range []struct {
		name     string
		now, was any
	}{
		{"regarding", e.Regarding, old.Regarding}, {"related", e.Related, old.Related},
		{"reportingController", e.ReportingController, old.ReportingController},
		{"reportingInstance", e.ReportingInstance, old.ReportingInstance},
		{"action", e.Action, old.Action}, {"reason", e.Reason, old.Reason},
		{"note", e.Note, old.Note}, {"type", e.Type, old.Type},
		{"eventTime", e.EventTime, old.EventTime},
	} {
		errs = append(errs, immutable(f.now, f.was, field.NewPath(f.name))...)
	}
	return errs
}

// PodDisruptionBudget.

func validatePDB(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	errs := validateMeta(&pdb.ObjectMeta, nameSubdomain)
	return append(errs, validatePDBSpec(&pdb.Spec, specPath)...)
}

func validatePDBSpec(spec *policyv1.PodDisruptionBudgetSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(p, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	if spec.MinAvailable != nil {
		mp := p.Child("minAvailable")
		errs = append(errs, intOrPercent(spec.MinAvailable, mp)...)
		errs = append(errs, notMoreThan100Percent(spec.MinAvailable, mp)...)
	}
	if spec.MaxUnavailable != nil {
		mp := p.Child("maxUnavailable")
		errs = append(errs, intOrPercent(spec.MaxUnavailable, mp)...)
		errs = append(errs, notMoreThan100Percent(spec.MaxUnavailable, mp)...)
	}
	errs = append(errs, labelSelector(spec.Selector, p.Child("selector"))...)
	if pol := spec.UnhealthyPodEvictionPolicy; pol != nil {
		errs = append(errs, oneOf(*pol, p.Child("unhealthyPodEvictionPolicy"), true, policyv1.IfHealthyBudget, policyv1.AlwaysAllow)...)
	}
	return errs
}
