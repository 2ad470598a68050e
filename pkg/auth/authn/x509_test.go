package authn

import (
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestX509_AuthenticateRequest(t *testing.T) {
	ca := newTestCA(t, "cluster-ca")
	otherCA := newTestCA(t, "other-ca")
	inter, interKey := ca.issue(t, certSpec{cn: "intermediate", isCA: true})
	interCA := &testCA{cert: inter, key: interKey}

	alice, _ := ca.issue(t, certSpec{cn: "alice", orgs: []string{"dev", "ops"}})
	expired, _ := ca.issue(t, certSpec{cn: "alice", notBefore: testNow.Add(-48 * time.Hour), notAfter: testNow.Add(-time.Hour)})
	notYet, _ := ca.issue(t, certSpec{cn: "alice", notBefore: testNow.Add(time.Hour)})
	foreign, _ := otherCA.issue(t, certSpec{cn: "admin", orgs: []string{"system:masters"}})
	serverOnly, _ := ca.issue(t, certSpec{cn: "alice", usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	anyUsage, _ := ca.issue(t, certSpec{cn: "bob", usages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	noCN, _ := ca.issue(t, certSpec{orgs: []string{"dev"}})
	viaInter, _ := interCA.issue(t, certSpec{cn: "system:node:n1", orgs: []string{"system:nodes"}})

	tests := []struct {
		name       string
		noTLS      bool
		certs      []*x509.Certificate
		roots      *x509.CertPool
		wantOK     bool
		wantUser   string
		wantGroups []string
		wantErr    string
	}{
		{name: "plain HTTP request", noTLS: true},
		{name: "TLS without client certificate"},
		{name: "valid certificate maps CN and O", certs: []*x509.Certificate{alice}, wantOK: true, wantUser: "alice", wantGroups: []string{"dev", "ops"}},
		{name: "ExtKeyUsageAny is a client certificate", certs: []*x509.Certificate{anyUsage}, wantOK: true, wantUser: "bob"},
		{name: "chain through a presented intermediate", certs: []*x509.Certificate{viaInter, inter}, wantOK: true, wantUser: "system:node:n1", wantGroups: []string{"system:nodes"}},
		{name: "intermediate not presented", certs: []*x509.Certificate{viaInter}, wantErr: "unknown authority"},
		{name: "expired certificate", certs: []*x509.Certificate{expired}, wantErr: "expired"},
		{name: "not yet valid certificate", certs: []*x509.Certificate{notYet}, wantErr: "not yet valid"},
		{name: "certificate from another CA", certs: []*x509.Certificate{foreign}, wantErr: "unknown authority"},
		{name: "foreign CA cannot be smuggled as an intermediate", certs: []*x509.Certificate{foreign, otherCA.cert}, wantErr: "unknown authority"},
		{name: "server-auth certificate", certs: []*x509.Certificate{serverOnly}, wantErr: "incompatible key usage"},
		{name: "verified certificate without CN is not a user", certs: []*x509.Certificate{noCN}},
		{name: "empty client CA pool", certs: []*x509.Certificate{alice}, roots: x509.NewCertPool(), wantErr: "unknown authority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			roots := ca.pool()
			if tc.roots != nil {
				roots = tc.roots
			}
			a := NewX509(roots)
			a.now = func() time.Time { return testNow }
			r := httptest.NewRequest("GET", "/api", nil)
			if tc.noTLS {
				r.TLS = nil
			} else {
				r.TLS = &tls.ConnectionState{PeerCertificates: tc.certs}
			}
			u, ok, err := a.AuthenticateRequest(r)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || ok {
					t.Fatalf("got ok=%v err=%v, want error containing %q", ok, err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "verifying certificate SN=") {
					t.Errorf("error %q does not identify the certificate", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if ok != tc.wantOK {
				t.Fatalf("ok=%v, want %v", ok, tc.wantOK)
			}
			if !ok {
				return
			}
			if u.Name != tc.wantUser || !slices.Equal(u.Groups, tc.wantGroups) {
				t.Errorf("user = %q %v, want %q %v", u.Name, u.Groups, tc.wantUser, tc.wantGroups)
			}
			if id := u.Extra[CredentialIDKey]; len(id) != 1 || !strings.HasPrefix(id[0], "X509SHA256=") {
				t.Errorf("credential id = %v", id)
			}
		})
	}
}

func TestX509_NilRootsAuthenticatesNothing(t *testing.T) {
	ca := newTestCA(t, "ca")
	alice, _ := ca.issue(t, certSpec{cn: "alice"})
	r := httptest.NewRequest("GET", "/", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{alice}}
	if u, ok, err := NewX509(nil).AuthenticateRequest(r); ok || err != nil || u != nil {
		t.Fatalf("got %v %v %v, want ok=false", u, ok, err)
	}
}

func TestLoadCAFile(t *testing.T) {
	ca := newTestCA(t, "ca")
	tests := []struct {
		name    string
		data    []byte
		wantErr bool
	}{
		{name: "one certificate", data: pemBlock("CERTIFICATE", ca.cert.Raw)},
		{name: "no certificate", data: []byte("not pem"), wantErr: true},
		{name: "garbage certificate", data: pemBlock("CERTIFICATE", []byte{1, 2, 3}), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := LoadCAFile(writeFile(t, "ca.crt", tc.data))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && pool == nil {
				t.Fatal("nil pool")
			}
		})
	}
	if _, err := LoadCAFile("/nonexistent/ca.crt"); err == nil {
		t.Fatal("missing file: no error")
	}
}

func TestX509_RemembersVerifiedChainsWithinTheirValidity(t *testing.T) {
	ca := newTestCA(t, "cluster-ca")
	alice, _ := ca.issue(t, certSpec{cn: "alice", orgs: []string{"dev"}})
	inter, interKey := ca.issue(t, certSpec{cn: "intermediate", isCA: true, notAfter: testNow.Add(2 * time.Hour)})
	viaInter, _ := (&testCA{cert: inter, key: interKey}).issue(t, certSpec{cn: "bob"})
	foreign, _ := newTestCA(t, "other-ca").issue(t, certSpec{cn: "admin"})

	a := NewX509(ca.pool())
	now := testNow
	a.now = func() time.Time { return now }
	verifies := 0
	a.verify = func(leaf *x509.Certificate, opts x509.VerifyOptions) ([][]*x509.Certificate, error) {
		verifies++
		return leaf.Verify(opts)
	}
	auth := func(certs ...*x509.Certificate) (string, error) {
		t.Helper()
		r := httptest.NewRequest("GET", "/api", nil)
		r.TLS = &tls.ConnectionState{PeerCertificates: certs}
		u, ok, err := a.AuthenticateRequest(r)
		if err != nil {
			return "", err
		}
		if !ok {
			t.Fatal("ok=false without an error")
		}
		return u.Name, nil
	}
	step := func(what string, at time.Time, certs []*x509.Certificate, wantUser, wantErr string, wantVerifies int) {
		t.Helper()
		now = at
		verifies = 0
		user, err := auth(certs...)
		switch {
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: got user %q err %v, want an error containing %q", what, user, err, wantErr)
		case wantErr == "" && (err != nil || user != wantUser):
			t.Errorf("%s: got user %q err %v, want %q", what, user, err, wantUser)
		}
		if verifies != wantVerifies {
			t.Errorf("%s: %d chain verifications, want %d", what, verifies, wantVerifies)
		}
	}
	one := []*x509.Certificate{alice}
	step("first request", testNow, one, "alice", "", 1)
	step("second request", testNow, one, "alice", "", 0)
	step("an hour later", testNow.Add(time.Hour), one, "alice", "", 0)
	step("after the certificate expired", alice.NotAfter.Add(time.Second), one, "", "expired", 1)
	step("before the certificate was valid (clock set back)", alice.NotBefore.Add(-time.Second), one, "", "not yet valid", 1)

	chain := []*x509.Certificate{viaInter, inter}
	step("through an intermediate", testNow, chain, "bob", "", 1)
	step("same chain again", testNow, chain, "bob", "", 0)
	step("same leaf without its intermediate", testNow, chain[:1], "", "unknown authority", 1)
	step("after the intermediate expired, the leaf not", testNow.Add(3*time.Hour), chain, "", "expired", 1)

	step("a chain that failed", testNow, []*x509.Certificate{foreign}, "", "unknown authority", 1)
	step("fails again, not remembered", testNow, []*x509.Certificate{foreign}, "", "unknown authority", 1)
}

func TestX509_RememberedChainsAreBounded(t *testing.T) {
	ca := newTestCA(t, "cluster-ca")
	alice, _ := ca.issue(t, certSpec{cn: "alice"})
	chains := [][]*x509.Certificate{{alice, ca.cert}}
	a := NewX509(ca.pool())
	expired := testNow.Add(-time.Minute)
	a.verified = map[[32]byte]validity{} // filled with expired entries
	for i := range verifiedCacheSize {
		a.verified[[32]byte{byte(i), byte(i >> 8), 1}] = validity{from: expired.Add(-time.Hour), until: expired}
	}
	fresh := [32]byte{0xff}
	a.remember(fresh, testNow, chains)
	if len(a.verified) != 1 || !a.cachedValid(fresh, testNow) {
		t.Fatalf("a full cache of expired entries: %d entries after adding one, want only the new one", len(a.verified))
	}
	for i := range 2 * verifiedCacheSize {
		a.remember([32]byte{byte(i), byte(i >> 8), byte(i >> 16), 2}, testNow, chains)
		if len(a.verified) > verifiedCacheSize {
			t.Fatalf("%d entries, bound %d", len(a.verified), verifiedCacheSize)
		}
	}
	if len(a.verified) != verifiedCacheSize {
		t.Fatalf("%d entries after adding twice the bound, want %d", len(a.verified), verifiedCacheSize)
	}
}

// BenchmarkX509_AuthenticateRequest compares a client's first request (its
// chain verified) with its later ones (remembered).
func BenchmarkX509_AuthenticateRequest(b *testing.B) {
	ca := newTestCA(b, "cluster-ca")
	leaf, _ := ca.issue(b, certSpec{cn: "system:node:n1", orgs: []string{"system:nodes"}})
	r := httptest.NewRequest("GET", "/api", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}
	run := func(b *testing.B, a func() *X509) {
		for b.Loop() {
			x := a()
			x.now = func() time.Time { return testNow }
			if _, ok, err := x.AuthenticateRequest(r); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	}
	b.Run("first", func(b *testing.B) { run(b, func() *X509 { return NewX509(ca.pool()) }) })
	shared := NewX509(ca.pool())
	b.Run("later", func(b *testing.B) { run(b, func() *X509 { return shared }) })
}
