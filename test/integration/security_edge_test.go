package integration

import (
	"context"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/kstack/kstack/test/integration/framework"
)

// TestSecurity_EscalationByOtherRoutes tries the routes around the create
// and update checks: patches, aggregation rules, cluster-wide roles.
func TestSecurity_EscalationByOtherRoutes(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "routes")
	// rbac-writer may write every RBAC object cluster-wide, and holds
	// nothing else.
	if _, err := s.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "rbac-writer"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get", "list", "create", "update", "patch", "delete"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"*"}},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bindUser(t, s.Client, "", "ClusterRole", "rbac-writer", "writer")
	waitCan(t, s.Client, "writer", nil, "patch", rbacv1.GroupName, "clusterroles", "")
	writer := clientFor(t, s.UserConfig(t, "writer"))
	if _, err := writer.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "small"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create a role within the writer's rules: %v", err)
	}
	if _, err := writer.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "small"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create a clusterrole within the writer's rules: %v", err)
	}

	tests := []struct {
		name string
		do   func() error
	}{
		{"merge patch a role to add secrets", func() error {
			_, err := writer.RbacV1().Roles(ns).Patch(ctx, "small", types.MergePatchType,
				[]byte(`{"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["secrets"]}]}`), metav1.PatchOptions{})
			return err
		}},
		{"JSON patch a clusterrole to add a wildcard", func() error {
			_, err := writer.RbacV1().ClusterRoles().Patch(ctx, "small", types.JSONPatchType,
				[]byte(`[{"op":"add","path":"/rules/-","value":{"verbs":["*"],"apiGroups":["*"],"resources":["*"]}}]`), metav1.PatchOptions{})
			return err
		}},
		{"strategic merge patch a role binding's roleRef target", func() error {
			_, err := writer.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "to-admin"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "writer"}},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"}}, metav1.CreateOptions{})
			return err
		}},
		{"clusterrole aggregating admin's rules", func() error {
			_, err := writer.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "sneaky-aggregate"},
				AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}}},
			}, metav1.CreateOptions{})
			return err
		}},
		{"clusterrolebinding to cluster-admin", func() error {
			_, err := writer.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "root"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "writer"}},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"}}, metav1.CreateOptions{})
			return err
		}},
		{"label a clusterrole into view's aggregation with rules it lacks", func() error {
			_, err := writer.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "into-view",
				Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}}, Rules: []rbacv1.PolicyRule{
				{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}}}, metav1.CreateOptions{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); codeOf(err) != 403 {
				t.Fatalf("got %v, want 403", err)
			}
		})
	}
	// Nothing above changed what the writer holds.
	if canI(t, writer, "get", "", "secrets", ns, "") {
		t.Error("the writer can read secrets after the attempts")
	}
	// Rules it does hold may still be written by patch.
	if _, err := writer.RbacV1().Roles(ns).Patch(ctx, "small", types.MergePatchType,
		[]byte(`{"rules":[{"verbs":["get","list"],"apiGroups":["rbac.authorization.k8s.io"],"resources":["roles"]}]}`), metav1.PatchOptions{}); err != nil {
		t.Errorf("patch a role within the writer's rules: %v", err)
	}
}

func TestSecurity_RevokedBindingAndDeletedServiceAccount(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "revoke")
	bindUser(t, s.Client, ns, "ClusterRole", "view", "vic")
	waitCan(t, s.Client, "vic", nil, "list", "", "pods", ns)
	vic := clientFor(t, s.UserConfig(t, "vic"))
	if _, err := vic.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("list pods with view: %v", err)
	}
	if err := s.Client.RbacV1().RoleBindings(ns).Delete(ctx, "vic-view", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a deleted binding revokes access", func(context.Context) (bool, error) {
		_, err := vic.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return codeOf(err) == 403, nil
	})

	// A service account's tokens die with it; TokenReview agrees with the
	// requests.
	if _, err := s.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token := requestToken(t, s, ns, "robot", authenticationv1.TokenRequestSpec{})
	review := func() authenticationv1.TokenReviewStatus {
		r, err := s.Client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	if st := review(); !st.Authenticated || st.User.Username != "system:serviceaccount:"+ns+":robot" {
		t.Fatalf("TokenReview of a live token: %+v", st)
	}
	if err := s.Client.CoreV1().ServiceAccounts(ns).Delete(ctx, "robot", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted service account's token is rejected", func(context.Context) (bool, error) {
		_, code := whoami(t, bearerConfig(s, token))
		return code == 401, nil
	})
	if st := review(); st.Authenticated || st.Error == "" {
		t.Errorf("TokenReview of a dead token: %+v", st)
	}
	// A new service account of the same name does not revive it.
	if _, err := s.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, code := whoami(t, bearerConfig(s, token)); code != 401 {
		t.Errorf("token of a recreated service account: %d, want 401", code)
	}
}

func TestSecurity_ImpersonateServiceAccountAndExtras(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	ns := createNamespace(t, s.Client, "impsa")
	tests := []struct {
		name       string
		imp        rest.ImpersonationConfig
		wantUser   string
		wantUID    string
		wantGroups []string
		wantExtra  map[string]authenticationv1.ExtraValue
	}{
		{"service account gets its groups", rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":robot"},
			"system:serviceaccount:" + ns + ":robot", "", []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}, nil},
		{"user with uid and extra", rest.ImpersonationConfig{UserName: "vic", UID: "1234", Extra: map[string][]string{"scopes": {"a", "b"}}},
			"vic", "1234", []string{"system:authenticated"}, map[string]authenticationv1.ExtraValue{"scopes": {"a", "b"}}},
		{"node", rest.ImpersonationConfig{UserName: "system:node:a", Groups: []string{"system:nodes"}},
			"system:node:a", "", []string{"system:nodes", "system:authenticated"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := rest.CopyConfig(s.Config)
			cfg.Impersonate = tt.imp
			u, code := whoami(t, cfg)
			if code != 200 {
				t.Fatalf("whoami = %d", code)
			}
			if u.Username != tt.wantUser || u.UID != tt.wantUID || !sameSet(u.Groups, tt.wantGroups) {
				t.Errorf("user %q uid %q groups %q, want %q %q %q", u.Username, u.UID, u.Groups, tt.wantUser, tt.wantUID, tt.wantGroups)
			}
			for k, v := range tt.wantExtra {
				if !sameSet(u.Extra[k], v) {
					t.Errorf("extra %s = %q, want %q", k, u.Extra[k], v)
				}
			}
		})
	}
	// Impersonating a service account needs impersonate on serviceaccounts
	// in its namespace; impersonating users does not cover it.
	if _, err := s.Client.RbacV1().ClusterRoles().Create(t.Context(), &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "impersonate-users"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"users"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bindUser(t, s.Client, "", "ClusterRole", "impersonate-users", "sudo")
	cfg := s.UserConfig(t, "sudo")
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "vic"}
	eventually(t, "sudo impersonates users", func(context.Context) (bool, error) {
		_, code := whoami(t, cfg)
		return code == 200, nil
	})
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":robot"}
	if u, code := whoami(t, cfg); code != 403 {
		t.Errorf("impersonate a service account with impersonate users only: %d %+v, want 403", code, u)
	}
}

func TestSecurity_KubeletListsAndTokensOnlyForItsPods(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "kl")
	if _, err := s.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := map[string]*corev1.Pod{}
	for _, n := range []string{"a", "b"} {
		if _, err := s.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := newPodFor("pod-"+n, "robot")
		p.Spec.NodeName = n
		p, err := s.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods[n] = p
	}
	kubelet := clientFor(t, s.UserConfig(t, "system:node:a", "system:nodes"))
	tokenFor := func(n string) error {
		_, err := kubelet.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			Audiences:      []string{testIssuer},
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pods[n].Name, UID: pods[n].UID}}}, metav1.CreateOptions{})
		return err
	}
	eventually(t, "kubelet a gets a token for its pod", func(context.Context) (bool, error) {
		return tokenFor("a") == nil, nil
	})
	tests := []struct {
		name string
		do   func() error
		want int
	}{
		{"list its pods by field selector", func() error {
			_, err := kubelet.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=a"})
			return err
		}, 200},
		{"list node b's pods", func() error {
			_, err := kubelet.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=b"})
			return err
		}, 403},
		{"list all pods", func() error { _, err := kubelet.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); return err }, 403},
		{"token for a pod on b", func() error { return tokenFor("b") }, 403},
		{"unbound token", func() error {
			_, err := kubelet.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "robot", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
			return err
		}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeOf(tt.do()); got != tt.want {
				t.Fatalf("got %d, want %d", got, tt.want)
			}
		})
	}
}
