package daemon

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/auth/pki"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
)

func TestRegisterClientCertExpiry_FromEmbeddedCertificate(t *testing.T) {
	b, err := pki.NewTestCluster(t.TempDir(), pki.TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := b.IssueClientPEM(pki.CertSpec{CommonName: "system:kube-scheduler",
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pki.ParseCertsPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	RegisterClientCertExpiry(reg, &rest.Config{TLSClientConfig: rest.TLSClientConfig{CertData: certPEM, KeyData: keyPEM}})
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != pki.CertExpiryMetric {
		t.Fatalf("gathered %v (%v), want one %s", mfs, err, pki.CertExpiryMetric)
	}
	m := mfs[0].GetMetric()[0]
	if got, want := m.GetGauge().GetValue(), float64(certs[0].NotAfter.Unix()); got != want {
		t.Errorf("expiry = %v, want %v", got, want)
	}
	if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "name" || l[0].GetValue() != "client" {
		t.Errorf("labels = %v, want name=client", l)
	}

	// A token-only config exports nothing.
	reg2 := prometheus.NewRegistry()
	RegisterClientCertExpiry(reg2, &rest.Config{BearerToken: "x"})
	if mfs, _ := reg2.Gather(); len(mfs) != 0 {
		t.Fatalf("token config exported %v", mfs)
	}
}
