package authn

import (
	"context"
	"crypto"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// legacyObjects adds Secret token data to fakeObjects, which turns legacy
// token support on.
type legacyObjects struct {
	*fakeObjects
	tokens map[string][]byte // "ns/name" -> data["token"]
}

func (l *legacyObjects) SecretToken(ctx context.Context, ns, name string) (*metav1.ObjectMeta, []byte, error) {
	m, err := l.Secret(ctx, ns, name)
	if err != nil {
		return nil, nil, err
	}
	return m, l.tokens[ns+"/"+name], nil
}

func TestServiceAccount_LegacyTokens(t *testing.T) {
	rsa1, rsa2, _, _ := testKeys(t)
	signer, err := NewSignerFromKey(rsa1, testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := NewSignerFromKey(rsa2, testIssuer)
	issue := func(s *Signer) string {
		tok, err := s.IssueLegacy(builderSA, "builder-token")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := issue(signer)

	tests := []struct {
		name      string
		token     string
		noLegacy  bool
		setup     func(o *legacyObjects)
		audiences []string
		wantOK    bool
		wantErr   string
	}{
		{name: "valid legacy token", token: valid, wantOK: true},
		{name: "legacy support off: not ours", token: valid, noLegacy: true},
		{name: "secret holds another token", token: valid, setup: func(o *legacyObjects) { o.tokens["default/builder-token"] = []byte("other") }, wantErr: "Token does not match server's copy"},
		{name: "secret deleted", token: valid, setup: func(o *legacyObjects) { delete(o.objects, "secrets/default/builder-token") }, wantErr: "Token has been invalidated"},
		{name: "secret terminating", token: valid, setup: func(o *legacyObjects) {
			o.objects["secrets/default/builder-token"].DeletionTimestamp = &metav1.Time{Time: testNow}
		}, wantErr: "Token has been invalidated"},
		{name: "marked invalid by the cleaner", token: valid, setup: func(o *legacyObjects) {
			o.objects["secrets/default/builder-token"].Labels = map[string]string{LegacyTokenInvalidSinceLabel: "2026-01-01"}
		}, wantErr: "Token has been invalidated"},
		{name: "service account recreated", token: valid, setup: func(o *legacyObjects) { o.put("serviceaccounts", "default", "builder", "sa-uid-2") }, wantErr: "ServiceAccount UID (sa-uid-2) does not match claim (sa-uid)"},
		{name: "service account deleted", token: valid, setup: func(o *legacyObjects) { delete(o.objects, "serviceaccounts/default/builder") }, wantErr: "not found"},
		{name: "unknown signing key", token: issue(foreign), setup: func(o *legacyObjects) { o.tokens["default/builder-token"] = []byte(issue(foreign)) }, wantErr: "no verification key"},
		{name: "alg none", token: func() string {
			tok := rawToken(t, map[string]any{"alg": "none"}, payloadOf(t, valid), nil, nil)
			return tok
		}(), wantErr: "signing method none is invalid"},
		{name: "HMAC", token: rawToken(t, map[string]any{"alg": "HS256"}, payloadOf(t, valid), jwt.SigningMethodHS256, mustPKIX(t, rsa1.Public())), wantErr: "signing method HS256 is invalid"},
		{name: "subject of another account", token: func() string {
			p := payloadOf(t, valid)
			p["sub"] = "system:serviceaccount:kube-system:admin"
			return rawToken(t, map[string]any{"alg": "RS256", "kid": signer.KeyID()}, p, jwt.SigningMethodRS256, rsa1)
		}(), wantErr: "sub claim is invalid"},
		{name: "TokenReview for another audience", token: valid, audiences: []string{"vault"}, wantErr: "is invalid for the target audiences"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &legacyObjects{fakeObjects: &fakeObjects{}, tokens: map[string][]byte{"default/builder-token": []byte(tc.token)}}
			o.put("serviceaccounts", "default", "builder", "sa-uid")
			o.put("secrets", "default", "builder-token", "secret-uid")
			if tc.setup != nil {
				tc.setup(o)
			}
			var objs BoundObjects = o
			if tc.noLegacy {
				objs = o.fakeObjects
			}
			a, err := NewServiceAccount(ServiceAccountOptions{Keys: []crypto.PublicKey{rsa1.Public()}, Issuers: []string{testIssuer}, Objects: objs, Now: func() time.Time { return testNow }})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if tc.audiences != nil {
				ctx = WithAudiences(ctx, tc.audiences)
			}
			u, ok, err := a.AuthenticateToken(ctx, tc.token)
			if tc.wantErr != "" {
				if ok || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got ok=%v err=%v, want %q", ok, err, tc.wantErr)
				}
				return
			}
			if err != nil || ok != tc.wantOK {
				t.Fatalf("got ok=%v err=%v, want ok=%v", ok, err, tc.wantOK)
			}
			if ok && (u.Name != "system:serviceaccount:default:builder" || u.UID != "sa-uid" || !u.InGroup("system:serviceaccounts:default")) {
				t.Errorf("user = %+v", u)
			}
		})
	}
}

// TestServiceAccount_BoundTokenWithLegacyIssuer covers a cluster whose
// --service-account-issuer is the legacy one: its bound tokens still go
// through bound-token validation.
func TestServiceAccount_BoundTokenWithLegacyIssuer(t *testing.T) {
	rsa1, _, _, _ := testKeys(t)
	s, _ := NewSignerFromKey(rsa1, LegacyIssuer)
	o := &legacyObjects{fakeObjects: &fakeObjects{}, tokens: map[string][]byte{}}
	o.put("serviceaccounts", "default", "builder", "sa-uid")
	a, err := NewServiceAccount(ServiceAccountOptions{Keys: []crypto.PublicKey{rsa1.Public()}, Issuers: []string{LegacyIssuer}, Audiences: []string{"api"}, Objects: o, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.Issue(t.Context(), builderSA, []string{"api"}, 600, nil, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if u, ok, err := a.AuthenticateToken(t.Context(), tok); !ok || err != nil || u.Name != "system:serviceaccount:default:builder" {
		t.Fatalf("got %v %v %v", u, ok, err)
	}
	expired := testNow.Add(time.Hour)
	a.now = func() time.Time { return expired }
	if _, ok, err := a.AuthenticateToken(t.Context(), tok); ok || err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired bound token: ok=%v err=%v", ok, err)
	}
}

func TestSigner_IssueLegacyClaims(t *testing.T) {
	rsa1, _, _, _ := testKeys(t)
	s, _ := NewSignerFromKey(rsa1, testIssuer)
	tok, err := s.IssueLegacy(builderSA, "builder-token")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss":                                    "kubernetes/serviceaccount",
		"sub":                                    "system:serviceaccount:default:builder",
		"kubernetes.io/serviceaccount/namespace": "default",
		"kubernetes.io/serviceaccount/secret.name":          "builder-token",
		"kubernetes.io/serviceaccount/service-account.name": "builder",
		"kubernetes.io/serviceaccount/service-account.uid":  "sa-uid",
	}
	if got := payloadOf(t, tok); len(got) != len(want) {
		t.Fatalf("payload = %v, want %v", got, want)
	} else {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
	}
	if _, err := s.IssueLegacy(builderSA, ""); err == nil {
		t.Error("legacy token without a secret name")
	}
}
