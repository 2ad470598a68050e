package validation

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	metricSourceTypes = []autoscalingv2.MetricSourceType{autoscalingv2.ObjectMetricSourceType, autoscalingv2.PodsMetricSourceType, autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType, autoscalingv2.ExternalMetricSourceType}
	metricTargetTypes = []autoscalingv2.MetricTargetType{autoscalingv2.UtilizationMetricType, autoscalingv2.ValueMetricType, autoscalingv2.AverageValueMetricType}
)

func validateHPA(h *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	errs := validateMeta(&h.ObjectMeta, nameSubdomain)
	return append(errs, validateHPASpec(&h.Spec, specPath)...)
}

func validateHPAv1(h *autoscalingv1.HorizontalPodAutoscaler) field.ErrorList {
	errs := validateMeta(&h.ObjectMeta, nameSubdomain)
	return append(errs, validateHPAv1Spec(&h.Spec, specPath)...)
}

func validateScaleTargetRef(kind, name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	} else {
		errs = append(errs, msgs(p.Child("kind"), kind, namePathSegment(kind, false))...)
	}
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, msgs(p.Child("name"), name, namePathSegment(name, false))...)
	}
	return errs
}

func validateReplicaBounds(min *int32, max int32, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if min != nil && *min < 1 {
		errs = append(errs, field.Invalid(p.Child("minReplicas"), *min, "must be greater than or equal to 1"))
	}
	if max < 1 {
		errs = append(errs, field.Invalid(p.Child("maxReplicas"), max, "must be greater than 0"))
	}
	if min != nil && max < *min {
		errs = append(errs, field.Invalid(p.Child("maxReplicas"), max, "must be greater than or equal to `minReplicas`"))
	}
	return errs
}

func validateHPAv1Spec(spec *autoscalingv1.HorizontalPodAutoscalerSpec, p *field.Path) field.ErrorList {
	errs := validateReplicaBounds(spec.MinReplicas, spec.MaxReplicas, p)
	errs = append(errs, validateScaleTargetRef(spec.ScaleTargetRef.Kind, spec.ScaleTargetRef.Name, p.Child("scaleTargetRef"))...)
	if u := spec.TargetCPUUtilizationPercentage; u != nil && *u < 1 {
		errs = append(errs, field.Invalid(p.Child("targetCPUUtilizationPercentage"), *u, "must be greater than 0"))
	}
	return errs
}

func validateHPASpec(spec *autoscalingv2.HorizontalPodAutoscalerSpec, p *field.Path) field.ErrorList {
	errs := validateReplicaBounds(spec.MinReplicas, spec.MaxReplicas, p)
	errs = append(errs, validateScaleTargetRef(spec.ScaleTargetRef.Kind, spec.ScaleTargetRef.Name, p.Child("scaleTargetRef"))...)
	for i := range spec.Metrics {
		errs = append(errs, validateMetricSpec(&spec.Metrics[i], p.Child("metrics").Index(i))...)
	}
	if b := spec.Behavior; b != nil {
		errs = append(errs, validateScalingRules(b.ScaleUp, p.Child("behavior", "scaleUp"))...)
		errs = append(errs, validateScalingRules(b.ScaleDown, p.Child("behavior", "scaleDown"))...)
	}
	return errs
}

func validateMetricSpec(m *autoscalingv2.MetricSpec, p *field.Path) field.ErrorList {
	errs := oneOf(m.Type, p.Child("type"), true, metricSourceTypes...)
	set := map[autoscalingv2.MetricSourceType]bool{
		autoscalingv2.ObjectMetricSourceType:            m.Object != nil,
		autoscalingv2.PodsMetricSourceType:              m.Pods != nil,
		autoscalingv2.ResourceMetricSourceType:          m.Resource != nil,
		autoscalingv2.ContainerResourceMetricSourceType: m.ContainerResource != nil,
		autoscalingv2.ExternalMetricSourceType:          m.External != nil,
	}
	n := 0
	for _, v := range set {
		if v {
			n++
		}
	}
	if n > 1 {
		errs = append(errs, field.Forbidden(p, "must populate the given metric source only"))
	}
	if ok, known := set[m.Type]; known && !ok {
		errs = append(errs, field.Required(p, "must populate information for the given metric source"))
	}
	switch {
	case m.Resource != nil:
		rp := p.Child("resource")
		if m.Resource.Name == "" {
			errs = append(errs, field.Required(rp.Child("name"), "must specify a resource name"))
		}
		errs = append(errs, validateMetricTarget(m.Resource.Target, rp.Child("target"))...)
	case m.ContainerResource != nil:
		rp := p.Child("containerResource")
		if m.ContainerResource.Name == "" {
			errs = append(errs, field.Required(rp.Child("name"), "must specify a resource name"))
		}
		if m.ContainerResource.Container == "" {
			errs = append(errs, field.Required(rp.Child("container"), "must specify a container"))
		}
		errs = append(errs, validateMetricTarget(m.ContainerResource.Target, rp.Child("target"))...)
	case m.Pods != nil:
		pp := p.Child("pods")
		if m.Pods.Metric.Name == "" {
			errs = append(errs, field.Required(pp.Child("metric", "name"), "must specify a metric name"))
		}
		errs = append(errs, validateMetricTarget(m.Pods.Target, pp.Child("target"))...)
	case m.Object != nil:
		op := p.Child("object")
		errs = append(errs, validateScaleTargetRef(m.Object.DescribedObject.Kind, m.Object.DescribedObject.Name, op.Child("describedObject"))...)
		if m.Object.Metric.Name == "" {
			errs = append(errs, field.Required(op.Child("metric", "name"), "must specify a metric name"))
		}
		errs = append(errs, validateMetricTarget(m.Object.Target, op.Child("target"))...)
	case m.External != nil:
		ep := p.Child("external")
		if m.External.Metric.Name == "" {
			errs = append(errs, field.Required(ep.Child("metric", "name"), "must specify a metric name"))
		}
		errs = append(errs, validateMetricTarget(m.External.Target, ep.Child("target"))...)
	}
	return errs
}

func validateMetricTarget(t autoscalingv2.MetricTarget, p *field.Path) field.ErrorList {
	errs := oneOf(t.Type, p.Child("type"), true, metricTargetTypes...)
	if t.Value == nil && t.AverageValue == nil && t.AverageUtilization == nil {
		errs = append(errs, field.Required(p, "must set either a target raw value, a target average value, or a target utilization"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(p.Child("value"), t.Value.String(), "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(p.Child("averageValue"), t.AverageValue.String(), "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(p.Child("averageUtilization"), *t.AverageUtilization, "must be greater than 0"))
	}
	return errs
}

func validateScalingRules(r *autoscalingv2.HPAScalingRules, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > 3600) {
		errs = append(errs, field.Invalid(p.Child("stabilizationWindowSeconds"), *w, "must be less than or equal to 3600"))
	}
	if r.SelectPolicy != nil {
		errs = append(errs, oneOf(*r.SelectPolicy, p.Child("selectPolicy"), true, autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect)...)
	}
	for i, pol := range r.Policies {
		pp := p.Child("policies").Index(i)
		errs = append(errs, oneOf(pol.Type, pp.Child("type"), true, autoscalingv2.PodsScalingPolicy, autoscalingv2.PercentScalingPolicy)...)
		if pol.Value <= 0 {
			errs = append(errs, field.Invalid(pp.Child("value"), pol.Value, "must be greater than zero"))
		}
		if pol.PeriodSeconds <= 0 || pol.PeriodSeconds > 1800 {
			errs = append(errs, field.Invalid(pp.Child("periodSeconds"), pol.PeriodSeconds, "must be greater than zero and less than or equal to 1800"))
		}
	}
	return errs
}
