package authn

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/kstack/kstack/pkg/auth"
)

// CredentialIDKey is the user extra under which upstream records which
// credential authenticated a request ("X509SHA256=<hex>", "JTI=<jti>").
const CredentialIDKey = "authentication.kubernetes.io/credential-id"

// X509 authenticates client certificates against --client-ca-file.
//
// The server asks for client certificates without verifying them in the
// TLS handshake (tls.RequestClientCert), as upstream does, so that a bad
// certificate becomes a 401 with a reason instead of a failed handshake,
// and a request without a certificate can still use a token.
type X509 struct {
	roots *x509.CertPool
	now   func() time.Time
}

var _ auth.Authenticator = (*X509)(nil)

// NewX509 returns an authenticator that accepts client certificates
// chaining to clientCAs with the client-auth extended key usage: user name
// = subject CN, groups = subject O values.
func NewX509(clientCAs *x509.CertPool) *X509 {
	return &X509{roots: clientCAs, now: time.Now}
}

// LoadCAFile reads a PEM bundle of CA certificates (--client-ca-file).
func LoadCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read client CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("client CA file %s: no PEM certificates found", path)
	}
	return pool, nil
}

// AuthenticateRequest implements auth.Authenticator. No client certificate
// is ok=false; a certificate that does not verify (expired, another CA,
// wrong usage) is an error; a verified certificate without a CN is ok=false
// as upstream.
func (a *X509) AuthenticateRequest(r *http.Request) (*auth.User, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	return a.authenticateChain(r.TLS.PeerCertificates)
}

func (a *X509) authenticateChain(certs []*x509.Certificate) (*auth.User, bool, error) {
	leaf := certs[0]
	if leaf == nil {
		return nil, false, errors.New("verifying certificate failed: empty certificate")
	}
	if a.roots == nil {
		return nil, false, nil
	}
	opts := x509.VerifyOptions{
		Roots:       a.roots,
		CurrentTime: a.now(),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if len(certs) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range certs[1:] {
			if c != nil {
				opts.Intermediates.AddCert(c)
			}
		}
	}
	if _, err := leaf.Verify(opts); err != nil {
		return nil, false, fmt.Errorf("verifying certificate %s failed: %w", certificateIdentifier(leaf), err)
	}
	if leaf.Subject.CommonName == "" {
		return nil, false, nil
	}
	fp := sha256.Sum256(leaf.Raw)
	return &auth.User{
		Name:   leaf.Subject.CommonName,
		Groups: append([]string(nil), leaf.Subject.Organization...),
		Extra:  map[string][]string{CredentialIDKey: {"X509SHA256=" + hex.EncodeToString(fp[:])}},
	}, true, nil
}

// certificateIdentifier names a certificate in errors and logs without
// its subject (which the client chose): serial, subject and authority key
// IDs, as upstream.
func certificateIdentifier(c *x509.Certificate) string {
	return fmt.Sprintf("SN=%d, SKID=%s, AKID=%s", c.SerialNumber, colonHex(c.SubjectKeyId), colonHex(c.AuthorityKeyId))
}

func colonHex(b []byte) string {
	if len(b) == 0 {
		return "<none>"
	}
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, ":")
}
