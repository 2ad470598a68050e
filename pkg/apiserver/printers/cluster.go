package printers

import (
	"strconv"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	discoveryv1beta1 "k8s.io/api/discovery/v1beta1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1beta1 "k8s.io/api/rbac/v1beta1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	storagev1beta1 "k8s.io/api/storage/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	register(endpointSliceColumns, func(l *discoveryv1.EndpointSliceList) []discoveryv1.EndpointSlice { return l.Items }, endpointSliceCells)
	register(leaseColumns, func(l *coordinationv1.LeaseList) []coordinationv1.Lease { return l.Items }, leaseCells)
	register(pdbColumns, func(l *policyv1.PodDisruptionBudgetList) []policyv1.PodDisruptionBudget { return l.Items }, pdbCells)
	register(priorityClassColumns, func(l *schedulingv1.PriorityClassList) []schedulingv1.PriorityClass { return l.Items }, priorityClassCells)
	register(runtimeClassColumns, func(l *nodev1.RuntimeClassList) []nodev1.RuntimeClass { return l.Items }, runtimeClassCells)

	register(ingressColumns, func(l *networkingv1.IngressList) []networkingv1.Ingress { return l.Items }, ingressCells)
	register(ingressClassColumns, func(l *networkingv1.IngressClassList) []networkingv1.IngressClass { return l.Items }, ingressClassCells)
	register(networkPolicyColumns, func(l *networkingv1.NetworkPolicyList) []networkingv1.NetworkPolicy { return l.Items }, networkPolicyCells)
	register(serviceCIDRColumns, func(l *networkingv1.ServiceCIDRList) []networkingv1.ServiceCIDR { return l.Items }, serviceCIDRCells)
	register(ipAddressColumns, func(l *networkingv1.IPAddressList) []networkingv1.IPAddress { return l.Items }, ipAddressCells)

	sc := register(storageClassColumns, func(l *storagev1.StorageClassList) []storagev1.StorageClass { return l.Items }, storageClassCells)
	sc.prepare = effectiveDefaultStorageClass
	register(volumeAttachmentColumns, func(l *storagev1.VolumeAttachmentList) []storagev1.VolumeAttachment { return l.Items }, volumeAttachmentCells)
	register(csiDriverColumns, func(l *storagev1.CSIDriverList) []storagev1.CSIDriver { return l.Items }, csiDriverCells)
	register(csiNodeColumns, func(l *storagev1.CSINodeList) []storagev1.CSINode { return l.Items }, csiNodeCells)
	register(csiStorageCapacityColumns, func(l *storagev1.CSIStorageCapacityList) []storagev1.CSIStorageCapacity { return l.Items }, csiStorageCapacityCells)
	register(volumeAttributesClassColumns, func(l *storagev1.VolumeAttributesClassList) []storagev1.VolumeAttributesClass { return l.Items }, volumeAttributesClassCells)

	register(roleBindingColumns, func(l *rbacv1.RoleBindingList) []rbacv1.RoleBinding { return l.Items }, roleBindingCells)
	register(clusterRoleBindingColumns, func(l *rbacv1.ClusterRoleBindingList) []rbacv1.ClusterRoleBinding { return l.Items }, clusterRoleBindingCells)
	// Upstream has no printer for roles: NAME CREATED AT.
	register(defaultColumns, func(l *rbacv1.RoleList) []rbacv1.Role { return l.Items }, defaultCells[rbacv1.Role])
	register(defaultColumns, func(l *rbacv1.ClusterRoleList) []rbacv1.ClusterRole { return l.Items }, defaultCells[rbacv1.ClusterRole])
}

// Endpoint slices.

var endpointSliceColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("AddressType", "string", discoveryv1beta1.EndpointSlice{}.SwaggerDoc()["addressType"]),
	column("Ports", "string", discoveryv1beta1.EndpointSlice{}.SwaggerDoc()["ports"]),
	column("Endpoints", "string", discoveryv1beta1.EndpointSlice{}.SwaggerDoc()["endpoints"]),
	ageColumn(),
}

// endpointSliceCells lists up to three ports (number, else name, else "*")
// and three addresses, "<unset>" for none.
func endpointSliceCells(s *discoveryv1.EndpointSlice, e *env, out []any) ([]any, error) {
	const max = 3
	ports := make([]string, 0, max)
	for _, p := range s.Ports {
		if len(ports) == max {
			break
		}
		switch {
		case p.Port != nil:
			ports = append(ports, strconv.Itoa(int(*p.Port)))
		case p.Name != nil:
			ports = append(ports, *p.Name)
		default:
			ports = append(ports, "*")
		}
	}
	addrs := make([]string, 0, max)
	count := 0
	for i := range s.Endpoints {
		for _, a := range s.Endpoints[i].Addresses {
			if len(addrs) < max {
				addrs = append(addrs, a)
			}
			count++
		}
	}
	return append(out, s.Name, string(s.AddressType),
		listWithMore(ports, len(s.Ports) > max, len(s.Ports), max),
		listWithMore(addrs, count > max, count, max), e.age(s)), nil
}

// Leases.

var leaseColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Holder", "string", coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]),
	ageColumn(),
}

func leaseCells(l *coordinationv1.Lease, e *env, out []any) ([]any, error) {
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	return append(out, l.Name, holder, e.age(l)), nil
}

// Pod disruption budgets.

var pdbColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Min Available", "string", "The minimum number of pods that must be available."),
	column("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
	column("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
	ageColumn(),
}

func pdbCells(p *policyv1.PodDisruptionBudget, e *env, out []any) ([]any, error) {
	minAvailable, maxUnavailable := "N/A", "N/A"
	if p.Spec.MinAvailable != nil {
		minAvailable = p.Spec.MinAvailable.String()
	}
	if p.Spec.MaxUnavailable != nil {
		maxUnavailable = p.Spec.MaxUnavailable.String()
	}
	return append(out, p.Name, minAvailable, maxUnavailable, int64(p.Status.DisruptionsAllowed), e.age(p)), nil
}

// Priority and runtime classes.

var priorityClassColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Value", "integer", schedulingv1.PriorityClass{}.SwaggerDoc()["value"]),
	column("Global-Default", "boolean", schedulingv1.PriorityClass{}.SwaggerDoc()["globalDefault"]),
	ageColumn(),
	// Upstream fills this cell in wide output but leaves the column at
	// priority 0.
	column("PreemptionPolicy", "string", schedulingv1.PriorityClass{}.SwaggerDoc()["preemptionPolicy"]),
}

func priorityClassCells(pc *schedulingv1.PriorityClass, e *env, out []any) ([]any, error) {
	policy := ""
	if pc.PreemptionPolicy != nil {
		policy = string(*pc.PreemptionPolicy)
	}
	return append(out, pc.Name, int64(pc.Value), pc.GlobalDefault, e.age(pc), policy), nil
}

var runtimeClassColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	// Upstream looks this description up in ObjectMeta's docs, where there
	// is none.
	column("Handler", "string", objectMetaDoc["handler"]),
	ageColumn(),
}

func runtimeClassCells(rc *nodev1.RuntimeClass, e *env, out []any) ([]any, error) {
	return append(out, rc.Name, rc.Handler, e.age(rc)), nil
}

// Ingresses and ingress classes.

var ingressColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
	column("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
	column("Address", "string", "Address is a list containing ingress points for the load-balancer"),
	column("Ports", "string", "Ports of TLS configurations that open"),
	ageColumn(),
}

func ingressCells(ing *networkingv1.Ingress, e *env, out []any) ([]any, error) {
	class := none
	if ing.Spec.IngressClassName != nil {
		class = *ing.Spec.IngressClassName
	}
	var addrs []string
	for _, in := range ing.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			addrs = append(addrs, in.IP)
		} else if in.Hostname != "" {
			addrs = append(addrs, in.Hostname)
		}
	}
	ports := "80"
	if len(ing.Spec.TLS) != 0 {
		ports = "80, 443"
	}
	return append(out, ing.Name, class, ingressHosts(ing.Spec.Rules), sortedUnique(addrs), ports, e.age(ing)), nil
}

// ingressHosts lists up to three rule hosts ("*" for none) and how many
// rules are left over.
func ingressHosts(rules []networkingv1.IngressRule) string {
	const max = 3
	var list []string
	more := false
	for _, r := range rules {
		if len(list) == max {
			more = true
		}
		if !more && r.Host != "" {
			list = append(list, r.Host)
		}
	}
	if len(list) == 0 {
		return "*"
	}
	ret := strings.Join(list, ",")
	if more {
		return ret + " + " + strconv.Itoa(len(rules)-max) + " more..."
	}
	return ret
}

var ingressClassColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Controller", "string", "Controller that is responsible for handling this class"),
	column("Parameters", "string", "A reference to a resource with additional parameters"),
	ageColumn(),
}

func ingressClassCells(ic *networkingv1.IngressClass, e *env, out []any) ([]any, error) {
	params := none
	if p := ic.Spec.Parameters; p != nil {
		params = p.Kind
		if p.APIGroup != nil {
			params += "." + *p.APIGroup
		}
		params += "/" + p.Name
	}
	return append(out, ic.Name, ic.Spec.Controller, params, e.age(ic)), nil
}

var networkPolicyColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Pod-Selector", "string", extensionsv1beta1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]),
	ageColumn(),
}

func networkPolicyCells(np *networkingv1.NetworkPolicy, e *env, out []any) ([]any, error) {
	return append(out, np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), e.age(np)), nil
}

var serviceCIDRColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("CIDRs", "string", networkingv1beta1.ServiceCIDRSpec{}.SwaggerDoc()["cidrs"]),
	ageColumn(),
}

func serviceCIDRCells(c *networkingv1.ServiceCIDR, e *env, out []any) ([]any, error) {
	return append(out, c.Name, strings.Join(c.Spec.CIDRs, ","), e.age(c)), nil
}

// ipAddressColumns has no Age column, yet upstream emits an age cell after
// the parent reference; we send the same cells.
var ipAddressColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("ParentRef", "string", networkingv1beta1.IPAddressSpec{}.SwaggerDoc()["parentRef"]),
}

func ipAddressCells(ip *networkingv1.IPAddress, e *env, out []any) ([]any, error) {
	parent := none
	if r := ip.Spec.ParentRef; r != nil {
		parent = strings.ToLower(schema.GroupResource{Group: r.Group, Resource: r.Resource}.String())
		if r.Namespace != "" {
			parent += "/" + r.Namespace
		}
		parent += "/" + r.Name
	}
	return append(out, ip.Name, parent, e.age(ip)), nil
}

// Storage.

var storageClassColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Provisioner", "string", storagev1.StorageClass{}.SwaggerDoc()["provisioner"]),
	column("ReclaimPolicy", "string", storagev1.StorageClass{}.SwaggerDoc()["reclaimPolicy"]),
	column("VolumeBindingMode", "string", storagev1.StorageClass{}.SwaggerDoc()["volumeBindingMode"]),
	column("AllowVolumeExpansion", "string", storagev1.StorageClass{}.SwaggerDoc()["allowVolumeExpansion"]),
	ageColumn(),
}

// Annotations that mark the default storage class and volume attributes
// class.
const (
	isDefaultStorageClassAnnotation               = "storageclass.kubernetes.io/is-default-class"
	betaIsDefaultStorageClassAnnotation           = "storageclass.beta.kubernetes.io/is-default-class"
	alphaIsDefaultVolumeAttributesClassAnnotation = "volumeattributesclass.alpha.kubernetes.io/is-default-class"
)

func isDefaultStorageClass(sc *storagev1.StorageClass) bool {
	return sc.Annotations[isDefaultStorageClassAnnotation] == "true" || sc.Annotations[betaIsDefaultStorageClassAnnotation] == "true"
}

// effectiveDefaultStorageClass picks, as upstream does, the one class of a
// list shown as "(default)" when several carry the annotation: the newest,
// then the first by name.
func effectiveDefaultStorageClass(items []storagev1.StorageClass, e *env) {
	e.listed = true
	var best *storagev1.StorageClass
	for i := range items {
		sc := &items[i]
		if !isDefaultStorageClass(sc) {
			continue
		}
		if best == nil {
			best = sc
			continue
		}
		t, bt := sc.CreationTimestamp.UnixNano(), best.CreationTimestamp.UnixNano()
		if t > bt || (t == bt && sc.Name < best.Name) {
			best = sc
		}
	}
	if best != nil {
		e.defaultStorageClass = best.Name
	}
}

// storageClassCells marks the default class. For a single object upstream
// consults a list of all classes; without one it falls back, as we do, to
// the object's own annotation.
func storageClassCells(sc *storagev1.StorageClass, e *env, out []any) ([]any, error) {
	name := sc.Name
	if (e.listed && sc.Name == e.defaultStorageClass) || (!e.listed && isDefaultStorageClass(sc)) {
		name += " (default)"
	}
	reclaim := "Delete"
	if sc.ReclaimPolicy != nil {
		reclaim = string(*sc.ReclaimPolicy)
	}
	binding := string(storagev1.VolumeBindingImmediate)
	if sc.VolumeBindingMode != nil {
		binding = string(*sc.VolumeBindingMode)
	}
	expansion := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
	return append(out, name, sc.Provisioner, reclaim, binding, expansion, e.age(sc)), nil
}

var volumeAttributesClassColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("DriverName", "string", storagev1beta1.VolumeAttributesClass{}.SwaggerDoc()["driverName"]),
	ageColumn(),
}

func volumeAttributesClassCells(c *storagev1.VolumeAttributesClass, e *env, out []any) ([]any, error) {
	name := c.Name
	if c.Annotations[alphaIsDefaultVolumeAttributesClassAnnotation] == "true" {
		name += " (default)"
	}
	return append(out, name, c.DriverName, e.age(c)), nil
}

var volumeAttachmentColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	// Upstream marks this column with the "name" format too.
	{Name: "Attacher", Type: "string", Format: "name", Description: storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["attacher"]},
	column("PV", "string", storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]),
	column("Node", "string", storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["nodeName"]),
	column("Attached", "boolean", storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]),
	ageColumn(),
}

func volumeAttachmentCells(va *storagev1.VolumeAttachment, e *env, out []any) ([]any, error) {
	pv := ""
	if va.Spec.Source.PersistentVolumeName != nil {
		pv = *va.Spec.Source.PersistentVolumeName
	}
	return append(out, va.Name, va.Spec.Attacher, pv, va.Spec.NodeName, va.Status.Attached, e.age(va)), nil
}

var csiDriverColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("AttachRequired", "boolean", storagev1.CSIDriverSpec{}.SwaggerDoc()["attachRequired"]),
	column("PodInfoOnMount", "boolean", storagev1.CSIDriverSpec{}.SwaggerDoc()["podInfoOnMount"]),
	column("StorageCapacity", "boolean", storagev1.CSIDriverSpec{}.SwaggerDoc()["storageCapacity"]),
	column("TokenRequests", "string", storagev1.CSIDriverSpec{}.SwaggerDoc()["tokenRequests"]),
	column("RequiresRepublish", "boolean", storagev1.CSIDriverSpec{}.SwaggerDoc()["requiresRepublish"]),
	column("Modes", "string", storagev1.CSIDriverSpec{}.SwaggerDoc()["volumeLifecycleModes"]),
	ageColumn(),
}

func csiDriverCells(d *storagev1.CSIDriver, e *env, out []any) ([]any, error) {
	attach := d.Spec.AttachRequired == nil || *d.Spec.AttachRequired
	podInfo := d.Spec.PodInfoOnMount != nil && *d.Spec.PodInfoOnMount
	capacity := d.Spec.StorageCapacity != nil && *d.Spec.StorageCapacity
	republish := d.Spec.RequiresRepublish != nil && *d.Spec.RequiresRepublish
	tokens := unset
	if d.Spec.TokenRequests != nil {
		audiences := make([]string, len(d.Spec.TokenRequests))
		for i, t := range d.Spec.TokenRequests {
			audiences[i] = t.Audience
		}
		tokens = strings.Join(audiences, ",")
	}
	modes := none
	if len(d.Spec.VolumeLifecycleModes) > 0 {
		m := make([]string, len(d.Spec.VolumeLifecycleModes))
		for i, mode := range d.Spec.VolumeLifecycleModes {
			m[i] = string(mode)
		}
		modes = strings.Join(m, ",")
	}
	return append(out, d.Name, attach, podInfo, capacity, tokens, republish, modes, e.age(d)), nil
}

var csiNodeColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"),
	ageColumn(),
}

func csiNodeCells(n *storagev1.CSINode, e *env, out []any) ([]any, error) {
	return append(out, n.Name, int64(len(n.Spec.Drivers)), e.age(n)), nil
}

var csiStorageCapacityColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("StorageClassName", "string", storagev1.CSIStorageCapacity{}.SwaggerDoc()["storageClassName"]),
	column("Capacity", "string", storagev1.CSIStorageCapacity{}.SwaggerDoc()["capacity"]),
}

func csiStorageCapacityCells(c *storagev1.CSIStorageCapacity, _ *env, out []any) ([]any, error) {
	return append(out, c.Name, c.StorageClassName, quantityString(c.Capacity)), nil
}

// RBAC bindings.

var roleBindingColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Role", "string", rbacv1beta1.RoleBinding{}.SwaggerDoc()["roleRef"]),
	ageColumn(),
	wide("Users", "string", "Users in the roleBinding"),
	wide("Groups", "string", "Groups in the roleBinding"),
	wide("ServiceAccounts", "string", "ServiceAccounts in the roleBinding"),
}

var clusterRoleBindingColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Role", "string", rbacv1beta1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"]),
	ageColumn(),
	wide("Users", "string", "Users in the clusterRoleBinding"),
	wide("Groups", "string", "Groups in the clusterRoleBinding"),
	wide("ServiceAccounts", "string", "ServiceAccounts in the clusterRoleBinding"),
}

func roleBindingCells(b *rbacv1.RoleBinding, e *env, out []any) ([]any, error) {
	return bindingCells(b, b.RoleRef, b.Subjects, e, out), nil
}

func clusterRoleBindingCells(b *rbacv1.ClusterRoleBinding, e *env, out []any) ([]any, error) {
	return bindingCells(b, b.RoleRef, b.Subjects, e, out), nil
}

// bindingCells: ROLE is "Kind/name"; the subjects split into users, groups
// and "namespace/name" service accounts, each joined with ", ".
func bindingCells(m metav1.Object, ref rbacv1.RoleRef, subjects []rbacv1.Subject, e *env, out []any) []any {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+"/"+s.Name)
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		}
	}
	return append(out, m.GetName(), ref.Kind+"/"+ref.Name, e.age(m),
		strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", "))
}
