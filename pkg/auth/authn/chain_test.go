package authn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/auth"
)

// chainFixture is the apiserver's authenticator stack in upstream's order.
type chainFixture struct {
	ca      *testCA
	other   *testCA
	sa      *saFixture
	authns  []auth.Authenticator
	tokenSA string
}

func newChainFixture(t *testing.T) *chainFixture {
	t.Helper()
	f := &chainFixture{ca: newTestCA(t, "ca"), other: newTestCA(t, "other"), sa: newSAFixture(t)}
	x := NewX509(f.ca.pool())
	x.now = func() time.Time { return testNow }
	tf, err := ParseTokenFile([]byte("good-token,tina,uid-t,dev\nunauth-token,ghost,uid-g,system:unauthenticated\nauthd-token,ann,uid-a,system:authenticated\n"))
	if err != nil {
		t.Fatal(err)
	}
	f.authns = []auth.Authenticator{x, tf, f.sa.authn}
	f.tokenSA = f.sa.issue(t, f.sa.rsa, []string{testIssuer}, nil)
	return f
}

func TestChain_Authenticate(t *testing.T) {
	f := newChainFixture(t)
	alice, _ := f.ca.issue(t, certSpec{cn: "alice", orgs: []string{"dev"}})
	expired, _ := f.ca.issue(t, certSpec{cn: "alice", notBefore: testNow.Add(-48 * time.Hour), notAfter: testNow.Add(-time.Hour)})
	foreign, _ := f.other.issue(t, certSpec{cn: "admin", orgs: []string{"system:masters"}})
	rsa1, _, _, _ := testKeys(t)
	evil, _ := NewSignerFromKey(rsa1, "https://evil")
	evilToken, _, _ := evil.Issue(t.Context(), builderSA, []string{testIssuer}, 600, nil, testNow)
	wrongAud, _, _ := f.sa.rsa.Issue(t.Context(), builderSA, []string{"vault"}, 600, nil, testNow)

	tests := []struct {
		name       string
		anonymous  bool
		certs      []*x509.Certificate
		authz      string // Authorization header
		wantUser   string
		wantGroups []string
		wantErr    error  // errors.Is
		wantErrMsg string // substring
	}{
		{name: "client certificate", certs: []*x509.Certificate{alice}, wantUser: "alice", wantGroups: []string{"dev", auth.AllAuthenticated}},
		{name: "static token", authz: "Bearer good-token", wantUser: "tina", wantGroups: []string{"dev", auth.AllAuthenticated}},
		{name: "service-account token", authz: "Bearer " + f.tokenSA, wantUser: "system:serviceaccount:default:builder",
			wantGroups: []string{"system:serviceaccounts", "system:serviceaccounts:default", auth.AllAuthenticated}},
		{name: "certificate wins over a token", certs: []*x509.Certificate{alice}, authz: "Bearer good-token", wantUser: "alice", wantGroups: []string{"dev", auth.AllAuthenticated}},
		{name: "bad certificate but a good token", certs: []*x509.Certificate{expired}, authz: "Bearer good-token", wantUser: "tina", wantGroups: []string{"dev", auth.AllAuthenticated}},
		{name: "already authenticated group is not repeated", authz: "Bearer authd-token", wantUser: "ann", wantGroups: []string{auth.AllAuthenticated}},
		{name: "system:unauthenticated member is not made authenticated", authz: "Bearer unauth-token", wantUser: "ghost", wantGroups: []string{auth.AllUnauthenticated}},
		{name: "no credentials, anonymous allowed", anonymous: true, wantUser: auth.Anonymous, wantGroups: []string{auth.AllUnauthenticated}},
		{name: "basic auth is no credential", anonymous: true, authz: "Basic YTpi", wantUser: auth.Anonymous, wantGroups: []string{auth.AllUnauthenticated}},
		{name: "no credentials, anonymous disabled", wantErr: ErrUnauthenticated},
		{name: "unknown token is not anonymous", anonymous: true, authz: "Bearer nope", wantErr: ErrInvalidBearerToken},
		{name: "token of a foreign issuer is not anonymous", anonymous: true, authz: "Bearer " + evilToken, wantErr: ErrInvalidBearerToken},
		{name: "wrong-audience token", anonymous: true, authz: "Bearer " + wrongAud, wantErrMsg: "token audiences"},
		{name: "expired certificate is not anonymous", anonymous: true, certs: []*x509.Certificate{expired}, wantErrMsg: "certificate has expired"},
		{name: "foreign certificate", anonymous: true, certs: []*x509.Certificate{foreign}, wantErrMsg: "unknown authority"},
		{name: "foreign certificate and unknown token", certs: []*x509.Certificate{foreign}, authz: "Bearer nope", wantErrMsg: "unknown authority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChain(tc.anonymous, f.authns...)
			r := httptest.NewRequest("GET", "/api/v1/pods", nil)
			r.TLS = &tls.ConnectionState{PeerCertificates: tc.certs}
			if tc.authz != "" {
				r.Header.Set("Authorization", tc.authz)
			}
			u, err := c.Authenticate(r)
			if tc.wantErr != nil || tc.wantErrMsg != "" {
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || !strings.Contains(err.Error(), tc.wantErrMsg) {
					t.Fatalf("err = %v, want %v %q", err, tc.wantErr, tc.wantErrMsg)
				}
				if u != nil {
					t.Errorf("user %v with an error", u)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.Name != tc.wantUser || !slices.Equal(u.Groups, tc.wantGroups) {
				t.Errorf("user = %q %v, want %q %v", u.Name, u.Groups, tc.wantUser, tc.wantGroups)
			}
		})
	}
}

func TestChain_DoesNotMutateAuthenticatorUsers(t *testing.T) {
	shared := &auth.User{Name: "fixed", Groups: make([]string, 1, 4)}
	shared.Groups[0] = "g"
	c := NewChain(false, fixedAuthenticator{shared})
	for range 2 {
		u, err := c.Authenticate(httptest.NewRequest("GET", "/", nil))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(u.Groups, []string{"g", auth.AllAuthenticated}) {
			t.Fatalf("groups = %v", u.Groups)
		}
		u.Groups[0] = "changed by a later stage"
	}
	if !slices.Equal(shared.Groups, []string{"g"}) {
		t.Fatalf("authenticator's user changed: %v", shared.Groups)
	}
}

type fixedAuthenticator struct{ u *auth.User }

func (f fixedAuthenticator) AuthenticateRequest(*http.Request) (*auth.User, bool, error) {
	return f.u, true, nil
}

func TestTokenAuthenticators(t *testing.T) {
	f := newSAFixture(t)
	tf, _ := ParseTokenFile([]byte("good-token,tina,uid-t\n"))
	ts := TokenAuthenticators{tf, f.authn}
	expiredTok := f.issue(t, f.rsa, []string{testIssuer}, nil)
	tests := []struct {
		name    string
		token   string
		now     time.Time
		want    string
		wantErr bool
	}{
		{name: "token file", token: "good-token", want: "tina"},
		{name: "service account", token: f.issue(t, f.rsa, []string{testIssuer}, nil), want: "system:serviceaccount:default:builder"},
		{name: "unknown", token: "nope"},
		{name: "expired", token: expiredTok, now: testNow.Add(3 * time.Hour), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.now = testNow
			if !tc.now.IsZero() {
				f.now = tc.now
			}
			u, ok, err := ts.AuthenticateToken(t.Context(), tc.token)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if ok != (tc.want != "") || (ok && u.Name != tc.want) {
				t.Fatalf("got %v %v, want %q", u, ok, tc.want)
			}
		})
	}
}
