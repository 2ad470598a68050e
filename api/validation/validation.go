// Package validation checks built-in objects before they are written, with
// upstream Kubernetes' rules, field paths and messages: the REST layer turns
// a non-empty list into a 422 metav1.Status with apierrors.NewInvalid.
//
// Objects are the external k8s.io/api types, already defaulted. Namespace
// presence by scope is the REST layer's check and is not repeated here.
package validation

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// nameFunc checks a name (prefix: a generateName that gets a suffix).
type nameFunc = apimachineryvalidation.ValidateNameFunc

// Name rules, as upstream applies them per kind.
var (
	nameSubdomain   nameFunc = apimachineryvalidation.NameIsDNSSubdomain
	nameLabel       nameFunc = apimachineryvalidation.NameIsDNSLabel
	name1035Label   nameFunc = apimachineryvalidation.NameIsDNS1035Label
	namePathSegment nameFunc = path.ValidatePathSegmentName
)

var metaPath = field.NewPath("metadata")

// ValidateCreate validates an object about to be created (already defaulted).
// Kinds without specific rules get ObjectMeta validation with the
// DNS-1123 subdomain name rule.
func ValidateCreate(obj runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	// core/v1
	case *corev1.Pod:
		return validatePod(o)
	case *corev1.Service:
		return validateService(o)
	case *corev1.Endpoints:
		return validateEndpoints(o)
	case *corev1.Node:
		return validateNode(o)
	case *corev1.Namespace:
		return validateNamespace(o)
	case *corev1.ConfigMap:
		return validateConfigMap(o)
	case *corev1.Secret:
		return validateSecret(o)
	case *corev1.ServiceAccount:
		return validateServiceAccount(o)
	case *corev1.Event:
		return validateEvent(o)
	case *corev1.LimitRange:
		return validateLimitRange(o)
	case *corev1.ResourceQuota:
		return validateResourceQuota(o)
	case *corev1.PersistentVolume:
		return validatePersistentVolume(o)
	case *corev1.PersistentVolumeClaim:
		return validatePersistentVolumeClaim(o)
	case *corev1.ReplicationController:
		return validateReplicationController(o)
	case *corev1.PodTemplate:
		return validatePodTemplate(o)
	case *corev1.Binding:
		return validateBinding(o)
	// apps/v1
	case *appsv1.Deployment:
		return validateDeployment(o)
	case *appsv1.ReplicaSet:
		return validateReplicaSet(o)
	case *appsv1.StatefulSet:
		return validateStatefulSet(o)
	case *appsv1.DaemonSet:
		return validateDaemonSet(o)
	case *appsv1.ControllerRevision:
		return validateControllerRevision(o)
	// batch/v1
	case *batchv1.Job:
		return validateJob(o)
	case *batchv1.CronJob:
		return validateCronJob(o)
	// autoscaling
	case *autoscalingv2.HorizontalPodAutoscaler:
		return validateHPA(o)
	case *autoscalingv1.HorizontalPodAutoscaler:
		return validateHPAv1(o)
	// discovery, coordination
	case *discoveryv1.EndpointSlice:
		return validateEndpointSlice(o)
	case *coordinationv1.Lease:
		return validateLease(o)
	// rbac
	case *rbacv1.Role:
		return validateRole(o)
	case *rbacv1.ClusterRole:
		return validateClusterRole(o)
	case *rbacv1.RoleBinding:
		return validateRoleBinding(o)
	case *rbacv1.ClusterRoleBinding:
		return validateClusterRoleBinding(o)
	// events.k8s.io
	case *eventsv1.Event:
		return validateEventsV1(o)
	// policy
	case *policyv1.PodDisruptionBudget:
		return validatePDB(o)
	// networking
	case *networkingv1.NetworkPolicy:
		return validateNetworkPolicy(o)
	case *networkingv1.Ingress:
		return validateIngress(o)
	case *networkingv1.IngressClass:
		return validateIngressClass(o)
	case *networkingv1.IPAddress:
		return validateIPAddress(o)
	case *networkingv1.ServiceCIDR:
		return validateServiceCIDR(o)
	// storage
	case *storagev1.StorageClass:
		return validateStorageClass(o)
	case *storagev1.VolumeAttachment:
		return validateVolumeAttachment(o)
	case *storagev1.CSIDriver:
		return validateCSIDriver(o)
	// scheduling, node
	case *schedulingv1.PriorityClass:
		return validatePriorityClass(o)
	case *nodev1.RuntimeClass:
		return validateRuntimeClass(o)
	// certificates, admissionregistration: metadata only for now.
	case *certificatesv1.CertificateSigningRequest:
		return validateMeta(&o.ObjectMeta, nameSubdomain)
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		return validateMeta(&o.ObjectMeta, nameSubdomain)
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		return validateMeta(&o.ObjectMeta, nameSubdomain)
	}
	return validateGenericMeta(obj)
}

// ValidateUpdate validates an update: obj is the new object, old the stored
// one (both defaulted). It includes the ObjectMeta update rules and each
// kind's immutable fields. Objects of different types are a programming
// error and are reported as an internal error.
func ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Pod:
		if p, ok := old.(*corev1.Pod); ok {
			return validatePodUpdate(o, p)
		}
	case *corev1.Service:
		if p, ok := old.(*corev1.Service); ok {
			return validateServiceUpdate(o, p)
		}
	case *corev1.Endpoints:
		if p, ok := old.(*corev1.Endpoints); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateEndpointsSubsets(o.Subsets)...)
		}
	case *corev1.Node:
		if p, ok := old.(*corev1.Node); ok {
			return validateNodeUpdate(o, p)
		}
	case *corev1.Namespace:
		if p, ok := old.(*corev1.Namespace); ok {
			return validateNamespaceUpdate(o, p)
		}
	case *corev1.ConfigMap:
		if p, ok := old.(*corev1.ConfigMap); ok {
			return validateConfigMapUpdate(o, p)
		}
	case *corev1.Secret:
		if p, ok := old.(*corev1.Secret); ok {
			return validateSecretUpdate(o, p)
		}
	case *corev1.ServiceAccount:
		if p, ok := old.(*corev1.ServiceAccount); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateServiceAccountBody(o)...)
		}
	case *corev1.Event:
		if p, ok := old.(*corev1.Event); ok {
			return validateEventUpdate(o, p)
		}
	case *corev1.LimitRange:
		if p, ok := old.(*corev1.LimitRange); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateLimitRangeSpec(&o.Spec)...)
		}
	case *corev1.ResourceQuota:
		if p, ok := old.(*corev1.ResourceQuota); ok {
			return validateResourceQuotaUpdate(o, p)
		}
	case *corev1.PersistentVolume:
		if p, ok := old.(*corev1.PersistentVolume); ok {
			return validatePersistentVolumeUpdate(o, p)
		}
	case *corev1.PersistentVolumeClaim:
		if p, ok := old.(*corev1.PersistentVolumeClaim); ok {
			return validatePersistentVolumeClaimUpdate(o, p)
		}
	case *corev1.ReplicationController:
		if p, ok := old.(*corev1.ReplicationController); ok {
			return validateReplicationControllerUpdate(o, p)
		}
	case *corev1.PodTemplate:
		if p, ok := old.(*corev1.PodTemplate); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validatePodTemplateSpec(&o.Template, field.NewPath("template"), podOpts{})...)
		}
	case *appsv1.Deployment:
		if p, ok := old.(*appsv1.Deployment); ok {
			return validateDeploymentUpdate(o, p)
		}
	case *appsv1.ReplicaSet:
		if p, ok := old.(*appsv1.ReplicaSet); ok {
			return validateReplicaSetUpdate(o, p)
		}
	case *appsv1.StatefulSet:
		if p, ok := old.(*appsv1.StatefulSet); ok {
			return validateStatefulSetUpdate(o, p)
		}
	case *appsv1.DaemonSet:
		if p, ok := old.(*appsv1.DaemonSet); ok {
			return validateDaemonSetUpdate(o, p)
		}
	case *appsv1.ControllerRevision:
		if p, ok := old.(*appsv1.ControllerRevision); ok {
			return validateControllerRevisionUpdate(o, p)
		}
	case *batchv1.Job:
		if p, ok := old.(*batchv1.Job); ok {
			return validateJobUpdate(o, p)
		}
	case *batchv1.CronJob:
		if p, ok := old.(*batchv1.CronJob); ok {
			return validateCronJobUpdate(o, p)
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if p, ok := old.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateHPASpec(&o.Spec, field.NewPath("spec"))...)
		}
	case *autoscalingv1.HorizontalPodAutoscaler:
		if p, ok := old.(*autoscalingv1.HorizontalPodAutoscaler); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateHPAv1Spec(&o.Spec, field.NewPath("spec"))...)
		}
	case *discoveryv1.EndpointSlice:
		if p, ok := old.(*discoveryv1.EndpointSlice); ok {
			return validateEndpointSliceUpdate(o, p)
		}
	case *coordinationv1.Lease:
		if p, ok := old.(*coordinationv1.Lease); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateLeaseSpec(&o.Spec, field.NewPath("spec"))...)
		}
	case *rbacv1.Role:
		if p, ok := old.(*rbacv1.Role); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validatePolicyRules(o.Rules, false)...)
		}
	case *rbacv1.ClusterRole:
		if p, ok := old.(*rbacv1.ClusterRole); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateClusterRoleBody(o)...)
		}
	case *rbacv1.RoleBinding:
		if p, ok := old.(*rbacv1.RoleBinding); ok {
			return validateRoleBindingUpdate(o, p)
		}
	case *rbacv1.ClusterRoleBinding:
		if p, ok := old.(*rbacv1.ClusterRoleBinding); ok {
			return validateClusterRoleBindingUpdate(o, p)
		}
	case *eventsv1.Event:
		if p, ok := old.(*eventsv1.Event); ok {
			return validateEventsV1Update(o, p)
		}
	case *policyv1.PodDisruptionBudget:
		if p, ok := old.(*policyv1.PodDisruptionBudget); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validatePDBSpec(&o.Spec, field.NewPath("spec"))...)
		}
	case *networkingv1.NetworkPolicy:
		if p, ok := old.(*networkingv1.NetworkPolicy); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateNetworkPolicySpec(&o.Spec, field.NewPath("spec"))...)
		}
	case *networkingv1.Ingress:
		if p, ok := old.(*networkingv1.Ingress); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateIngressSpec(&o.Spec, field.NewPath("spec"))...)
		}
	case *networkingv1.IngressClass:
		if p, ok := old.(*networkingv1.IngressClass); ok {
			return validateIngressClassUpdate(o, p)
		}
	case *networkingv1.IPAddress:
		if p, ok := old.(*networkingv1.IPAddress); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta),
				apimachineryvalidation.ValidateImmutableField(o.Spec.ParentRef, p.Spec.ParentRef, field.NewPath("spec", "parentRef"))...)
		}
	case *networkingv1.ServiceCIDR:
		if p, ok := old.(*networkingv1.ServiceCIDR); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta),
				apimachineryvalidation.ValidateImmutableField(o.Spec.CIDRs, p.Spec.CIDRs, field.NewPath("spec", "cidrs"))...)
		}
	case *storagev1.StorageClass:
		if p, ok := old.(*storagev1.StorageClass); ok {
			return validateStorageClassUpdate(o, p)
		}
	case *storagev1.VolumeAttachment:
		if p, ok := old.(*storagev1.VolumeAttachment); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta),
				apimachineryvalidation.ValidateImmutableField(o.Spec, p.Spec, field.NewPath("spec"))...)
		}
	case *schedulingv1.PriorityClass:
		if p, ok := old.(*schedulingv1.PriorityClass); ok {
			return validatePriorityClassUpdate(o, p)
		}
	case *nodev1.RuntimeClass:
		if p, ok := old.(*nodev1.RuntimeClass); ok {
			return validateRuntimeClassUpdate(o, p)
		}
	default:
		return validateGenericMetaUpdate(obj, old)
	}
	return field.ErrorList{field.InternalError(nil, errTypeMismatch(obj, old))}
}

// ValidateStatusUpdate validates a write to the status subresource: the
// ObjectMeta update rules plus the kind's status rules. Spec changes are
// dropped by the REST layer's status strategy before this is called.
func ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Pod:
		if p, ok := old.(*corev1.Pod); ok {
			return validatePodStatusUpdate(o, p)
		}
	case *corev1.Service:
		if p, ok := old.(*corev1.Service); ok {
			return validateServiceStatusUpdate(o, p)
		}
	case *corev1.Node:
		if p, ok := old.(*corev1.Node); ok {
			return validateNodeStatusUpdate(o, p)
		}
	case *corev1.Namespace:
		if p, ok := old.(*corev1.Namespace); ok {
			return validateNamespaceStatusUpdate(o, p)
		}
	case *corev1.ReplicationController:
		if p, ok := old.(*corev1.ReplicationController); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateReplicaCounts(o.Status.Replicas, o.Status.FullyLabeledReplicas, o.Status.ReadyReplicas, o.Status.AvailableReplicas, o.Status.ObservedGeneration, field.NewPath("status"))...)
		}
	case *appsv1.Deployment:
		if p, ok := old.(*appsv1.Deployment); ok {
			return validateDeploymentStatusUpdate(o, p)
		}
	case *appsv1.ReplicaSet:
		if p, ok := old.(*appsv1.ReplicaSet); ok {
			return append(validateMetaUpdate(&o.ObjectMeta, &p.ObjectMeta), validateReplicaCounts(o.Status.Replicas, o.Status.FullyLabeledReplicas, o.Status.ReadyReplicas, o.Status.AvailableReplicas, o.Status.ObservedGeneration, field.NewPath("status"))...)
		}
	case *appsv1.StatefulSet:
		if p, ok := old.(*appsv1.StatefulSet); ok {
			return validateStatefulSetStatusUpdate(o, p)
		}
	case *appsv1.DaemonSet:
		if p, ok := old.(*appsv1.DaemonSet); ok {
			return validateDaemonSetStatusUpdate(o, p)
		}
	case *batchv1.Job:
		if p, ok := old.(*batchv1.Job); ok {
			return validateJobStatusUpdate(o, p)
		}
	default:
		return validateGenericMetaUpdate(obj, old)
	}
	return field.ErrorList{field.InternalError(nil, errTypeMismatch(obj, old))}
}

// validateMeta validates metadata on create with the kind's name rule. The
// namespace name is checked when present; whether it must be present is the
// REST layer's concern.
func validateMeta(m *metav1.ObjectMeta, nameFn nameFunc) field.ErrorList {
	return apimachineryvalidation.ValidateObjectMeta(m, m.Namespace != "", nameFn, metaPath)
}

// validateMetaUpdate applies upstream's ObjectMeta update rules (immutable
// name, namespace, uid, creationTimestamp; resourceVersion required; labels,
// annotations, owner references valid).
func validateMetaUpdate(m, old *metav1.ObjectMeta) field.ErrorList {
	return apimachineryvalidation.ValidateObjectMetaUpdate(m, old, metaPath)
}

func validateGenericMeta(obj runtime.Object) field.ErrorList {
	m, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(metaPath, err)}
	}
	return apimachineryvalidation.ValidateObjectMetaAccessor(m, m.GetNamespace() != "", nameSubdomain, metaPath)
}

func validateGenericMetaUpdate(obj, old runtime.Object) field.ErrorList {
	m, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(metaPath, err)}
	}
	o, err := meta.Accessor(old)
	if err != nil {
		return field.ErrorList{field.InternalError(metaPath, err)}
	}
	return apimachineryvalidation.ValidateObjectMetaAccessorUpdate(m, o, metaPath)
}
