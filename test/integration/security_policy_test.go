package integration

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kstack/kstack/test/integration/framework"
)

func TestSecurity_ServiceAccountIssuerDiscovery(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	ns := createNamespace(t, s.Client, "oidc")
	if _, err := s.Client.CoreV1().ServiceAccounts(ns).Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token := requestToken(t, s, ns, "robot", authenticationv1.TokenRequestSpec{})

	// As upstream, system:service-account-issuer-discovery is bound to
	// system:serviceaccounts only: anonymous clients need an admin's
	// binding to system:unauthenticated.
	access := []struct {
		name string
		code int
		cfg  func() int
	}{
		{"service account", 200, func() int { c, _ := getAs(t, bearerConfig(s, token), "/.well-known/openid-configuration"); return c }},
		{"admin", 200, func() int { c, _ := getAs(t, s.Config, "/openid/v1/jwks"); return c }},
		{"user without the binding", 403, func() int { c, _ := getAs(t, s.UserConfig(t, "jane"), "/openid/v1/jwks"); return c }},
		{"anonymous by default", 403, func() int { c, _ := getAs(t, s.AnonymousConfig(), "/.well-known/openid-configuration"); return c }},
	}
	for _, tt := range access {
		if got := tt.cfg(); got != tt.code {
			t.Errorf("%s: discovery = %d, want %d", tt.name, got, tt.code)
		}
	}
	if _, err := s.Client.RbacV1().ClusterRoleBindings().Create(t.Context(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "oidc-reviewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:service-account-issuer-discovery"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:unauthenticated"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var body []byte
	eventually(t, "anonymous reads the discovery document", func(context.Context) (bool, error) {
		var code int
		code, body = getAs(t, s.AnonymousConfig(), "/.well-known/openid-configuration")
		return code == 200, nil
	})
	var doc struct {
		Issuer        string   `json:"issuer"`
		JWKSURI       string   `json:"jwks_uri"`
		ResponseTypes []string `json:"response_types_supported"`
		SubjectTypes  []string `json:"subject_types_supported"`
		SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("discovery document %s: %v", body, err)
	}
	if doc.Issuer != testIssuer {
		t.Errorf("issuer %q, want %q", doc.Issuer, testIssuer)
	}
	if !strings.HasPrefix(doc.JWKSURI, "https://") || !strings.HasSuffix(doc.JWKSURI, "/openid/v1/jwks") {
		t.Errorf("jwks_uri %q, want https://.../openid/v1/jwks", doc.JWKSURI)
	}
	if !slices.Equal(doc.ResponseTypes, []string{"id_token"}) || !slices.Equal(doc.SubjectTypes, []string{"public"}) || !slices.Equal(doc.SigningAlgs, []string{"RS256"}) {
		t.Errorf("discovery document %s", body)
	}

	code, jwksBody := getAs(t, s.AnonymousConfig(), "/openid/v1/jwks")
	if code != 200 {
		t.Fatalf("jwks: %d %s", code, jwksBody)
	}
	var jwks struct {
		Keys []struct{ Use, Kty, Kid, Alg, N, E string } `json:"keys"`
	}
	if err := json.Unmarshal(jwksBody, &jwks); err != nil {
		t.Fatalf("jwks %s: %v", jwksBody, err)
	}
	header, _ := jwtParts(t, token)
	i := slices.IndexFunc(jwks.Keys, func(k struct{ Use, Kty, Kid, Alg, N, E string }) bool { return k.Kid == header["kid"] })
	if i < 0 {
		t.Fatalf("no JWKS key with the token's kid %v: %s", header["kid"], jwksBody)
	}
	k := jwks.Keys[i]
	if k.Use != "sig" || k.Kty != "RSA" || k.Alg != "RS256" {
		t.Errorf("key %+v, want use sig, kty RSA, alg RS256", k)
	}
	// A relying party verifies the token with the published key alone.
	n, err1 := base64.RawURLEncoding.DecodeString(k.N)
	e, err2 := base64.RawURLEncoding.DecodeString(k.E)
	if err1 != nil || err2 != nil {
		t.Fatalf("key n/e: %v %v", err1, err2)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	parsed, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(testIssuer), jwt.WithAudience(testIssuer))
	if err != nil || !parsed.Valid {
		t.Errorf("verify the token with the JWKS key: %v", err)
	}
}

func TestSecurity_BootstrapPolicy(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	ctx := t.Context()
	const bootstrapLabel = "kubernetes.io/bootstrapping=rbac-defaults"
	roles, err := s.Client.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{LabelSelector: bootstrapLabel})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]rbacv1.ClusterRole{}
	for _, r := range roles.Items {
		byName[r.Name] = r
	}
	for _, name := range []string{
		"cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery", "system:public-info-viewer",
		"system:kube-scheduler", "system:kube-controller-manager", "system:node-proxier", "system:node",
		"system:service-account-issuer-discovery", "system:auth-delegator", "system:volume-scheduler",
		"system:aggregate-to-admin", "system:aggregate-to-edit", "system:aggregate-to-view",
		"system:controller:replicaset-controller", "system:controller:deployment-controller",
		"system:controller:namespace-controller", "system:controller:node-controller",
		"system:controller:endpointslice-controller", "system:controller:generic-garbage-collector",
		"system:controller:service-account-controller", "system:controller:resourcequota-controller",
	} {
		r, ok := byName[name]
		if !ok {
			t.Errorf("clusterrole %s missing (or without %s)", name, bootstrapLabel)
			continue
		}
		if r.Annotations["rbac.authorization.kubernetes.io/autoupdate"] != "true" {
			t.Errorf("clusterrole %s lacks rbac.authorization.kubernetes.io/autoupdate=true", name)
		}
	}
	for _, name := range []string{"admin", "edit", "view"} {
		if byName[name].AggregationRule == nil {
			t.Errorf("clusterrole %s has no aggregationRule", name)
		}
	}
	if ca := byName["cluster-admin"]; len(ca.Rules) != 2 || !slices.Equal(ca.Rules[0].Verbs, []string{"*"}) {
		t.Errorf("cluster-admin rules %+v", ca.Rules)
	}

	bindings, err := s.Client.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{LabelSelector: bootstrapLabel})
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string][]string{}
	for _, b := range bindings.Items {
		for _, sub := range b.Subjects {
			id := sub.Kind + ":" + sub.Name
			if sub.Namespace != "" {
				id = sub.Kind + ":" + sub.Namespace + "/" + sub.Name
			}
			subjects[b.Name] = append(subjects[b.Name], id)
		}
	}
	for binding, want := range map[string][]string{
		"cluster-admin":                           {"Group:system:masters"},
		"system:basic-user":                       {"Group:system:authenticated"},
		"system:discovery":                        {"Group:system:authenticated"},
		"system:public-info-viewer":               {"Group:system:authenticated", "Group:system:unauthenticated"},
		"system:kube-scheduler":                   {"User:system:kube-scheduler"},
		"system:kube-controller-manager":          {"User:system:kube-controller-manager"},
		"system:node-proxier":                     {"User:system:kube-proxy"},
		"system:service-account-issuer-discovery": {"Group:system:serviceaccounts"},
		"system:controller:replicaset-controller": {"ServiceAccount:kube-system/replicaset-controller"},
	} {
		if !sameSet(subjects[binding], want) {
			t.Errorf("clusterrolebinding %s subjects %q, want %q", binding, subjects[binding], want)
		}
	}
	// system:node has no binding: the Node authorizer serves kubelets.
	if _, ok := subjects["system:node"]; ok {
		t.Errorf("clusterrolebinding system:node exists with %q; upstream leaves it without subjects", subjects["system:node"])
	}
	ksRoles, err := s.Client.RbacV1().Roles("kube-system").List(ctx, metav1.ListOptions{LabelSelector: bootstrapLabel})
	if err != nil {
		t.Fatal(err)
	}
	var ksNames []string
	for _, r := range ksRoles.Items {
		ksNames = append(ksNames, r.Name)
	}
	for _, want := range []string{"extension-apiserver-authentication-reader", "system::leader-locking-kube-controller-manager", "system::leader-locking-kube-scheduler", "system:controller:bootstrap-signer"} {
		if !slices.Contains(ksNames, want) {
			t.Errorf("kube-system role %s missing (have %q)", want, ksNames)
		}
	}

	// The components' identities can do their jobs.
	can := []struct {
		user   string
		groups []string
		ra     authorizationv1.ResourceAttributes
	}{
		{"system:kube-scheduler", nil, authorizationv1.ResourceAttributes{Verb: "create", Resource: "pods", Subresource: "binding", Namespace: "default"}},
		{"system:kube-scheduler", nil, authorizationv1.ResourceAttributes{Verb: "watch", Resource: "nodes"}},
		{"system:kube-scheduler", nil, authorizationv1.ResourceAttributes{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system", Name: "kube-scheduler"}},
		{"system:kube-controller-manager", nil, authorizationv1.ResourceAttributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: "kube-system", Name: "replicaset-controller"}},
		{"system:kube-controller-manager", nil, authorizationv1.ResourceAttributes{Verb: "list", Resource: "secrets"}},
		{"system:kube-proxy", nil, authorizationv1.ResourceAttributes{Verb: "watch", Group: "discovery.k8s.io", Resource: "endpointslices"}},
		{"system:serviceaccount:kube-system:replicaset-controller", []string{"system:serviceaccounts", "system:serviceaccounts:kube-system"}, authorizationv1.ResourceAttributes{Verb: "create", Resource: "pods", Namespace: "default"}},
		{"system:serviceaccount:kube-system:deployment-controller", []string{"system:serviceaccounts"}, authorizationv1.ResourceAttributes{Verb: "update", Group: "apps", Resource: "replicasets", Namespace: "default"}},
	}
	for _, tt := range can {
		sar, err := s.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: tt.user, Groups: append(tt.groups, "system:authenticated"), ResourceAttributes: &tt.ra}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !sar.Status.Allowed {
			t.Errorf("%s may not %s %s/%s: %s", tt.user, tt.ra.Verb, tt.ra.Resource, tt.ra.Subresource, sar.Status.Reason)
		}
	}

	// A ClusterRole labelled aggregate-to-view extends view (and so edit
	// and admin) for everyone bound to it.
	ns := createNamespace(t, s.Client, "agg")
	bindUser(t, s.Client, ns, "ClusterRole", "view", "vic")
	if _, err := s.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "widget-viewer", Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{"example.com"}, Resources: []string{"widgets"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCan(t, s.Client, "vic", nil, "list", "example.com", "widgets", ns)
}
