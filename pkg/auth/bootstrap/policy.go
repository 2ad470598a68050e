// Package bootstrap is the default RBAC policy kube-apiserver v1.37
// creates at start (its "rbac/bootstrap-roles" post-start hook) with the
// default feature gates: the ClusterRoles and ClusterRoleBindings for users,
// nodes and control-plane components, one role per kube-controller-manager
// controller (used with --use-service-account-credentials), and the
// namespaced Roles and RoleBindings in kube-system and kube-public.
//
// Every object carries the label kubernetes.io/bootstrapping=rbac-defaults
// and the annotation rbac.authorization.kubernetes.io/autoupdate=true.
// Each call returns fresh objects the caller may modify.
package bootstrap

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Label and annotation upstream puts on every bootstrap object.
const (
	BootstrapLabel       = "kubernetes.io/bootstrapping"
	BootstrapLabelValue  = "rbac-defaults"
	AutoUpdateAnnotation = "rbac.authorization.kubernetes.io/autoupdate"
)

// Aggregation labels of the user-facing roles.
const (
	AggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
	AggregateToEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	AggregateToView  = "rbac.authorization.k8s.io/aggregate-to-view"
)

func meta(name string, labels ...string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{
		Name:        name,
		Labels:      map[string]string{BootstrapLabel: BootstrapLabelValue},
		Annotations: map[string]string{AutoUpdateAnnotation: "true"},
	}
	for _, l := range labels {
		m.Labels[l] = "true"
	}
	return m
}

func clusterRole(name string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: meta(name),
		Rules:      rules,
	}
}

// aggregatedRole is a ClusterRole whose rules come from the ClusterRoles
// labeled selectLabel=true; it is itself labeled with labels.
func aggregatedRole(name, selectLabel string, labels ...string) rbacv1.ClusterRole {
	r := clusterRole(name)
	r.ObjectMeta = meta(name, labels...)
	r.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
		{MatchLabels: map[string]string{selectLabel: "true"}},
	}}
	return r
}

func labeled(r rbacv1.ClusterRole, labels ...string) rbacv1.ClusterRole {
	for _, l := range labels {
		r.Labels[l] = "true"
	}
	return r
}

// NodeRules are the rules of the system:node ClusterRole: everything a
// kubelet may do. The Node authorizer applies them to kubelets, after its
// own finer checks, since upstream binds system:node to nobody.
func NodeRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// Delegated authentication and authorization of the kubelet API.
		rule("create", "authentication.k8s.io", "tokenreviews"),
		rule("create", "authorization.k8s.io", "localsubjectaccessreviews,subjectaccessreviews"),
		// Service environment variables.
		rule(readVerbs, "", "services"),
		// Registration and status of its own Node (NodeRestriction
		// confines writes to it).
		rule("create,get,list,watch", "", "nodes"),
		rule("patch,update", "", "nodes/status"),
		rule("patch,update", "", "nodes"),
		eventsRule(),
		rule(readVerbs, "", "pods"),
		// Mirror pods.
		rule("create,delete", "", "pods"),
		rule("patch,update", "", "pods/status"),
		rule("create", "", "pods/eviction"),
		// What its pods reference (the Node authorizer narrows these).
		rule(readVerbs, "", "configmaps,secrets"),
		rule("get", "", "persistentvolumeclaims,persistentvolumes"),
		rule("get", "", "endpoints"),
		// Client certificate rotation.
		rule("create,get,list,watch", "certificates.k8s.io", "certificatesigningrequests"),
		rule("create,delete,get,patch,update", "coordination.k8s.io", "leases"),
		rule("get", "storage.k8s.io", "volumeattachments"),
		rule("create", "", "serviceaccounts/token"),
		rule("get,patch,update", "", "persistentvolumeclaims/status"),
		rule(readVerbs, "storage.k8s.io", "csidrivers"),
		rule("create,delete,get,patch,update", "storage.k8s.io", "csinodes"),
		rule(readVerbs, "node.k8s.io", "runtimeclasses"),
		rule("get", "resource.k8s.io", "resourceclaims"),
		rule("deletecollection", "resource.k8s.io", "resourceslices"),
		rule(readVerbs, "certificates.k8s.io", "clustertrustbundles"),
		rule("get", "", "serviceaccounts"),
		rule("create,get,list,watch", "certificates.k8s.io", "podcertificaterequests"),
	}
}

// ClusterRoles returns the default ClusterRoles, the per-controller roles
// (ControllerRoles) included.
func ClusterRoles() []rbacv1.ClusterRole {
	roles := []rbacv1.ClusterRole{
		// The user-facing roles. admin, edit and view hold no rules of
		// their own: they aggregate the system:aggregate-to-* roles (and
		// anything else labeled for them). view's rules flow into edit and
		// edit's into admin.
		aggregatedRole("admin", AggregateToAdmin),
		clusterRole("cluster-admin",
			rule("*", "*", "*"),
			urls("*", "*"),
		),
		aggregatedRole("edit", AggregateToEdit, AggregateToAdmin),
		aggregatedRole("view", AggregateToView, AggregateToEdit),
		labeled(clusterRole("system:aggregate-to-admin",
			rule("create", "authorization.k8s.io", "localsubjectaccessreviews"),
			rule(readWriteVerbs, "rbac.authorization.k8s.io", "rolebindings,roles"),
		), AggregateToAdmin),
		labeled(clusterRole("system:aggregate-to-edit",
			rule(readVerbs, "", "pods/attach,pods/exec,pods/portforward,pods/proxy,secrets,services/proxy"),
			rule("impersonate", "", "serviceaccounts"),
			rule(writeVerbs, "", "pods,pods/attach,pods/exec,pods/portforward,pods/proxy"),
			rule("create", "", "pods/eviction"),
			rule(writeVerbs, "", "configmaps,persistentvolumeclaims,replicationcontrollers,replicationcontrollers/scale,secrets,serviceaccounts,services,services/proxy"),
			rule("create", "", "serviceaccounts/token"),
			rule(writeVerbs, ",events.k8s.io", "events"),
			rule(writeVerbs, "apps", "daemonsets,deployments,deployments/rollback,deployments/scale,replicasets,replicasets/scale,statefulsets,statefulsets/scale"),
			rule(writeVerbs, "autoscaling", "horizontalpodautoscalers"),
			rule(writeVerbs, "batch", "cronjobs,jobs"),
			rule(writeVerbs, "extensions", "daemonsets,deployments,deployments/rollback,deployments/scale,ingresses,networkpolicies,replicasets,replicasets/scale,replicationcontrollers/scale"),
			rule(writeVerbs, "policy", "poddisruptionbudgets"),
			rule(writeVerbs, "networking.k8s.io", "ingresses,networkpolicies"),
			rule(readWriteVerbs, "coordination.k8s.io", "leases"),
			rule(writeVerbs, "resource.k8s.io", "resourceclaims,resourceclaimtemplates"),
		), AggregateToEdit),
		labeled(clusterRole("system:aggregate-to-view",
			rule(readVerbs, "", "configmaps,endpoints,persistentvolumeclaims,persistentvolumeclaims/status,pods,replicationcontrollers,replicationcontrollers/scale,serviceaccounts,services,services/status"),
			rule(readVerbs, "", "bindings,limitranges,namespaces/status,pods/log,pods/status,replicationcontrollers/status,resourcequotas,resourcequotas/status"),
			// Reading namespaces within a namespace means reading that one.
			rule(readVerbs, "", "namespaces"),
			rule(readVerbs, ",events.k8s.io", "events"),
			rule(readVerbs, "discovery.k8s.io", "endpointslices"),
			rule(readVerbs, "apps", "controllerrevisions,daemonsets,daemonsets/status,deployments,deployments/scale,deployments/status,replicasets,replicasets/scale,replicasets/status,statefulsets,statefulsets/scale,statefulsets/status"),
			rule(readVerbs, "autoscaling", "horizontalpodautoscalers,horizontalpodautoscalers/status"),
			rule(readVerbs, "batch", "cronjobs,cronjobs/status,jobs,jobs/status"),
			rule(readVerbs, "extensions", "daemonsets,daemonsets/status,deployments,deployments/scale,deployments/status,ingresses,ingresses/status,networkpolicies,replicasets,replicasets/scale,replicasets/status,replicationcontrollers/scale"),
			rule(readVerbs, "policy", "poddisruptionbudgets,poddisruptionbudgets/status"),
			rule(readVerbs, "networking.k8s.io", "ingresses,ingresses/status,networkpolicies"),
			rule(readVerbs, "resource.k8s.io", "resourceclaims,resourceclaims/status,resourceclaimtemplates"),
		), AggregateToView),

		clusterRole("system:auth-delegator",
			rule("create", "authentication.k8s.io", "tokenreviews"),
			rule("create", "authorization.k8s.io", "subjectaccessreviews"),
		),
		clusterRole("system:basic-user",
			rule("create", "authorization.k8s.io", "selfsubjectaccessreviews,selfsubjectrulesreviews"),
			rule("create", "authentication.k8s.io", "selfsubjectreviews"),
		),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
			rule("create", "certificates.k8s.io", "certificatesigningrequests/nodeclient"),
		),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
			rule("create", "certificates.k8s.io", "certificatesigningrequests/selfnodeclient"),
		),
		clusterRole("system:certificates.k8s.io:kube-apiserver-client-approver",
			named(rule("approve", "certificates.k8s.io", "signers"), "kubernetes.io/kube-apiserver-client"),
		),
		clusterRole("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
			named(rule("approve", "certificates.k8s.io", "signers"), "kubernetes.io/kube-apiserver-client-kubelet"),
		),
		clusterRole("system:certificates.k8s.io:kubelet-serving-approver",
			named(rule("approve", "certificates.k8s.io", "signers"), "kubernetes.io/kubelet-serving"),
		),
		clusterRole("system:certificates.k8s.io:legacy-unknown-approver",
			named(rule("approve", "certificates.k8s.io", "signers"), "kubernetes.io/legacy-unknown"),
		),
		clusterRole("system:cluster-trust-bundle-discovery",
			rule(readVerbs, "certificates.k8s.io", "clustertrustbundles"),
		),
		clusterRole("system:discovery",
			urls("get", "/api,/api/*,/apis,/apis/*,/healthz,/livez,/openapi,/openapi/*,/readyz,/version,/version/"),
		),
		clusterRole("system:heapster",
			rule(readVerbs, "", "events,namespaces,nodes,pods"),
			rule(readVerbs, "extensions", "deployments"),
		),
		clusterRole("system:kube-aggregator",
			rule(readVerbs, "", "endpoints,services"),
		),
		clusterRole("system:kube-controller-manager",
			eventsRule(),
			// Leader election.
			rule("create", "coordination.k8s.io", "leases"),
			named(rule("get,update", "coordination.k8s.io", "leases"), "kube-controller-manager"),
			// Service-account credentials for the controllers.
			rule("create", "", "secrets,serviceaccounts"),
			rule("delete", "", "secrets"),
			rule("get", "", "configmaps,namespaces,secrets,serviceaccounts"),
			rule("update", "", "secrets,serviceaccounts"),
			rule("create", "authentication.k8s.io", "tokenreviews"),
			rule("create", "authorization.k8s.io", "subjectaccessreviews"),
			// Shared informers over everything.
			rule("list,watch", "*", "*"),
			rule("create", "", "serviceaccounts/token"),
		),
		clusterRole("system:kube-dns",
			rule("list,watch", "", "endpoints,services"),
		),
		clusterRole("system:kube-scheduler",
			eventsRule(),
			// Leader election.
			rule("create", "coordination.k8s.io", "leases"),
			named(rule("get,list,update,watch", "coordination.k8s.io", "leases"), "kube-scheduler"),
			rule("create,delete,deletecollection,get,list,patch,update,watch", "coordination.k8s.io", "leasecandidates"),
			rule(readVerbs, "", "nodes"),
			rule("delete,get,list,watch", "", "pods"),
			rule("create", "", "bindings,pods/binding"),
			rule("patch,update", "", "pods/status"),
			rule(readVerbs, "", "replicationcontrollers,services"),
			rule(readVerbs, "apps,extensions", "replicasets"),
			rule(readVerbs, "apps", "statefulsets"),
			rule(readVerbs, "policy", "poddisruptionbudgets"),
			rule(readVerbs, "", "persistentvolumeclaims,persistentvolumes"),
			rule("create", "authentication.k8s.io", "tokenreviews"),
			rule("create", "authorization.k8s.io", "subjectaccessreviews"),
			rule(readVerbs, "storage.k8s.io", "csinodes"),
			rule(readVerbs, "storage.k8s.io", "volumeattachments"),
			rule(readVerbs, "", "namespaces"),
			rule(readVerbs, "storage.k8s.io", "csidrivers"),
			rule(readVerbs, "storage.k8s.io", "csistoragecapacities"),
			// Dynamic resource allocation.
			rule(readVerbs, "resource.k8s.io", "deviceclasses"),
			rule("get,list,patch,update,watch", "resource.k8s.io", "resourceclaims"),
			rule("get,list,patch,update,watch", "resource.k8s.io", "resourceclaims/status"),
			rule("update", "", "pods/finalizers"),
			rule(readVerbs, "resource.k8s.io", "resourceslices"),
			rule("create,delete", "resource.k8s.io", "resourceclaims"),
			rule(readVerbs, "resource.k8s.io", "devicetaintrules"),
			rule("patch,update", "resource.k8s.io", "resourceclaims/binding"),
		),
		clusterRole("system:kubelet-api-admin",
			rule(readVerbs, "", "nodes"),
			rule("proxy", "", "nodes"),
			rule("*", "", "nodes/log,nodes/metrics,nodes/proxy,nodes/stats"),
			rule("*", "", "nodes/configz,nodes/healthz,nodes/pods"),
		),
		clusterRole("system:monitoring",
			urls("get", "/flagz,/healthz,/healthz/*,/livez,/livez/*,/metrics,/metrics/slis,/readyz,/readyz/*,/statusz"),
			rule("get", "", "nodes/metrics"),
		),
		clusterRole("system:node", NodeRules()...),
		clusterRole("system:node-bootstrapper",
			rule("create,get,list,watch", "certificates.k8s.io", "certificatesigningrequests"),
		),
		clusterRole("system:node-problem-detector",
			rule("get", "", "nodes"),
			rule("patch", "", "nodes/status"),
			eventsRule(),
		),
		clusterRole("system:node-proxier",
			rule("list,watch", "", "endpoints,services"),
			rule(readVerbs, "", "nodes"),
			eventsRule(),
			rule("list,watch", "networking.k8s.io", "servicecidrs"),
			rule("list,watch", "discovery.k8s.io", "endpointslices"),
		),
		clusterRole("system:persistent-volume-provisioner",
			rule("create,delete,get,list,watch", "", "persistentvolumes"),
			rule("get,list,update,watch", "", "persistentvolumeclaims"),
			rule(readVerbs, "storage.k8s.io", "storageclasses"),
			rule("watch", "", "events"),
			eventsRule(),
		),
		clusterRole("system:public-info-viewer",
			urls("get", "/healthz,/livez,/readyz,/version,/version/"),
		),
		clusterRole("system:service-account-issuer-discovery",
			urls("get", "/.well-known/openid-configuration,/.well-known/openid-configuration/,/openid/v1/jwks,/openid/v1/jwks/"),
		),
		clusterRole("system:volume-scheduler",
			rule("get,list,patch,update,watch", "", "persistentvolumes"),
			rule(readVerbs, "storage.k8s.io", "storageclasses"),
			rule("get,list,patch,update,watch", "", "persistentvolumeclaims"),
		),
	}
	return append(roles, ControllerRoles()...)
}

func clusterBinding(role string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
		ObjectMeta: meta(role),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   subjects,
	}
}

func user(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func group(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func serviceAccount(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

// ClusterRoleBindings returns the default ClusterRoleBindings, the
// per-controller bindings (ControllerRoleBindings) included. As upstream,
// system:node is bound to nobody: kubelets get its rules through the Node
// authorizer.
func ClusterRoleBindings() []rbacv1.ClusterRoleBinding {
	bindings := []rbacv1.ClusterRoleBinding{
		clusterBinding("cluster-admin", group("system:masters")),
		clusterBinding("system:basic-user", group("system:authenticated")),
		clusterBinding("system:cluster-trust-bundle-discovery", group("system:serviceaccounts")),
		clusterBinding("system:discovery", group("system:authenticated")),
		clusterBinding("system:kube-controller-manager", user("system:kube-controller-manager")),
		clusterBinding("system:kube-dns", serviceAccount("kube-system", "kube-dns")),
		clusterBinding("system:kube-scheduler", user("system:kube-scheduler")),
		clusterBinding("system:monitoring", group("system:monitoring")),
		clusterBinding("system:node"),
		clusterBinding("system:node-proxier", user("system:kube-proxy")),
		clusterBinding("system:public-info-viewer", group("system:authenticated"), group("system:unauthenticated")),
		clusterBinding("system:service-account-issuer-discovery", group("system:serviceaccounts")),
		clusterBinding("system:volume-scheduler", user("system:kube-scheduler")),
	}
	return append(bindings, ControllerRoleBindings()...)
}
