package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// KeyAlgorithm names the kind of private key generated for a certificate.
type KeyAlgorithm string

const (
	// ECDSAP256 is an ECDSA key on the NIST P-256 curve (the default).
	ECDSAP256 KeyAlgorithm = "ecdsa-p256"
	// RSA2048 is a 2048-bit RSA key, upstream Kubernetes' default.
	RSA2048 KeyAlgorithm = "rsa-2048"
)

// clockSkew backdates NotBefore so that a certificate issued on one host is
// valid at once on another whose clock is slightly behind.
const clockSkew = 5 * time.Minute

// GenerateKey returns a new private key of the given algorithm; the empty
// algorithm means ECDSAP256.
func GenerateKey(alg KeyAlgorithm) (crypto.Signer, error) {
	switch alg {
	case ECDSAP256, "":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("unknown key algorithm %q (want %s or %s)", alg, ECDSAP256, RSA2048)
	}
}

// CertSpec describes a certificate to issue: its subject, SANs and extended
// key usages (server auth, client auth or both).
type CertSpec struct {
	CommonName   string
	Organization []string
	DNSNames     []string
	IPs          []net.IP
	Usages       []x509.ExtKeyUsage
	// Validity is how long the certificate is valid from its issue time; it
	// is cut short at the CA's own expiry.
	Validity time.Duration
}

// CA is a certificate authority: its certificate and signing key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA creates a self-signed CA certificate for key, valid from now for
// validity.
func NewCA(commonName string, key crypto.Signer, validity time.Duration, now time.Time) (*CA, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-clockSkew).UTC(),
		NotAfter:              now.Add(validity).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-sign CA %q: %w", commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA %q: %w", commonName, err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Issue signs a certificate for pub as spec describes, valid from now.
func (ca *CA) Issue(spec CertSpec, pub crypto.PublicKey, now time.Time) (*x509.Certificate, error) {
	if spec.CommonName == "" {
		return nil, errors.New("issue certificate: empty common name")
	}
	if len(spec.Usages) == 0 {
		return nil, fmt.Errorf("issue certificate %q: no extended key usage", spec.CommonName)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(spec.Validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	usage := x509.KeyUsageDigitalSignature
	if _, ok := pub.(*rsa.PublicKey); ok {
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: spec.CommonName, Organization: spec.Organization},
		DNSNames:              spec.DNSNames,
		IPAddresses:           spec.IPs,
		NotBefore:             now.Add(-clockSkew).UTC(),
		NotAfter:              notAfter.UTC(),
		KeyUsage:              usage,
		ExtKeyUsage:           spec.Usages,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate %q: %w", spec.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate %q: %w", spec.CommonName, err)
	}
	return cert, nil
}

// randomSerial returns a positive 127-bit serial number, as RFC 5280 asks:
// unique per CA and at most 20 octets.
func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return serial.Add(serial, big.NewInt(1)), nil
}

// Mismatch says why cert does not satisfy spec as issued by ca for key at
// time now (with renewBefore of margin before expiry), or returns "" when it
// does. It is the reuse test: a certificate that matches is kept as it is.
func Mismatch(cert *x509.Certificate, key crypto.Signer, ca *x509.Certificate, spec CertSpec, now time.Time, renewBefore time.Duration) string {
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return "certificate does not match its key"
	}
	if err := cert.CheckSignatureFrom(ca); err != nil {
		return "not signed by the current CA"
	}
	if cert.Subject.CommonName != spec.CommonName {
		return fmt.Sprintf("common name %q, want %q", cert.Subject.CommonName, spec.CommonName)
	}
	if !sameStrings(cert.Subject.Organization, spec.Organization) {
		return fmt.Sprintf("organization %q, want %q", cert.Subject.Organization, spec.Organization)
	}
	if !sameStrings(cert.DNSNames, spec.DNSNames) {
		return fmt.Sprintf("DNS names %q, want %q", cert.DNSNames, spec.DNSNames)
	}
	if !sameIPs(cert.IPAddresses, spec.IPs) {
		return fmt.Sprintf("IP addresses %v, want %v", cert.IPAddresses, spec.IPs)
	}
	if !slices.Equal(sortedUsages(cert.ExtKeyUsage), sortedUsages(spec.Usages)) {
		return "extended key usages differ"
	}
	if now.Before(cert.NotBefore) {
		return "not yet valid"
	}
	if !now.Add(renewBefore).Before(cert.NotAfter) {
		return fmt.Sprintf("expires %s, within the renewal margin", cert.NotAfter.Format(time.RFC3339))
	}
	return ""
}

// publicKeysEqual reports whether a and b are the same public key.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

func sameStrings(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func sameIPs(a, b []net.IP) bool {
	key := func(ips []net.IP) []string {
		out := make([]string, 0, len(ips))
		for _, ip := range ips {
			out = append(out, ip.String())
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

func sortedUsages(u []x509.ExtKeyUsage) []x509.ExtKeyUsage {
	return slices.Sorted(slices.Values(u))
}
