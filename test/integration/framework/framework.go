// Package framework starts an apiserver in the test process on a real etcd
// server, for integration tests that talk to it with client-go.
package framework

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/kstack/kstack/internal/testetcd"
	"github.com/kstack/kstack/pkg/apiserver"
	"github.com/kstack/kstack/pkg/auth/pki"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Options adjust the apiserver a test starts.
type Options struct {
	// EmbeddedEtcd runs etcd in the test process instead of the etcd
	// binary (the default: the real server the project deploys).
	EmbeddedEtcd bool
	// EtcdEndpoints reuses an etcd a test already runs (for restarts).
	EtcdEndpoints []string
	// ServiceClusterIPRange defaults to 10.96.0.0/16.
	ServiceClusterIPRange string
	// CompactionInterval enables the apiserver's periodic compaction.
	CompactionInterval time.Duration
	// EventTTL is the apiserver's --event-ttl; 0 takes its default (1h),
	// so events carry an etcd lease as in a deployed cluster.
	EventTTL time.Duration
	// Configure may change the config last.
	Configure func(*apiserver.Config)
}

// Server is a running in-process apiserver.
type Server struct {
	// Config reaches the server over HTTPS (JSON).
	Config *rest.Config
	// Client is a typed clientset on Config.
	Client kubernetes.Interface
	// PKI is the cluster's test PKI (CA, serving cert, admin and
	// service-account keys); UserConfig issues more identities from it.
	PKI *pki.Bundle
	// EtcdEndpoints are the etcd the server stores in.
	EtcdEndpoints []string
	Running       *apiserver.Running

	cancel  context.CancelFunc
	stopped bool
}

// Start runs an apiserver for the test, ready to serve, stopped when the
// test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	endpoints := opts.EtcdEndpoints
	if len(endpoints) == 0 {
		if opts.EmbeddedEtcd {
			endpoints, _ = testetcd.StartEmbedded(t)
		} else {
			endpoints, _ = testetcd.Start(t)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	pkiDir := t.TempDir()
	bundle, err := pki.NewTestCluster(pkiDir, pki.TestOptions{})
	if err != nil {
		t.Fatalf("test PKI: %v", err)
	}
	cfg := apiserver.Config{
		EtcdServers:                  endpoints,
		BindAddress:                  net.ParseIP("127.0.0.1"),
		SecurePort:                   ln.Addr().(*net.TCPAddr).Port,
		TLSCertFile:                  bundle.ServingCertFile,
		TLSPrivateKeyFile:            bundle.ServingKeyFile,
		ClientCAFile:                 bundle.CACertFile,
		AnonymousAuth:                true,
		ServiceAccountIssuers:        []string{"https://kubernetes.default.svc.cluster.local"},
		ServiceAccountKeyFiles:       []string{bundle.SAPublicKeyFile},
		ServiceAccountSigningKeyFile: bundle.SAKeyFile,
		AuthorizationModes:           []string{"Node", "RBAC"},
		EnableAdmissionPlugins:       []string{"NodeRestriction"},
		ServiceClusterIPRange:        opts.ServiceClusterIPRange,
		EtcdCompactionInterval:       opts.CompactionInterval,
		EventTTL:                     opts.EventTTL,
		MaxRequestsInflight:          0,
		MaxMutatingRequestsInflight:  0,
		Listener:                     ln,
	}
	// As upstream's integration framework: nodes the tests create are
	// schedulable at once, with no node lifecycle controller to lift
	// TaintNodesByCondition's not-ready taint.
	cfg.DisableAdmissionPlugins = []string{"TaintNodesByCondition"}
	if cfg.ServiceClusterIPRange == "" {
		cfg.ServiceClusterIPRange = "10.96.0.0/16"
	}
	if cfg.EventTTL == 0 {
		cfg.EventTTL = time.Hour
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	running, err := apiserver.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start apiserver: %v", err)
	}
	s := &Server{EtcdEndpoints: endpoints, Running: running, cancel: cancel}
	t.Cleanup(s.Stop)
	select {
	case <-running.Ready():
	case <-time.After(30 * time.Second):
		t.Fatalf("apiserver not ready after 30s")
	}
	s.PKI = bundle
	s.Config = bundle.RESTConfig("https://" + running.Addr)
	s.Config.QPS = -1 // no client-side throttling in tests
	s.Config.Timeout = 60 * time.Second
	s.Client, err = kubernetes.NewForConfig(s.Config)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return s
}

// UserConfig reaches the server as user in groups, with a client
// certificate from the cluster CA.
func (s *Server) UserConfig(t testing.TB, user string, groups ...string) *rest.Config {
	t.Helper()
	c, err := s.PKI.UserRESTConfig("https://"+s.Running.Addr, user, groups...)
	if err != nil {
		t.Fatalf("client config for %s: %v", user, err)
	}
	c.QPS = -1
	c.Timeout = 60 * time.Second
	return c
}

// AnonymousConfig reaches the server without credentials.
func (s *Server) AnonymousConfig() *rest.Config {
	return &rest.Config{Host: "https://" + s.Running.Addr, TLSClientConfig: rest.TLSClientConfig{CAData: s.PKI.CAData}, QPS: -1, Timeout: 60 * time.Second}
}

// ProtobufConfig is Config asking for protobuf, as client-go components do.
func (s *Server) ProtobufConfig() *rest.Config {
	c := rest.CopyConfig(s.Config)
	c.ContentType = "application/vnd.kubernetes.protobuf"
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return c
}

// Stop shuts the apiserver down and waits for it (etcd keeps running).
func (s *Server) Stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	s.cancel()
	_ = s.Running.Wait()
}

// Restart stops this apiserver and starts another on the same etcd.
func (s *Server) Restart(t testing.TB, opts Options) *Server {
	t.Helper()
	s.Stop()
	opts.EtcdEndpoints = s.EtcdEndpoints
	return Start(t, opts)
}
