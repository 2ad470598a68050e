package authz_test

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kstack/kstack/pkg/auth"
	"github.com/kstack/kstack/pkg/auth/authz"
	"github.com/kstack/kstack/pkg/auth/bootstrap"
)

// bootstrapIndex is an Index holding the default policy plus a "view"
// binding for jane and an "edit" binding for bob in namespace dev.
func bootstrapIndex(t *testing.T) *authz.Index {
	t.Helper()
	x := authz.NewIndex()
	for _, r := range bootstrap.ClusterRoles() {
		x.Upsert(&r)
	}
	for _, b := range bootstrap.ClusterRoleBindings() {
		x.Upsert(&b)
	}
	for _, rs := range bootstrap.NamespaceRoles() {
		for _, r := range rs {
			x.Upsert(&r)
		}
	}
	for _, bs := range bootstrap.NamespaceRoleBindings() {
		for _, b := range bs {
			x.Upsert(&b)
		}
	}
	x.Upsert(roleBinding("dev", "jane-view", "ClusterRole", "view", rbacv1.Subject{Kind: "User", Name: "jane"}))
	x.Upsert(roleBinding("dev", "bob-edit", "ClusterRole", "edit", rbacv1.Subject{Kind: "User", Name: "bob"}))
	return x
}

func roleBinding(ns, name, kind, role string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role},
		Subjects:   subjects,
	}
}

func user(name string, groups ...string) *auth.User {
	return &auth.User{Name: name, Groups: append(groups, auth.AllAuthenticated)}
}

var anonymous = &auth.User{Name: auth.Anonymous, Groups: []string{auth.AllUnauthenticated}}

func res(u *auth.User, verb, group, resource, ns, name string) auth.Attributes {
	r, sub, _ := strings.Cut(resource, "/")
	return auth.Attributes{User: u, Verb: verb, ResourceRequest: true, APIGroup: group, APIVersion: "v1", Resource: r, Subresource: sub, Namespace: ns, Name: name}
}

func path(u *auth.User, verb, p string) auth.Attributes {
	return auth.Attributes{User: u, Verb: verb, Path: p}
}

func sa(ns, name string) *auth.User {
	return user(auth.ServiceAccountUserPrefix+ns+":"+name, auth.ServiceAccountGroup, auth.ServiceAccountGroupPrefix+ns)
}

func TestRBAC_BootstrapPolicyMatrix(t *testing.T) {
	a := authz.NewRBAC(bootstrapIndex(t))
	jane, bob := user("jane"), user("bob")
	admin := user("admin", auth.SystemPrivileged)
	sched := user("system:kube-scheduler")
	kcm := user("system:kube-controller-manager")
	cases := []struct {
		name  string
		attrs auth.Attributes
		allow bool
	}{
		{"view gets pods", res(jane, "get", "", "pods", "dev", "p"), true},
		{"view lists deployments", res(jane, "list", "apps", "deployments", "dev", ""), true},
		{"view reads pod logs", res(jane, "get", "", "pods/log", "dev", "p"), true},
		{"view cannot get secrets", res(jane, "get", "", "secrets", "dev", "s"), false},
		{"view cannot create pods", res(jane, "create", "", "pods", "dev", ""), false},
		{"view is namespaced", res(jane, "get", "", "pods", "prod", "p"), false},
		{"view cannot exec", res(jane, "create", "", "pods/exec", "dev", "p"), false},
		{"edit creates deployments", res(bob, "create", "apps", "deployments", "dev", ""), true},
		{"edit reads secrets", res(bob, "get", "", "secrets", "dev", "s"), true},
		{"edit inherits view", res(bob, "get", "", "pods/log", "dev", "p"), true},
		{"edit cannot write roles", res(bob, "create", "rbac.authorization.k8s.io", "roles", "dev", ""), false},
		{"cluster-admin anything", res(admin, "delete", "apps", "deployments", "x", "d"), true},
		{"cluster-admin any path", path(admin, "get", "/debug/pprof/"), true},
		{"anonymous healthz", path(anonymous, "get", "/healthz"), true},
		{"anonymous livez", path(anonymous, "get", "/livez"), true},
		{"anonymous readyz", path(anonymous, "get", "/readyz"), true},
		{"anonymous version", path(anonymous, "get", "/version"), true},
		{"anonymous no api discovery", path(anonymous, "get", "/api"), false},
		{"anonymous no metrics", path(anonymous, "get", "/metrics"), false},
		{"anonymous no pods", res(anonymous, "list", "", "pods", "", ""), false},
		{"authenticated discovery", path(jane, "get", "/apis/apps/v1"), true},
		{"authenticated openapi", path(jane, "get", "/openapi/v3"), true},
		{"authenticated self review", res(jane, "create", "authorization.k8s.io", "selfsubjectaccessreviews", "", ""), true},
		{"whoami", res(jane, "create", "authentication.k8s.io", "selfsubjectreviews", "", ""), true},
		{"scheduler binds pods", res(sched, "create", "", "pods/binding", "dev", "p"), true},
		{"scheduler own lease get", res(sched, "get", "coordination.k8s.io", "leases", "kube-system", "kube-scheduler"), true},
		{"scheduler own lease update", res(sched, "update", "coordination.k8s.io", "leases", "kube-system", "kube-scheduler"), true},
		{"scheduler creates lease", res(sched, "create", "coordination.k8s.io", "leases", "kube-system", ""), true},
		{"scheduler cannot update another lease", res(sched, "update", "coordination.k8s.io", "leases", "default", "other"), false},
		{"scheduler watches csistoragecapacities", res(sched, "watch", "storage.k8s.io", "csistoragecapacities", "", ""), true},
		{"scheduler patches PVs (volume-scheduler)", res(sched, "patch", "", "persistentvolumes", "", "pv1"), true},
		{"scheduler reads auth configmap", res(sched, "get", "", "configmaps", "kube-system", "extension-apiserver-authentication"), true},
		{"scheduler cannot read other configmaps", res(sched, "get", "", "configmaps", "kube-system", "other"), false},
		{"scheduler cannot create deployments", res(sched, "create", "apps", "deployments", "dev", ""), false},
		{"kcm lists everything", res(kcm, "list", "apps", "statefulsets", "", ""), true},
		{"kcm creates tokens", res(kcm, "create", "", "serviceaccounts/token", "kube-system", "deployment-controller"), true},
		{"kcm own lease", res(kcm, "update", "coordination.k8s.io", "leases", "kube-system", "kube-controller-manager"), true},
		{"kcm cannot delete pods itself", res(kcm, "delete", "", "pods", "dev", "p"), false},
		{"deployment controller creates replicasets", res(sa("kube-system", "deployment-controller"), "create", "apps", "replicasets", "dev", ""), true},
		{"deployment controller updates status", res(sa("kube-system", "deployment-controller"), "update", "apps", "deployments/status", "dev", "d"), true},
		{"replicaset controller creates pods", res(sa("kube-system", "replicaset-controller"), "create", "", "pods", "dev", ""), true},
		{"replicaset controller cannot create deployments", res(sa("kube-system", "replicaset-controller"), "create", "apps", "deployments", "dev", ""), false},
		{"gc deletes anything", res(sa("kube-system", "generic-garbage-collector"), "delete", "batch", "jobs", "dev", "j"), true},
		{"hpa scales by */scale", res(sa("kube-system", "horizontal-pod-autoscaler"), "update", "apps", "deployments/scale", "dev", "d"), true},
		{"controller SA in another namespace gets nothing", res(sa("dev", "deployment-controller"), "create", "apps", "replicasets", "dev", ""), false},
		{"bootstrap-signer updates cluster-info", res(sa("kube-system", "bootstrap-signer"), "update", "", "configmaps", "kube-public", "cluster-info"), true},
		{"bootstrap-signer other configmap", res(sa("kube-system", "bootstrap-signer"), "update", "", "configmaps", "kube-public", "x"), false},
		{"kube-proxy watches endpointslices", res(user("system:kube-proxy"), "watch", "discovery.k8s.io", "endpointslices", "", ""), true},
		{"system:node bound to nobody", res(user("system:node:a", auth.NodesGroup), "get", "", "secrets", "dev", "s"), false},
		{"nil user", res(nil, "get", "", "pods", "dev", "p"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, reason, err := a.Authorize(context.Background(), c.attrs)
			if err != nil {
				t.Fatal(err)
			}
			if got := d == auth.DecisionAllow; got != c.allow {
				t.Fatalf("allowed = %v, want %v (reason %q)", got, c.allow, reason)
			}
			if d == auth.DecisionDeny {
				t.Fatal("RBAC must never deny")
			}
			if c.allow && !strings.HasPrefix(reason, "RBAC: allowed by ") {
				t.Errorf("reason = %q", reason)
			}
		})
	}
}

func TestRBAC_Matching(t *testing.T) {
	x := authz.NewIndex()
	x.Upsert(&rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"},
		Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"one"}},
			{Verbs: []string{"get"}, APIGroups: []string{"*"}, Resources: []string{"*/status"}},
			{Verbs: []string{"*"}, APIGroups: []string{"apps"}, Resources: []string{"deployments"}},
			{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods/*"}},
		},
	})
	x.Upsert(roleBinding("ns", "b", "Role", "r",
		rbacv1.Subject{Kind: "Group", Name: "team"},
		rbacv1.Subject{Kind: "ServiceAccount", Name: "bot"}, // namespace defaults to the binding's
	))
	x.Upsert(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "urls"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get"}, NonResourceURLs: []string{"/exact", "/prefix/*"}},
	}})
	x.Upsert(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "urls"},
		RoleRef:  rbacv1.RoleRef{Kind: "ClusterRole", Name: "urls"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "u"}}})
	a := authz.NewRBAC(x)
	member := user("m", "team")
	bot := sa("ns", "bot")
	u := user("u")
	cases := []struct {
		name  string
		attrs auth.Attributes
		allow bool
	}{
		{"named get", res(member, "get", "", "configmaps", "ns", "one"), true},
		{"other name", res(member, "get", "", "configmaps", "ns", "two"), false},
		{"list without name", res(member, "list", "", "configmaps", "ns", ""), false},
		{"list with name selector", res(member, "list", "", "configmaps", "ns", "one"), true},
		{"*/status any resource", res(member, "get", "batch", "jobs/status", "ns", "j"), true},
		{"*/status not the resource", res(member, "get", "batch", "jobs", "ns", "j"), false},
		{"verb *", res(member, "deletecollection", "apps", "deployments", "ns", ""), true},
		{"no subresource from resource rule", res(member, "get", "apps", "deployments/scale", "ns", "d"), false},
		{"pods/* is literal", res(member, "get", "", "pods/log", "ns", "p"), false},
		{"service account defaulted namespace", res(bot, "get", "", "configmaps", "ns", "one"), true},
		{"same SA name elsewhere", res(sa("other", "bot"), "get", "", "configmaps", "ns", "one"), false},
		{"exact url", path(u, "get", "/exact"), true},
		{"exact url no prefix", path(u, "get", "/exact/more"), false},
		{"prefix url", path(u, "get", "/prefix/a/b"), true},
		{"url verb", path(u, "post", "/exact"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, reason, _ := a.Authorize(context.Background(), c.attrs)
			if got := d == auth.DecisionAllow; got != c.allow {
				t.Fatalf("allowed = %v, want %v (reason %q)", got, c.allow, reason)
			}
		})
	}
}

func TestRBAC_MissingRoleReason(t *testing.T) {
	x := authz.NewIndex()
	x.Upsert(roleBinding("ns", "b", "Role", "gone", rbacv1.Subject{Kind: "User", Name: "u"}))
	d, reason, _ := authz.NewRBAC(x).Authorize(context.Background(), res(user("u"), "get", "", "pods", "ns", "p"))
	if d != auth.DecisionNoOpinion || reason != `RBAC: roles.rbac.authorization.k8s.io "gone" not found` {
		t.Fatalf("got %v %q", d, reason)
	}
}

func TestIndex_AggregationFollowsChanges(t *testing.T) {
	x := bootstrapIndex(t)
	a := authz.NewRBAC(x)
	attrs := res(user("jane"), "list", "example.com", "widgets", "dev", "")
	if d, _, _ := a.Authorize(context.Background(), attrs); d == auth.DecisionAllow {
		t.Fatal("widgets allowed before aggregation")
	}
	widgets := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "widget-view", Labels: map[string]string{bootstrap.AggregateToView: "true"}},
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"list"}, APIGroups: []string{"example.com"}, Resources: []string{"widgets"}}},
	}
	x.Upsert(widgets)
	if d, _, _ := a.Authorize(context.Background(), attrs); d != auth.DecisionAllow {
		t.Fatal("view did not aggregate widget-view")
	}
	// view flows into edit and admin.
	admin, _ := x.ClusterRole("admin")
	if !authz.RulesAllow(res(user("x"), "list", "example.com", "widgets", "dev", ""), admin.Rules...) {
		t.Fatal("admin did not aggregate through edit and view")
	}
	x.Delete(widgets)
	if d, _, _ := a.Authorize(context.Background(), attrs); d == auth.DecisionAllow {
		t.Fatal("widgets still allowed after delete")
	}
}

func TestForbiddenMessage(t *testing.T) {
	u := user("jane")
	cases := []struct {
		attrs  auth.Attributes
		reason string
		want   string
	}{
		{res(u, "get", "", "secrets", "ns", "s"), "", `User "jane" cannot get resource "secrets" in API group "" in the namespace "ns"`},
		{res(u, "list", "apps", "deployments", "", ""), "", `User "jane" cannot list resource "deployments" in API group "apps" at the cluster scope`},
		{res(u, "get", "", "pods/log", "ns", "p"), "", `User "jane" cannot get resource "pods/log" in API group "" in the namespace "ns"`},
		{path(u, "get", "/foo"), "", `User "jane" cannot get path "/foo"`},
		{path(u, "get", "/foo"), "no", `User "jane" cannot get path "/foo": no`},
	}
	for _, c := range cases {
		if got := authz.ForbiddenMessage(c.attrs, c.reason); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}
