package pki

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// writeCertExpiring writes to path a cert (followed by its CA) expiring
// validity after testNow, and returns its NotAfter.
func writeCertExpiring(t *testing.T, ca *CA, path string, validity time.Duration) time.Time {
	t.Helper()
	cert, err := ca.Issue(CertSpec{CommonName: "x", Usages: serverUsage, Validity: validity}, ca.Key.Public(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, EncodeCertsPEM(cert, ca.Cert), publicMode); err != nil {
		t.Fatal(err)
	}
	return cert.NotAfter
}

// expiryValue gathers reg and returns the expiry gauge's value for name.
func expiryValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != CertExpiryMetric {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" && l.GetValue() == name {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s series for name=%q", CertExpiryMetric, name)
	return 0
}

func TestRegisterCertExpiry_ReportsEarliestNotAfterAndFollowsTheFile(t *testing.T) {
	ca := mustCA(t, ECDSAP256)
	path := filepath.Join(t.TempDir(), "apiserver.crt")
	first := writeCertExpiring(t, ca, path, 48*time.Hour)

	reg := prometheus.NewPedanticRegistry()
	if err := RegisterCertExpiry(reg, "apiserver", path); err != nil {
		t.Fatal(err)
	}
	if got := expiryValue(t, reg, "apiserver"); got != float64(first.Unix()) {
		t.Errorf("expiry = %v, want %v (the leaf, earlier than its CA)", got, first.Unix())
	}

	renewed := writeCertExpiring(t, ca, path, 96*time.Hour)
	if got := expiryValue(t, reg, "apiserver"); got != float64(renewed.Unix()) {
		t.Errorf("after renewal expiry = %v, want %v", got, renewed.Unix())
	}

	if err := os.WriteFile(path, []byte("half a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := expiryValue(t, reg, "apiserver"); got != float64(renewed.Unix()) {
		t.Errorf("unreadable file: expiry = %v, want the last value %v", got, renewed.Unix())
	}
}

func TestRegisterCertExpiry_OneSeriesPerName(t *testing.T) {
	ca := mustCA(t, ECDSAP256)
	dir := t.TempDir()
	serving, client := filepath.Join(dir, "serving.crt"), filepath.Join(dir, "client.crt")
	writeCertExpiring(t, ca, serving, time.Hour)
	writeCertExpiring(t, ca, client, 2*time.Hour)

	reg := prometheus.NewPedanticRegistry()
	if err := RegisterCertExpiry(reg, "serving", serving); err != nil {
		t.Fatal(err)
	}
	if err := RegisterCertExpiry(reg, "client", client); err != nil {
		t.Fatalf("a second name on the same registry: %v", err)
	}
	if err := RegisterCertExpiry(reg, "serving", client); err == nil {
		t.Error("the same name registered twice")
	}
	if err := RegisterCertExpiry(reg, "missing", filepath.Join(dir, "nope.crt")); err == nil {
		t.Error("registered a missing file")
	}
	if s, c := expiryValue(t, reg, "serving"), expiryValue(t, reg, "client"); s >= c {
		t.Errorf("serving expiry %v not before client expiry %v", s, c)
	}
}
