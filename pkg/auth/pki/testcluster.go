package pki

import (
	"crypto"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// TestOptions adjust NewTestCluster.
type TestOptions struct {
	// Server is written into the admin kubeconfig; default
	// https://127.0.0.1:6443. Tests that listen on a random port build their
	// client with RESTConfig instead.
	Server string
	// DNSNames and IPs are extra SANs of the serving cert (always:
	// localhost, 127.0.0.1, ::1 and the kubernetes Service names and IP
	// 10.96.0.1).
	DNSNames []string
	IPs      []net.IP
	// SAKeyAlgorithm is the service-account key's algorithm; default
	// RSA2048, as production.
	SAKeyAlgorithm KeyAlgorithm
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Bundle is the PKI NewTestCluster wrote: file paths for daemon flags and
// the CA to issue more client identities with.
type Bundle struct {
	Dir string
	CA  *CA
	// CAData is ca.crt's PEM.
	CAData []byte

	CACertFile, CAKeyFile           string
	ServingCertFile, ServingKeyFile string // apiserver.crt/.key
	AdminCertFile, AdminKeyFile     string // kubernetes-admin, system:masters
	AdminKubeconfig                 string // admin.conf
	SAKeyFile, SAPublicKeyFile      string // sa.key, sa.pub

	now func() time.Time
}

// testRSAKey is the service-account key of every test cluster in a process:
// an RSA 2048 key takes up to a second to generate on a loaded machine, and
// tests need a key, not a unique one.
var testRSAKey = sync.OnceValues(func() (crypto.Signer, error) { return GenerateKey(RSA2048) })

// testValidity is long enough for any test run, short enough to be plainly a
// test certificate.
const testValidity = 24 * time.Hour

// NewTestCluster writes into dir (a test's t.TempDir()) the minimal PKI a
// test apiserver and its clients need: a CA, an apiserver serving cert for
// localhost, an admin client cert and kubeconfig, and the service-account
// key pair. Keys are ECDSA P-256 (fast) except the service-account key, RSA
// 2048 by default and then shared by every test cluster of the process.
func NewTestCluster(dir string, opts TestOptions) (*Bundle, error) {
	if opts.Server == "" {
		opts.Server = DefaultServer
	}
	if opts.SAKeyAlgorithm == "" {
		opts.SAKeyAlgorithm = RSA2048
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := opts.Now()
	b := &Bundle{
		Dir:             dir,
		CACertFile:      filepath.Join(dir, "ca.crt"),
		CAKeyFile:       filepath.Join(dir, "ca.key"),
		ServingCertFile: filepath.Join(dir, "apiserver.crt"),
		ServingKeyFile:  filepath.Join(dir, "apiserver.key"),
		AdminCertFile:   filepath.Join(dir, "admin.crt"),
		AdminKeyFile:    filepath.Join(dir, "admin.key"),
		AdminKubeconfig: filepath.Join(dir, "admin.conf"),
		SAKeyFile:       filepath.Join(dir, "sa.key"),
		SAPublicKeyFile: filepath.Join(dir, "sa.pub"),
		now:             opts.Now,
	}

	caKey, err := GenerateKey(ECDSAP256)
	if err != nil {
		return nil, err
	}
	if b.CA, err = NewCA("kstack-test-ca", caKey, 2*testValidity, now); err != nil {
		return nil, err
	}
	if err := writeCertAndKey(b.CACertFile, b.CAKeyFile, b.CA.Cert, caKey); err != nil {
		return nil, err
	}
	b.CAData = EncodeCertsPEM(b.CA.Cert)

	serving := CertSpec{
		CommonName: "kube-apiserver",
		DNSNames:   append([]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + DefaultDNSDomain}, opts.DNSNames...),
		IPs:        append([]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.IPv4(10, 96, 0, 1)}, opts.IPs...),
		Usages:     serverUsage,
		Validity:   testValidity,
	}
	if _, _, err := b.issueFiles(serving, b.ServingCertFile, b.ServingKeyFile); err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := b.issueFiles(CertSpec{CommonName: AdminUser, Organization: []string{MastersGroup}, Usages: clientUsage, Validity: testValidity}, b.AdminCertFile, b.AdminKeyFile)
	if err != nil {
		return nil, err
	}
	if _, _, err := WriteKubeconfig(b.AdminKubeconfig, KubeconfigSpec{
		ClusterName: DefaultClusterName, Server: opts.Server, CAData: b.CAData,
		UserName: AdminUser, CertData: certPEM, KeyData: keyPEM,
	}); err != nil {
		return nil, err
	}

	saKey, err := testRSAKey()
	if opts.SAKeyAlgorithm != RSA2048 {
		saKey, err = GenerateKey(opts.SAKeyAlgorithm)
	}
	if err != nil {
		return nil, err
	}
	saKeyPEM, err := EncodePrivateKeyPEM(saKey)
	if err != nil {
		return nil, err
	}
	saPubPEM, err := EncodePublicKeyPEM(saKey.Public())
	if err != nil {
		return nil, err
	}
	if err := writeFile(b.SAKeyFile, saKeyPEM, privateMode); err != nil {
		return nil, err
	}
	if err := writeFile(b.SAPublicKeyFile, saPubPEM, publicMode); err != nil {
		return nil, err
	}
	return b, nil
}

// issueFiles issues spec for a new key and writes cert and key files.
func (b *Bundle) issueFiles(spec CertSpec, certFile, keyFile string) (certPEM, keyPEM []byte, err error) {
	certPEM, keyPEM, err = b.IssueClientPEM(spec)
	if err != nil {
		return nil, nil, err
	}
	if err := writeFile(keyFile, keyPEM, privateMode); err != nil {
		return nil, nil, err
	}
	if err := writeFile(certFile, certPEM, publicMode); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// IssueClientPEM issues spec (Validity defaults to a day) for a new ECDSA
// key and returns the cert and key PEM.
func (b *Bundle) IssueClientPEM(spec CertSpec) (certPEM, keyPEM []byte, err error) {
	if spec.Validity == 0 {
		spec.Validity = testValidity
	}
	key, err := GenerateKey(ECDSAP256)
	if err != nil {
		return nil, nil, err
	}
	cert, err := b.CA.Issue(spec, key.Public(), b.now())
	if err != nil {
		return nil, nil, err
	}
	if keyPEM, err = EncodePrivateKeyPEM(key); err != nil {
		return nil, nil, err
	}
	return EncodeCertsPEM(cert), keyPEM, nil
}

// RESTConfig returns a client config for the apiserver at host ("127.0.0.1:port"
// or an https URL) that trusts the CA and authenticates as the admin.
func (b *Bundle) RESTConfig(host string) *rest.Config {
	return &rest.Config{
		Host:            host,
		TLSClientConfig: rest.TLSClientConfig{CAData: b.CAData, CertFile: b.AdminCertFile, KeyFile: b.AdminKeyFile},
	}
}

// UserRESTConfig returns a client config for host that authenticates with a
// new client cert for user in groups (for authorization tests).
func (b *Bundle) UserRESTConfig(host, user string, groups ...string) (*rest.Config, error) {
	certPEM, keyPEM, err := b.IssueClientPEM(CertSpec{CommonName: user, Organization: groups, Usages: clientUsage})
	if err != nil {
		return nil, fmt.Errorf("client cert for %s: %w", user, err)
	}
	return &rest.Config{
		Host:            host,
		TLSClientConfig: rest.TLSClientConfig{CAData: b.CAData, CertData: certPEM, KeyData: keyPEM},
	}, nil
}
