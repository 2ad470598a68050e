package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kstack/kstack/pkg/apiserver"
	"github.com/kstack/kstack/pkg/auth/pki"
	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNodeProxy_ReachesTheKubeletWithTheKubeletClientIdentity: GET
// nodes/<name>/proxy/<path> goes to the node's kubelet over HTTPS, verified
// with --kubelet-certificate-authority and authenticated with
// --kubelet-client-certificate; a user without nodes/proxy is refused.
func TestNodeProxy_ReachesTheKubeletWithTheKubeletClientIdentity(t *testing.T) {
	t.Parallel()
	// The apiserver's kubelet-client identity comes from its own CA, which
	// the fake kubelet trusts.
	kdir := t.TempDir()
	kubeletPKI, err := pki.NewTestCluster(kdir, pki.TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(kubeletPKI.CAData)
	kubelet := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := ""
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		fmt.Fprintf(w, "kubelet %s %s from %s", r.Method, r.URL.Path, cn)
	}))
	kubelet.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}
	kubelet.StartTLS()
	t.Cleanup(kubelet.Close)
	kubeletCA := filepath.Join(kdir, "kubelet-serving-ca.crt")
	if err := os.WriteFile(kubeletCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kubelet.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(kubelet.URL, "https://"))
	port, _ := strconv.Atoi(portStr)

	s := framework.Start(t, framework.Options{Configure: func(c *apiserver.Config) {
		c.KubeletClientCertificate, c.KubeletClientKey = kubeletPKI.AdminCertFile, kubeletPKI.AdminKeyFile
		c.KubeletCertificateAuthority = kubeletCA
	}})
	ctx := t.Context()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	node, err = s.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	if _, err := s.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var body []byte
	eventually(t, "proxied GET reaches the kubelet", func(ctx context.Context) (bool, error) {
		body, err = s.Client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/n1/proxy/healthz").DoRaw(ctx)
		return err == nil, nil
	})
	if got, want := string(body), "kubelet GET /healthz from kubernetes-admin"; got != want {
		t.Errorf("kubelet saw %q, want %q", got, want)
	}

	// nodes/proxy is a privileged subresource: view may not use it.
	_, err = clientFor(t, s.UserConfig(t, "viewer", "viewers")).CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/n1/proxy/healthz").DoRaw(ctx)
	wantStatus(t, err, 403)
}
