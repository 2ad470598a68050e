package bootstrap

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func role(namespace, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
	m := meta(name)
	m.Namespace = namespace
	return rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
		ObjectMeta: m,
		Rules:      rules,
	}
}

func roleBinding(namespace, name, role string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	m := meta(name)
	m.Namespace = namespace
	return rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
		ObjectMeta: m,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
		Subjects:   subjects,
	}
}

// leaderLocking lets a component elect a leader with Leases (and
// LeaseCandidates) in kube-system.
func leaderLocking(name string) rbacv1.Role {
	return role("kube-system", name,
		rule("create,get,list,update,watch", "coordination.k8s.io", "leases"),
		rule("create,get,list,update,watch", "coordination.k8s.io", "leasecandidates"),
	)
}

// NamespaceRoles returns the default Roles by namespace.
func NamespaceRoles() map[string][]rbacv1.Role {
	return map[string][]rbacv1.Role{
		"kube-system": {
			// Components read the authentication configuration the
			// apiserver publishes for delegated authentication.
			role("kube-system", "extension-apiserver-authentication-reader",
				named(rule(readVerbs, "", "configmaps"), "extension-apiserver-authentication"),
			),
			leaderLocking("system::leader-locking-kube-controller-manager"),
			leaderLocking("system::leader-locking-kube-scheduler"),
			role("kube-system", "system:controller:bootstrap-signer",
				rule(readVerbs, "", "secrets"),
			),
			role("kube-system", "system:controller:cloud-provider",
				rule("create,get,list,watch", "", "configmaps"),
			),
			role("kube-system", "system:controller:token-cleaner",
				rule("delete,get,list,watch", "", "secrets"),
				eventsRule(),
			),
		},
		"kube-public": {
			role("kube-public", "system:controller:bootstrap-signer",
				rule(readVerbs, "", "configmaps"),
				named(rule("update", "", "configmaps"), "cluster-info"),
				eventsRule(),
			),
		},
	}
}

// NamespaceRoleBindings returns the default RoleBindings by namespace.
func NamespaceRoleBindings() map[string][]rbacv1.RoleBinding {
	return map[string][]rbacv1.RoleBinding{
		"kube-system": {
			roleBinding("kube-system", "system::extension-apiserver-authentication-reader", "extension-apiserver-authentication-reader",
				user("system:kube-controller-manager"), user("system:kube-scheduler")),
			roleBinding("kube-system", "system::leader-locking-kube-controller-manager", "system::leader-locking-kube-controller-manager",
				user("system:kube-controller-manager"),
				serviceAccount("kube-system", "kube-controller-manager"),
				serviceAccount("kube-system", "leader-election-controller")),
			roleBinding("kube-system", "system::leader-locking-kube-scheduler", "system::leader-locking-kube-scheduler",
				user("system:kube-scheduler"), serviceAccount("kube-system", "kube-scheduler")),
			roleBinding("kube-system", "system:controller:bootstrap-signer", "system:controller:bootstrap-signer",
				serviceAccount("kube-system", "bootstrap-signer")),
			roleBinding("kube-system", "system:controller:cloud-provider", "system:controller:cloud-provider",
				serviceAccount("kube-system", "cloud-provider")),
			roleBinding("kube-system", "system:controller:token-cleaner", "system:controller:token-cleaner",
				serviceAccount("kube-system", "token-cleaner")),
		},
		"kube-public": {
			roleBinding("kube-public", "system:controller:bootstrap-signer", "system:controller:bootstrap-signer",
				serviceAccount("kube-system", "bootstrap-signer")),
		},
	}
}
