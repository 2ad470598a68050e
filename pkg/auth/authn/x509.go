package authn

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
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
	// verify is leaf.Verify (a test counts the calls).
	verify func(leaf *x509.Certificate, opts x509.VerifyOptions) ([][]*x509.Certificate, error)

	// verified remembers the chains that verified, so that a client's
	// requests after its first cost a hash of its certificates instead of
	// a signature check on each of them (a quarter of the apiserver's CPU
	// when pods start). The roots never change for one X509.
	mu       sync.Mutex
	verified map[[sha256.Size]byte]validity
}

// validity is when a verified chain verifies: from the latest NotBefore to
// the earliest NotAfter of its certificates.
type validity struct{ from, until time.Time }

// verifiedCacheSize bounds X509.verified; a full cache drops its expired
// entries, then an arbitrary one.
const verifiedCacheSize = 4096

var _ auth.Authenticator = (*X509)(nil)

// NewX509 returns an authenticator that accepts client certificates
// chaining to clientCAs with the client-auth extended key usage: user name
// = subject CN, groups = subject O values.
func NewX509(clientCAs *x509.CertPool) *X509 {
	return &X509{roots: clientCAs, now: time.Now, verify: (*x509.Certificate).Verify}
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
	now := a.now()
	key := chainKey(certs)
	if !a.cachedValid(key, now) {
		opts := x509.VerifyOptions{
			Roots:       a.roots,
			CurrentTime: now,
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
		chains, err := a.verify(leaf, opts)
		if err != nil {
			return nil, false, fmt.Errorf("verifying certificate %s failed: %w", certificateIdentifier(leaf), err)
		}
		a.remember(key, now, chains)
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

// chainKey identifies a presented chain: the hash of its certificates, each
// with its length.
func chainKey(certs []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, c := range certs {
		if c == nil {
			continue
		}
		binary.BigEndian.PutUint64(n[:], uint64(len(c.Raw)))
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// cachedValid reports whether the chain with key verified before and is
// still within its certificates' validity at now.
func (a *X509) cachedValid(key [sha256.Size]byte, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, ok := a.verified[key]
	return ok && !now.Before(v.from) && !now.After(v.until)
}

// remember records that the chain with key verified at now through
// chains[0], the chain Verify prefers: it stays verified while all of that
// chain's certificates are valid. (Another chain that outlives it is found
// by verifying afresh when this one ends.)
func (a *X509) remember(key [sha256.Size]byte, now time.Time, chains [][]*x509.Certificate) {
	if len(chains) == 0 || len(chains[0]) == 0 {
		return
	}
	v := validity{from: chains[0][0].NotBefore, until: chains[0][0].NotAfter}
	for _, c := range chains[0][1:] {
		if c.NotBefore.After(v.from) {
			v.from = c.NotBefore
		}
		if c.NotAfter.Before(v.until) {
			v.until = c.NotAfter
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verified == nil {
		a.verified = make(map[[sha256.Size]byte]validity)
	}
	if len(a.verified) >= verifiedCacheSize {
		for k, e := range a.verified {
			if now.After(e.until) {
				delete(a.verified, k)
			}
		}
		for k := range a.verified {
			if len(a.verified) < verifiedCacheSize {
				break
			}
			delete(a.verified, k)
		}
	}
	a.verified[key] = v
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
