package pki

import (
	"fmt"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// CertExpiryMetric is the gauge RegisterCertExpiry exports. Upstream
// Kubernetes has no general serving-cert expiry gauge; the name follows
// cert-manager's certmanager_certificate_expiration_timestamp_seconds.
const CertExpiryMetric = "kstack_certificate_expiration_timestamp_seconds"

// RegisterCertExpiry registers on reg a gauge
// kstack_certificate_expiration_timestamp_seconds{name=<name>} whose value is
// the expiry (NotAfter, Unix seconds) of the certificate file at path: the
// earliest one when the file holds a chain. The file is read again on every
// scrape, so a replaced certificate shows; if it cannot be read then, the
// last value read is kept. It fails when path does not hold a certificate
// now, or name is already registered on reg.
func RegisterCertExpiry(reg prometheus.Registerer, name, path string) error {
	c, err := NewCertExpiryCollector(name, path)
	if err != nil {
		return err
	}
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("register certificate expiry metric for %s: %w", name, err)
	}
	return nil
}

// NewCertExpiryCollector returns the collector RegisterCertExpiry registers.
func NewCertExpiryCollector(name, path string) (prometheus.Collector, error) {
	c := &certExpiryCollector{
		path: path,
		desc: prometheus.NewDesc(CertExpiryMetric,
			"The date after which the certificate expires, in seconds since the Unix epoch.",
			nil, prometheus.Labels{"name": name}),
	}
	expiry, err := earliestExpiry(path)
	if err != nil {
		return nil, fmt.Errorf("certificate expiry metric for %s: %w", name, err)
	}
	c.last = expiry
	return c, nil
}

type certExpiryCollector struct {
	desc *prometheus.Desc
	path string

	mu   sync.Mutex
	last float64 // the last expiry read, reported when a re-read fails
}

var _ prometheus.Collector = (*certExpiryCollector)(nil)

func (c *certExpiryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *certExpiryCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if expiry, err := earliestExpiry(c.path); err == nil {
		c.last = expiry
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, c.last)
}

// earliestExpiry returns the earliest NotAfter of the certificates in path,
// in Unix seconds.
func earliestExpiry(path string) (float64, error) {
	certs, err := LoadCertFile(path)
	if err != nil {
		return 0, err
	}
	var out []int64
	for _, c := range certs {
		out = append(out, c.NotAfter.Unix())
	}
	return float64(slices.Min(out)), nil
}

// RegisterCertPEMExpiry is RegisterCertExpiry for a certificate held in
// memory (a kubeconfig's embedded client-certificate-data).
func RegisterCertPEMExpiry(reg prometheus.Registerer, name string, pemData []byte) error {
	certs, err := ParseCertsPEM(pemData)
	if err != nil {
		return fmt.Errorf("certificate expiry metric for %s: %w", name, err)
	}
	earliest := certs[0].NotAfter
	for _, c := range certs[1:] {
		if c.NotAfter.Before(earliest) {
			earliest = c.NotAfter
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        CertExpiryMetric,
		Help:        "The date after which the certificate expires, in seconds since the Unix epoch.",
		ConstLabels: prometheus.Labels{"name": name},
	})
	g.Set(float64(earliest.Unix()))
	if err := reg.Register(g); err != nil {
		return fmt.Errorf("register certificate expiry metric for %s: %w", name, err)
	}
	return nil
}
