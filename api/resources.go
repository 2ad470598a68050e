package api

import (
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Standard verb sets, as upstream's discovery lists them.
var (
	VerbsAll      = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	VerbsReadOnly = []string{"get", "list", "watch"}
	VerbsCreate   = []string{"create"}
)

// Resource describes one served resource: everything routing, discovery,
// storage and kubectl's REST mapper need. The table in Resources is the
// single source for all of them.
type Resource struct {
	Group    string // "" for core
	Version  string
	Resource string // plural, lower case: "pods"
	Singular string // "pod"
	Kind     string // "Pod"

	Namespaced bool
	ShortNames []string
	Categories []string
	Verbs      []string // nil means VerbsAll

	// Subresources served under <resource>/<name>/<sub>: "status", "scale",
	// "binding", "eviction", "log", "exec", "token", ...
	Subresources []string

	// StorageGroup and StorageResource name the etcd key prefix when this
	// resource shares storage with another (events.k8s.io/events is stored
	// with core events, autoscaling/v1 with autoscaling/v2). Empty means
	// itself.
	StorageGroup    string
	StorageResource string
	// StorageVersion is the version stored in etcd; empty means Version.
	StorageVersion string

	// Virtual resources have no storage: tokenreviews, selfsubjectaccessreviews
	// and bindings serve create only, componentstatuses get and list, by
	// their own handlers.
	Virtual bool
}

// GroupVersion of the resource as served.
func (r *Resource) GroupVersion() schema.GroupVersion {
	return schema.GroupVersion{Group: r.Group, Version: r.Version}
}

// GroupVersionKind of the resource as served.
func (r *Resource) GroupVersionKind() schema.GroupVersionKind {
	return r.GroupVersion().WithKind(r.Kind)
}

// GroupResource of the resource (for errors: `pods "x" not found`).
func (r *Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.Group, Resource: r.Resource}
}

// StorageGroupResource is the group and resource whose etcd prefix holds
// the objects.
func (r *Resource) StorageGroupResource() schema.GroupResource {
	gr := r.GroupResource()
	if r.StorageResource != "" {
		gr = schema.GroupResource{Group: r.StorageGroup, Resource: r.StorageResource}
	}
	return gr
}

// StorageGVK is the kind and version the objects are stored as.
func (r *Resource) StorageGVK() schema.GroupVersionKind {
	gr := r.StorageGroupResource()
	v := r.StorageVersion
	if v == "" {
		v = r.Version
	}
	return schema.GroupVersionKind{Group: gr.Group, Version: v, Kind: r.Kind}
}

// HasSubresource reports whether sub is served for this resource.
func (r *Resource) HasSubresource(sub string) bool {
	for _, s := range r.Subresources {
		if s == sub {
			return true
		}
	}
	return false
}

// AllowsVerb reports whether the verb is in the resource's verb list.
func (r *Resource) AllowsVerb(verb string) bool {
	verbs := r.Verbs
	if verbs == nil {
		verbs = VerbsAll
	}
	for _, v := range verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// New returns an empty object of the served kind.
func (r *Resource) New() runtime.Object {
	obj, err := Scheme.New(r.GroupVersionKind())
	if err != nil {
		panic(err)
	}
	return obj
}

// NewList returns an empty list of the served kind.
func (r *Resource) NewList() runtime.Object {
	obj, err := Scheme.New(r.GroupVersion().WithKind(r.Kind + "List"))
	if err != nil {
		panic(err)
	}
	return obj
}

// KeyPrefix is the etcd key prefix below the server's --etcd-prefix. Upstream
// lays keys out as <prefix>/<resource> for every group (/registry/pods,
// /registry/deployments, /registry/leases), with a few historical names; we
// keep that layout so etcd tooling written for Kubernetes finds our keys.
func (r *Resource) KeyPrefix() string {
	gr := r.StorageGroupResource()
	if p, ok := upstreamKeyPrefix[gr]; ok {
		return p
	}
	return "/" + gr.Resource
}

// upstreamKeyPrefix lists the resources whose etcd path upstream does not
// derive from the plain resource name.
var upstreamKeyPrefix = map[schema.GroupResource]string{
	{Group: "", Resource: "nodes"}:                               "/minions",
	{Group: "", Resource: "services"}:                            "/services/specs",
	{Group: "", Resource: "endpoints"}:                           "/services/endpoints",
	{Group: "", Resource: "replicationcontrollers"}:              "/controllers",
	{Group: "", Resource: "persistentvolumeclaims"}:              "/persistentvolumeclaims",
	{Group: "networking.k8s.io", Resource: "ingresses"}:          "/ingress",
	{Group: "networking.k8s.io", Resource: "ingressclasses"}:     "/ingressclasses",
	{Group: "policy", Resource: "poddisruptionbudgets"}:          "/poddisruptionbudgets",
	{Group: "scheduling.k8s.io", Resource: "priorityclasses"}:    "/priorityclasses",
	{Group: "discovery.k8s.io", Resource: "endpointslices"}:      "/endpointslices",
	{Group: "autoscaling", Resource: "horizontalpodautoscalers"}: "/horizontalpodautoscalers",
}

var all = []Resource{
	// core/v1
	{Version: "v1", Resource: "pods", Singular: "pod", Kind: "Pod", Namespaced: true, ShortNames: []string{"po"}, Categories: []string{"all"}, Subresources: []string{"status", "binding", "eviction", "log", "exec", "attach", "portforward"}},
	{Version: "v1", Resource: "services", Singular: "service", Kind: "Service", Namespaced: true, ShortNames: []string{"svc"}, Categories: []string{"all"}, Subresources: []string{"status"}},
	{Version: "v1", Resource: "endpoints", Singular: "endpoints", Kind: "Endpoints", Namespaced: true, ShortNames: []string{"ep"}},
	{Version: "v1", Resource: "nodes", Singular: "node", Kind: "Node", ShortNames: []string{"no"}, Subresources: []string{"status", "proxy"}},
	{Version: "v1", Resource: "namespaces", Singular: "namespace", Kind: "Namespace", ShortNames: []string{"ns"}, Subresources: []string{"status", "finalize"}, Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"}},
	{Version: "v1", Resource: "configmaps", Singular: "configmap", Kind: "ConfigMap", Namespaced: true, ShortNames: []string{"cm"}},
	{Version: "v1", Resource: "secrets", Singular: "secret", Kind: "Secret", Namespaced: true},
	{Version: "v1", Resource: "serviceaccounts", Singular: "serviceaccount", Kind: "ServiceAccount", Namespaced: true, ShortNames: []string{"sa"}, Subresources: []string{"token"}},
	{Version: "v1", Resource: "events", Singular: "event", Kind: "Event", Namespaced: true, ShortNames: []string{"ev"}},
	{Version: "v1", Resource: "limitranges", Singular: "limitrange", Kind: "LimitRange", Namespaced: true, ShortNames: []string{"limits"}},
	{Version: "v1", Resource: "resourcequotas", Singular: "resourcequota", Kind: "ResourceQuota", Namespaced: true, ShortNames: []string{"quota"}, Subresources: []string{"status"}},
	{Version: "v1", Resource: "persistentvolumes", Singular: "persistentvolume", Kind: "PersistentVolume", ShortNames: []string{"pv"}, Subresources: []string{"status"}},
	{Version: "v1", Resource: "persistentvolumeclaims", Singular: "persistentvolumeclaim", Kind: "PersistentVolumeClaim", Namespaced: true, ShortNames: []string{"pvc"}, Subresources: []string{"status"}},
	{Version: "v1", Resource: "replicationcontrollers", Singular: "replicationcontroller", Kind: "ReplicationController", Namespaced: true, ShortNames: []string{"rc"}, Categories: []string{"all"}, Subresources: []string{"status", "scale"}},
	{Version: "v1", Resource: "podtemplates", Singular: "podtemplate", Kind: "PodTemplate", Namespaced: true},
	{Version: "v1", Resource: "bindings", Singular: "binding", Kind: "Binding", Namespaced: true, Verbs: VerbsCreate, Virtual: true},
	// componentstatuses (deprecated in 1.19, still served): computed on
	// each read from etcd's health and the scheduler's and
	// controller-manager's /healthz, never stored.
	{Version: "v1", Resource: "componentstatuses", Singular: "componentstatus", Kind: "ComponentStatus", ShortNames: []string{"cs"}, Verbs: []string{"get", "list"}, Virtual: true},

	// apps/v1
	{Group: "apps", Version: "v1", Resource: "deployments", Singular: "deployment", Kind: "Deployment", Namespaced: true, ShortNames: []string{"deploy"}, Categories: []string{"all"}, Subresources: []string{"status", "scale"}},
	{Group: "apps", Version: "v1", Resource: "replicasets", Singular: "replicaset", Kind: "ReplicaSet", Namespaced: true, ShortNames: []string{"rs"}, Categories: []string{"all"}, Subresources: []string{"status", "scale"}},
	{Group: "apps", Version: "v1", Resource: "statefulsets", Singular: "statefulset", Kind: "StatefulSet", Namespaced: true, ShortNames: []string{"sts"}, Categories: []string{"all"}, Subresources: []string{"status", "scale"}},
	{Group: "apps", Version: "v1", Resource: "daemonsets", Singular: "daemonset", Kind: "DaemonSet", Namespaced: true, ShortNames: []string{"ds"}, Categories: []string{"all"}, Subresources: []string{"status"}},
	{Group: "apps", Version: "v1", Resource: "controllerrevisions", Singular: "controllerrevision", Kind: "ControllerRevision", Namespaced: true},

	// batch/v1
	{Group: "batch", Version: "v1", Resource: "jobs", Singular: "job", Kind: "Job", Namespaced: true, Categories: []string{"all"}, Subresources: []string{"status"}},
	{Group: "batch", Version: "v1", Resource: "cronjobs", Singular: "cronjob", Kind: "CronJob", Namespaced: true, ShortNames: []string{"cj"}, Categories: []string{"all"}, Subresources: []string{"status"}},

	// autoscaling: v2 is stored, v1 is converted.
	{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers", Singular: "horizontalpodautoscaler", Kind: "HorizontalPodAutoscaler", Namespaced: true, ShortNames: []string{"hpa"}, Categories: []string{"all"}, Subresources: []string{"status"}},
	{Group: "autoscaling", Version: "v1", Resource: "horizontalpodautoscalers", Singular: "horizontalpodautoscaler", Kind: "HorizontalPodAutoscaler", Namespaced: true, ShortNames: []string{"hpa"}, Categories: []string{"all"}, Subresources: []string{"status"}, StorageGroup: "autoscaling", StorageResource: "horizontalpodautoscalers", StorageVersion: "v2"},

	// discovery.k8s.io/v1
	{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices", Singular: "endpointslice", Kind: "EndpointSlice", Namespaced: true},

	// coordination.k8s.io/v1
	{Group: "coordination.k8s.io", Version: "v1", Resource: "leases", Singular: "lease", Kind: "Lease", Namespaced: true},

	// rbac.authorization.k8s.io/v1
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles", Singular: "role", Kind: "Role", Namespaced: true},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings", Singular: "rolebinding", Kind: "RoleBinding", Namespaced: true},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles", Singular: "clusterrole", Kind: "ClusterRole"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings", Singular: "clusterrolebinding", Kind: "ClusterRoleBinding"},

	// events.k8s.io/v1 shares storage with core/v1 events.
	{Group: "events.k8s.io", Version: "v1", Resource: "events", Singular: "event", Kind: "Event", Namespaced: true, ShortNames: []string{"ev"}, StorageGroup: "", StorageResource: "events", StorageVersion: "v1"},

	// policy/v1
	{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets", Singular: "poddisruptionbudget", Kind: "PodDisruptionBudget", Namespaced: true, ShortNames: []string{"pdb"}, Subresources: []string{"status"}},

	// networking.k8s.io/v1
	{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies", Singular: "networkpolicy", Kind: "NetworkPolicy", Namespaced: true, ShortNames: []string{"netpol"}},
	{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses", Singular: "ingress", Kind: "Ingress", Namespaced: true, ShortNames: []string{"ing"}, Subresources: []string{"status"}},
	{Group: "networking.k8s.io", Version: "v1", Resource: "ingressclasses", Singular: "ingressclass", Kind: "IngressClass"},
	{Group: "networking.k8s.io", Version: "v1", Resource: "ipaddresses", Singular: "ipaddress", Kind: "IPAddress", ShortNames: []string{"ip"}},
	{Group: "networking.k8s.io", Version: "v1", Resource: "servicecidrs", Singular: "servicecidr", Kind: "ServiceCIDR", Subresources: []string{"status"}},

	// storage.k8s.io/v1
	{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses", Singular: "storageclass", Kind: "StorageClass", ShortNames: []string{"sc"}},
	{Group: "storage.k8s.io", Version: "v1", Resource: "volumeattachments", Singular: "volumeattachment", Kind: "VolumeAttachment", Subresources: []string{"status"}},
	{Group: "storage.k8s.io", Version: "v1", Resource: "csidrivers", Singular: "csidriver", Kind: "CSIDriver"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "csinodes", Singular: "csinode", Kind: "CSINode"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "csistoragecapacities", Singular: "csistoragecapacity", Kind: "CSIStorageCapacity", Namespaced: true},
	{Group: "storage.k8s.io", Version: "v1", Resource: "volumeattributesclasses", Singular: "volumeattributesclass", Kind: "VolumeAttributesClass", ShortNames: []string{"vac"}},

	// scheduling.k8s.io/v1
	{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses", Singular: "priorityclass", Kind: "PriorityClass", ShortNames: []string{"pc"}},

	// authentication.k8s.io/v1 and authorization.k8s.io/v1: reviews, answered
	// at once and never stored.
	{Group: "authentication.k8s.io", Version: "v1", Resource: "tokenreviews", Singular: "tokenreview", Kind: "TokenReview", Verbs: VerbsCreate, Virtual: true},
	{Group: "authentication.k8s.io", Version: "v1", Resource: "selfsubjectreviews", Singular: "selfsubjectreview", Kind: "SelfSubjectReview", Verbs: VerbsCreate, Virtual: true},
	{Group: "authorization.k8s.io", Version: "v1", Resource: "subjectaccessreviews", Singular: "subjectaccessreview", Kind: "SubjectAccessReview", Verbs: VerbsCreate, Virtual: true},
	{Group: "authorization.k8s.io", Version: "v1", Resource: "selfsubjectaccessreviews", Singular: "selfsubjectaccessreview", Kind: "SelfSubjectAccessReview", Verbs: VerbsCreate, Virtual: true},
	{Group: "authorization.k8s.io", Version: "v1", Resource: "selfsubjectrulesreviews", Singular: "selfsubjectrulesreview", Kind: "SelfSubjectRulesReview", Verbs: VerbsCreate, Virtual: true},
	{Group: "authorization.k8s.io", Version: "v1", Resource: "localsubjectaccessreviews", Singular: "localsubjectaccessreview", Kind: "LocalSubjectAccessReview", Namespaced: true, Verbs: VerbsCreate, Virtual: true},

	// node.k8s.io/v1
	{Group: "node.k8s.io", Version: "v1", Resource: "runtimeclasses", Singular: "runtimeclass", Kind: "RuntimeClass"},

	// admissionregistration.k8s.io/v1: stored and listed (the controller-manager's
	// ValidatingAdmissionPolicy status controller watches policies); kstack does
	// not call webhooks or evaluate policies yet.
	{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "mutatingwebhookconfigurations", Singular: "mutatingwebhookconfiguration", Kind: "MutatingWebhookConfiguration", Categories: []string{"api-extensions"}},
	{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations", Singular: "validatingwebhookconfiguration", Kind: "ValidatingWebhookConfiguration", Categories: []string{"api-extensions"}},
	{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies", Singular: "validatingadmissionpolicy", Kind: "ValidatingAdmissionPolicy", Categories: []string{"api-extensions"}, Subresources: []string{"status"}},
	{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings", Singular: "validatingadmissionpolicybinding", Kind: "ValidatingAdmissionPolicyBinding", Categories: []string{"api-extensions"}},

	// certificates.k8s.io/v1: the controller-manager's CSR signing, approving and
	// cleaning controllers and its PodCertificateRequest cleaner watch these.
	// The CSR approval subresource is not served yet.
	{Group: "certificates.k8s.io", Version: "v1", Resource: "certificatesigningrequests", Singular: "certificatesigningrequest", Kind: "CertificateSigningRequest", ShortNames: []string{"csr"}, Subresources: []string{"status"}},
	{Group: "certificates.k8s.io", Version: "v1", Resource: "podcertificaterequests", Singular: "podcertificaterequest", Kind: "PodCertificateRequest", Namespaced: true, Subresources: []string{"status"}},

	// resource.k8s.io/v1 (dynamic resource allocation, GA): kube-scheduler's
	// DynamicResources plugin waits for these informers to sync before it
	// schedules anything.
	{Group: "resource.k8s.io", Version: "v1", Resource: "deviceclasses", Singular: "deviceclass", Kind: "DeviceClass"},
	{Group: "resource.k8s.io", Version: "v1", Resource: "devicetaintrules", Singular: "devicetaintrule", Kind: "DeviceTaintRule", Subresources: []string{"status"}},
	{Group: "resource.k8s.io", Version: "v1", Resource: "resourceclaims", Singular: "resourceclaim", Kind: "ResourceClaim", Namespaced: true, Subresources: []string{"status"}},
	{Group: "resource.k8s.io", Version: "v1", Resource: "resourceclaimtemplates", Singular: "resourceclaimtemplate", Kind: "ResourceClaimTemplate", Namespaced: true},
	{Group: "resource.k8s.io", Version: "v1", Resource: "resourceslices", Singular: "resourceslice", Kind: "ResourceSlice"},

	// storagemigration.k8s.io/v1: the controller-manager's storage version
	// migrator watches migrations.
	{Group: "storagemigration.k8s.io", Version: "v1", Resource: "storageversionmigrations", Singular: "storageversionmigration", Kind: "StorageVersionMigration", Subresources: []string{"status"}},
}

// Resources returns the served resources in table order.
func Resources() []Resource { return all }

type gvr struct{ group, version, resource string }

var byGVR = map[gvr]*Resource{}

func init() {
	for i := range all {
		r := &all[i]
		byGVR[gvr{r.Group, r.Version, r.Resource}] = r
	}
}

// Lookup finds the resource served at group/version/resource.
func Lookup(group, version, resource string) (*Resource, bool) {
	r, ok := byGVR[gvr{group, version, resource}]
	return r, ok
}

// GroupVersions returns the served group versions, core first, then the
// groups in table order (the order discovery lists them; kubectl prefers the
// first version of a group).
func GroupVersions() []schema.GroupVersion {
	seen := map[schema.GroupVersion]bool{}
	var out []schema.GroupVersion
	for i := range all {
		gv := all[i].GroupVersion()
		if !seen[gv] {
			seen[gv] = true
			out = append(out, gv)
		}
	}
	// Within a group the preferred (first listed) version must come first:
	// autoscaling lists v2 before v1 above.
	sort.SliceStable(out, func(i, j int) bool {
		return groupIndex(out[i].Group) < groupIndex(out[j].Group)
	})
	return out
}

func groupIndex(g string) int {
	for i := range all {
		if all[i].Group == g {
			return i
		}
	}
	return len(all)
}

// ResourcesIn returns the resources served in one group version.
func ResourcesIn(gv schema.GroupVersion) []*Resource {
	var out []*Resource
	for i := range all {
		if all[i].GroupVersion() == gv {
			out = append(out, &all[i])
		}
	}
	return out
}

// IsVirtual reports a resource without storage.
func IsVirtual(group, resource string) bool {
	for i := range all {
		if all[i].Group == group && all[i].Resource == resource {
			return all[i].Virtual
		}
	}
	return false
}
