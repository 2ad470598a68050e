package pki

import (
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func mustCA(t testing.TB, alg KeyAlgorithm) *CA {
	t.Helper()
	key, err := GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := NewCA("test-ca", key, 10*DefaultValidity, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// verify checks cert chains to ca for usage at time now.
func verify(cert *x509.Certificate, ca *x509.Certificate, usage x509.ExtKeyUsage, dnsName string, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err := cert.Verify(x509.VerifyOptions{
		Roots: roots, DNSName: dnsName, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{usage},
	})
	return err
}

func TestCA_IssueVerifiesForItsUsagesOnly(t *testing.T) {
	for _, alg := range []KeyAlgorithm{ECDSAP256, RSA2048} {
		ca := mustCA(t, alg)
		tests := []struct {
			name       string
			spec       CertSpec
			okUsage    []x509.ExtKeyUsage
			badUsage   []x509.ExtKeyUsage
			verifyName string
		}{
			{
				name:       "serving",
				spec:       CertSpec{CommonName: "kube-apiserver", DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Usages: serverUsage, Validity: time.Hour},
				okUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				badUsage:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
				verifyName: "localhost",
			},
			{
				name:     "client",
				spec:     CertSpec{CommonName: AdminUser, Organization: []string{MastersGroup}, Usages: clientUsage, Validity: time.Hour},
				okUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
				badUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			},
			{
				name:       "etcd peer",
				spec:       CertSpec{CommonName: "m1", DNSNames: []string{"m1"}, IPs: []net.IP{net.ParseIP("10.0.0.1")}, Usages: bothUsage, Validity: time.Hour},
				okUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
				verifyName: "10.0.0.1",
			},
		}
		for _, tt := range tests {
			t.Run(string(alg)+"/"+tt.name, func(t *testing.T) {
				key, err := GenerateKey(alg)
				if err != nil {
					t.Fatal(err)
				}
				cert, err := ca.Issue(tt.spec, key.Public(), testNow)
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range tt.okUsage {
					if err := verify(cert, ca.Cert, u, tt.verifyName, testNow); err != nil {
						t.Errorf("usage %v: %v", u, err)
					}
				}
				for _, u := range tt.badUsage {
					if err := verify(cert, ca.Cert, u, "", testNow); err == nil {
						t.Errorf("usage %v verified, want rejected", u)
					}
				}
				if cert.IsCA {
					t.Error("leaf certificate is a CA")
				}
				if got := cert.Subject.CommonName; got != tt.spec.CommonName {
					t.Errorf("CN = %q, want %q", got, tt.spec.CommonName)
				}
				if reason := Mismatch(cert, key, ca.Cert, tt.spec, testNow, time.Minute); reason != "" {
					t.Errorf("fresh cert mismatches its own spec: %s", reason)
				}
			})
		}
	}
}

func TestCA_IssueStopsAtCAExpiry(t *testing.T) {
	key, _ := GenerateKey(ECDSAP256)
	ca, err := NewCA("short-ca", key, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(CertSpec{CommonName: "x", Usages: clientUsage, Validity: DefaultValidity}, key.Public(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter = %s, want the CA's %s", cert.NotAfter, ca.Cert.NotAfter)
	}
}

func TestCA_IssueRejectsIncompleteSpecs(t *testing.T) {
	ca := mustCA(t, ECDSAP256)
	for name, spec := range map[string]CertSpec{
		"no common name": {Usages: clientUsage, Validity: time.Hour},
		"no usage":       {CommonName: "x", Validity: time.Hour},
	} {
		if _, err := ca.Issue(spec, ca.Key.Public(), testNow); err == nil {
			t.Errorf("%s: issued, want error", name)
		}
	}
}

func TestMismatch(t *testing.T) {
	ca := mustCA(t, ECDSAP256)
	other := mustCA(t, ECDSAP256)
	key, _ := GenerateKey(ECDSAP256)
	otherKey, _ := GenerateKey(ECDSAP256)
	spec := CertSpec{
		CommonName: "system:node:n1", Organization: []string{NodesGroup},
		DNSNames: []string{"n1", "n1.example"}, IPs: []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("fd00::1")},
		Usages: serverUsage, Validity: 100 * time.Hour,
	}
	cert, err := ca.Issue(spec, key.Public(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(*CertSpec)) CertSpec {
		s := spec
		f(&s)
		return s
	}
	tests := []struct {
		name        string
		key         any
		ca          *x509.Certificate
		spec        CertSpec
		now         time.Time
		renewBefore time.Duration
		want        string // substring; "" means a match
	}{
		{name: "same spec", spec: spec, want: ""},
		{name: "SANs in another order", spec: with(func(s *CertSpec) {
			s.DNSNames = []string{"n1.example", "n1"}
			s.IPs = []net.IP{net.ParseIP("fd00::1"), net.ParseIP("10.0.0.1").To4()}
		}), want: ""},
		{name: "other key", key: otherKey, spec: spec, want: "does not match its key"},
		{name: "other CA", ca: other.Cert, spec: spec, want: "not signed by the current CA"},
		{name: "other CN", spec: with(func(s *CertSpec) { s.CommonName = "system:node:n2" }), want: "common name"},
		{name: "other O", spec: with(func(s *CertSpec) { s.Organization = nil }), want: "organization"},
		{name: "new DNS name", spec: with(func(s *CertSpec) { s.DNSNames = append(s.DNSNames, "n1.local") }), want: "DNS names"},
		{name: "new IP", spec: with(func(s *CertSpec) { s.IPs = []net.IP{net.ParseIP("10.0.0.2")} }), want: "IP addresses"},
		{name: "other usage", spec: with(func(s *CertSpec) { s.Usages = bothUsage }), want: "key usages"},
		{name: "within renewal margin", spec: spec, now: testNow.Add(90 * time.Hour), renewBefore: 20 * time.Hour, want: "renewal margin"},
		{name: "before renewal margin", spec: spec, now: testNow.Add(70 * time.Hour), renewBefore: 20 * time.Hour, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := key
			if tt.key != nil {
				k = otherKey
			}
			caCert := ca.Cert
			if tt.ca != nil {
				caCert = tt.ca
			}
			now := testNow
			if !tt.now.IsZero() {
				now = tt.now
			}
			got := Mismatch(cert, k, caCert, tt.spec, now, tt.renewBefore)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("Mismatch = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGenerateKey_UnknownAlgorithm(t *testing.T) {
	if _, err := GenerateKey("dsa-1024"); err == nil {
		t.Fatal("GenerateKey(dsa-1024) succeeded, want error")
	}
}
