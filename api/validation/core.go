package validation

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxConfigSize is the total data limit of ConfigMaps and Secrets (1 MiB).
const maxConfigSize = 1 * 1024 * 1024

// Node.

func validateNode(n *corev1.Node) field.ErrorList {
	errs := validateMeta(&n.ObjectMeta, nameSubdomain)
	return append(errs, validateNodeSpec(&n.Spec, field.NewPath("spec"))...)
}

func validateNodeSpec(spec *corev1.NodeSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.PodCIDRs) > 0 && spec.PodCIDR != spec.PodCIDRs[0] {
		errs = append(errs, field.Invalid(p.Child("podCIDRs"), spec.PodCIDRs, "first value must match `podCIDR`"))
	}
	if len(spec.PodCIDRs) > 2 {
		errs = append(errs, field.Invalid(p.Child("podCIDRs"), spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
	}
	for i, c := range spec.PodCIDRs {
		errs = append(errs, utilvalidation.IsValidCIDR(p.Child("podCIDRs").Index(i), c)...)
	}
	if len(spec.PodCIDRs) == 2 && strings.Contains(spec.PodCIDRs[0], ":") == strings.Contains(spec.PodCIDRs[1], ":") {
		errs = append(errs, field.Invalid(p.Child("podCIDRs"), spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
	}
	seen := map[string]bool{}
	for i, t := range spec.Taints {
		tp := p.Child("taints").Index(i)
		errs = append(errs, qualifiedName(t.Key, tp.Child("key"))...)
		if t.Value != "" {
			errs = append(errs, msgs(tp.Child("value"), t.Value, utilvalidation.IsValidLabelValue(t.Value))...)
		}
		errs = append(errs, oneOf(t.Effect, tp.Child("effect"), true, taintEffects...)...)
		key := t.Key + "/" + string(t.Effect)
		if seen[key] {
			errs = append(errs, field.Duplicate(tp, fmt.Sprintf("taints must be unique by key and effect pair")))
		}
		seen[key] = true
	}
	if spec.ConfigSource != nil {
		errs = append(errs, field.Forbidden(p.Child("configSource"), "update is not allowed"))
	}
	return errs
}

func validateNodeUpdate(n, old *corev1.Node) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &old.ObjectMeta)
	p := field.NewPath("spec")
	errs = append(errs, validateNodeSpec(&n.Spec, p)...)
	// podCIDR(s) are set once, by node IPAM.
	if old.Spec.PodCIDR != "" {
		errs = append(errs, immutable(n.Spec.PodCIDR, old.Spec.PodCIDR, p.Child("podCIDR"))...)
		if len(old.Spec.PodCIDRs) > 0 {
			errs = append(errs, immutable(n.Spec.PodCIDRs, old.Spec.PodCIDRs, p.Child("podCIDRs"))...)
		}
	}
	if old.Spec.ProviderID != "" {
		errs = append(errs, immutable(n.Spec.ProviderID, old.Spec.ProviderID, p.Child("providerID"))...)
	}
	return errs
}

func validateNodeStatusUpdate(n, old *corev1.Node) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &old.ObjectMeta)
	sp := field.NewPath("status")
	errs = append(errs, validateResourceList(n.Status.Capacity, sp.Child("capacity"))...)
	errs = append(errs, validateResourceList(n.Status.Allocatable, sp.Child("allocatable"))...)
	for i, a := range n.Status.Addresses {
		ap := sp.Child("addresses").Index(i)
		if a.Type == "" {
			errs = append(errs, field.Required(ap.Child("type"), ""))
		}
		if a.Address == "" {
			errs = append(errs, field.Required(ap.Child("address"), ""))
		}
	}
	return errs
}

// Namespace.

func validateNamespace(ns *corev1.Namespace) field.ErrorList {
	errs := validateMeta(&ns.ObjectMeta, nameLabel)
	return append(errs, validateNamespaceFinalizers(ns.Spec.Finalizers)...)
}

func validateNamespaceFinalizers(fs []corev1.FinalizerName) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "finalizers")
	for _, f := range fs {
		errs = append(errs, validateFinalizerName(string(f), p)...)
	}
	return errs
}

// validateFinalizerName requires a qualified name; names without a domain
// are reserved for the system's own ("kubernetes").
func validateFinalizerName(f string, p *field.Path) field.ErrorList {
	errs := qualifiedName(f, p)
	if len(errs) == 0 && !strings.Contains(f, "/") && f != string(corev1.FinalizerKubernetes) {
		errs = append(errs, field.Invalid(p, f, "name is neither a standard finalizer name nor is it fully qualified"))
	}
	return errs
}

func validateNamespaceUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := validateMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateNamespaceFinalizers(ns.Spec.Finalizers)...)
	return errs
}

func validateNamespaceStatusUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := validateMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta)
	// Upstream spells this path "status.Phase"; clients compare it verbatim.
	pp := field.NewPath("status", "Phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			errs = append(errs, field.Invalid(pp, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty"))
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		errs = append(errs, field.Invalid(pp, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}

// ConfigMap and Secret.

func validateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	errs := validateMeta(&cm.ObjectMeta, nameSubdomain)
	return append(errs, validateConfigMapData(cm)...)
}

func validateConfigMapData(cm *corev1.ConfigMap) field.ErrorList {
	var errs field.ErrorList
	total := 0
	for k, v := range cm.Data {
		errs = append(errs, msgs(field.NewPath("data").Key(k), k, utilvalidation.IsConfigMapKey(k))...)
		if _, dup := cm.BinaryData[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(k), k, "duplicate of key present in binaryData"))
		}
		total += len(v)
	}
	for k, v := range cm.BinaryData {
		errs = append(errs, msgs(field.NewPath("binaryData").Key(k), k, utilvalidation.IsConfigMapKey(k))...)
		total += len(v)
	}
	if total > maxConfigSize {
		errs = append(errs, field.TooLong(field.NewPath(""), "", maxConfigSize))
	}
	return errs
}

func validateConfigMapUpdate(cm, old *corev1.ConfigMap) field.ErrorList {
	errs := validateMetaUpdate(&cm.ObjectMeta, &old.ObjectMeta)
	if old.Immutable != nil && *old.Immutable {
		if cm.Immutable == nil || !*cm.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !equalStringMaps(cm.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
		if !equalBytesMaps(cm.BinaryData, old.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), "field is immutable when `immutable` is set"))
		}
	}
	return append(errs, validateConfigMapData(cm)...)
}

func validateSecret(s *corev1.Secret) field.ErrorList {
	errs := validateMeta(&s.ObjectMeta, nameSubdomain)
	return append(errs, validateSecretData(s)...)
}

func validateSecretData(s *corev1.Secret) field.ErrorList {
	var errs field.ErrorList
	dp := field.NewPath("data")
	total := 0
	for k, v := range s.Data {
		errs = append(errs, msgs(dp.Key(k), k, utilvalidation.IsConfigMapKey(k))...)
		total += len(v)
	}
	if total > maxConfigSize {
		errs = append(errs, field.TooLong(dp, "", maxConfigSize))
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(metaPath.Child("annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeOpaque, "":
	case corev1.SecretTypeDockercfg:
		errs = append(errs, requireJSONKey(s, corev1.DockerConfigKey, dp)...)
	case corev1.SecretTypeDockerConfigJson:
		errs = append(errs, requireJSONKey(s, corev1.DockerConfigJsonKey, dp)...)
	case corev1.SecretTypeBasicAuth:
		_, u := s.Data[corev1.BasicAuthUsernameKey]
		_, pw := s.Data[corev1.BasicAuthPasswordKey]
		if !u && !pw {
			errs = append(errs, field.Required(dp.Key(corev1.BasicAuthUsernameKey), ""))
			errs = append(errs, field.Required(dp.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(dp.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		if _, ok := s.Data[corev1.TLSCertKey]; !ok {
			errs = append(errs, field.Required(dp.Key(corev1.TLSCertKey), ""))
		}
		if _, ok := s.Data[corev1.TLSPrivateKeyKey]; !ok {
			errs = append(errs, field.Required(dp.Key(corev1.TLSPrivateKeyKey), ""))
		}
	default:
		errs = append(errs, qualifiedName(string(s.Type), field.NewPath("type"))...)
	}
	return errs
}

func requireJSONKey(s *corev1.Secret, key string, dp *field.Path) field.ErrorList {
	v, ok := s.Data[key]
	if !ok {
		return field.ErrorList{field.Required(dp.Key(key), "")}
	}
	if err := json.Unmarshal(v, &map[string]any{}); err != nil {
		return field.ErrorList{field.Invalid(dp.Key(key), "<secret contents redacted>", err.Error())}
	}
	return nil
}

func validateSecretUpdate(s, old *corev1.Secret) field.ErrorList {
	errs := validateMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, immutable(s.Type, old.Type, field.NewPath("type"))...)
	if old.Immutable != nil && *old.Immutable {
		if s.Immutable == nil || !*s.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !equalBytesMaps(s.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
	}
	return append(errs, validateSecretData(s)...)
}

func equalStringMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

func equalBytesMaps(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || string(v) != string(w) {
			return false
		}
	}
	return true
}

// ServiceAccount.

func validateServiceAccount(sa *corev1.ServiceAccount) field.ErrorList {
	errs := validateMeta(&sa.ObjectMeta, apimachineryvalidation.ValidateServiceAccountName)
	return append(errs, validateServiceAccountBody(sa)...)
}

func validateServiceAccountBody(sa *corev1.ServiceAccount) field.ErrorList {
	var errs field.ErrorList
	for i, s := range sa.Secrets {
		if s.Name == "" {
			errs = append(errs, field.Required(field.NewPath("secrets").Index(i).Child("name"), ""))
		}
	}
	for i, s := range sa.ImagePullSecrets {
		if s.Name == "" {
			errs = append(errs, field.Required(field.NewPath("imagePullSecrets").Index(i).Child("name"), ""))
		}
	}
	return errs
}

// Event (core/v1).

const (
	eventReasonMaxLength  = 128
	eventActionMaxLength  = 128
	eventNoteMaxLength    = 1024
	reportingInstanceMaxL = 128
)

func validateEvent(e *corev1.Event) field.ErrorList {
	errs := validateMeta(&e.ObjectMeta, nameSubdomain)
	return append(errs, validateEventBody(e)...)
}

func validateEventBody(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	// An event about a namespaced object lives in that object's namespace;
	// one about a cluster-scoped object lives in "default" (or nowhere).
	inp := field.NewPath("involvedObject", "namespace")
	if e.InvolvedObject.Namespace == "" {
		if e.Namespace != "" && e.Namespace != "default" {
			errs = append(errs, field.Invalid(inp, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
	} else if e.Namespace != e.InvolvedObject.Namespace {
		errs = append(errs, field.Invalid(inp, e.InvolvedObject.Namespace, "does not match event.namespace"))
	}
	if len(e.Reason) > eventReasonMaxLength {
		errs = append(errs, field.TooLong(field.NewPath("reason"), "", eventReasonMaxLength))
	}
	if len(e.Action) > eventActionMaxLength {
		errs = append(errs, field.TooLong(field.NewPath("action"), "", eventActionMaxLength))
	}
	if e.ReportingController != "" {
		errs = append(errs, qualifiedName(e.ReportingController, field.NewPath("reportingController"))...)
	}
	if len(e.ReportingInstance) > reportingInstanceMaxL {
		errs = append(errs, field.TooLong(field.NewPath("reportingInstance"), "", reportingInstanceMaxL))
	}
	// New-style events (eventTime set, as events.k8s.io clients write them)
	// must say who reported what; legacy events may carry long messages.
	if !e.EventTime.IsZero() {
		if e.ReportingController == "" {
			errs = append(errs, field.Required(field.NewPath("reportingController"), ""))
		}
		if e.ReportingInstance == "" {
			errs = append(errs, field.Required(field.NewPath("reportingInstance"), ""))
		}
		if e.Action == "" {
			errs = append(errs, field.Required(field.NewPath("action"), ""))
		}
		if e.Reason == "" {
			errs = append(errs, field.Required(field.NewPath("reason"), ""))
		}
		if len(e.Message) > eventNoteMaxLength {
			errs = append(errs, field.TooLong(field.NewPath("message"), "", eventNoteMaxLength))
		}
	}
	if e.Type != "" && e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), e.Type, fmt.Sprintf("has invalid value: %v", e.Type)))
	}
	return errs
}

func validateEventUpdate(e, old *corev1.Event) field.ErrorList {
	errs := validateMetaUpdate(&e.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateEventBody(e)...)
	errs = append(errs, immutable(e.InvolvedObject, old.InvolvedObject, field.NewPath("involvedObject"))...)
	errs = append(errs, immutable(e.Reason, old.Reason, field.NewPath("reason"))...)
	errs = append(errs, immutable(e.Source, old.Source, field.NewPath("source"))...)
	return errs
}

// LimitRange and ResourceQuota.

func validateLimitRange(lr *corev1.LimitRange) field.ErrorList {
	errs := validateMeta(&lr.ObjectMeta, nameSubdomain)
	return append(errs, validateLimitRangeSpec(&lr.Spec)...)
}

func validateLimitRangeSpec(spec *corev1.LimitRangeSpec) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.LimitType]bool{}
	for i, l := range spec.Limits {
		p := field.NewPath("spec", "limits").Index(i)
		if seen[l.Type] {
			errs = append(errs, field.Duplicate(p.Child("type"), l.Type))
		}
		seen[l.Type] = true
		for _, rl := range []struct {
			name string
			list corev1.ResourceList
		}{{"max", l.Max}, {"min", l.Min}, {"default", l.Default}, {"defaultRequest", l.DefaultRequest}, {"maxLimitRequestRatio", l.MaxLimitRequestRatio}} {
			errs = append(errs, validateResourceList(rl.list, p.Child(rl.name))...)
		}
		for k, min := range l.Min {
			if max, ok := l.Max[k]; ok && min.Cmp(max) > 0 {
				errs = append(errs, field.Invalid(p.Child("min").Key(string(k)), min.String(), fmt.Sprintf("min value %s is greater than max value %s", min.String(), max.String())))
			}
		}
		for k, d := range l.DefaultRequest {
			if max, ok := l.Max[k]; ok && d.Cmp(max) > 0 {
				errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(string(k)), d.String(), fmt.Sprintf("default request value %s is greater than max value %s", d.String(), max.String())))
			}
			if def, ok := l.Default[k]; ok && d.Cmp(def) > 0 {
				errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(string(k)), d.String(), fmt.Sprintf("default request value %s is greater than default limit value %s", d.String(), def.String())))
			}
		}
		if l.Type == corev1.LimitTypePod && (len(l.Default) > 0 || len(l.DefaultRequest) > 0) {
			errs = append(errs, field.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'"))
		}
	}
	return errs
}

var quotaScopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity, corev1.ResourceQuotaScopeVolumeAttributesClass}

func validateResourceQuota(q *corev1.ResourceQuota) field.ErrorList {
	errs := validateMeta(&q.ObjectMeta, nameSubdomain)
	return append(errs, validateResourceQuotaSpec(&q.Spec)...)
}

func validateResourceQuotaSpec(spec *corev1.ResourceQuotaSpec) field.ErrorList {
	p := field.NewPath("spec")
	errs := validateQuotaList(spec.Hard, p.Child("hard"))
	for i, s := range spec.Scopes {
		errs = append(errs, oneOf(s, p.Child("scopes").Index(i), true, quotaScopes...)...)
	}
	if spec.ScopeSelector != nil {
		for i, r := range spec.ScopeSelector.MatchExpressions {
			rp := p.Child("scopeSelector", "matchExpressions").Index(i)
			errs = append(errs, oneOf(r.ScopeName, rp.Child("scopeName"), true, quotaScopes...)...)
			errs = append(errs, oneOf(r.Operator, rp.Child("operator"), true, corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn, corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist)...)
		}
	}
	return errs
}

// validateQuotaList: quota keys may be object counts ("count/pods") and
// "requests."/"limits." prefixed names, so only qualified-name syntax and
// non-negative values are checked.
func validateQuotaList(rl corev1.ResourceList, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k, q := range rl {
		kp := p.Key(string(k))
		errs = append(errs, qualifiedName(string(k), kp)...)
		errs = append(errs, nonNegativeQuantity(q, kp)...)
	}
	return errs
}

func validateResourceQuotaUpdate(q, old *corev1.ResourceQuota) field.ErrorList {
	errs := validateMetaUpdate(&q.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateResourceQuotaSpec(&q.Spec)...)
	errs = append(errs, immutable(q.Spec.Scopes, old.Spec.Scopes, field.NewPath("spec", "scopes"))...)
	return errs
}

// PersistentVolume and PersistentVolumeClaim.

var accessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod}

func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, p *field.Path) field.ErrorList {
	if len(modes) == 0 {
		return field.ErrorList{field.Required(p, "at least 1 access mode is required")}
	}
	var errs field.ErrorList
	for _, m := range modes {
		errs = append(errs, oneOf(m, p, true, accessModes...)...)
	}
	if len(modes) > 1 {
		for _, m := range modes {
			if m == corev1.ReadWriteOncePod {
				errs = append(errs, field.Forbidden(p, fmt.Sprintf("may not use %s with other access modes", corev1.ReadWriteOncePod)))
			}
		}
	}
	return errs
}

func validatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	errs := validateMeta(&pv.ObjectMeta, namePathSegment)
	return append(errs, validatePVSpec(&pv.Spec, field.NewPath("spec"))...)
}

func validatePVSpec(spec *corev1.PersistentVolumeSpec, p *field.Path) field.ErrorList {
	errs := validateAccessModes(spec.AccessModes, p.Child("accessModes"))
	if len(spec.Capacity) == 0 {
		errs = append(errs, field.Required(p.Child("capacity"), ""))
	} else if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		errs = append(errs, field.NotSupported(p.Child("capacity"), keys(spec.Capacity), []corev1.ResourceName{corev1.ResourceStorage}))
	}
	errs = append(errs, validateResourceList(spec.Capacity, p.Child("capacity"))...)
	errs = append(errs, oneOf(spec.PersistentVolumeReclaimPolicy, p.Child("persistentVolumeReclaimPolicy"), false,
		corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain)...)
	if spec.StorageClassName != "" {
		errs = append(errs, dnsSubdomain(spec.StorageClassName, p.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil {
		errs = append(errs, oneOf(*spec.VolumeMode, p.Child("volumeMode"), false, corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem)...)
	}
	if spec.NodeAffinity != nil && spec.NodeAffinity.Required != nil {
		errs = append(errs, validateNodeSelector(spec.NodeAffinity.Required, p.Child("nodeAffinity", "required"))...)
	}
	n := 0
	s := &spec.PersistentVolumeSource
	for _, set := range []bool{s.HostPath != nil, s.NFS != nil, s.CSI != nil, s.Local != nil, s.ISCSI != nil, s.FC != nil,
		s.GCEPersistentDisk != nil, s.AWSElasticBlockStore != nil, s.Glusterfs != nil, s.RBD != nil, s.Cinder != nil,
		s.CephFS != nil, s.Flocker != nil, s.FlexVolume != nil, s.AzureFile != nil, s.VsphereVolume != nil, s.Quobyte != nil,
		s.AzureDisk != nil, s.PhotonPersistentDisk != nil, s.PortworxVolume != nil, s.ScaleIO != nil, s.StorageOS != nil} {
		if set {
			n++
		}
	}
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a volume type"))
	} else if n > 1 {
		errs = append(errs, field.Forbidden(p, "may not specify more than 1 volume type"))
	}
	if s.HostPath != nil && s.HostPath.Path == "" {
		errs = append(errs, field.Required(p.Child("hostPath", "path"), ""))
	}
	if s.Local != nil {
		if s.Local.Path == "" {
			errs = append(errs, field.Required(p.Child("local", "path"), ""))
		}
		if spec.NodeAffinity == nil {
			errs = append(errs, field.Required(p.Child("nodeAffinity"), "Local volume requires node affinity"))
		}
	}
	if s.NFS != nil && s.NFS.Server == "" {
		errs = append(errs, field.Required(p.Child("nfs", "server"), ""))
	}
	if s.CSI != nil {
		if s.CSI.Driver == "" {
			errs = append(errs, field.Required(p.Child("csi", "driver"), ""))
		}
		if s.CSI.VolumeHandle == "" {
			errs = append(errs, field.Required(p.Child("csi", "volumeHandle"), ""))
		}
	}
	return errs
}

func keys(rl corev1.ResourceList) []string {
	out := make([]string, 0, len(rl))
	for k := range rl {
		out = append(out, string(k))
	}
	return out
}

func validatePersistentVolumeUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	errs := validateMetaUpdate(&pv.ObjectMeta, &old.ObjectMeta)
	p := field.NewPath("spec")
	errs = append(errs, validatePVSpec(&pv.Spec, p)...)
	errs = append(errs, immutable(pv.Spec.PersistentVolumeSource, old.Spec.PersistentVolumeSource, p.Child("persistentvolumesource"))...)
	errs = append(errs, immutable(pv.Spec.VolumeMode, old.Spec.VolumeMode, p.Child("volumeMode"))...)
	if old.Spec.NodeAffinity != nil {
		errs = append(errs, immutable(pv.Spec.NodeAffinity, old.Spec.NodeAffinity, p.Child("nodeAffinity"))...)
	}
	return errs
}

func validatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := validateMeta(&pvc.ObjectMeta, nameSubdomain)
	return append(errs, validatePVCSpec(&pvc.Spec, field.NewPath("spec"))...)
}

func validatePVCSpec(spec *corev1.PersistentVolumeClaimSpec, p *field.Path) field.ErrorList {
	errs := validateAccessModes(spec.AccessModes, p.Child("accessModes"))
	errs = append(errs, labelSelector(spec.Selector, p.Child("selector"))...)
	storage, ok := spec.Resources.Requests[corev1.ResourceStorage]
	rp := p.Child("resources", "requests").Key(string(corev1.ResourceStorage))
	if !ok && spec.DataSource == nil && spec.DataSourceRef == nil {
		errs = append(errs, field.Required(rp, ""))
	} else if ok {
		if storage.Sign() <= 0 {
			errs = append(errs, field.Invalid(rp, storage.String(), isNotPositiveErrorMsg))
		}
	}
	errs = append(errs, validateResourceList(spec.Resources.Requests, p.Child("resources", "requests"))...)
	errs = append(errs, validateResourceList(spec.Resources.Limits, p.Child("resources", "limits"))...)
	if spec.StorageClassName != nil && *spec.StorageClassName != "" {
		errs = append(errs, dnsSubdomain(*spec.StorageClassName, p.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil {
		errs = append(errs, oneOf(*spec.VolumeMode, p.Child("volumeMode"), false, corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem)...)
	}
	if d := spec.DataSource; d != nil {
		if d.Name == "" {
			errs = append(errs, field.Required(p.Child("dataSource", "name"), ""))
		}
		if d.Kind == "" {
			errs = append(errs, field.Required(p.Child("dataSource", "kind"), ""))
		}
	}
	return errs
}

func validatePersistentVolumeClaimUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := validateMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta)
	p := field.NewPath("spec")
	errs = append(errs, validatePVCSpec(&pvc.Spec, p)...)
	// Everything but the storage request (expansion) and a first binding
	// (volumeName) is immutable once the claim exists.
	oldSpec := old.Spec.DeepCopy()
	newSpec := pvc.Spec.DeepCopy()
	oldSpec.Resources = newSpec.Resources
	if old.Spec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	oldSpec.VolumeAttributesClassName = newSpec.VolumeAttributesClassName
	if !equalJSON(oldSpec, newSpec) {
		errs = append(errs, field.Forbidden(p, "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
	}
	if oldStorage, ok := old.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		if newStorage, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok && newStorage.Cmp(oldStorage) < 0 && old.Status.Phase == corev1.ClaimBound {
			errs = append(errs, field.Forbidden(p.Child("resources", "requests", "storage"), "field can not be less than status.capacity"))
		}
	}
	return errs
}

// equalJSON compares two API values by their JSON form, which ignores
// quantity formatting differences.
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// ReplicationController and PodTemplate.

func validatePodTemplate(t *corev1.PodTemplate) field.ErrorList {
	errs := validateMeta(&t.ObjectMeta, nameSubdomain)
	return append(errs, validatePodTemplateSpec(&t.Template, field.NewPath("template"), podOpts{})...)
}

func validateReplicationController(rc *corev1.ReplicationController) field.ErrorList {
	errs := validateMeta(&rc.ObjectMeta, nameSubdomain)
	return append(errs, validateRCSpec(&rc.Spec, field.NewPath("spec"))...)
}

func validateRCSpec(spec *corev1.ReplicationControllerSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	errs = append(errs, nonNegative32(spec.Replicas, p.Child("replicas"))...)
	if len(spec.Selector) == 0 {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		errs = append(errs, labels(spec.Selector, p.Child("selector"))...)
	}
	tp := p.Child("template")
	if spec.Template == nil {
		return append(errs, field.Required(tp, ""))
	}
	if len(spec.Selector) > 0 && !selectorMatchesLabels(spec.Selector, spec.Template.Labels) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, validatePodTemplateSpec(spec.Template, tp, podOpts{})...)
	errs = append(errs, validateTemplateRestartPolicy(spec.Template.Spec.RestartPolicy, tp.Child("spec", "restartPolicy"), corev1.RestartPolicyAlways)...)
	if spec.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(tp.Child("spec", "activeDeadlineSeconds"), *spec.Template.Spec.ActiveDeadlineSeconds, "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}

func selectorMatchesLabels(sel, lbls map[string]string) bool {
	for k, v := range sel {
		if w, ok := lbls[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// validateTemplateRestartPolicy restricts a controller template's
// restartPolicy to the allowed values.
func validateTemplateRestartPolicy(rp corev1.RestartPolicy, p *field.Path, allowed ...corev1.RestartPolicy) field.ErrorList {
	for _, a := range allowed {
		if rp == a {
			return nil
		}
	}
	if rp == "" {
		return nil // reported as Required by the pod spec check
	}
	return field.ErrorList{field.NotSupported(p, rp, allowed)}
}

func validateReplicationControllerUpdate(rc, old *corev1.ReplicationController) field.ErrorList {
	errs := validateMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateRCSpec(&rc.Spec, field.NewPath("spec"))...)
}

// validateReplicaCounts checks a controller status' counters.
func validateReplicaCounts(replicas, fullyLabeled, ready, available int32, observedGeneration int64, p *field.Path) field.ErrorList {
	errs := nonNegative(int64(replicas), p.Child("replicas"))
	errs = append(errs, nonNegative(int64(fullyLabeled), p.Child("fullyLabeledReplicas"))...)
	errs = append(errs, nonNegative(int64(ready), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(available), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(observedGeneration, p.Child("observedGeneration"))...)
	if fullyLabeled > replicas {
		errs = append(errs, field.Invalid(p.Child("fullyLabeledReplicas"), fullyLabeled, "cannot be greater than status.replicas"))
	}
	if ready > replicas {
		errs = append(errs, field.Invalid(p.Child("readyReplicas"), ready, "cannot be greater than status.replicas"))
	}
	if available > replicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), available, "cannot be greater than status.replicas"))
	}
	if available > ready {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), available, "cannot be greater than readyReplicas"))
	}
	return errs
}
