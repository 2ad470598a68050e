package authz_test

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kstack/kstack/pkg/auth"
	"github.com/kstack/kstack/pkg/auth/authz"
)

func TestConfirmNoEscalation_Message(t *testing.T) {
	a := authz.NewRBAC(bootstrapIndex(t))
	jane := &auth.User{Name: "jane", Groups: []string{"system:authenticated"}}
	err := authz.ConfirmNoEscalation(context.Background(), a, jane, "dev", []rbacv1.PolicyRule{
		{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"secrets", "pods"}},
	})
	want := "user \"jane\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n" +
		`{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestCheckRoleEscalation(t *testing.T) {
	x := bootstrapIndex(t)
	// carol may escalate roles in dev.
	x.Upsert(&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "dev", Name: "escalator"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"escalate"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"}},
	}})
	x.Upsert(roleBinding("dev", "carol", "Role", "escalator", rbacv1.Subject{Kind: "User", Name: "carol"}))
	a := authz.NewRBAC(x)
	secrets := []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}}
	pods := []rbacv1.PolicyRule{{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{""}, Resources: []string{"pods"}}}
	cases := []struct {
		name    string
		user    *auth.User
		ns      string
		rules   []rbacv1.PolicyRule
		wantErr bool
	}{
		{"view user grants what view holds", user("jane"), "dev", pods, false},
		{"view user cannot grant secrets", user("jane"), "dev", secrets, true},
		{"view user holds nothing elsewhere", user("jane"), "prod", pods, true},
		{"edit user grants secrets", user("bob"), "dev", secrets, false},
		{"escalate verb", user("carol"), "dev", secrets, false},
		{"system:masters", user("root", auth.SystemPrivileged), "dev", secrets, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := authz.CheckRoleEscalation(context.Background(), a, a, c.user, "roles", c.ns, "r", c.rules)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if err != nil && !apierrors.IsForbidden(err) {
				t.Fatalf("not a Forbidden status: %v", err)
			}
		})
	}
}

func TestCheckBindingEscalation(t *testing.T) {
	x := bootstrapIndex(t)
	// dave may bind only the "view" ClusterRole.
	x.Upsert(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "view-binder"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"bind"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}, ResourceNames: []string{"view"}},
	}})
	x.Upsert(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "dave"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view-binder"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "dave"}}})
	a := authz.NewRBAC(x)
	ref := func(name string) rbacv1.RoleRef {
		return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
	}
	cases := []struct {
		name     string
		user     *auth.User
		resource string
		ns       string
		ref      rbacv1.RoleRef
		check    func(error) bool
	}{
		{"holder binds view in dev", user("jane"), "rolebindings", "dev", ref("view"), nil},
		{"view holder cannot bind edit", user("jane"), "rolebindings", "dev", ref("edit"), apierrors.IsForbidden},
		{"view holder cannot bind cluster-wide", user("jane"), "clusterrolebindings", "", ref("view"), apierrors.IsForbidden},
		{"bind verb with resourceNames", user("dave"), "clusterrolebindings", "", ref("view"), nil},
		{"bind verb only for named role", user("dave"), "clusterrolebindings", "", ref("admin"), apierrors.IsForbidden},
		{"missing role", user("jane"), "rolebindings", "dev", ref("nope"), apierrors.IsNotFound},
		{"system:masters binds anything", user("root", auth.SystemPrivileged), "clusterrolebindings", "", ref("cluster-admin"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := authz.CheckBindingEscalation(context.Background(), a, a, a, c.user, c.resource, c.ns, "b", c.ref)
			if c.check == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !c.check(err) {
				t.Fatalf("wrong error: %v", err)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	r := func(verbs, groups, resources, names string) rbacv1.PolicyRule {
		s := func(v string) []string {
			if v == "" {
				return nil
			}
			return strings.Split(v, ",")
		}
		return rbacv1.PolicyRule{Verbs: s(verbs), APIGroups: strings.Split(groups, ","), Resources: s(resources), ResourceNames: s(names)}
	}
	cases := []struct {
		name      string
		owner     []rbacv1.PolicyRule
		requested []rbacv1.PolicyRule
		want      bool
	}{
		{"star covers", []rbacv1.PolicyRule{r("*", "*", "*", "")}, []rbacv1.PolicyRule{r("get", "apps", "deployments/scale", "x")}, true},
		{"*/sub covers subresource", []rbacv1.PolicyRule{r("get", "apps", "*/scale", "")}, []rbacv1.PolicyRule{r("get", "apps", "deployments/scale", "")}, true},
		{"resource does not cover subresource", []rbacv1.PolicyRule{r("get", "apps", "deployments", "")}, []rbacv1.PolicyRule{r("get", "apps", "deployments/scale", "")}, false},
		{"named owner does not cover unnamed", []rbacv1.PolicyRule{r("get", "", "secrets", "a")}, []rbacv1.PolicyRule{r("get", "", "secrets", "")}, false},
		{"named owner covers same name", []rbacv1.PolicyRule{r("get", "", "secrets", "a,b")}, []rbacv1.PolicyRule{r("get", "", "secrets", "a")}, true},
		{"split across owner rules", []rbacv1.PolicyRule{r("get", "", "pods", ""), r("list", "", "pods", "")}, []rbacv1.PolicyRule{r("get,list", "", "pods", "")}, true},
		{"url prefix", []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/api/*"}}}, []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/api/v1"}}}, true},
		{"url not covered", []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/api"}}}, []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/apis"}}}, false},
	}
	for _, c := range cases {
		if got, _ := authz.Covers(c.owner, c.requested); got != c.want {
			t.Errorf("%s: Covers = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRulesFor(t *testing.T) {
	a := authz.NewRBAC(bootstrapIndex(t))
	resRules, nonRes, incomplete, err := a.RulesFor(user("jane"), "dev")
	if err != nil || incomplete {
		t.Fatalf("err %v incomplete %v", err, incomplete)
	}
	if !authz.RulesAllow(res(user("jane"), "get", "", "pods", "dev", "p"), resRules...) {
		t.Error("resource rules miss view's pods")
	}
	if !authz.RulesAllow(path(user("jane"), "get", "/version"), nonRes...) {
		t.Error("non-resource rules miss /version")
	}
	for _, r := range resRules {
		if len(r.NonResourceURLs) > 0 {
			t.Fatalf("non-resource rule among resource rules: %v", r)
		}
	}
}

func TestCheckAggregationRule(t *testing.T) {
	x := bootstrapIndex(t)
	// dora may escalate the clusterrole "agg" only.
	x.Upsert(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "agg-escalator"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"escalate"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}, ResourceNames: []string{"agg"}},
	}})
	x.Upsert(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "dora"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "agg-escalator"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "dora"}}})
	x.Upsert(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ada"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "ada"}}})
	a := authz.NewRBAC(x)
	cases := []struct {
		name    string
		user    *auth.User
		role    string
		wantErr bool
	}{
		{"edit user in a namespace", user("bob"), "agg", true},
		{"escalate on that role", user("dora"), "agg", false},
		{"escalate on another role", user("dora"), "other", true},
		{"bound to cluster-admin", user("ada"), "agg", false},
		{"system:masters", user("root", auth.SystemPrivileged), "agg", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := authz.CheckAggregationRule(context.Background(), a, a, c.user, c.role)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if err != nil && (!apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "must have cluster-admin privileges to use the aggregationRule")) {
				t.Fatalf("error %v, want upstream's Forbidden", err)
			}
		})
	}
}
