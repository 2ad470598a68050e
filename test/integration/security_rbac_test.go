package integration

import (
	"context"
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kstack/kstack/test/integration/framework"
)

// canI is `kubectl auth can-i` as the client's user.
func canI(t *testing.T, c kubernetes.Interface, verb, group, resource, ns, name string) bool {
	t.Helper()
	r, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(t.Context(), &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: verb, Group: group, Resource: resource, Namespace: ns, Name: name}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("can-i %s %s: %v", verb, resource, err)
	}
	return r.Status.Allowed
}

// access is one request of the authorization matrix: the attributes
// `auth can-i` is asked about and the call that does it.
type access struct {
	name                     string
	verb, group, resource, n string
	ns                       string
	do                       func(c kubernetes.Interface) error
	want                     int
}

// checkAccess runs each access as cfg's user: the call ends with want, and
// `auth can-i` agrees (allowed exactly when the call was not forbidden).
func checkAccess(t *testing.T, cfg *rest.Config, rows []access) {
	t.Helper()
	c := clientFor(t, cfg)
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do(c)
			if got := codeOf(err); got != tt.want {
				t.Fatalf("got %d (%v), want %d", got, err, tt.want)
			}
			if tt.want == 403 && !strings.Contains(err.Error(), "cannot "+tt.verb) {
				t.Errorf("403 message %q does not say what is forbidden", err)
			}
			allowed := canI(t, c, tt.verb, tt.group, tt.resource, tt.ns, tt.n)
			if allowed != (tt.want != 403) {
				t.Errorf("can-i %s %s/%s in %q = %v, but the request got %d", tt.verb, tt.group, tt.resource, tt.ns, allowed, tt.want)
			}
		})
	}
}

func TestSecurity_ViewAndEditRoles(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "team")
	other := createNamespace(t, s.Client, "other")
	for _, n := range []string{ns, other} {
		if _, err := s.Client.CoreV1().Pods(n).Create(ctx, newPod("p1", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Client.CoreV1().Secrets(n).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s1"}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bindUser(t, s.Client, ns, "ClusterRole", "view", "vic")
	bindUser(t, s.Client, ns, "ClusterRole", "edit", "eddie")
	waitCan(t, s.Client, "vic", nil, "list", "", "pods", ns)
	waitCan(t, s.Client, "eddie", nil, "create", "apps", "deployments", ns)

	getPod := func(n string) func(kubernetes.Interface) error {
		return func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Pods(n).Get(ctx, "p1", metav1.GetOptions{})
			return err
		}
	}
	listPods := func(n string) func(kubernetes.Interface) error {
		return func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Pods(n).List(ctx, metav1.ListOptions{})
			return err
		}
	}
	getSecret := func(c kubernetes.Interface) error {
		_, err := c.CoreV1().Secrets(ns).Get(ctx, "s1", metav1.GetOptions{})
		return err
	}
	listSecrets := func(c kubernetes.Interface) error {
		_, err := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		return err
	}
	createPod := func(name string) func(kubernetes.Interface) error {
		return func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Pods(ns).Create(ctx, newPod(name, nil), metav1.CreateOptions{})
			return err
		}
	}
	deletePod := func(c kubernetes.Interface) error {
		return c.CoreV1().Pods(ns).Delete(ctx, "p1", metav1.DeleteOptions{})
	}
	createDeployment := func(name string) func(kubernetes.Interface) error {
		return func(c kubernetes.Interface) error {
			_, err := c.AppsV1().Deployments(ns).Create(ctx, newDeployment(name, 1), metav1.CreateOptions{})
			return err
		}
	}
	createRoleBinding := func(c kubernetes.Interface) error {
		_, err := c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "x"},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"}}, metav1.CreateOptions{})
		return err
	}

	t.Run("view", func(t *testing.T) {
		checkAccess(t, s.UserConfig(t, "vic"), []access{
			{"get pod", "get", "", "pods", "p1", ns, getPod(ns), 200},
			{"list pods", "list", "", "pods", "", ns, listPods(ns), 200},
			{"list pods in another namespace", "list", "", "pods", "", other, listPods(other), 403},
			{"list pods in all namespaces", "list", "", "pods", "", "", listPods(""), 403},
			{"watch pods", "watch", "", "pods", "", ns, watchIn(ctx, ns, "pods"), 200},
			{"watch secrets", "watch", "", "secrets", "", ns, watchIn(ctx, ns, "secrets"), 403},
			{"get secret", "get", "", "secrets", "s1", ns, getSecret, 403},
			{"list secrets", "list", "", "secrets", "", ns, listSecrets, 403},
			{"create pod", "create", "", "pods", "", ns, createPod("vic-pod"), 403},
			{"delete pod", "delete", "", "pods", "p1", ns, deletePod, 403},
			{"create deployment", "create", "apps", "deployments", "", ns, createDeployment("vic-dep"), 403},
		})
	})
	t.Run("edit", func(t *testing.T) {
		checkAccess(t, s.UserConfig(t, "eddie"), []access{
			{"create deployment", "create", "apps", "deployments", "", ns, createDeployment("web"), 200},
			{"create pod", "create", "", "pods", "", ns, createPod("eddie-pod"), 200},
			{"get secret", "get", "", "secrets", "s1", ns, getSecret, 200},
			{"create deployment in another namespace", "create", "apps", "deployments", "", other, func(c kubernetes.Interface) error {
				_, err := c.AppsV1().Deployments(other).Create(ctx, newDeployment("web", 1), metav1.CreateOptions{})
				return err
			}, 403},
			{"create rolebinding", "create", "rbac.authorization.k8s.io", "rolebindings", "", ns, createRoleBinding, 403},
			{"delete pod", "delete", "", "pods", "p1", ns, deletePod, 200},
		})
	})
	t.Run("rules review lists view's rules", func(t *testing.T) {
		c := clientFor(t, s.UserConfig(t, "vic"))
		r, err := c.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
			Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		has := func(verb, group, resource string) bool {
			for _, rule := range r.Status.ResourceRules {
				if slices.Contains(rule.Verbs, verb) && slices.Contains(rule.APIGroups, group) && slices.Contains(rule.Resources, resource) {
					return true
				}
			}
			return false
		}
		for _, want := range [][3]string{{"get", "", "pods"}, {"list", "apps", "deployments"}, {"watch", "", "configmaps"}, {"create", "authorization.k8s.io", "selfsubjectaccessreviews"}} {
			if !has(want[0], want[1], want[2]) {
				t.Errorf("rules lack %s %s/%s: %+v", want[0], want[1], want[2], r.Status.ResourceRules)
			}
		}
		for _, bad := range [][3]string{{"get", "", "secrets"}, {"create", "", "pods"}, {"delete", "apps", "deployments"}} {
			if has(bad[0], bad[1], bad[2]) {
				t.Errorf("rules grant %s %s/%s, which view does not", bad[0], bad[1], bad[2])
			}
		}
		if r.Status.Incomplete {
			t.Errorf("rules review incomplete: %s", r.Status.EvaluationError)
		}
	})
	t.Run("subject access review by the admin for another user", func(t *testing.T) {
		tests := []struct {
			name string
			ra   authorizationv1.ResourceAttributes
			user string
			want bool
		}{
			{"vic get pods", authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods", Namespace: ns}, "vic", true},
			{"vic get secrets", authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: ns}, "vic", false},
			{"vic get pods elsewhere", authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods", Namespace: other}, "vic", false},
			{"eddie update deployments/scale", authorizationv1.ResourceAttributes{Verb: "update", Group: "apps", Resource: "deployments", Subresource: "scale", Namespace: ns}, "eddie", true},
			{"nobody get pods", authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods", Namespace: ns}, "nobody", false},
		}
		for _, tt := range tests {
			sar, err := s.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{User: tt.user, ResourceAttributes: &tt.ra}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if sar.Status.Allowed != tt.want {
				t.Errorf("%s: allowed=%v (%s), want %v", tt.name, sar.Status.Allowed, sar.Status.Reason, tt.want)
			}
			lsar, err := s.Client.AuthorizationV1().LocalSubjectAccessReviews(tt.ra.Namespace).Create(ctx, &authorizationv1.LocalSubjectAccessReview{
				ObjectMeta: metav1.ObjectMeta{Namespace: tt.ra.Namespace},
				Spec:       authorizationv1.SubjectAccessReviewSpec{User: tt.user, ResourceAttributes: &tt.ra}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("%s (local): %v", tt.name, err)
			}
			if lsar.Status.Allowed != tt.want {
				t.Errorf("%s (local): allowed=%v, want %v", tt.name, lsar.Status.Allowed, tt.want)
			}
		}
		// A user without create on subjectaccessreviews may not ask about others.
		_, err := clientFor(t, s.UserConfig(t, "vic")).AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: "eddie", ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: ns}}}, metav1.CreateOptions{})
		if codeOf(err) != 403 {
			t.Errorf("vic's SubjectAccessReview: %v, want 403", err)
		}
	})
}

func TestSecurity_EscalationPrevention(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "esc")
	// roler may write roles and rolebindings in ns, and nothing else.
	roleAdmin := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "role-admin"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get", "list", "create", "update", "delete"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles", "rolebindings"}},
	}}
	if _, err := s.Client.RbacV1().Roles(ns).Create(ctx, roleAdmin, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bindUser(t, s.Client, ns, "Role", "role-admin", "roler")
	waitCan(t, s.Client, "roler", nil, "create", rbacv1.GroupName, "roles", ns)
	roler := clientFor(t, s.UserConfig(t, "roler"))

	secretsRole := func(name string) *rbacv1.Role {
		return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}}}
	}
	createRole := func(r *rbacv1.Role) func() error {
		return func() error { _, err := roler.RbacV1().Roles(ns).Create(ctx, r, metav1.CreateOptions{}); return err }
	}
	bindTo := func(name, kind, role string) func() error {
		return func() error {
			_, err := roler.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "roler"}},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role}}, metav1.CreateOptions{})
			return err
		}
	}
	// sub-role holds only rules roler has: creating and binding it is fine.
	subRole := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "sub-role"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get", "list"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"}}}}

	steps := []struct {
		name     string
		do       func() error
		want     int
		wantText string
	}{
		{"create a role with rules the user has", createRole(subRole), 200, ""},
		{"bind a role with rules the user has", bindTo("sub", "Role", "sub-role"), 200, ""},
		{"create a role granting secrets get", createRole(secretsRole("secrets-reader")), 403, "attempting to grant RBAC permissions not currently held"},
		{"update a role to grant secrets get", func() error {
			r, err := roler.RbacV1().Roles(ns).Get(ctx, "sub-role", metav1.GetOptions{})
			if err != nil {
				return err
			}
			r.Rules = append(r.Rules, secretsRole("").Rules...)
			_, err = roler.RbacV1().Roles(ns).Update(ctx, r, metav1.UpdateOptions{})
			return err
		}, 403, "attempting to grant RBAC permissions not currently held"},
		{"bind cluster-admin without bind", bindTo("root", "ClusterRole", "cluster-admin"), 403, "attempting to grant RBAC permissions not currently held"},
		{"bind the role-admin role it holds", bindTo("self", "Role", "role-admin"), 200, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := st.do()
			if got := codeOf(err); got != st.want {
				t.Fatalf("got %d (%v), want %d", got, err, st.want)
			}
			if st.wantText != "" && !strings.Contains(err.Error(), st.wantText) {
				t.Errorf("error %q does not contain %q", err, st.wantText)
			}
		})
	}
	if canI(t, roler, "escalate", rbacv1.GroupName, "roles", ns, "") || canI(t, roler, "bind", rbacv1.GroupName, "clusterroles", ns, "cluster-admin") {
		t.Fatal("can-i says roler may escalate or bind before it was granted")
	}

	// Grant escalate on roles and bind on the cluster-admin ClusterRole.
	grants := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "escalator"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"escalate"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"}},
		{Verbs: []string{"bind"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}, ResourceNames: []string{"cluster-admin"}},
	}}
	if _, err := s.Client.RbacV1().Roles(ns).Create(ctx, grants, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bindUser(t, s.Client, ns, "Role", "escalator", "roler")
	waitCan(t, s.Client, "roler", nil, "escalate", rbacv1.GroupName, "roles", ns)
	if !canI(t, roler, "escalate", rbacv1.GroupName, "roles", ns, "") || !canI(t, roler, "bind", rbacv1.GroupName, "clusterroles", ns, "cluster-admin") {
		t.Fatal("can-i says roler may not escalate or bind after the grant")
	}
	if err := createRole(secretsRole("secrets-reader"))(); err != nil {
		t.Errorf("create a role granting secrets get with escalate: %v", err)
	}
	if err := bindTo("root", "ClusterRole", "cluster-admin")(); err != nil {
		t.Errorf("bind cluster-admin with bind on it: %v", err)
	}
	// The binding took effect: roler reads secrets in ns.
	waitCan(t, s.Client, "roler", nil, "get", "", "secrets", ns)
	if _, err := roler.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list secrets as namespace cluster-admin: %v", err)
	}
	// Namespaced cluster-admin does not reach other namespaces.
	if _, err := roler.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); codeOf(err) != 403 {
		t.Errorf("list secrets in default: %v, want 403", err)
	}
}

func TestSecurity_Impersonation(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "imp")
	if _, err := s.Client.CoreV1().Pods(ns).Create(ctx, newPod("p1", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bindUser(t, s.Client, ns, "ClusterRole", "view", "vic")
	// sudo may impersonate the user vic (only) and the group viewers.
	impersonator := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "impersonate-vic"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"users"}, ResourceNames: []string{"vic"}},
		{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"groups"}, ResourceNames: []string{"viewers"}},
	}}
	if _, err := s.Client.RbacV1().ClusterRoles().Create(ctx, impersonator, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bindUser(t, s.Client, "", "ClusterRole", "impersonate-vic", "sudo")
	waitCan(t, s.Client, "vic", nil, "get", "", "pods", ns)
	as := func(cfg *rest.Config, user string, groups ...string) *rest.Config {
		c := rest.CopyConfig(cfg)
		c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
		return c
	}
	eventually(t, "sudo's binding takes effect", func(context.Context) (bool, error) {
		_, code := whoami(t, as(s.UserConfig(t, "sudo"), "vic"))
		return code == 200, nil
	})
	getPod := func(c kubernetes.Interface) error {
		_, err := c.CoreV1().Pods(ns).Get(ctx, "p1", metav1.GetOptions{})
		return err
	}
	listSecrets := func(c kubernetes.Interface) error {
		_, err := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		return err
	}
	tests := []struct {
		name     string
		cfg      *rest.Config
		wantUser string // from whoami; "" when whoami is refused
		do       func(kubernetes.Interface) error
		want     int
	}{
		{"admin as vic gets a pod", as(s.Config, "vic"), "vic", getPod, 200},
		{"admin as vic cannot list secrets", as(s.Config, "vic"), "vic", listSecrets, 403},
		{"admin as nobody cannot get a pod", as(s.Config, "nobody"), "nobody", getPod, 403},
		{"sudo as vic gets a pod", as(s.UserConfig(t, "sudo"), "vic"), "vic", getPod, 200},
		{"sudo as vic in viewers gets a pod", as(s.UserConfig(t, "sudo"), "vic", "viewers"), "vic", getPod, 200},
		{"sudo as eddie is forbidden", as(s.UserConfig(t, "sudo"), "eddie"), "", getPod, 403},
		{"sudo as vic in system:masters is forbidden", as(s.UserConfig(t, "sudo"), "vic", "system:masters"), "", listSecrets, 403},
		{"mallory as vic is forbidden", as(s.UserConfig(t, "mallory"), "vic"), "", getPod, 403},
		{"mallory herself cannot get a pod", s.UserConfig(t, "mallory"), "mallory", getPod, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clientFor(t, tt.cfg)
			err := tt.do(c)
			if got := codeOf(err); got != tt.want {
				t.Fatalf("got %d (%v), want %d", got, err, tt.want)
			}
			u, code := whoami(t, tt.cfg)
			if tt.wantUser == "" {
				if code != 403 {
					t.Errorf("whoami = %d %+v, want 403 (impersonation refused)", code, u)
				}
				return
			}
			if code != 200 || u.Username != tt.wantUser {
				t.Errorf("whoami = %d %q, want %q", code, u.Username, tt.wantUser)
			}
			if tt.cfg.Impersonate.UserName != "" && !sameSet(u.Groups, append(tt.cfg.Impersonate.Groups, "system:authenticated")) {
				t.Errorf("impersonated groups %q, want %q + system:authenticated", u.Groups, tt.cfg.Impersonate.Groups)
			}
		})
	}
}

// watchIn starts and stops a watch of pods or secrets in ns.
func watchIn(ctx context.Context, ns, resource string) func(kubernetes.Interface) error {
	return func(c kubernetes.Interface) error {
		var w watch.Interface
		var err error
		if resource == "pods" {
			w, err = c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
		} else {
			w, err = c.CoreV1().Secrets(ns).Watch(ctx, metav1.ListOptions{})
		}
		if err == nil {
			w.Stop()
		}
		return err
	}
}
