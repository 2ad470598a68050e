package validation

import (
	"fmt"
	"math"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// podOpts tells pod spec validation where the spec lives.
type podOpts struct {
	// template: the spec is a pod template's (controllers, PodTemplate);
	// pod-only rules (ephemeral containers forbidden on create, image
	// whitespace) are skipped.
	template bool
}

var (
	restartPolicies      = []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}
	dnsPolicies          = []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}
	protocols            = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
	pullPolicies         = []corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}
	terminationMsgPolicy = []corev1.TerminationMessagePolicy{corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError}
	taintEffects         = []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}
	tolerationOperators  = []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}
	uriSchemes           = []corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}
	nodeSelectorOps      = []corev1.NodeSelectorOperator{corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn, corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist, corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt}
	mountPropagations    = []corev1.MountPropagationMode{corev1.MountPropagationNone, corev1.MountPropagationHostToContainer, corev1.MountPropagationBidirectional}
	envFieldPaths        = []string{"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"}
	unsatisfiableActions = []corev1.UnsatisfiableConstraintAction{corev1.DoNotSchedule, corev1.ScheduleAnyway}
)

func validatePod(pod *corev1.Pod) field.ErrorList {
	errs := validateMeta(&pod.ObjectMeta, nameSubdomain)
	specPath := field.NewPath("spec")
	errs = append(errs, validatePodSpec(&pod.Spec, specPath, podOpts{})...)
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	return errs
}

// validatePodTemplateSpec validates a template's labels, annotations and spec.
func validatePodTemplateSpec(t *corev1.PodTemplateSpec, p *field.Path, opts podOpts) field.ErrorList {
	opts.template = true
	mp := p.Child("metadata")
	errs := labels(t.Labels, mp.Child("labels"))
	errs = append(errs, validateAnnotations(t.Annotations, mp.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&t.Spec, p.Child("spec"), opts)...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(p.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

func validatePodSpec(spec *corev1.PodSpec, p *field.Path, opts podOpts) field.ErrorList {
	var errs field.ErrorList
	volumes, vErrs := validateVolumes(spec.Volumes, p.Child("volumes"))
	errs = append(errs, vErrs...)

	names := sets.New[string]()
	portNames := sets.New[string]()
	hostPorts := sets.New[string]()
	if len(spec.Containers) == 0 {
		errs = append(errs, field.Required(p.Child("containers"), ""))
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		cp := p.Child("containers").Index(i)
		errs = append(errs, validateContainer(c, cp, names, volumes, opts)...)
		errs = append(errs, validatePorts(c.Ports, cp.Child("ports"), portNames, hostPorts, spec.HostNetwork)...)
		errs = append(errs, validateProbe(c.LivenessProbe, cp.Child("livenessProbe"), true)...)
		errs = append(errs, validateProbe(c.ReadinessProbe, cp.Child("readinessProbe"), false)...)
		errs = append(errs, validateProbe(c.StartupProbe, cp.Child("startupProbe"), true)...)
		errs = append(errs, validateLifecycle(c.Lifecycle, cp.Child("lifecycle"))...)
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		cp := p.Child("initContainers").Index(i)
		errs = append(errs, validateContainer(c, cp, names, volumes, opts)...)
		errs = append(errs, validatePorts(c.Ports, cp.Child("ports"), portNames, hostPorts, spec.HostNetwork)...)
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		if c.RestartPolicy != nil && !sidecar {
			errs = append(errs, field.NotSupported(cp.Child("restartPolicy"), *c.RestartPolicy, []corev1.ContainerRestartPolicy{corev1.ContainerRestartPolicyAlways}))
		}
		if sidecar {
			errs = append(errs, validateProbe(c.LivenessProbe, cp.Child("livenessProbe"), true)...)
			errs = append(errs, validateProbe(c.ReadinessProbe, cp.Child("readinessProbe"), false)...)
			errs = append(errs, validateProbe(c.StartupProbe, cp.Child("startupProbe"), true)...)
			errs = append(errs, validateLifecycle(c.Lifecycle, cp.Child("lifecycle"))...)
		} else {
			const msg = "may not be set for init containers without restartPolicy=Always"
			if c.Lifecycle != nil {
				errs = append(errs, field.Forbidden(cp.Child("lifecycle"), msg))
			}
			if c.LivenessProbe != nil {
				errs = append(errs, field.Forbidden(cp.Child("livenessProbe"), msg))
			}
			if c.ReadinessProbe != nil {
				errs = append(errs, field.Forbidden(cp.Child("readinessProbe"), msg))
			}
			if c.StartupProbe != nil {
				errs = append(errs, field.Forbidden(cp.Child("startupProbe"), msg))
			}
		}
	}
	for i := range spec.EphemeralContainers {
		ec := &spec.EphemeralContainers[i]
		cp := p.Child("ephemeralContainers").Index(i)
		c := corev1.Container(ec.EphemeralContainerCommon)
		errs = append(errs, validateContainer(&c, cp, names, volumes, opts)...)
		if len(c.Ports) > 0 {
			errs = append(errs, field.Forbidden(cp.Child("ports"), "cannot be set for an Ephemeral Container"))
		}
		for _, probe := range []struct {
			name string
			set  bool
		}{{"livenessProbe", c.LivenessProbe != nil}, {"readinessProbe", c.ReadinessProbe != nil}, {"startupProbe", c.StartupProbe != nil}, {"lifecycle", c.Lifecycle != nil}} {
			if probe.set {
				errs = append(errs, field.Forbidden(cp.Child(probe.name), "cannot be set for an Ephemeral Container"))
			}
		}
		if ec.TargetContainerName != "" && !names.Has(ec.TargetContainerName) {
			errs = append(errs, field.NotFound(cp.Child("targetContainerName"), ec.TargetContainerName))
		}
	}

	errs = append(errs, oneOf(spec.RestartPolicy, p.Child("restartPolicy"), true, restartPolicies...)...)
	errs = append(errs, oneOf(spec.DNSPolicy, p.Child("dnsPolicy"), true, dnsPolicies...)...)
	errs = append(errs, validateDNSConfig(spec.DNSConfig, spec.DNSPolicy, p.Child("dnsConfig"))...)
	errs = append(errs, labels(spec.NodeSelector, p.Child("nodeSelector"))...)
	if spec.ServiceAccountName != "" {
		errs = append(errs, dnsSubdomain(spec.ServiceAccountName, p.Child("serviceAccountName"))...)
	}
	if spec.NodeName != "" {
		errs = append(errs, dnsSubdomain(spec.NodeName, p.Child("nodeName"))...)
	}
	if spec.ActiveDeadlineSeconds != nil {
		if v := *spec.ActiveDeadlineSeconds; v < 1 || v > math.MaxInt32 {
			errs = append(errs, field.Invalid(p.Child("activeDeadlineSeconds"), v, utilvalidation.InclusiveRangeError(1, math.MaxInt32)))
		}
	}
	if spec.TerminationGracePeriodSeconds != nil {
		errs = append(errs, nonNegative(*spec.TerminationGracePeriodSeconds, p.Child("terminationGracePeriodSeconds"))...)
	}
	if spec.Hostname != "" {
		errs = append(errs, dnsLabel(spec.Hostname, p.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		errs = append(errs, dnsLabel(spec.Subdomain, p.Child("subdomain"))...)
	}
	if spec.PriorityClassName != "" {
		errs = append(errs, dnsSubdomain(spec.PriorityClassName, p.Child("priorityClassName"))...)
	}
	if spec.SchedulerName != "" {
		errs = append(errs, dnsSubdomain(spec.SchedulerName, p.Child("schedulerName"))...)
	}
	if spec.RuntimeClassName != nil {
		errs = append(errs, dnsSubdomain(*spec.RuntimeClassName, p.Child("runtimeClassName"))...)
	}
	for i, s := range spec.ImagePullSecrets {
		if s.Name == "" {
			errs = append(errs, field.Required(p.Child("imagePullSecrets").Index(i).Child("name"), ""))
		}
	}
	errs = append(errs, validateTolerations(spec.Tolerations, p.Child("tolerations"))...)
	errs = append(errs, validateAffinity(spec.Affinity, p.Child("affinity"))...)
	errs = append(errs, validatePodSecurityContext(spec.SecurityContext, p.Child("securityContext"))...)
	errs = append(errs, validateTopologySpread(spec.TopologySpreadConstraints, p.Child("topologySpreadConstraints"))...)
	for i, g := range spec.SchedulingGates {
		errs = append(errs, qualifiedName(g.Name, p.Child("schedulingGates").Index(i).Child("name"))...)
	}
	for i, h := range spec.HostAliases {
		hp := p.Child("hostAliases").Index(i)
		errs = append(errs, utilvalidation.IsValidIP(hp.Child("ip"), h.IP)...)
		for j, hn := range h.Hostnames {
			errs = append(errs, dnsSubdomain(hn, hp.Child("hostnames").Index(j))...)
		}
	}
	errs = append(errs, validateResourceList(spec.Overhead, p.Child("overhead"))...)
	for i, g := range spec.ReadinessGates {
		errs = append(errs, qualifiedName(string(g.ConditionType), p.Child("readinessGates").Index(i).Child("conditionType"))...)
	}
	return errs
}

// validateContainer holds the rules common to containers, init containers
// and ephemeral containers. names collects container names across all three.
func validateContainer(c *corev1.Container, p *field.Path, names sets.Set[string], volumes map[string]*corev1.Volume, opts podOpts) field.ErrorList {
	var errs field.ErrorList
	np := p.Child("name")
	switch {
	case c.Name == "":
		errs = append(errs, field.Required(np, ""))
	case names.Has(c.Name):
		errs = append(errs, field.Duplicate(np, c.Name))
	default:
		errs = append(errs, dnsLabel(c.Name, np)...)
	}
	names.Insert(c.Name)
	if c.Image == "" {
		errs = append(errs, field.Required(p.Child("image"), ""))
	} else if !opts.template && strings.TrimSpace(c.Image) != c.Image {
		errs = append(errs, field.Invalid(p.Child("image"), c.Image, "must not have leading or trailing whitespace"))
	}
	if c.TerminationMessagePath != "" && len(c.TerminationMessagePath) > 4096 {
		errs = append(errs, field.Invalid(p.Child("terminationMessagePath"), c.TerminationMessagePath, "must not be greater than 4096 characters"))
	}
	errs = append(errs, oneOf(c.TerminationMessagePolicy, p.Child("terminationMessagePolicy"), true, terminationMsgPolicy...)...)
	errs = append(errs, oneOf(c.ImagePullPolicy, p.Child("imagePullPolicy"), true, pullPolicies...)...)
	errs = append(errs, validateEnv(c.Env, p.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, p.Child("envFrom"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, volumes, p.Child("volumeMounts"))...)
	for i, d := range c.VolumeDevices {
		dp := p.Child("volumeDevices").Index(i)
		if d.Name == "" {
			errs = append(errs, field.Required(dp.Child("name"), ""))
		} else if _, ok := volumes[d.Name]; !ok {
			errs = append(errs, field.NotFound(dp.Child("name"), d.Name))
		}
		if d.DevicePath == "" {
			errs = append(errs, field.Required(dp.Child("devicePath"), ""))
		}
	}
	errs = append(errs, validateResources(&c.Resources, p.Child("resources"))...)
	errs = append(errs, validateSecurityContext(c.SecurityContext, p.Child("securityContext"))...)
	return errs
}

func validatePorts(ports []corev1.ContainerPort, p *field.Path, names, hostPorts sets.Set[string], hostNetwork bool) field.ErrorList {
	var errs field.ErrorList
	for i, port := range ports {
		pp := p.Index(i)
		if port.Name != "" {
			if ms := utilvalidation.IsValidPortName(port.Name); len(ms) > 0 {
				errs = append(errs, msgs(pp.Child("name"), port.Name, ms)...)
			} else if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), port.Name))
			} else {
				names.Insert(port.Name)
			}
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(pp.Child("containerPort"), ""))
		} else {
			errs = append(errs, msgs(pp.Child("containerPort"), port.ContainerPort, utilvalidation.IsValidPortNum(int(port.ContainerPort)))...)
		}
		if port.HostPort != 0 {
			errs = append(errs, msgs(pp.Child("hostPort"), port.HostPort, utilvalidation.IsValidPortNum(int(port.HostPort)))...)
		}
		if hostNetwork && port.HostPort != 0 && port.HostPort != port.ContainerPort {
			errs = append(errs, field.Invalid(pp.Child("hostPort"), port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
		}
		errs = append(errs, oneOf(port.Protocol, pp.Child("protocol"), true, protocols...)...)
		if port.HostIP != "" {
			errs = append(errs, utilvalidation.IsValidIP(pp.Child("hostIP"), port.HostIP)...)
		}
		hostPort := port.HostPort
		if hostNetwork {
			hostPort = port.ContainerPort
		}
		if hostPort != 0 {
			key := fmt.Sprintf("%s/%s/%d", port.HostIP, port.Protocol, hostPort)
			if hostPorts.Has(key) {
				errs = append(errs, field.Duplicate(pp.Child("hostPort"), fmt.Sprintf("%d/%s", hostPort, port.Protocol)))
			}
			hostPorts.Insert(key)
		}
	}
	return errs
}

func validateEnv(env []corev1.EnvVar, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range env {
		ip := p.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		} else {
			errs = append(errs, msgs(ip.Child("name"), ev.Name, utilvalidation.IsRelaxedEnvVarName(ev.Name))...)
		}
		errs = append(errs, validateEnvVarSource(ev, ip.Child("valueFrom"))...)
	}
	return errs
}

func validateEnvVarSource(ev corev1.EnvVar, p *field.Path) field.ErrorList {
	s := ev.ValueFrom
	if s == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	if s.FieldRef != nil {
		n++
		fp := p.Child("fieldRef")
		if s.FieldRef.APIVersion == "" {
			errs = append(errs, field.Required(fp.Child("apiVersion"), ""))
		} else if s.FieldRef.APIVersion != "v1" {
			errs = append(errs, field.NotSupported(fp.Child("apiVersion"), s.FieldRef.APIVersion, []string{"v1"}))
		}
		errs = append(errs, validateEnvFieldPath(s.FieldRef.FieldPath, fp.Child("fieldPath"))...)
	}
	if s.ResourceFieldRef != nil {
		n++
		rp := p.Child("resourceFieldRef")
		if s.ResourceFieldRef.Resource == "" {
			errs = append(errs, field.Required(rp.Child("resource"), ""))
		} else {
			errs = append(errs, oneOf(s.ResourceFieldRef.Resource, rp.Child("resource"), true,
				"limits.cpu", "limits.memory", "limits.ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage")...)
		}
	}
	if s.ConfigMapKeyRef != nil {
		n++
		errs = append(errs, validateKeyRef(s.ConfigMapKeyRef.Name, s.ConfigMapKeyRef.Key, p.Child("configMapKeyRef"))...)
	}
	if s.SecretKeyRef != nil {
		n++
		errs = append(errs, validateKeyRef(s.SecretKeyRef.Name, s.SecretKeyRef.Key, p.Child("secretKeyRef"))...)
	}
	if s.FileKeyRef != nil {
		n++
		fp := p.Child("fileKeyRef")
		if s.FileKeyRef.VolumeName == "" {
			errs = append(errs, field.Required(fp.Child("volumeName"), ""))
		}
		if s.FileKeyRef.Path == "" {
			errs = append(errs, field.Required(fp.Child("path"), ""))
		}
		if s.FileKeyRef.Key == "" {
			errs = append(errs, field.Required(fp.Child("key"), ""))
		}
	}
	if n == 0 {
		errs = append(errs, field.Invalid(p, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	} else if n > 1 {
		errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
	}
	if ev.Value != "" {
		errs = append(errs, field.Invalid(p, "", "may not be specified when `value` is not empty"))
	}
	return errs
}

// volumeFieldPaths are the pod fields a downward API volume may expose.
var volumeFieldPaths = []string{"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"}

func validateEnvFieldPath(fp string, p *field.Path) field.ErrorList {
	return validateFieldPath(fp, envFieldPaths, p)
}

// validateFieldPath accepts the listed paths and subscripted labels or
// annotations.
func validateFieldPath(fp string, allowed []string, p *field.Path) field.ErrorList {
	if fp == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	for _, ok := range allowed {
		if fp == ok {
			return nil
		}
	}
	// metadata.labels['key'] and metadata.annotations['key'] are allowed.
	for _, prefix := range []string{"metadata.labels['", "metadata.annotations['"} {
		if strings.HasPrefix(fp, prefix) && strings.HasSuffix(fp, "']") {
			key := strings.TrimSuffix(strings.TrimPrefix(fp, prefix), "']")
			return msgs(p, key, utilvalidation.IsQualifiedName(strings.ToLower(key)))
		}
	}
	return field.ErrorList{field.NotSupported(p, fp, allowed)}
}

func validateKeyRef(name, key string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if key == "" {
		errs = append(errs, field.Required(p.Child("key"), ""))
	} else {
		errs = append(errs, msgs(p.Child("key"), key, utilvalidation.IsConfigMapKey(key))...)
	}
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, dnsSubdomain(name, p.Child("name"))...)
	}
	return errs
}

func validateEnvFrom(envFrom []corev1.EnvFromSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ef := range envFrom {
		ip := p.Index(i)
		if ef.Prefix != "" {
			errs = append(errs, msgs(ip.Child("prefix"), ef.Prefix, utilvalidation.IsRelaxedEnvVarName(ef.Prefix))...)
		}
		n := 0
		if ef.ConfigMapRef != nil {
			n++
			if ef.ConfigMapRef.Name == "" {
				errs = append(errs, field.Required(ip.Child("configMapRef", "name"), ""))
			} else {
				errs = append(errs, dnsSubdomain(ef.ConfigMapRef.Name, ip.Child("configMapRef", "name"))...)
			}
		}
		if ef.SecretRef != nil {
			n++
			if ef.SecretRef.Name == "" {
				errs = append(errs, field.Required(ip.Child("secretRef", "name"), ""))
			} else {
				errs = append(errs, dnsSubdomain(ef.SecretRef.Name, ip.Child("secretRef", "name"))...)
			}
		}
		if n == 0 {
			errs = append(errs, field.Invalid(ip, "", "must specify one of: `configMapRef` or `secretRef`"))
		} else if n > 1 {
			errs = append(errs, field.Invalid(ip, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

func validateVolumeMounts(mounts []corev1.VolumeMount, volumes map[string]*corev1.Volume, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, m := range mounts {
		ip := p.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		} else if _, ok := volumes[m.Name]; !ok {
			errs = append(errs, field.NotFound(ip.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(ip.Child("mountPath"), ""))
		} else if seen.Has(m.MountPath) {
			errs = append(errs, field.Invalid(ip.Child("mountPath"), m.MountPath, "must be unique"))
		}
		seen.Insert(m.MountPath)
		if m.SubPath != "" {
			errs = append(errs, validateLocalDescendingPath(m.SubPath, ip.Child("subPath"))...)
		}
		if m.SubPath != "" && m.SubPathExpr != "" {
			errs = append(errs, field.Invalid(ip.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
		}
		if m.SubPathExpr != "" {
			errs = append(errs, validateLocalDescendingPath(m.SubPathExpr, ip.Child("subPathExpr"))...)
		}
		if m.MountPropagation != nil {
			errs = append(errs, oneOf(*m.MountPropagation, ip.Child("mountPropagation"), false, mountPropagations...)...)
		}
	}
	return errs
}

// validateLocalDescendingPath requires a relative path without "..".
func validateLocalDescendingPath(v string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(v) || strings.HasPrefix(v, "/") {
		errs = append(errs, field.Invalid(p, v, "must be a relative path"))
	}
	for _, part := range strings.Split(strings.ReplaceAll(v, `\`, "/"), "/") {
		if part == ".." {
			errs = append(errs, field.Invalid(p, v, "must not contain '..'"))
			break
		}
	}
	return errs
}

// validateResourceName accepts standard names and qualified extended names.
func validateResourceName(name string, p *field.Path) field.ErrorList {
	errs := qualifiedName(name, p)
	if len(errs) == 0 && !strings.Contains(name, "/") && !isStandardResource(name) {
		errs = append(errs, field.Invalid(p, name, "must be a standard resource type or fully qualified"))
	}
	return errs
}

func isStandardResource(name string) bool {
	switch corev1.ResourceName(name) {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourceStorage, corev1.ResourcePods:
		return true
	}
	return strings.HasPrefix(name, corev1.ResourceHugePagesPrefix) || strings.HasPrefix(name, "requests.") || strings.HasPrefix(name, "limits.")
}

func validateResourceList(rl corev1.ResourceList, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, q := range rl {
		kp := p.Key(string(name))
		errs = append(errs, validateResourceName(string(name), kp)...)
		errs = append(errs, nonNegativeQuantity(q, kp)...)
	}
	return errs
}

// validateContainerResourceList accepts cpu, memory, ephemeral-storage,
// hugepages-* and fully qualified extended resources.
func validateContainerResourceList(rl corev1.ResourceList, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, q := range rl {
		kp := p.Key(string(name))
		n := string(name)
		nameErrs := qualifiedName(n, kp)
		errs = append(errs, nameErrs...)
		if len(nameErrs) == 0 && !isContainerResource(n) {
			errs = append(errs, field.Invalid(kp, n, "must be a standard resource for containers"))
		}
		errs = append(errs, nonNegativeQuantity(q, kp)...)
		if isExtendedResource(n) && q.MilliValue()%1000 != 0 {
			errs = append(errs, field.Invalid(kp, q.String(), isNotIntegerErrorMsg))
		}
	}
	return errs
}

func isContainerResource(name string) bool {
	switch corev1.ResourceName(name) {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		return true
	}
	return strings.HasPrefix(name, corev1.ResourceHugePagesPrefix) || isExtendedResource(name)
}

// isExtendedResource: a domain-qualified name outside kubernetes.io, not a
// quota-style "requests." name.
func isExtendedResource(name string) bool {
	return strings.Contains(name, "/") && !strings.HasPrefix(name, "kubernetes.io/") &&
		!strings.Contains(name, ".kubernetes.io/") && !strings.HasPrefix(name, "requests.")
}

func validateResources(r *corev1.ResourceRequirements, p *field.Path) field.ErrorList {
	errs := validateContainerResourceList(r.Limits, p.Child("limits"))
	errs = append(errs, validateContainerResourceList(r.Requests, p.Child("requests"))...)
	for name, req := range r.Requests {
		limit, ok := r.Limits[name]
		overcommit := !isExtendedResource(string(name)) && !strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
		switch {
		case !ok && !overcommit:
			errs = append(errs, field.Required(p.Child("limits").Key(string(name)), "Limit must be set for non overcommitable resources"))
		case !ok:
		case !overcommit && req.Cmp(limit) != 0:
			errs = append(errs, field.Invalid(p.Child("requests").Key(string(name)), req.String(),
				fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
		case req.Cmp(limit) > 0:
			errs = append(errs, field.Invalid(p.Child("requests").Key(string(name)), req.String(),
				fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
		}
	}
	for i, c := range r.Claims {
		if c.Name == "" {
			errs = append(errs, field.Required(p.Child("claims").Index(i).Child("name"), ""))
		}
	}
	return errs
}

func validateProbe(pr *corev1.Probe, p *field.Path, successMustBeOne bool) field.ErrorList {
	if pr == nil {
		return nil
	}
	errs := validateHandler(&pr.ProbeHandler, pr.Exec != nil, pr.HTTPGet != nil, pr.TCPSocket != nil, pr.GRPC != nil, false, p)
	errs = append(errs, nonNegative(int64(pr.InitialDelaySeconds), p.Child("initialDelaySeconds"))...)
	errs = append(errs, nonNegative(int64(pr.TimeoutSeconds), p.Child("timeoutSeconds"))...)
	errs = append(errs, nonNegative(int64(pr.PeriodSeconds), p.Child("periodSeconds"))...)
	errs = append(errs, nonNegative(int64(pr.SuccessThreshold), p.Child("successThreshold"))...)
	errs = append(errs, nonNegative(int64(pr.FailureThreshold), p.Child("failureThreshold"))...)
	if successMustBeOne && pr.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(p.Child("successThreshold"), pr.SuccessThreshold, "must be 1"))
	}
	if pr.TerminationGracePeriodSeconds != nil {
		if successMustBeOne {
			errs = append(errs, positive(*pr.TerminationGracePeriodSeconds, p.Child("terminationGracePeriodSeconds"))...)
		} else {
			errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), *pr.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
		}
	}
	return errs
}

func validateLifecycle(l *corev1.Lifecycle, p *field.Path) field.ErrorList {
	if l == nil {
		return nil
	}
	var errs field.ErrorList
	for _, h := range []struct {
		name string
		h    *corev1.LifecycleHandler
	}{{"postStart", l.PostStart}, {"preStop", l.PreStop}} {
		if h.h == nil {
			continue
		}
		hp := p.Child(h.name)
		// tcpSocket is accepted for compatibility and not checked, as upstream.
		ph := corev1.ProbeHandler{Exec: h.h.Exec, HTTPGet: h.h.HTTPGet}
		errs = append(errs, validateHandler(&ph, h.h.Exec != nil, h.h.HTTPGet != nil, h.h.TCPSocket != nil, false, h.h.Sleep != nil, hp)...)
		if h.h.Sleep != nil {
			errs = append(errs, nonNegative(h.h.Sleep.Seconds, hp.Child("sleep", "seconds"))...)
		}
	}
	if l.StopSignal != nil && *l.StopSignal == "" {
		errs = append(errs, field.Required(p.Child("stopSignal"), ""))
	}
	return errs
}

// validateHandler requires exactly one handler and checks the one given.
func validateHandler(h *corev1.ProbeHandler, exec, httpGet, tcp, grpc, sleep bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	for _, s := range []struct {
		name string
		set  bool
	}{{"exec", exec}, {"httpGet", httpGet}, {"tcpSocket", tcp}, {"grpc", grpc}, {"sleep", sleep}} {
		if !s.set {
			continue
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(p.Child(s.name), "may not specify more than 1 handler type"))
		}
		n++
	}
	if n == 0 {
		return append(errs, field.Required(p, "must specify a handler type"))
	}
	if h.Exec != nil && len(h.Exec.Command) == 0 {
		errs = append(errs, field.Required(p.Child("exec", "command"), ""))
	}
	if g := h.HTTPGet; g != nil {
		gp := p.Child("httpGet")
		errs = append(errs, validatePortNumOrName(g.Port, gp.Child("port"))...)
		errs = append(errs, oneOf(g.Scheme, gp.Child("scheme"), false, uriSchemes...)...)
		for i, hd := range g.HTTPHeaders {
			errs = append(errs, msgs(gp.Child("httpHeaders").Index(i).Child("name"), hd.Name, utilvalidation.IsHTTPHeaderName(hd.Name))...)
		}
	}
	if t := h.TCPSocket; t != nil {
		errs = append(errs, validatePortNumOrName(t.Port, p.Child("tcpSocket", "port"))...)
	}
	if g := h.GRPC; g != nil {
		errs = append(errs, msgs(p.Child("grpc", "port"), g.Port, utilvalidation.IsValidPortNum(int(g.Port)))...)
	}
	return errs
}

func validatePortNumOrName(port intstr.IntOrString, p *field.Path) field.ErrorList {
	if port.Type == intstr.Int {
		return msgs(p, port.IntValue(), utilvalidation.IsValidPortNum(port.IntValue()))
	}
	return msgs(p, port.StrVal, utilvalidation.IsValidPortName(port.StrVal))
}

func validateDNSConfig(c *corev1.PodDNSConfig, policy corev1.DNSPolicy, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if policy == corev1.DNSNone {
		if c == nil {
			return field.ErrorList{field.Required(p, fmt.Sprintf("must provide `dnsConfig` when `dnsPolicy` is %s", corev1.DNSNone))}
		}
		if len(c.Nameservers) == 0 {
			errs = append(errs, field.Required(p.Child("nameservers"), fmt.Sprintf("must provide at least one DNS nameserver when `dnsPolicy` is %s", corev1.DNSNone)))
		}
	}
	if c == nil {
		return errs
	}
	if len(c.Nameservers) > 3 {
		errs = append(errs, field.Invalid(p.Child("nameservers"), c.Nameservers, "must not have more than 3 nameservers"))
	}
	for i, ns := range c.Nameservers {
		errs = append(errs, utilvalidation.IsValidIP(p.Child("nameservers").Index(i), ns)...)
	}
	if len(c.Searches) > 32 {
		errs = append(errs, field.Invalid(p.Child("searches"), c.Searches, "must not have more than 32 search paths"))
	}
	for i, s := range c.Searches {
		s = strings.TrimSuffix(s, ".")
		if s != "" {
			errs = append(errs, dnsSubdomain(s, p.Child("searches").Index(i))...)
		}
	}
	for i, o := range c.Options {
		if o.Name == "" {
			errs = append(errs, field.Required(p.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

func validateTolerations(ts []corev1.Toleration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range ts {
		ip := p.Index(i)
		if t.Key != "" {
			errs = append(errs, qualifiedName(t.Key, ip.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(ip.Child("operator"), t.Operator,
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(ip.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			errs = append(errs, msgs(ip.Child("value"), t.Value, utilvalidation.IsValidLabelValue(t.Value))...)
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(ip.Child("operator"), t, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(ip.Child("operator"), t.Operator, tolerationOperators))
		}
		if t.Effect != "" {
			errs = append(errs, oneOf(t.Effect, ip.Child("effect"), false, taintEffects...)...)
		}
	}
	return errs
}

func validateAffinity(a *corev1.Affinity, p *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	if na := a.NodeAffinity; na != nil {
		np := p.Child("nodeAffinity")
		if req := na.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
			errs = append(errs, validateNodeSelector(req, np.Child("requiredDuringSchedulingIgnoredDuringExecution"))...)
		}
		for i, t := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			tp := np.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			if t.Weight < 1 || t.Weight > 100 {
				errs = append(errs, field.Invalid(tp.Child("weight"), t.Weight, "must be in the range 1-100"))
			}
			errs = append(errs, validateNodeSelectorTerm(&t.Preference, tp.Child("preference"))...)
		}
	}
	if pa := a.PodAffinity; pa != nil {
		pp := p.Child("podAffinity")
		errs = append(errs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, pp.Child("requiredDuringSchedulingIgnoredDuringExecution"))...)
		errs = append(errs, validateWeightedPodAffinityTerms(pa.PreferredDuringSchedulingIgnoredDuringExecution, pp.Child("preferredDuringSchedulingIgnoredDuringExecution"))...)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		pp := p.Child("podAntiAffinity")
		errs = append(errs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, pp.Child("requiredDuringSchedulingIgnoredDuringExecution"))...)
		errs = append(errs, validateWeightedPodAffinityTerms(pa.PreferredDuringSchedulingIgnoredDuringExecution, pp.Child("preferredDuringSchedulingIgnoredDuringExecution"))...)
	}
	return errs
}

func validateNodeSelector(s *corev1.NodeSelector, p *field.Path) field.ErrorList {
	tp := p.Child("nodeSelectorTerms")
	if len(s.NodeSelectorTerms) == 0 {
		return field.ErrorList{field.Required(tp, "must have at least one node selector term")}
	}
	var errs field.ErrorList
	for i := range s.NodeSelectorTerms {
		errs = append(errs, validateNodeSelectorTerm(&s.NodeSelectorTerms[i], tp.Index(i))...)
	}
	return errs
}

func validateNodeSelectorTerm(t *corev1.NodeSelectorTerm, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, r := range t.MatchExpressions {
		rp := p.Child("matchExpressions").Index(i)
		errs = append(errs, validateNodeSelectorRequirement(r, rp)...)
		errs = append(errs, qualifiedName(r.Key, rp.Child("key"))...)
	}
	for i, r := range t.MatchFields {
		rp := p.Child("matchFields").Index(i)
		if r.Key != "metadata.name" {
			errs = append(errs, field.NotSupported(rp.Child("key"), r.Key, []string{"metadata.name"}))
		}
		if r.Operator != corev1.NodeSelectorOpIn && r.Operator != corev1.NodeSelectorOpNotIn {
			errs = append(errs, field.Invalid(rp.Child("operator"), r.Operator, "not a valid selector operator"))
		} else if len(r.Values) != 1 {
			errs = append(errs, field.Required(rp.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
		}
	}
	return errs
}

func validateNodeSelectorRequirement(r corev1.NodeSelectorRequirement, p *field.Path) field.ErrorList {
	switch r.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(r.Values) == 0 {
			return field.ErrorList{field.Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'")}
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(r.Values) > 0 {
			return field.ErrorList{field.Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")}
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if len(r.Values) != 1 {
			return field.ErrorList{field.Required(p.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'")}
		}
	default:
		return field.ErrorList{field.Invalid(p.Child("operator"), r.Operator, "not a valid selector operator")}
	}
	return nil
}

func validatePodAffinityTerms(ts []corev1.PodAffinityTerm, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range ts {
		errs = append(errs, validatePodAffinityTerm(&ts[i], p.Index(i))...)
	}
	return errs
}

func validateWeightedPodAffinityTerms(ts []corev1.WeightedPodAffinityTerm, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range ts {
		ip := p.Index(i)
		if ts[i].Weight < 1 || ts[i].Weight > 100 {
			errs = append(errs, field.Invalid(ip.Child("weight"), ts[i].Weight, "must be in the range 1-100"))
		}
		errs = append(errs, validatePodAffinityTerm(&ts[i].PodAffinityTerm, ip.Child("podAffinityTerm"))...)
	}
	return errs
}

func validatePodAffinityTerm(t *corev1.PodAffinityTerm, p *field.Path) field.ErrorList {
	errs := labelSelector(t.LabelSelector, p.Child("labelSelector"))
	errs = append(errs, labelSelector(t.NamespaceSelector, p.Child("namespaceSelector"))...)
	for i, ns := range t.Namespaces {
		errs = append(errs, dnsLabel(ns, p.Child("namespaces").Index(i))...)
	}
	if t.TopologyKey == "" {
		errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
	} else {
		errs = append(errs, qualifiedName(t.TopologyKey, p.Child("topologyKey"))...)
	}
	for i, k := range t.MatchLabelKeys {
		errs = append(errs, qualifiedName(k, p.Child("matchLabelKeys").Index(i))...)
	}
	for i, k := range t.MismatchLabelKeys {
		errs = append(errs, qualifiedName(k, p.Child("mismatchLabelKeys").Index(i))...)
	}
	return errs
}

func validateTopologySpread(cs []corev1.TopologySpreadConstraint, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, c := range cs {
		ip := p.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(ip.Child("maxSkew"), c.MaxSkew, isNotPositiveErrorMsg))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(ip.Child("topologyKey"), "can not be empty"))
		} else {
			errs = append(errs, qualifiedName(c.TopologyKey, ip.Child("topologyKey"))...)
		}
		errs = append(errs, oneOf(c.WhenUnsatisfiable, ip.Child("whenUnsatisfiable"), true, unsatisfiableActions...)...)
		key := c.TopologyKey + "/" + string(c.WhenUnsatisfiable)
		if seen.Has(key) {
			errs = append(errs, field.Duplicate(ip, fmt.Sprintf("{%v, %v}", c.TopologyKey, c.WhenUnsatisfiable)))
		}
		seen.Insert(key)
		if c.MinDomains != nil && *c.MinDomains <= 0 {
			errs = append(errs, field.Invalid(ip.Child("minDomains"), *c.MinDomains, isNotPositiveErrorMsg))
		}
		errs = append(errs, labelSelector(c.LabelSelector, ip.Child("labelSelector"))...)
	}
	return errs
}

func validateIDs(uid, gid *int64, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if uid != nil {
		errs = append(errs, msgs(p.Child("runAsUser"), *uid, utilvalidation.IsValidUserID(*uid))...)
	}
	if gid != nil {
		errs = append(errs, msgs(p.Child("runAsGroup"), *gid, utilvalidation.IsValidGroupID(*gid))...)
	}
	return errs
}

func validatePodSecurityContext(sc *corev1.PodSecurityContext, p *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := validateIDs(sc.RunAsUser, sc.RunAsGroup, p)
	if sc.FSGroup != nil {
		errs = append(errs, msgs(p.Child("fsGroup"), *sc.FSGroup, utilvalidation.IsValidGroupID(*sc.FSGroup))...)
	}
	for i, g := range sc.SupplementalGroups {
		errs = append(errs, msgs(p.Child("supplementalGroups").Index(i), g, utilvalidation.IsValidGroupID(g))...)
	}
	seen := sets.New[string]()
	for i, s := range sc.Sysctls {
		sp := p.Child("sysctls").Index(i)
		if s.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), ""))
		} else if seen.Has(s.Name) {
			errs = append(errs, field.Duplicate(sp.Child("name"), s.Name))
		}
		seen.Insert(s.Name)
	}
	if sc.FSGroupChangePolicy != nil {
		errs = append(errs, oneOf(*sc.FSGroupChangePolicy, p.Child("fsGroupChangePolicy"), true, corev1.FSGroupChangeOnRootMismatch, corev1.FSGroupChangeAlways)...)
	}
	return errs
}

func validateSecurityContext(sc *corev1.SecurityContext, p *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := validateIDs(sc.RunAsUser, sc.RunAsGroup, p)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(p, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if c == "CAP_SYS_ADMIN" || c == "SYS_ADMIN" {
					errs = append(errs, field.Invalid(p, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	if sc.ProcMount != nil {
		errs = append(errs, oneOf(*sc.ProcMount, p.Child("procMount"), true, corev1.DefaultProcMount, corev1.UnmaskedProcMount)...)
	}
	return errs
}

// validateBinding checks a pods/binding request.
func validateBinding(b *corev1.Binding) field.ErrorList {
	var errs field.ErrorList
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	}
	return errs
}
