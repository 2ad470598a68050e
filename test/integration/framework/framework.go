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
	// Configure may change the config last.
	Configure func(*apiserver.Config)
}

// Server is a running in-process apiserver.
type Server struct {
	// Config reaches the server over HTTPS (JSON).
	Config *rest.Config
	// Client is a typed clientset on Config.
	Client kubernetes.Interface
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
	cfg := apiserver.Config{
		EtcdServers:                 endpoints,
		BindAddress:                 net.ParseIP("127.0.0.1"),
		SecurePort:                  ln.Addr().(*net.TCPAddr).Port,
		CertDir:                     t.TempDir(),
		ServiceClusterIPRange:       opts.ServiceClusterIPRange,
		EtcdCompactionInterval:      opts.CompactionInterval,
		MaxRequestsInflight:         0,
		MaxMutatingRequestsInflight: 0,
		Listener:                    ln,
	}
	if cfg.ServiceClusterIPRange == "" {
		cfg.ServiceClusterIPRange = "10.96.0.0/16"
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
	s.Config = &rest.Config{
		Host:            "https://" + running.Addr,
		TLSClientConfig: rest.TLSClientConfig{CAData: running.CAData},
		QPS:             -1, // no client-side throttling in tests
		Timeout:         60 * time.Second,
	}
	s.Client, err = kubernetes.NewForConfig(s.Config)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return s
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
