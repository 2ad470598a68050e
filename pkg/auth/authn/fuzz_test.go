package authn

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/csv"
	"errors"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/auth"
)

// FuzzParseJWT feeds arbitrary strings to the service-account
// authenticator (legacy tokens on). Property: no panic, and nothing but
// the bound and the legacy token the server issued authenticate (no
// forgery, no second spelling of either).
func FuzzParseJWT(f *testing.F) {
	fx := newSAFixture(f)
	valid := fx.issue(f, fx.rsa, []string{testIssuer}, &BoundRef{Pod: &ObjectRef{Name: "web", UID: "pod-uid"}})
	legacy, err := fx.rsa.IssueLegacy(builderSA, "builder-token")
	if err != nil {
		f.Fatal(err)
	}
	// Turn legacy tokens on: the Secret holds the legacy token.
	rsa1, _, ec256, _ := testKeys(f)
	lo := &legacyObjects{fakeObjects: fx.objects, tokens: map[string][]byte{"default/builder-token": []byte(legacy)}}
	withLegacy, err := NewServiceAccount(ServiceAccountOptions{
		Keys: []crypto.PublicKey{rsa1.Public(), ec256.Public()}, Issuers: []string{testIssuer},
		Objects: lo, Now: func() time.Time { return testNow },
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		valid,
		legacy,
		valid[:len(valid)-2],
		valid + "A",
		"",
		"a.b.c",
		"eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2t1YmVybmV0ZXMuZGVmYXVsdC5zdmMuY2x1c3Rlci5sb2NhbCJ9.",
		"eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJodHRwczovL2t1YmVybmV0ZXMuZGVmYXVsdC5zdmMuY2x1c3Rlci5sb2NhbCJ9.AAAA",
		"..",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		u, ok, err := withLegacy.AuthenticateToken(t.Context(), token)
		if ok && token != valid && token != legacy {
			t.Fatalf("token %q authenticated as %v", token, u)
		}
		if ok && (err != nil || u == nil) {
			t.Fatalf("ok with err=%v user=%v", err, u)
		}
		if !ok && u != nil {
			t.Fatalf("user %v without ok", u)
		}
	})
}

// FuzzAuthenticateToken sends requests with arbitrary Authorization and
// websocket protocol headers through the whole chain (anonymous allowed).
// Property: no panic; a request is either anonymous (only when it carries
// no bearer token), rejected, or carries one of the valid tokens.
func FuzzAuthenticateToken(f *testing.F) {
	fx := newSAFixture(f)
	saToken := fx.issue(f, fx.rsa, []string{testIssuer}, nil)
	tf, err := ParseTokenFile([]byte("good-token,tina,uid-t,dev\n"))
	if err != nil {
		f.Fatal(err)
	}
	ca := newTestCA(f, "ca")
	x := NewX509(ca.pool())
	chain := NewChain(true, x, tf, fx.authn)
	valid := map[string]bool{"good-token": true, saToken: true}
	for _, s := range [][2]string{
		{"Bearer good-token", ""},
		{"Bearer " + saToken, ""},
		{"bearer  good-token", ""},
		{"Basic Zm9vOmJhcg==", ""},
		{"", "base64url.bearer.authorization.k8s.io.Z29vZC10b2tlbg"},
		{"Bearer x", "v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.!!"},
	} {
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, authz, protocol string, upgrade bool) {
		r := httptest.NewRequest("GET", "/api", nil)
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		if protocol != "" {
			r.Header["Sec-Websocket-Protocol"] = []string{protocol}
		}
		if upgrade {
			r.Header.Set("Connection", "Upgrade")
			r.Header.Set("Upgrade", "websocket")
		}
		token, hasToken := BearerToken(r)
		u, err := chain.Authenticate(r)
		switch {
		case err != nil:
			if u != nil {
				t.Fatalf("user %v with error %v", u, err)
			}
		case u == nil:
			t.Fatal("nil user without error")
		case u.Name == auth.Anonymous:
			if hasToken {
				t.Fatalf("bearer token %q fell through to anonymous", token)
			}
		default:
			if !hasToken || !valid[token] {
				t.Fatalf("authenticated %v from token %q", u, token)
			}
		}
	})
}

// FuzzTokenFile parses arbitrary token files. Property: no panic; when the
// file parses, every record's token (the last record wins) authenticates
// as that record's user, and a token not in the file does not.
func FuzzTokenFile(f *testing.F) {
	f.Add([]byte(testTokenFile))
	f.Add([]byte("a,b,c,\"d,e\"\n\"x\"\"y\",u,1\n"))
	f.Add([]byte("a,b\n"))
	f.Add([]byte("\"unterminated,b,c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tf, err := ParseTokenFile(data)
		if err != nil {
			return
		}
		want := map[string]string{}
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = -1
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("ParseTokenFile accepted what encoding/csv rejects: %v", err)
			}
			if rec[0] != "" {
				want[rec[0]] = rec[1]
			}
		}
		for token, name := range want {
			u, ok, err := tf.AuthenticateToken(t.Context(), token)
			if !ok || err != nil || u.Name != name {
				t.Fatalf("token %q: got %v %v %v, want user %q", token, u, ok, err, name)
			}
			if _, inFile := want[token+"x"]; !inFile {
				if _, ok, _ := tf.AuthenticateToken(t.Context(), token+"x"); ok {
					t.Fatalf("token %q not in the file authenticated", token+"x")
				}
			}
		}
	})
}

// FuzzCertificateChain parses arbitrary DER as a client certificate chain
// and arbitrary PEM as key and CA files. Property: no panic; nothing not
// issued by the cluster CA authenticates; key parsing yields only RSA or
// ECDSA keys.
func FuzzCertificateChain(f *testing.F) {
	ca := newTestCA(f, "ca")
	good, _ := ca.issue(f, certSpec{cn: "alice"})
	other := newTestCA(f, "other")
	foreign, _ := other.issue(f, certSpec{cn: "admin", orgs: []string{"system:masters"}})
	f.Add(good.Raw, []byte(nil))
	f.Add(foreign.Raw, other.cert.Raw)
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01}, []byte(nil))
	f.Add(pemBlock("CERTIFICATE", good.Raw), pemBlock("PUBLIC KEY", []byte{1}))
	x := NewX509(ca.pool())
	x.now = func() time.Time { return testNow }
	f.Fuzz(func(t *testing.T, leafDER, interDER []byte) {
		for _, data := range [][]byte{leafDER, interDER} {
			if keys, err := ParsePublicKeysPEM(data); err == nil {
				for _, k := range keys {
					switch k.(type) {
					case *rsa.PublicKey, *ecdsa.PublicKey:
					default:
						t.Fatalf("unexpected key type %T", k)
					}
				}
			}
			_, _ = ParsePrivateKeyPEM(data)
		}
		leaf, err := x509.ParseCertificate(leafDER)
		if err != nil {
			return
		}
		certs := []*x509.Certificate{leaf}
		if inter, err := x509.ParseCertificate(interDER); err == nil {
			certs = append(certs, inter)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.TLS = &tls.ConnectionState{PeerCertificates: certs}
		u, ok, err := x.AuthenticateRequest(r)
		if ok && !bytes.Equal(leaf.Raw, good.Raw) {
			t.Fatalf("certificate %x authenticated as %v", leafDER, u)
		}
		if ok && err != nil {
			t.Fatalf("ok with error %v", err)
		}
	})
}
