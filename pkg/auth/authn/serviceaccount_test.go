package authn

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	testIssuer    = "https://kubernetes.default.svc.cluster.local"
	testOldIssuer = "https://old.example.com"
)

// saFixture is a cluster with a service account default/builder, a pod
// default/web on node n1, a secret default/builder-token and signers.
type saFixture struct {
	objects *fakeObjects
	rsa     *Signer // testIssuer, RSA key
	ec      *Signer // testIssuer, P-256 key
	old     *Signer // testOldIssuer, RSA key
	foreign *Signer // testIssuer, a key the server does not know
	now     time.Time
	authn   *ServiceAccount
}

func newSAFixture(t testing.TB) *saFixture {
	t.Helper()
	rsa1, rsa2, ec256, _ := testKeys(t)
	f := &saFixture{objects: &fakeObjects{}, now: testNow}
	f.objects.put("serviceaccounts", "default", "builder", "sa-uid")
	f.objects.put("pods", "default", "web", "pod-uid")
	f.objects.put("secrets", "default", "builder-token", "secret-uid")
	f.objects.put("nodes", "", "n1", "node-uid")
	var err error
	mk := func(key crypto.Signer, iss string) *Signer {
		s, err := NewSignerFromKey(key, iss)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	f.rsa, f.ec, f.old, f.foreign = mk(rsa1, testIssuer), mk(ec256, testIssuer), mk(rsa1, testOldIssuer), mk(rsa2, testIssuer)
	f.authn, err = NewServiceAccount(ServiceAccountOptions{
		Keys:    []crypto.PublicKey{rsa1.Public(), ec256.Public()},
		Issuers: []string{testIssuer, testOldIssuer},
		Objects: f.objects,
		Now:     func() time.Time { return f.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var builderSA = ServiceAccountRef{Namespace: "default", Name: "builder", UID: "sa-uid"}

func (f *saFixture) issue(t testing.TB, s *Signer, aud []string, bound *BoundRef) string {
	t.Helper()
	tok, _, err := s.Issue(t.Context(), builderSA, aud, 3600, bound, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rawToken signs header and payload with method and key, bypassing the
// Signer's checks, to build hostile tokens.
func rawToken(t *testing.T, header map[string]any, payload any, method jwt.SigningMethod, key any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	if method == nil {
		return input + "."
	}
	sig, err := method.Sign(input, key)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// payloadOf decodes a token's payload into a map, to build variants.
func payloadOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestServiceAccount_AuthenticateToken(t *testing.T) {
	podBound := &BoundRef{Pod: &ObjectRef{Name: "web", UID: "pod-uid"}, Node: &ObjectRef{Name: "n1", UID: "node-uid"}}
	rsa1, _, _, _ := testKeys(t)
	rsa1DER, err := x509.MarshalPKIXPublicKey(rsa1.Public())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		// token builds the token; setup (optional) changes the cluster or
		// clock after it was issued.
		token      func(t *testing.T, f *saFixture) string
		setup      func(f *saFixture)
		audiences  []string // WithAudiences
		wantOK     bool
		wantErr    string // "" with wantOK=false: not ours (ok=false, nil error)
		wantExtra  map[string][]string
		wantGroups []string
	}{
		{
			name:       "pod-bound RSA token",
			token:      func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, podBound) },
			wantOK:     true,
			wantGroups: []string{"system:serviceaccounts", "system:serviceaccounts:default"},
			wantExtra: map[string][]string{
				ExtraPodName: {"web"}, ExtraPodUID: {"pod-uid"},
				ExtraNodeName: {"n1"}, ExtraNodeUID: {"node-uid"},
			},
		},
		{
			name:      "pod-bound token does not check the informational node",
			token:     func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, podBound) },
			setup:     func(f *saFixture) { delete(f.objects.objects, "nodes//n1") },
			wantOK:    true,
			wantExtra: map[string][]string{ExtraPodName: {"web"}, ExtraPodUID: {"pod-uid"}, ExtraNodeName: {"n1"}, ExtraNodeUID: {"node-uid"}},
		},
		{
			name:      "unbound ECDSA token, several audiences",
			token:     func(t *testing.T, f *saFixture) string { return f.issue(t, f.ec, []string{"vault", testIssuer}, nil) },
			wantOK:    true,
			wantExtra: map[string][]string{},
		},
		{
			name: "secret-bound token",
			token: func(t *testing.T, f *saFixture) string {
				return f.issue(t, f.rsa, []string{testIssuer}, &BoundRef{Secret: &ObjectRef{Name: "builder-token", UID: "secret-uid"}})
			},
			wantOK:    true,
			wantExtra: map[string][]string{},
		},
		{
			name: "node-bound token",
			token: func(t *testing.T, f *saFixture) string {
				return f.issue(t, f.rsa, []string{testIssuer}, &BoundRef{Node: &ObjectRef{Name: "n1", UID: "node-uid"}})
			},
			wantOK:    true,
			wantExtra: map[string][]string{ExtraNodeName: {"n1"}, ExtraNodeUID: {"node-uid"}},
		},
		{
			name:      "token of a second accepted issuer",
			token:     func(t *testing.T, f *saFixture) string { return f.issue(t, f.old, []string{testIssuer}, nil) },
			wantOK:    true,
			wantExtra: map[string][]string{},
		},
		{
			name:      "TokenReview audiences replace the server's",
			token:     func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{"vault"}, nil) },
			audiences: []string{"other", "vault"},
			wantOK:    true,
			wantExtra: map[string][]string{},
		},
		{
			name:    "expired within leeway is still valid",
			token:   func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, nil) },
			setup:   func(f *saFixture) { f.now = testNow.Add(time.Hour + 30*time.Second) },
			wantOK:  true,
			wantErr: "",
		},

		// Not ours: the next authenticator may know it.
		{name: "not a JWT", token: func(*testing.T, *saFixture) string { return "abc" }},
		{name: "payload not base64", token: func(*testing.T, *saFixture) string { return "a.!!.c" }},
		{
			name: "wrong issuer",
			token: func(t *testing.T, f *saFixture) string {
				s, _ := NewSignerFromKey(rsa1, "https://evil")
				return f.issue(t, s, []string{testIssuer}, nil)
			},
		},

		// Ours and invalid.
		{
			name: "alg none",
			token: func(t *testing.T, f *saFixture) string {
				p := payloadOf(t, f.issue(t, f.rsa, []string{testIssuer}, nil))
				return rawToken(t, map[string]any{"alg": "none", "kid": f.rsa.KeyID()}, p, nil, nil)
			},
			wantErr: "signing method none is invalid",
		},
		{
			name: "HMAC signed with the public key as secret",
			token: func(t *testing.T, f *saFixture) string {
				p := payloadOf(t, f.issue(t, f.rsa, []string{testIssuer}, nil))
				return rawToken(t, map[string]any{"alg": "HS256", "kid": f.rsa.KeyID()}, p, jwt.SigningMethodHS256, rsa1DER)
			},
			wantErr: "signing method HS256 is invalid",
		},
		{
			name: "HMAC signed with the PEM public key as secret",
			token: func(t *testing.T, f *saFixture) string {
				p := payloadOf(t, f.issue(t, f.rsa, []string{testIssuer}, nil))
				return rawToken(t, map[string]any{"alg": "HS512"}, p, jwt.SigningMethodHS512, pemBlock("PUBLIC KEY", rsa1DER))
			},
			wantErr: "signing method HS512 is invalid",
		},
		{
			name:    "signed by an unknown key",
			token:   func(t *testing.T, f *saFixture) string { return f.issue(t, f.foreign, []string{testIssuer}, nil) },
			wantErr: "no verification key with key ID",
		},
		{
			name: "unknown key with a known kid",
			token: func(t *testing.T, f *saFixture) string {
				_, rsa2, _, _ := testKeys(t)
				p := payloadOf(t, f.issue(t, f.rsa, []string{testIssuer}, nil))
				return rawToken(t, map[string]any{"alg": "RS256", "kid": f.rsa.KeyID()}, p, jwt.SigningMethodRS256, rsa2)
			},
			wantErr: "verification error",
		},
		{
			name: "unknown key without kid",
			token: func(t *testing.T, f *saFixture) string {
				_, rsa2, _, _ := testKeys(t)
				p := payloadOf(t, f.issue(t, f.rsa, []string{testIssuer}, nil))
				return rawToken(t, map[string]any{"alg": "RS256"}, p, jwt.SigningMethodRS256, rsa2)
			},
			wantErr: "signature is invalid",
		},
		{
			name: "tampered payload",
			token: func(t *testing.T, f *saFixture) string {
				tok := f.issue(t, f.rsa, []string{testIssuer}, nil)
				p := payloadOf(t, tok)
				p["sub"] = "system:serviceaccount:kube-system:admin"
				body, _ := json.Marshal(p)
				parts := strings.Split(tok, ".")
				return parts[0] + "." + base64.RawURLEncoding.EncodeToString(body) + "." + parts[2]
			},
			wantErr: "verification error",
		},
		{
			name: "non-canonical signature encoding",
			token: func(t *testing.T, f *saFixture) string {
				tok := f.issue(t, f.rsa, []string{testIssuer}, nil)
				// The last of 342 characters carries 2 signature bits and 4
				// zero bits: set one of the zero bits.
				const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
				i := strings.IndexByte(alphabet, tok[len(tok)-1])
				return tok[:len(tok)-1] + string(alphabet[i|1])
			},
			wantErr: "malformed",
		},
		{
			name:    "wrong audience",
			token:   func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{"vault"}, nil) },
			wantErr: "token audiences [\"vault\"] is invalid",
		},
		{
			name:      "TokenReview audience not in the token",
			token:     func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, nil) },
			audiences: []string{"vault"},
			wantErr:   "is invalid for the target audiences",
		},
		{
			name:    "expired token",
			token:   func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, nil) },
			setup:   func(f *saFixture) { f.now = testNow.Add(time.Hour + 2*time.Minute) },
			wantErr: "service account token has expired",
		},
		{
			name:    "not valid yet",
			token:   func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, nil) },
			setup:   func(f *saFixture) { f.now = testNow.Add(-2 * time.Minute) },
			wantErr: "service account token is not valid yet",
		},
		{
			name: "issued in the future",
			token: func(t *testing.T, f *saFixture) string {
				p := payloadOf(t, f.issue(t, f.rsa, []string{testIssuer}, nil))
				delete(p, "nbf")
				p["iat"] = testNow.Add(10 * time.Minute).Unix()
				return rawToken(t, map[string]any{"alg": "RS256", "kid": f.rsa.KeyID()}, p, jwt.SigningMethodRS256, rsa1)
			},
			wantErr: "issued in the future",
		},
		{
			name: "no expiry",
			token: func(t *testing.T, f *saFixture) string {
				p := payloadOf(t, f.issue(t, f.rsa, []string{testIssuer}, nil))
				delete(p, "exp")
				return rawToken(t, map[string]any{"alg": "RS256", "kid": f.rsa.KeyID()}, p, jwt.SigningMethodRS256, rsa1)
			},
			wantErr: "has no expiry",
		},
		{
			name: "no kubernetes.io claims",
			token: func(t *testing.T, f *saFixture) string {
				p := payloadOf(t, f.issue(t, f.rsa, []string{testIssuer}, nil))
				delete(p, "kubernetes.io")
				return rawToken(t, map[string]any{"alg": "RS256", "kid": f.rsa.KeyID()}, p, jwt.SigningMethodRS256, rsa1)
			},
			wantErr: "lack the namespace or service account",
		},
		{
			name: "subject disagrees with the service account claim",
			token: func(t *testing.T, f *saFixture) string {
				p := payloadOf(t, f.issue(t, f.rsa, []string{testIssuer}, nil))
				p["sub"] = "system:serviceaccount:kube-system:admin"
				return rawToken(t, map[string]any{"alg": "RS256", "kid": f.rsa.KeyID()}, p, jwt.SigningMethodRS256, rsa1)
			},
			wantErr: "does not match its service account claim",
		},
		{
			name:    "deleted pod",
			token:   func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, podBound) },
			setup:   func(f *saFixture) { delete(f.objects.objects, "pods/default/web") },
			wantErr: "service account token has been invalidated",
		},
		{
			name:    "recreated pod",
			token:   func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, podBound) },
			setup:   func(f *saFixture) { f.objects.put("pods", "default", "web", "pod-uid-2") },
			wantErr: "pod UID (pod-uid-2) does not match service account pod ref claim (pod-uid)",
		},
		{
			name:  "pod deleted long ago but still terminating",
			token: func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, podBound) },
			setup: func(f *saFixture) {
				f.objects.objects["pods/default/web"].DeletionTimestamp = &metav1.Time{Time: testNow.Add(-2 * time.Minute)}
			},
			wantErr: "service account token has been invalidated",
		},
		{
			name:  "pod in its grace period",
			token: func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, podBound) },
			setup: func(f *saFixture) {
				f.objects.objects["pods/default/web"].DeletionTimestamp = &metav1.Time{Time: testNow.Add(30 * time.Second)}
			},
			wantOK:    true,
			wantExtra: map[string][]string{ExtraPodName: {"web"}, ExtraPodUID: {"pod-uid"}, ExtraNodeName: {"n1"}, ExtraNodeUID: {"node-uid"}},
		},
		{
			name:    "deleted service account",
			token:   func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, nil) },
			setup:   func(f *saFixture) { delete(f.objects.objects, "serviceaccounts/default/builder") },
			wantErr: `serviceaccounts "builder" not found`,
		},
		{
			name:    "recreated service account",
			token:   func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, nil) },
			setup:   func(f *saFixture) { f.objects.put("serviceaccounts", "default", "builder", "sa-uid-2") },
			wantErr: "service account UID (sa-uid-2) does not match claim (sa-uid)",
		},
		{
			name: "deleted secret",
			token: func(t *testing.T, f *saFixture) string {
				return f.issue(t, f.rsa, []string{testIssuer}, &BoundRef{Secret: &ObjectRef{Name: "builder-token", UID: "secret-uid"}})
			},
			setup:   func(f *saFixture) { delete(f.objects.objects, "secrets/default/builder-token") },
			wantErr: "service account token has been invalidated",
		},
		{
			name: "recreated node",
			token: func(t *testing.T, f *saFixture) string {
				return f.issue(t, f.rsa, []string{testIssuer}, &BoundRef{Node: &ObjectRef{Name: "n1", UID: "node-uid"}})
			},
			setup:   func(f *saFixture) { f.objects.put("nodes", "", "n1", "node-uid-2") },
			wantErr: "node UID (node-uid-2) does not match",
		},
		{
			name:    "storage failure",
			token:   func(t *testing.T, f *saFixture) string { return f.issue(t, f.rsa, []string{testIssuer}, nil) },
			setup:   func(f *saFixture) { f.objects.err = errors.New("etcd unavailable") },
			wantErr: "etcd unavailable",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSAFixture(t)
			tok := tc.token(t, f)
			if tc.setup != nil {
				tc.setup(f)
			}
			ctx := t.Context()
			if tc.audiences != nil {
				ctx = WithAudiences(ctx, tc.audiences)
			}
			u, ok, err := f.authn.AuthenticateToken(ctx, tok)
			if tc.wantErr != "" {
				if ok || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got ok=%v err=%v, want error containing %q", ok, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if !ok {
				return
			}
			if u.Name != "system:serviceaccount:default:builder" || u.UID != "sa-uid" {
				t.Errorf("user = %q uid %q", u.Name, u.UID)
			}
			if want := []string{"system:serviceaccounts", "system:serviceaccounts:default"}; !slices.Equal(u.Groups, want) {
				t.Errorf("groups = %v, want %v", u.Groups, want)
			}
			jti := payloadOf(t, tok)["jti"].(string)
			if got := u.Extra[CredentialIDKey]; !slices.Equal(got, []string{"JTI=" + jti}) {
				t.Errorf("credential id = %v, want JTI=%s", got, jti)
			}
			if tc.wantExtra != nil {
				got := maps.Clone(u.Extra)
				delete(got, CredentialIDKey)
				if !maps.EqualFunc(got, tc.wantExtra, slices.Equal[[]string]) {
					t.Errorf("extra = %v, want %v", got, tc.wantExtra)
				}
			}
		})
	}
}

func TestNewServiceAccount_Validates(t *testing.T) {
	rsa1, _, _, _ := testKeys(t)
	keys := []crypto.PublicKey{rsa1.Public()}
	objs := &fakeObjects{}
	tests := []struct {
		name string
		opts ServiceAccountOptions
		want string
	}{
		{name: "no keys", opts: ServiceAccountOptions{Issuers: []string{testIssuer}, Objects: objs}, want: "no verification keys"},
		{name: "no issuer", opts: ServiceAccountOptions{Keys: keys, Objects: objs}, want: "no issuer"},
		{name: "empty issuer", opts: ServiceAccountOptions{Keys: keys, Issuers: []string{""}, Objects: objs}, want: "empty issuer"},
		{name: "no object lookup", opts: ServiceAccountOptions{Keys: keys, Issuers: []string{testIssuer}}, want: "no bound object lookup"},
		{name: "HMAC secret as key", opts: ServiceAccountOptions{Keys: []crypto.PublicKey{[]byte("secret")}, Issuers: []string{testIssuer}, Objects: objs}, want: "unsupported key type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewServiceAccount(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
