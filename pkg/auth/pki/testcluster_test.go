package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestNewTestCluster_MutualTLS serves HTTPS with the bundle's serving cert,
// requiring client certs from its CA, and calls it as the admin (through
// RESTConfig and through admin.conf) and as another user.
func TestNewTestCluster_MutualTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := r.TLS.PeerCertificates[0]
		io.WriteString(w, c.Subject.CommonName+" "+strings.Join(c.Subject.Organization, ","))
	}))
	b, err := NewTestCluster(t.TempDir(), TestOptions{Server: "https://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	serving, err := tls.LoadX509KeyPair(b.ServingCertFile, b.ServingKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(b.CAData)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serving}, ClientCAs: clientCAs, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	fromKubeconfig, err := clientcmd.BuildConfigFromFlags("", b.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := b.UserRESTConfig(srv.URL, "alice", "dev", "ops")
	if err != nil {
		t.Fatal(err)
	}
	localhost := b.RESTConfig(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	tests := []struct {
		name string
		cfg  *rest.Config
		want string
	}{
		{name: "RESTConfig", cfg: b.RESTConfig(srv.URL), want: "kubernetes-admin system:masters"},
		{name: "RESTConfig via localhost", cfg: localhost, want: "kubernetes-admin system:masters"},
		{name: "admin.conf", cfg: fromKubeconfig, want: "kubernetes-admin system:masters"},
		{name: "UserRESTConfig", cfg: alice, want: "alice dev,ops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, err := rest.HTTPClientFor(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Get(tt.cfg.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != tt.want {
				t.Errorf("server saw %q, want %q", body, tt.want)
			}
		})
	}

	// Without a client cert the handshake fails: the bundle's server is
	// really checking clients.
	anonymous := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: b.CAData}}
	client, err := rest.HTTPClientFor(anonymous)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := client.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Error("request without a client cert succeeded")
	}
}

func TestNewTestCluster_ServiceAccountKeyPair(t *testing.T) {
	for _, alg := range []KeyAlgorithm{RSA2048, ECDSAP256} {
		b, err := NewTestCluster(t.TempDir(), TestOptions{SAKeyAlgorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		key, err := LoadKeyFile(b.SAKeyFile)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(b.SAPublicKeyFile)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ParsePublicKeyPEM(data)
		if err != nil {
			t.Fatal(err)
		}
		if !publicKeysEqual(pub, key.Public()) {
			t.Errorf("%s: sa.pub does not match sa.key", alg)
		}
		if got := keyAlgorithm(key); got != alg {
			t.Errorf("SA key is %s, want %s", got, alg)
		}
	}
}

func keyAlgorithm(k any) KeyAlgorithm {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() == 2048 {
			return RSA2048
		}
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() {
			return ECDSAP256
		}
	}
	return "other"
}
