package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// testNow is the fixed clock of these tests.
var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

var (
	keyOnce                  sync.Once
	testRSAKey, testRSAKey2  *rsa.PrivateKey
	testECKey, testECKeyP384 *ecdsa.PrivateKey
)

// testKeys returns keys generated once per test binary (RSA is slow).
func testKeys(t testing.TB) (rsa1, rsa2 *rsa.PrivateKey, ec256, ec384 *ecdsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		if testRSAKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if testRSAKey2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if testECKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if testECKeyP384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return testRSAKey, testRSAKey2, testECKey, testECKeyP384
}

// testCA is a CA that issues test certificates.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newTestCA(t testing.TB, cn string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             testNow.Add(-24 * time.Hour),
		NotAfter:              testNow.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// certSpec describes a certificate to issue.
type certSpec struct {
	cn        string
	orgs      []string
	notBefore time.Time
	notAfter  time.Time
	usages    []x509.ExtKeyUsage
	isCA      bool
}

func (ca *testCA) issue(t testing.TB, s certSpec) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if s.notBefore.IsZero() {
		s.notBefore = testNow.Add(-time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = testNow.Add(24 * time.Hour)
	}
	if s.usages == nil && !s.isCA {
		s.usages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.cn, Organization: s.orgs},
		NotBefore:             s.notBefore,
		NotAfter:              s.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           s.usages,
		BasicConstraintsValid: true,
		IsCA:                  s.isCA,
	}
	if s.isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// writeFile writes data under t.TempDir and returns the path.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// fakeObjects is an in-memory BoundObjects: keys are "kind/ns/name".
type fakeObjects struct {
	objects map[string]*metav1.ObjectMeta
	err     error // returned by every lookup when set
}

func (f *fakeObjects) get(resource, ns, name string) (*metav1.ObjectMeta, error) {
	if f.err != nil {
		return nil, f.err
	}
	m, ok := f.objects[resource+"/"+ns+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
	}
	return m, nil
}

func (f *fakeObjects) ServiceAccount(_ context.Context, ns, name string) (*metav1.ObjectMeta, error) {
	return f.get("serviceaccounts", ns, name)
}
func (f *fakeObjects) Pod(_ context.Context, ns, name string) (*metav1.ObjectMeta, error) {
	return f.get("pods", ns, name)
}
func (f *fakeObjects) Secret(_ context.Context, ns, name string) (*metav1.ObjectMeta, error) {
	return f.get("secrets", ns, name)
}
func (f *fakeObjects) Node(_ context.Context, name string) (*metav1.ObjectMeta, error) {
	return f.get("nodes", "", name)
}

func (f *fakeObjects) put(resource, ns, name, uid string) {
	if f.objects == nil {
		f.objects = map[string]*metav1.ObjectMeta{}
	}
	f.objects[resource+"/"+ns+"/"+name] = &metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid)}
}
