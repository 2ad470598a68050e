package integration

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kstack/kstack/pkg/apiserver"
	"github.com/kstack/kstack/pkg/auth/pki"
	"github.com/kstack/kstack/test/integration/framework"
)

const testIssuer = "https://kubernetes.default.svc.cluster.local"

func TestSecurity_AnonymousReachesOnlyPublicInfo(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	off := framework.Start(t, framework.Options{EmbeddedEtcd: true, Configure: func(c *apiserver.Config) { c.AnonymousAuth = false }})
	tests := []struct {
		name     string
		server   *framework.Server
		path     string
		wantCode int
		wantBody string
	}{
		// --anonymous-auth=true (the default): system:anonymous is a user
		// whom RBAC forbids everything but system:public-info-viewer.
		{"anonymous list pods is forbidden", s, "/api/v1/namespaces/default/pods", 403, `User \"system:anonymous\" cannot list resource \"pods\"`},
		{"anonymous get secret is forbidden", s, "/api/v1/namespaces/kube-system/secrets/x", 403, `cannot get resource \"secrets\"`},
		{"anonymous list nodes is forbidden", s, "/api/v1/nodes", 403, `"reason":"Forbidden"`},
		{"anonymous discovery is forbidden", s, "/apis", 403, `"reason":"Forbidden"`},
		{"anonymous readyz", s, "/readyz", 200, "ok"},
		{"anonymous livez", s, "/livez", 200, "ok"},
		{"anonymous healthz", s, "/healthz", 200, "ok"},
		{"anonymous version", s, "/version", 200, `"gitVersion"`},
		{"anonymous metrics is forbidden", s, "/metrics", 403, `"reason":"Forbidden"`},
		// --anonymous-auth=false: no credentials at all is a 401, even for
		// the health endpoints (as upstream).
		{"no credentials list pods without anonymous", off, "/api/v1/namespaces/default/pods", 401, `"reason":"Unauthorized"`},
		{"no credentials readyz without anonymous", off, "/readyz", 401, `"reason":"Unauthorized"`},
		{"no credentials version without anonymous", off, "/version", 401, `"reason":"Unauthorized"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := getAs(t, tt.server.AnonymousConfig(), tt.path)
			if code != tt.wantCode {
				t.Fatalf("GET %s = %d %s, want %d", tt.path, code, body, tt.wantCode)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("GET %s body %s, want it to contain %s", tt.path, body, tt.wantBody)
			}
		})
	}
	// The admin still gets in on the server without anonymous.
	if _, err := off.Client.CoreV1().Pods("default").List(t.Context(), metav1.ListOptions{}); err != nil {
		t.Errorf("admin list pods without anonymous: %v", err)
	}
}

// certConfig is a client config for s with a client certificate issued by
// ca for user, valid from issued for validity.
func certConfig(t *testing.T, s *framework.Server, ca *pki.CA, user string, issued time.Time, validity time.Duration) *rest.Config {
	t.Helper()
	key, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(pki.CertSpec{CommonName: user, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: validity}, key.Public(), issued)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	c := s.AnonymousConfig()
	c.CertData, c.KeyData = pki.EncodeCertsPEM(cert), keyPEM
	return c
}

func bearerConfig(s *framework.Server, token string) *rest.Config {
	c := s.AnonymousConfig()
	c.BearerToken = token
	return c
}

// requestToken asks the TokenRequest API for a token of ns/sa.
func requestToken(t *testing.T, s *framework.Server, ns, sa string, spec authenticationv1.TokenRequestSpec) string {
	t.Helper()
	tr, err := s.Client.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), sa, &authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token request for %s/%s: %v", ns, sa, err)
	}
	if tr.Status.Token == "" || tr.Status.ExpirationTimestamp.IsZero() {
		t.Fatalf("token request for %s/%s: empty status %+v", ns, sa, tr.Status)
	}
	return tr.Status.Token
}

// jwtParts decodes a compact JWS's header and claims.
func jwtParts(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	for i, out := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("token part %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("token part %d: %v", i, err)
		}
	}
	return header, claims
}

// resign returns token's claims, changed by edit, signed with method and
// key under token's kid.
func resign(t *testing.T, token string, method jwt.SigningMethod, key any, edit func(map[string]any)) string {
	t.Helper()
	header, claims := jwtParts(t, token)
	if edit != nil {
		edit(claims)
	}
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	tok.Header["kid"] = header["kid"]
	out, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign forged token: %v", err)
	}
	return out
}

// unsignedToken is token's claims with "alg": "none" and no signature.
func unsignedToken(t *testing.T, token string) string {
	t.Helper()
	header, claims := jwtParts(t, token)
	header["alg"] = "none"
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + "."
}

// whoami is `kubectl auth whoami`: the SelfSubjectReview's user, or the
// status code of the failure.
func whoami(t *testing.T, cfg *rest.Config) (authenticationv1.UserInfo, int) {
	t.Helper()
	r, err := clientFor(t, cfg).AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, codeOf(err)
	}
	return r.Status.UserInfo, 200
}

func TestSecurity_AuthenticationMatrix(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte("static-token-1,alice,uid-alice,\"ops,dev\"\nstatic-token-2,bob,uid-bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true, Configure: func(c *apiserver.Config) { c.TokenAuthFile = tokenFile }})
	ns := createNamespace(t, s.Client, "authn")
	if _, err := s.Client.CoreV1().ServiceAccounts(ns).Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	saToken := requestToken(t, s, ns, "robot", authenticationv1.TokenRequestSpec{})
	otherAudience := requestToken(t, s, ns, "robot", authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}})
	saKey, err := pki.LoadKeyFile(s.PKI.SAKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	saPub, err := os.ReadFile(s.PKI.SAPublicKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	anotherCAKey, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	anotherCA, err := pki.NewCA("kstack-test-ca", anotherCAKey, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	saUser := "system:serviceaccount:" + ns + ":robot"
	saGroups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}

	tests := []struct {
		name       string
		cfg        *rest.Config
		wantCode   int
		wantUser   string
		wantGroups []string
	}{
		{"admin client cert", s.Config, 200, "kubernetes-admin", []string{"system:masters", "system:authenticated"}},
		{"client cert from the cluster CA", s.UserConfig(t, "jane", "group1"), 200, "jane", []string{"group1", "system:authenticated"}},
		{"expired client cert", certConfig(t, s, s.PKI.CA, "jane", now.Add(-48*time.Hour), time.Hour), 401, "", nil},
		{"client cert not yet valid", certConfig(t, s, s.PKI.CA, "jane", now.Add(2*time.Hour), time.Hour), 401, "", nil},
		{"client cert from another CA with the same name", certConfig(t, s, anotherCA, "kubernetes-admin", now, time.Hour), 401, "", nil},
		{"serving cert (no client auth usage) as a client cert", func() *rest.Config {
			c := s.AnonymousConfig()
			c.CertFile, c.KeyFile = s.PKI.ServingCertFile, s.PKI.ServingKeyFile
			return c
		}(), 401, "", nil},
		{"static token with groups", bearerConfig(s, "static-token-1"), 200, "alice", []string{"ops", "dev", "system:authenticated"}},
		{"static token without groups", bearerConfig(s, "static-token-2"), 200, "bob", []string{"system:authenticated"}},
		{"unknown static token", bearerConfig(s, "static-token-3"), 401, "", nil},
		{"TokenRequest token", bearerConfig(s, saToken), 200, saUser, saGroups},
		{"TokenRequest token re-signed with the real key", bearerConfig(s, resign(t, saToken, jwt.SigningMethodRS256, saKey, nil)), 200, saUser, saGroups},
		{"token for another audience", bearerConfig(s, otherAudience), 401, "", nil},
		{"token with alg none", bearerConfig(s, unsignedToken(t, saToken)), 401, "", nil},
		{"token with a wrong issuer", bearerConfig(s, resign(t, saToken, jwt.SigningMethodRS256, saKey, func(c map[string]any) { c["iss"] = "https://evil.example.com" })), 401, "", nil},
		{"token with a wrong audience", bearerConfig(s, resign(t, saToken, jwt.SigningMethodRS256, saKey, func(c map[string]any) { c["aud"] = []string{"https://evil.example.com"} })), 401, "", nil},
		{"token expired", bearerConfig(s, resign(t, saToken, jwt.SigningMethodRS256, saKey, func(c map[string]any) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-3*time.Hour).Unix(), now.Add(-3*time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
		})), 401, "", nil},
		{"token renamed to another service account", bearerConfig(s, resign(t, saToken, jwt.SigningMethodRS256, saKey, func(c map[string]any) {
			c["sub"] = "system:serviceaccount:kube-system:default"
		})), 401, "", nil},
		{"token HMAC-signed with the public key", bearerConfig(s, resign(t, saToken, jwt.SigningMethodHS256, saPub, nil)), 401, "", nil},
		{"token with a tampered payload", bearerConfig(s, func() string {
			p := strings.Split(saToken, ".")
			_, claims := jwtParts(t, saToken)
			claims["sub"] = "system:serviceaccount:kube-system:default"
			b, _ := json.Marshal(claims)
			return p[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + p[2]
		}()), 401, "", nil},
		{"garbage bearer token", bearerConfig(s, "not-a-token"), 401, "", nil},
		// system:basic-user (selfsubjectreviews) is for system:authenticated only.
		{"no credentials", s.AnonymousConfig(), 403, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, code := whoami(t, tt.cfg)
			if code != tt.wantCode {
				t.Fatalf("whoami = %d (%+v), want %d", code, u, tt.wantCode)
			}
			if code != 200 {
				// The rejection holds on resources too.
				_, err := clientFor(t, tt.cfg).CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
				if got := codeOf(err); got != tt.wantCode {
					t.Errorf("list pods = %d (%v), want %d", got, err, tt.wantCode)
				}
				return
			}
			if u.Username != tt.wantUser {
				t.Errorf("user %q, want %q", u.Username, tt.wantUser)
			}
			if !sameSet(u.Groups, tt.wantGroups) {
				t.Errorf("groups %q, want %q", u.Groups, tt.wantGroups)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func TestSecurity_PodBoundTokenDiesWithItsPod(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	ns := createNamespace(t, s.Client, "bound")
	if _, err := s.Client.CoreV1().ServiceAccounts(ns).Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := newPod("web", nil)
	pod.Spec.ServiceAccountName = "robot"
	pod, err := s.Client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := requestToken(t, s, ns, "robot", authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	})
	_, claims := jwtParts(t, token)
	k8s, _ := claims["kubernetes.io"].(map[string]any)
	if p, _ := k8s["pod"].(map[string]any); p["name"] != "web" || p["uid"] != string(pod.UID) {
		t.Errorf("token's kubernetes.io claim %v, want pod web/%s", k8s, pod.UID)
	}

	u, code := whoami(t, bearerConfig(s, token))
	if code != 200 {
		t.Fatalf("pod-bound token while the pod lives: %d", code)
	}
	if u.Username != "system:serviceaccount:"+ns+":robot" {
		t.Errorf("user %q", u.Username)
	}
	if got := u.Extra["authentication.kubernetes.io/pod-name"]; len(got) != 1 || got[0] != "web" {
		t.Errorf("extra pod-name %v, want [web]", got)
	}
	if got := u.Extra["authentication.kubernetes.io/pod-uid"]; len(got) != 1 || got[0] != string(pod.UID) {
		t.Errorf("extra pod-uid %v, want [%s]", got, pod.UID)
	}

	// A token bound to another UID of the same name is refused at issue.
	_, err = s.Client.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web", UID: "not-the-uid"},
	}}, metav1.CreateOptions{})
	if code := codeOf(err); code != 409 {
		t.Errorf("token bound to a wrong pod UID: %d (%v), want 409", code, err)
	}

	if err := s.Client.CoreV1().Pods(ns).Delete(t.Context(), "web", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted pod's token is rejected", func(ctx context.Context) (bool, error) {
		_, code := whoami(t, bearerConfig(s, token))
		return code == 401, nil
	})
	// A new pod of the same name does not revive the token.
	if _, err := s.Client.CoreV1().Pods(ns).Create(t.Context(), newPodFor("web", "robot"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the cache see the new pod
	if _, code := whoami(t, bearerConfig(s, token)); code != 401 {
		t.Errorf("token of the deleted pod with a new pod of the same name: %d, want 401", code)
	}
}

func newPodFor(name, sa string) *corev1.Pod {
	p := newPod(name, nil)
	p.Spec.ServiceAccountName = sa
	return p
}
