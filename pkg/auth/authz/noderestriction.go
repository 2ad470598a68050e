package authz

import (
	"fmt"
	"sort"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kstack/kstack/pkg/auth"
)

// MirrorPodAnnotation marks the API copy of a kubelet's static pod.
const MirrorPodAnnotation = "kubernetes.io/config.mirror"

// NodeRestriction is upstream's NodeRestriction admission check for
// kubelets (it returns nil for every other user). attrs.Verb is the
// operation: create, update, patch or delete. What obj and old must hold:
//
//   - pods create: obj the new *corev1.Pod (only mirror pods bound to the
//     node, owned by nothing but its Node, referencing no secrets, config
//     maps, claims or service account);
//   - pods delete: old the existing pod (must be bound to the node);
//   - pods/status update or patch: obj the new, old the existing pod (bound
//     to the node; labels and resource claim statuses unchanged);
//   - pods/eviction create: old the pod being evicted (bound to the node);
//   - nodes: obj the new and old the existing *corev1.Node (only its own;
//     labels within the kubelet set, taints and owner references unchanged);
//   - persistentvolumeclaims/status: obj new, old existing (only
//     status.capacity and status.conditions change);
//   - serviceaccounts/token create: obj the *authenticationv1.TokenRequest,
//     old the *corev1.Pod its boundObjectRef names, or nil when there is
//     none or it does not exist (the token must be bound to a pod on the
//     node);
//   - leases: obj the *coordinationv1.Lease on create (only
//     kube-node-lease/<node>);
//   - csinodes: obj on create (only its own).
//
// Refusals are Forbidden API statuses with upstream's messages.
func NodeRestriction(u *auth.User, attrs auth.Attributes, obj, old runtime.Object) error {
	node, isNode := NodeName(u)
	if !isNode {
		return nil
	}
	forbid := func(format string, args ...any) error {
		return apierrors.NewForbidden(schema.GroupResource{Group: attrs.APIGroup, Resource: attrs.Resource}, nameOf(attrs, obj), fmt.Errorf(format, args...))
	}
	if node == "" {
		return forbid("could not determine node from user %q", u.Name)
	}
	switch attrs.APIGroup + "/" + attrs.Resource {
	case "/pods":
		switch attrs.Subresource {
		case "":
			return admitPod(node, attrs, obj, old, forbid)
		case "status":
			return admitPodStatus(node, obj, old, forbid)
		case "eviction":
			pod, ok := old.(*corev1.Pod)
			if !ok {
				return forbid("could not determine pod from request data")
			}
			if pod.Spec.NodeName != node {
				return forbid("node %s can only evict pods with spec.nodeName set to itself", node)
			}
			return nil
		default:
			return forbid("unexpected pod subresource %q, only 'status' and 'eviction' are allowed", attrs.Subresource)
		}
	case "/nodes":
		return admitNode(node, attrs, obj, old, forbid)
	case "/persistentvolumeclaims":
		if attrs.Subresource != "status" {
			return forbid("may only update PVC status")
		}
		return admitPVCStatus(node, obj, old, forbid)
	case "/serviceaccounts":
		if attrs.Subresource != "token" || attrs.Verb != "create" {
			return nil
		}
		tr, ok := obj.(*authenticationv1.TokenRequest)
		if !ok {
			return forbid("unexpected type %T", obj)
		}
		ref := tr.Spec.BoundObjectRef
		if ref == nil || ref.Kind != "Pod" {
			return forbid("node requested token not bound to a pod")
		}
		if ref.UID == "" {
			return forbid("node requested token with a pod binding without a uid")
		}
		pod, ok := old.(*corev1.Pod)
		if !ok || pod == nil {
			return forbid("pods %q not found", ref.Name)
		}
		if ref.UID != pod.UID {
			return forbid("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID)
		}
		if pod.Spec.NodeName != node {
			return forbid("node requested token bound to a pod scheduled on a different node")
		}
		return nil
	case "coordination.k8s.io/leases":
		if attrs.Namespace != NodeLeaseNamespace {
			return forbid("can only access leases in the %q system namespace", NodeLeaseNamespace)
		}
		name := attrs.Name
		if attrs.Verb == "create" {
			l, ok := obj.(*coordinationv1.Lease)
			if !ok {
				return forbid("unexpected type %T", obj)
			}
			name = l.Name
		}
		if name != node {
			return forbid("can only access node lease with the same name as the requesting node")
		}
		return nil
	case "storage.k8s.io/csinodes":
		if nameOf(attrs, obj) != node {
			return forbid("can only access CSINode with the same name as the requesting node")
		}
		return nil
	}
	return nil
}

// nameOf is the request's object name, taken from obj on create.
func nameOf(attrs auth.Attributes, obj runtime.Object) string {
	if attrs.Name != "" || obj == nil {
		return attrs.Name
	}
	if m, err := meta.Accessor(obj); err == nil {
		return m.GetName()
	}
	return ""
}

type forbidFunc func(format string, args ...any) error

func admitPod(node string, attrs auth.Attributes, obj, old runtime.Object, forbid forbidFunc) error {
	switch attrs.Verb {
	case "create":
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return forbid("unexpected type %T", obj)
		}
		if _, mirror := pod.Annotations[MirrorPodAnnotation]; !mirror {
			return forbid("pod does not have %q annotation, node %q can only create mirror pods", MirrorPodAnnotation, node)
		}
		if pod.Spec.NodeName != node {
			return forbid("node %q can only create pods with spec.nodeName set to itself", node)
		}
		if owners := pod.OwnerReferences; len(owners) > 0 {
			if len(owners) > 1 {
				return forbid("node %q can only create pods with a single owner reference set to itself", node)
			}
			o := owners[0]
			if o.APIVersion != "v1" || o.Kind != "Node" || o.Name != node {
				return forbid("node %q can only create pods with an owner reference set to itself", node)
			}
			if o.Controller == nil || !*o.Controller {
				return forbid("node %q can only create pods with a controller owner reference set to itself", node)
			}
			if o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion {
				return forbid("node %q must not set blockOwnerDeletion on an owner reference", node)
			}
		}
		if what := mirrorPodReference(pod); what != "" {
			return forbid("node %q can not create pods that reference %s", node, what)
		}
		return nil
	case "delete":
		pod, ok := old.(*corev1.Pod)
		if !ok {
			return forbid("unexpected type %T", old)
		}
		if pod.Spec.NodeName != node {
			return forbid("node %q can only delete pods with spec.nodeName set to itself", node)
		}
		return nil
	}
	return forbid("unexpected operation %q, node %q can only create and delete mirror pods", operation(attrs.Verb), node)
}

// operation spells a verb as an admission operation.
func operation(verb string) string {
	switch verb {
	case "create":
		return "CREATE"
	case "update", "patch":
		return "UPDATE"
	case "delete", "deletecollection":
		return "DELETE"
	}
	return strings.ToUpper(verb)
}

// mirrorPodReference names the first kind of API object a mirror pod may
// not reference, or "".
func mirrorPodReference(pod *corev1.Pod) string {
	if pod.Spec.ServiceAccountName != "" {
		return "serviceaccounts"
	}
	for _, r := range podRefs(pod) {
		switch r.kind {
		case RefSecret:
			return "secrets"
		case RefConfigMap:
			return "configmaps"
		case RefPersistentVolumeClaim:
			return "persistentvolumeclaims"
		case RefResourceClaim:
			return "resourceclaims"
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil {
				return "serviceaccounts"
			}
			if s.ClusterTrustBundle != nil {
				return "clustertrustbundles"
			}
			if s.PodCertificate != nil {
				return "podcertificates"
			}
		}
	}
	if len(pod.Spec.EphemeralContainers) > 0 {
		return "ephemeral containers"
	}
	return ""
}

func admitPodStatus(node string, obj, old runtime.Object, forbid forbidFunc) error {
	oldPod, ok := old.(*corev1.Pod)
	if !ok {
		return forbid("unexpected type %T", old)
	}
	if oldPod.Spec.NodeName != node {
		return forbid("node %q can only update pod status for pods with spec.nodeName set to itself", node)
	}
	newPod, ok := obj.(*corev1.Pod)
	if !ok {
		return forbid("unexpected type %T", obj)
	}
	if !apiequality.Semantic.DeepEqual(labelsOrNil(newPod.Labels), labelsOrNil(oldPod.Labels)) {
		return forbid("node %q cannot update labels through pod status", node)
	}
	if !apiequality.Semantic.DeepEqual(newPod.Status.ResourceClaimStatuses, oldPod.Status.ResourceClaimStatuses) {
		return forbid("node %q cannot update resource claim statues", node)
	}
	return nil
}

func labelsOrNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func admitPVCStatus(node string, obj, old runtime.Object, forbid forbidFunc) error {
	oldPVC, ok := old.(*corev1.PersistentVolumeClaim)
	if !ok {
		return forbid("unexpected type %T", old)
	}
	newPVC, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok {
		return forbid("unexpected type %T", obj)
	}
	o, n := oldPVC.DeepCopy(), newPVC.DeepCopy()
	for _, p := range []*corev1.PersistentVolumeClaim{o, n} {
		p.ResourceVersion = ""
		p.ManagedFields = nil
		p.Status.Capacity = nil
		p.Status.Conditions = nil
		p.Status.AllocatedResources = nil
		p.Status.AllocatedResourceStatuses = nil
	}
	if !apiequality.Semantic.DeepEqual(o, n) {
		return forbid("node %q is not allowed to update fields other than status.quantity and status.conditions", node)
	}
	return nil
}

func admitNode(node string, attrs auth.Attributes, obj, old runtime.Object, forbid forbidFunc) error {
	if name := nameOf(attrs, obj); name != node {
		return forbid("node %q is not allowed to modify node %q", node, name)
	}
	switch attrs.Verb {
	case "create":
		n, ok := obj.(*corev1.Node)
		if !ok {
			return forbid("unexpected type %T", obj)
		}
		if n.Spec.ConfigSource != nil {
			return forbid("node %q is not allowed to create pods with a non-nil configSource", node)
		}
		if bad := forbiddenLabels(modifiedLabels(n.Labels, nil)); len(bad) > 0 {
			return forbid("node %q is not allowed to set the following labels: %s", node, strings.Join(bad, ", "))
		}
	case "update", "patch":
		n, ok := obj.(*corev1.Node)
		if !ok {
			return forbid("unexpected type %T", obj)
		}
		o, ok := old.(*corev1.Node)
		if !ok {
			return forbid("unexpected type %T", old)
		}
		if n.Spec.ConfigSource != nil && !apiequality.Semantic.DeepEqual(n.Spec.ConfigSource, o.Spec.ConfigSource) {
			return forbid("node %q is not allowed to update configSource to a new non-nil configSource", node)
		}
		if !apiequality.Semantic.DeepEqual(n.Spec.Taints, o.Spec.Taints) {
			return forbid("node %q is not allowed to modify taints", node)
		}
		if !apiequality.Semantic.DeepEqual(n.OwnerReferences, o.OwnerReferences) {
			return forbid("node %q is not allowed to modify ownerReferences", node)
		}
		if bad := forbiddenLabels(modifiedLabels(n.Labels, o.Labels)); len(bad) > 0 {
			return forbid("is not allowed to modify labels: %s", strings.Join(bad, ", "))
		}
	}
	return nil
}

func modifiedLabels(a, b map[string]string) []string {
	set := map[string]bool{}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			set[k] = true
		}
	}
	for k, v := range b {
		if w, ok := a[k]; !ok || v != w {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	return out
}

// forbiddenLabels returns, sorted, the labels a kubelet may not set:
// anything under node-restriction.kubernetes.io/, and kubernetes.io or
// k8s.io labels outside the kubelet's own set.
func forbiddenLabels(keys []string) []string {
	var out []string
	for _, k := range keys {
		ns := labelNamespace(k)
		if ns == corev1.LabelNamespaceNodeRestriction || strings.HasSuffix(ns, "."+corev1.LabelNamespaceNodeRestriction) ||
			(isKubernetesLabel(ns) && !IsKubeletLabel(k)) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func labelNamespace(key string) string {
	if ns, _, ok := strings.Cut(key, "/"); ok {
		return ns
	}
	return ""
}

func isKubernetesLabel(ns string) bool {
	return ns == "kubernetes.io" || strings.HasSuffix(ns, ".kubernetes.io") || ns == "k8s.io" || strings.HasSuffix(ns, ".k8s.io")
}

var kubeletLabels = map[string]bool{
	corev1.LabelHostname:                true,
	corev1.LabelTopologyZone:            true,
	corev1.LabelTopologyRegion:          true,
	corev1.LabelFailureDomainBetaZone:   true,
	corev1.LabelFailureDomainBetaRegion: true,
	corev1.LabelInstanceType:            true,
	corev1.LabelInstanceTypeStable:      true,
	corev1.LabelOSStable:                true,
	corev1.LabelArchStable:              true,
	"beta.kubernetes.io/os":             true,
	"beta.kubernetes.io/arch":           true,
}

// IsKubeletLabel reports whether a kubelet may set label key on its Node:
// the well-known topology, hostname, os, arch and instance-type labels and
// anything under kubelet.kubernetes.io/ or node.kubernetes.io/.
func IsKubeletLabel(key string) bool {
	if kubeletLabels[key] {
		return true
	}
	ns := labelNamespace(key)
	for _, allowed := range []string{corev1.LabelNamespaceSuffixKubelet, corev1.LabelNamespaceSuffixNode} {
		if ns == allowed || strings.HasSuffix(ns, "."+allowed) {
			return true
		}
	}
	return false
}
