package controller

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kstack/kstack/pkg/controllermanager"
	"github.com/kstack/kstack/test/integration/framework"
)

// caller is how a test reaches a component's secure port: a bearer token,
// a client certificate, or neither.
type caller struct {
	token string
	cert  *tls.Certificate
}

// getAs GETs url as c (the server's certificate is not checked: the
// component's is self-signed).
func getAs(ctx context.Context, url string, c caller) (int, string) {
	tc := &tls.Config{InsecureSkipVerify: true}
	if c.cert != nil {
		tc.Certificates = []tls.Certificate{*c.cert}
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// certOf is the client certificate of a rest.Config issued by the test PKI.
func certOf(t *testing.T, c *rest.Config) *tls.Certificate {
	t.Helper()
	var cert tls.Certificate
	var err error
	if len(c.TLSClientConfig.CertData) > 0 {
		cert, err = tls.X509KeyPair(c.TLSClientConfig.CertData, c.TLSClientConfig.KeyData)
	} else {
		cert, err = tls.LoadX509KeyPair(c.TLSClientConfig.CertFile, c.TLSClientConfig.KeyFile)
	}
	if err != nil {
		t.Fatalf("client certificate: %v", err)
	}
	return &cert
}

// foreignCert is a client certificate for system:admin in system:masters
// signed by a CA the cluster does not trust.
func foreignCert(t *testing.T) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject:   pkix.Name{CommonName: "system:admin", Organization: []string{"system:masters"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// writeKubeconfig writes c (client-certificate credentials) to a file.
func writeKubeconfig(t *testing.T, c *rest.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthorityData: c.TLSClientConfig.CAData}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{ClientCertificateData: c.TLSClientConfig.CertData, ClientKeyData: c.TLSClientConfig.KeyData}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "c"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return path
}

// grantScrape binds a ClusterRole allowing GET of /metrics and
// /debug/pprof/* to subjects.
func grantScrape(t *testing.T, c *cluster, name string, subjects ...rbacv1.Subject) {
	t.Helper()
	ctx := t.Context()
	if _, err := c.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics", "/debug/pprof/*"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create cluster role: %v", err)
	}
	if _, err := c.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects: subjects}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create cluster role binding: %v", err)
	}
}

// saToken creates service account ns/name and returns a token for it.
func saToken(t *testing.T, c *cluster, ns, name string) string {
	t.Helper()
	ctx := t.Context()
	if _, err := c.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service account %s: %v", name, err)
	}
	tr, err := c.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s: %v", name, err)
	}
	return tr.Status.Token
}

// TestControllerManager_SecurePortGuardsMetricsAndProfiling: as
// upstream's kube-controller-manager, the health checks answer anyone,
// while /metrics and /debug/pprof/ need a bearer token (TokenReview) or a
// client certificate from --client-ca-file, authorized for the path by the
// apiserver (SubjectAccessReview).
func TestControllerManager_SecurePortGuardsMetricsAndProfiling(t *testing.T) {
	port := freePort(t)
	var caFile string
	c := startClusterWith(t, []string{"replicaset"}, func(c *cluster, cfg *controllermanager.Config) {
		caFile = c.s.PKI.CACertFile
		cfg.SecurePort = port
		cfg.BindAddress = "127.0.0.1"
		cfg.Profiling = true
		cfg.Auth.ClientCAFile = caFile
	})
	ctx := t.Context()
	ns := c.namespace(t, "secureport")
	scraperTok, nobodyTok := saToken(t, c, ns, "scraper"), saToken(t, c, ns, "nobody")
	grantScrape(t, c, "scrape",
		rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "scraper"},
		rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "cert-scraper"})
	certScraper := certOf(t, c.s.UserConfig(t, "cert-scraper"))
	certNobody := certOf(t, c.s.UserConfig(t, "cert-nobody"))
	admin := certOf(t, c.s.Config)

	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	eventually(t, 30*time.Second, "controller-manager /healthz", func() (bool, error) {
		code, _ := getAs(ctx, base+"/healthz", caller{})
		return code == http.StatusOK, nil
	})
	for _, tc := range []struct {
		name string
		path string
		as   caller
		want int
	}{
		{"livez, anonymous", "/livez", caller{}, http.StatusOK},
		{"readyz, anonymous", "/readyz", caller{}, http.StatusOK},
		{"metrics, anonymous", "/metrics", caller{}, http.StatusForbidden},
		{"pprof, anonymous", "/debug/pprof/", caller{}, http.StatusForbidden},
		{"metrics, invalid token", "/metrics", caller{token: "not-a-token"}, http.StatusUnauthorized},
		{"metrics, token without rights", "/metrics", caller{token: nobodyTok}, http.StatusForbidden},
		{"pprof, token without rights", "/debug/pprof/cmdline", caller{token: nobodyTok}, http.StatusForbidden},
		{"metrics, token with rights", "/metrics", caller{token: scraperTok}, http.StatusOK},
		{"pprof, token with rights", "/debug/pprof/cmdline", caller{token: scraperTok}, http.StatusOK},
		{"metrics, cert with rights", "/metrics", caller{cert: certScraper}, http.StatusOK},
		{"metrics, cert without rights", "/metrics", caller{cert: certNobody}, http.StatusForbidden},
		{"metrics, system:masters cert", "/metrics", caller{cert: admin}, http.StatusOK},
		{"metrics, cert from an untrusted CA", "/metrics", caller{cert: foreignCert(t)}, http.StatusUnauthorized},
	} {
		var code int
		var body string
		// /readyz waits for the controllers; the others answer at once.
		eventually(t, 30*time.Second, tc.name, func() (bool, error) {
			code, body = getAs(ctx, base+tc.path, tc.as)
			return code == tc.want || tc.path != "/readyz", nil
		})
		if code != tc.want {
			t.Errorf("%s: GET %s = %d, want %d: %.200s", tc.name, tc.path, code, tc.want, body)
		}
		if code == http.StatusForbidden && !strings.Contains(body, `"kind":"Status"`) {
			t.Errorf("%s: a 403 body is not a metav1.Status: %.200s", tc.name, body)
		}
	}
	if _, body := getAs(ctx, base+"/metrics", caller{cert: certScraper}); !strings.Contains(body, "workqueue_adds_total") {
		t.Errorf("/metrics lacks the workqueue metrics:\n%.500s", body)
	}
}

// TestControllerManager_SecurePortHonoursAuthFlags: the reviews go to
// --authentication-kubeconfig / --authorization-kubeconfig when given, and
// an authorized answer is cached for --authorization-webhook-cache-authorized-ttl.
func TestControllerManager_SecurePortHonoursAuthFlags(t *testing.T) {
	port := freePort(t)
	c := startClusterWith(t, []string{"replicaset"}, func(c *cluster, cfg *controllermanager.Config) {
		cfg.SecurePort = port
		cfg.BindAddress = "127.0.0.1"
		cfg.Auth.ClientCAFile = c.s.PKI.CACertFile
		// TokenReviews as a user who may not create them: every token
		// fails; client certificates need no TokenReview.
		cfg.Auth.AuthenticationKubeconfig = writeKubeconfig(t, c.s.UserConfig(t, "no-reviews"))
		cfg.Auth.AuthorizedCacheTTL = time.Hour
	})
	ctx := t.Context()
	ns := c.namespace(t, "authflags")
	tok := saToken(t, c, ns, "scraper")
	grantScrape(t, c, "scrape-flags",
		rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "scraper"},
		rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "cert-scraper"})
	cert := certOf(t, c.s.UserConfig(t, "cert-scraper"))

	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	eventually(t, 30*time.Second, "controller-manager /healthz", func() (bool, error) {
		code, _ := getAs(ctx, base+"/healthz", caller{})
		return code == http.StatusOK, nil
	})
	if code, body := getAs(ctx, base+"/metrics", caller{token: tok}); code != http.StatusUnauthorized {
		t.Errorf("token reviewed with a kubeconfig lacking tokenreviews rights: %d, want 401: %.200s", code, body)
	}
	if code, body := getAs(ctx, base+"/metrics", caller{cert: cert}); code != http.StatusOK {
		t.Fatalf("client certificate with rights: %d, want 200: %.200s", code, body)
	}
	// The grant goes away; the cached "allowed" stays for the hour.
	if err := c.client.RbacV1().ClusterRoleBindings().Delete(ctx, "scrape-flags", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, _ := getAs(ctx, base+"/metrics", caller{cert: cert}); code != http.StatusOK {
		t.Errorf("after the binding's deletion, within the authorized cache TTL: %d, want 200 (cached)", code)
	}
	// A different path is a different review: now denied.
	// (The apiserver's RBAC cache sees the deletion shortly.)
	eventually(t, 30*time.Second, "403 on an uncached path after the binding's deletion", func() (bool, error) {
		code, _ := getAs(ctx, base+"/debug/pprof/cmdline", caller{cert: cert})
		return code == http.StatusForbidden, nil
	})
}

// startClusterWith is startCluster with the apiserver at hand when
// configuring the controller-manager (its PKI, its users).
func startClusterWith(t *testing.T, controllers []string, configure func(*cluster, *controllermanager.Config)) *cluster {
	t.Helper()
	s := framework.Start(t, framework.Options{})
	c := &cluster{s: s, client: s.Client}
	cfg := controllermanager.Defaults()
	cfg.RESTConfig = s.UserConfig(t, "system:kube-controller-manager")
	cfg.Controllers = controllers
	cfg.LeaderElection.Enabled = false
	cfg.UseServiceAccountCredentials = true
	configure(c, &cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- controllermanager.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("controller-manager: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("controller-manager did not stop")
		}
	})
	return c
}
