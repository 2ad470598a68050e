package authn

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// headerOf decodes a token's JOSE header.
func headerOf(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSigner_IssueClaims(t *testing.T) {
	rsa1, _, ec256, ec384 := testKeys(t)
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	now := testNow.Add(500 * time.Millisecond) // sub-second part is dropped
	iat := float64(testNow.Unix())
	tests := []struct {
		name    string
		key     crypto.Signer
		aud     []string
		exp     int64
		bound   *BoundRef
		opts    []IssueOption
		wantAlg string
		wantAud any
		wantK8s map[string]any
	}{
		{
			name: "RSA, pod-bound with node, one audience as a string",
			key:  rsa1, aud: []string{"api"}, exp: 3600,
			bound:   &BoundRef{Pod: &ObjectRef{Name: "web", UID: "pod-uid"}, Node: &ObjectRef{Name: "n1", UID: "node-uid"}},
			wantAlg: "RS256", wantAud: "api",
			wantK8s: map[string]any{
				"namespace":      "default",
				"serviceaccount": map[string]any{"name": "builder", "uid": "sa-uid"},
				"pod":            map[string]any{"name": "web", "uid": "pod-uid"},
				"node":           map[string]any{"name": "n1", "uid": "node-uid"},
			},
		},
		{
			name: "P-256, unbound, two audiences as an array, warnafter",
			key:  ec256, aud: []string{"a", "b"}, exp: 600,
			opts:    []IssueOption{WithWarnAfter(testNow.Add(time.Hour))},
			wantAlg: "ES256", wantAud: []any{"a", "b"},
			wantK8s: map[string]any{
				"namespace":      "default",
				"serviceaccount": map[string]any{"name": "builder", "uid": "sa-uid"},
				"warnafter":      float64(testNow.Add(time.Hour).Unix()),
			},
		},
		{
			name: "P-384, secret-bound drops the node",
			key:  ec384, aud: []string{"api"}, exp: 60,
			bound:   &BoundRef{Secret: &ObjectRef{Name: "s", UID: "s-uid"}, Node: &ObjectRef{Name: "n1", UID: "node-uid"}},
			wantAlg: "ES384", wantAud: "api",
			wantK8s: map[string]any{
				"namespace":      "default",
				"serviceaccount": map[string]any{"name": "builder", "uid": "sa-uid"},
				"secret":         map[string]any{"name": "s", "uid": "s-uid"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSignerFromKey(tc.key, testIssuer)
			if err != nil {
				t.Fatal(err)
			}
			tok, exp, err := s.Issue(t.Context(), builderSA, tc.aud, tc.exp, tc.bound, now, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if want := testNow.Add(time.Duration(tc.exp) * time.Second); !exp.Equal(want) {
				t.Errorf("exp = %v, want %v", exp, want)
			}
			der, _ := x509.MarshalPKIXPublicKey(tc.key.Public())
			sum := sha256.Sum256(der)
			wantHeader := map[string]any{"alg": tc.wantAlg, "kid": base64.RawURLEncoding.EncodeToString(sum[:])}
			if h := headerOf(t, tok); !reflect.DeepEqual(h, wantHeader) {
				t.Errorf("header = %v, want %v", h, wantHeader)
			}
			p := payloadOf(t, tok)
			if !uuidRE.MatchString(p["jti"].(string)) {
				t.Errorf("jti %q is not a random UUID", p["jti"])
			}
			delete(p, "jti")
			want := map[string]any{
				"iss": testIssuer, "sub": "system:serviceaccount:default:builder", "aud": tc.wantAud,
				"iat": iat, "nbf": iat, "exp": iat + float64(tc.exp),
				"kubernetes.io": tc.wantK8s,
			}
			if !reflect.DeepEqual(p, want) {
				t.Errorf("payload =\n%v\nwant\n%v", p, want)
			}
		})
	}
}

func TestSigner_IssueRejects(t *testing.T) {
	rsa1, _, _, _ := testKeys(t)
	s, err := NewSignerFromKey(rsa1, testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		sa    ServiceAccountRef
		aud   []string
		exp   int64
		bound *BoundRef
		want  string
	}{
		{name: "no audience", sa: builderSA, exp: 600, want: "audience"},
		{name: "zero expiration", sa: builderSA, aud: []string{"a"}, want: "expiration must be positive"},
		{name: "no service account uid", sa: ServiceAccountRef{Namespace: "default", Name: "builder"}, aud: []string{"a"}, exp: 600, want: "uid are required"},
		{name: "pod and secret", sa: builderSA, aud: []string{"a"}, exp: 600, bound: &BoundRef{Pod: &ObjectRef{Name: "p"}, Secret: &ObjectRef{Name: "s"}}, want: "one object type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := s.Issue(t.Context(), tc.sa, tc.aud, tc.exp, tc.bound, testNow); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := NewSignerFromKey(rsa1, ""); err == nil {
		t.Error("empty issuer accepted")
	}
}

// TestNewSigner_FileRoundTrip signs with a key file and verifies with the
// public keys loaded from the same file, as --service-account-key-file may
// name the signing key itself.
func TestNewSigner_FileRoundTrip(t *testing.T) {
	_, _, ec256, _ := testKeys(t)
	der, err := x509.MarshalECPrivateKey(ec256)
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "sa.key", pemBlock("EC PRIVATE KEY", der))
	s, err := NewSigner(path, testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadPublicKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	objs := &fakeObjects{}
	objs.put("serviceaccounts", "default", "builder", "sa-uid")
	a, err := NewServiceAccount(ServiceAccountOptions{Keys: keys, Issuers: []string{testIssuer}, Objects: objs, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.Issue(t.Context(), builderSA, []string{testIssuer}, 600, nil, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if u, ok, err := a.AuthenticateToken(t.Context(), tok); !ok || err != nil || u.Name != "system:serviceaccount:default:builder" {
		t.Fatalf("got %v %v %v", u, ok, err)
	}
	if _, err := NewSigner(writeFile(t, "pub.pem", pemBlock("PUBLIC KEY", mustPKIX(t, ec256.Public()))), testIssuer); err == nil {
		t.Error("public key accepted as signing key")
	}
}

func mustPKIX(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
