package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kstack/kstack/pkg/daemon"
	"github.com/kstack/kstack/pkg/kubelet/runtime"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// ContainerRuntime is what the handlers need from package runtime.
type ContainerRuntime interface {
	List(ctx context.Context, podUID string) ([]runtime.Container, error)
	ExecStream(ctx context.Context, id string, cmd []string, streams runtime.ExecIO) (int, error)
	AttachOutput(id string, li *runtime.OutputListener) (func(), error)
	// Stdin is the pipe to a container's stdin (started with stdin: true).
	Stdin(id string) (io.WriteCloser, error)
	CloseStdin(ctx context.Context, id string) error
	ResizeTTY(ctx context.Context, id string, sz runtime.TermSize) error
}

// Config configures the kubelet's server (upstream's flag names).
type Config struct {
	NodeName    string
	BindAddress string // --address
	Port        int    // --port
	// TLSCertFile/TLSPrivateKeyFile (--tls-cert-file, --tls-private-key-file):
	// when empty a self-signed certificate is made and kept in CertDir
	// (--cert-dir) as kubelet.crt/kubelet.key, as upstream.
	TLSCertFile, TLSPrivateKeyFile string
	CertDir                        string
	// ClientCAFile (--client-ca-file) verifies client certificates; the
	// apiserver's --kubelet-client-certificate must be issued by it.
	ClientCAFile string
	// AnonymousAuth (--anonymous-auth) lets requests without a verified
	// client certificate in as system:anonymous.
	AnonymousAuth bool
	// AuthorizationMode (--authorization-mode) is AlwaysAllow or Webhook.
	AuthorizationMode string
	// StreamingConnectionIdleTimeout (--streaming-connection-idle-timeout)
	// closes idle exec, attach and port-forward streams (default 4h).
	StreamingConnectionIdleTimeout time.Duration

	Client  kubernetes.Interface // SubjectAccessReviews (Webhook mode)
	Pods    corelisters.PodLister
	Runtime ContainerRuntime
	// NetNSPath is the path of a sandbox's network namespace.
	NetNSPath func(sandbox runtime.Container) string
	// Health serves /healthz, /livez, /readyz and /metrics.
	Health *daemon.Server
	// CgroupRoot is where the cgroup hierarchies are mounted
	// (/sys/fs/cgroup); ContainerdNamespace is the first element of the
	// containers' cgroup paths.
	CgroupRoot          string
	ContainerdNamespace string
}

// Server is the kubelet's HTTPS API.
type Server struct {
	cfg       Config
	clientCAs *x509.CertPool
	authz     *authorizer
	mux       *http.ServeMux
	stats     *statsProvider
}

// New validates cfg and builds the server's routes.
func New(cfg Config) (*Server, error) {
	if cfg.StreamingConnectionIdleTimeout == 0 {
		cfg.StreamingConnectionIdleTimeout = 4 * time.Hour
	}
	if cfg.CgroupRoot == "" {
		cfg.CgroupRoot = "/sys/fs/cgroup"
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	if cfg.ClientCAFile != "" {
		data, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("--client-ca-file: %w", err)
		}
		s.clientCAs = x509.NewCertPool()
		if !s.clientCAs.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("--client-ca-file %s: no certificate", cfg.ClientCAFile)
		}
	}
	switch cfg.AuthorizationMode {
	case "", AuthorizationAlwaysAllow:
	case AuthorizationWebhook:
		if cfg.Client == nil {
			return nil, errors.New("--authorization-mode=Webhook needs an apiserver client")
		}
		s.authz = &authorizer{client: cfg.Client, nodeName: cfg.NodeName, now: time.Now, cache: map[string]cachedDecision{}}
	default:
		return nil, fmt.Errorf("--authorization-mode %q: want AlwaysAllow or Webhook", cfg.AuthorizationMode)
	}
	s.stats = &statsProvider{s: s}
	s.mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.serveContainerLogs)
	for _, m := range []string{"GET", "POST"} {
		s.mux.HandleFunc(m+" /exec/{namespace}/{pod}/{container}", s.serveExec)
		s.mux.HandleFunc(m+" /exec/{namespace}/{pod}/{uid}/{container}", s.serveExec)
		s.mux.HandleFunc(m+" /attach/{namespace}/{pod}/{container}", s.serveAttach)
		s.mux.HandleFunc(m+" /attach/{namespace}/{pod}/{uid}/{container}", s.serveAttach)
		s.mux.HandleFunc(m+" /portForward/{namespace}/{pod}", s.servePortForward)
		s.mux.HandleFunc(m+" /portForward/{namespace}/{pod}/{uid}", s.servePortForward)
	}
	s.mux.HandleFunc("GET /pods", s.servePods)
	s.mux.HandleFunc("GET /pods/{$}", s.servePods)
	s.mux.HandleFunc("GET /stats/summary", s.stats.serveSummary)
	s.mux.HandleFunc("GET /metrics/resource", s.stats.serveResourceMetrics)
	if cfg.Health != nil {
		s.mux.Handle("/", cfg.Health.Mux)
	}
	return s, nil
}

// Handler is the server's authenticated and authorized handler.
func (s *Server) Handler() http.Handler { return s.withAuth(s.mux) }

// ListenAndServe serves HTTPS until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	cert, err := s.servingCert()
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(s.cfg.BindAddress, strconv.Itoa(s.cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		// Upgrades (exec, port-forward) need HTTP/1.1.
		NextProtos: []string{"http/1.1"}}
	if s.clientCAs != nil {
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		tc.ClientCAs = s.clientCAs
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, TLSConfig: tc,
		ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug)}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = srv.Close() // hijacked streams
	}()
	slog.Info("kubelet serving", "address", ln.Addr().String(), "authorization", s.cfg.AuthorizationMode, "clientCA", s.cfg.ClientCAFile != "")
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// servingCert loads --tls-cert-file, or a self-signed certificate from
// CertDir, made on first use (as upstream's kubelet does).
func (s *Server) servingCert() (tls.Certificate, error) {
	if s.cfg.TLSCertFile != "" || s.cfg.TLSPrivateKeyFile != "" {
		c, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSPrivateKeyFile)
		if err != nil {
			return c, fmt.Errorf("--tls-cert-file: %w", err)
		}
		return c, nil
	}
	var certPath, keyPath string
	if s.cfg.CertDir != "" {
		certPath, keyPath = filepath.Join(s.cfg.CertDir, "kubelet.crt"), filepath.Join(s.cfg.CertDir, "kubelet.key")
		if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
			return c, nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	host := s.cfg.NodeName
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host + "@" + strconv.FormatInt(time.Now().Unix(), 10)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
		DNSNames:    []string{"localhost", host},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}
	if ip := net.ParseIP(s.cfg.BindAddress); ip != nil && !ip.IsUnspecified() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if certPath != "" {
		if err := writeKeyPair(certPath, keyPath, der, key); err != nil {
			slog.Warn("keep the kubelet's self-signed certificate", "dir", s.cfg.CertDir, "err", err)
		}
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
