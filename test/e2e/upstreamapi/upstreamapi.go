// Package upstreamapi starts the reference server for kstack's compatibility
// tests: upstream kube-apiserver v1.37 (_output/tools/kube-apiserver, built by
// hack/build-upstream-control-plane.sh) on a real etcd, with a throwaway PKI from
// pkg/auth/pki, RBAC and Node authorization, as kubeadm runs it. Tests then point
// kstack's own daemons or kubectl at it:
//
//	s := upstreamapi.Start(t)               // skips when the binary is missing
//	kc := s.Kubeconfig(t, "scheduler", "system:kube-scheduler")
//	run("_output/bin/scheduler", "--kubeconfig="+kc)
//	run("_output/bin/kubectl", "--kubeconfig="+s.AdminKubeconfig, "get", "pods")
//
// Start skips the test when the binary is missing, unless KSTACK_REQUIRE_UPSTREAM is
// set; KSTACK_KUBE_APISERVER_BIN overrides the binary's path. etcd is the etcd binary
// ($KSTACK_ETCD or etcd on PATH, >= 3.5.13: upstream's consistent reads from the watch
// cache need its progress notifications), or an embedded one when there is none.
// KSTACK_UPSTREAM_ARTIFACTS names a directory to keep the server's and audit logs in.
package upstreamapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kstack/kstack/internal/testetcd"
	"github.com/kstack/kstack/pkg/auth/pki"
	"github.com/kstack/kstack/test/e2e/e2eutil"
)

const (
	// RequireEnv makes a missing binary a failure instead of a skip.
	RequireEnv = "KSTACK_REQUIRE_UPSTREAM"
	// BinaryEnv overrides the kube-apiserver binary's path.
	BinaryEnv = "KSTACK_KUBE_APISERVER_BIN"
	// ArtifactsEnv names a directory the server's log is copied to at the end.
	ArtifactsEnv = "KSTACK_UPSTREAM_ARTIFACTS"

	// ServiceCIDR is the server's --service-cluster-ip-range; the serving
	// certificate carries its first address, 10.96.0.1.
	ServiceCIDR = "10.96.0.0/16"
	// ServiceAccountIssuer is --service-account-issuer (and so the tokens'
	// audience).
	ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
	// AdvertiseAddress is --advertise-address: the address the server writes into
	// the default/kubernetes Service's endpoints. Nothing listens on it (an
	// RFC 5737 documentation address); a loopback address would fail the
	// endpoints' validation.
	AdvertiseAddress = "192.0.2.10"

	// readyTimeout bounds the start, up to a 200 from /readyz (bootstrap RBAC
	// and priority-and-fairness included).
	readyTimeout = 120 * time.Second
	// stopTimeout is how long Stop waits after SIGTERM before it kills.
	stopTimeout = 20 * time.Second
)

// Server is a running upstream kube-apiserver and the files to reach it.
type Server struct {
	// URL is https://127.0.0.1:<port>.
	URL string
	// CAFile and CAData are the cluster CA (it signs the serving certificate
	// and every client certificate the server accepts).
	CAFile string
	CAData []byte
	// AdminKubeconfig is a kubeconfig for URL as kubernetes-admin
	// (system:masters).
	AdminKubeconfig string
	// Dir holds the PKI, kubeconfigs and the log; it is the test's temp dir.
	Dir string
	// LogPath is the server's stdout and stderr.
	LogPath string
	// AuditLogPath is the server's audit log (JSON lines, level Metadata).
	AuditLogPath string
	// EtcdEndpoints is the etcd the server stores in.
	EtcdEndpoints []string
	// PKI issues more identities (see Kubeconfig and RESTConfig).
	PKI *pki.Bundle
	// Args are the flags the server was started with.
	Args []string

	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
}

// Binary returns the kube-apiserver binary: $KSTACK_KUBE_APISERVER_BIN or
// _output/tools/kube-apiserver. When it is missing the test skips, or fails when
// KSTACK_REQUIRE_UPSTREAM is set.
func Binary(t testing.TB) string {
	t.Helper()
	bin := e2eutil.EnvOr(BinaryEnv, filepath.Join(e2eutil.RepoRoot(t), "_output", "tools", "kube-apiserver"))
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s is set but %s is missing (build it with hack/build-upstream-control-plane.sh): %v", RequireEnv, bin, err)
		}
		t.Skipf("skipping: upstream kube-apiserver %s is missing (build it with hack/build-upstream-control-plane.sh; set %s=1 to make this a failure)", bin, RequireEnv)
	}
	return bin
}

// Option adjusts Start.
type Option func(*options)

type options struct {
	extraArgs []string
}

// WithArgs appends flags to the server's command line; a flag given again
// overrides the default (the last value wins), e.g.
// WithArgs("--feature-gates=SomeFeature=true", "--v=4").
func WithArgs(args ...string) Option {
	return func(o *options) { o.extraArgs = append(o.extraArgs, args...) }
}

// Start runs upstream kube-apiserver on a fresh etcd with a fresh PKI, waits for
// /readyz and returns it. The server and etcd are stopped when the test ends (Stop
// stops the server earlier); when the test failed the server's log tail is printed.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bin := Binary(t)
	dir := t.TempDir()
	port := e2eutil.FreePort(t)
	s := &Server{
		URL:     "https://127.0.0.1:" + strconv.Itoa(port),
		Dir:     dir,
		LogPath: filepath.Join(dir, "kube-apiserver.log"),
		// The audit log records every request's user and outcome: a test
		// finds the requests the server refused (Denials) even when the
		// client never logged them.
		AuditLogPath: filepath.Join(dir, "audit.log"),
		exited:       make(chan struct{}),
	}
	bundle, err := pki.NewTestCluster(filepath.Join(dir, "pki"), pki.TestOptions{
		Server: s.URL,
		IPs:    []net.IP{net.ParseIP(AdvertiseAddress)},
	})
	if err != nil {
		t.Fatalf("upstreamapi: test PKI: %v", err)
	}
	s.PKI, s.CAFile, s.CAData, s.AdminKubeconfig = bundle, bundle.CACertFile, bundle.CAData, bundle.AdminKubeconfig
	s.EtcdEndpoints = startEtcd(t)

	s.Args = []string{
		"--etcd-servers=" + strings.Join(s.EtcdEndpoints, ","),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--advertise-address=" + AdvertiseAddress,
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--tls-cert-file=" + bundle.ServingCertFile,
		"--tls-private-key-file=" + bundle.ServingKeyFile,
		"--client-ca-file=" + bundle.CACertFile,
		"--service-account-issuer=" + ServiceAccountIssuer,
		"--service-account-key-file=" + bundle.SAPublicKeyFile,
		"--service-account-signing-key-file=" + bundle.SAKeyFile,
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--profiling=false",
		"--audit-policy-file=" + writeAuditPolicy(t, dir),
		"--audit-log-path=" + s.AuditLogPath,
		"--audit-log-mode=blocking",
		"--v=1",
	}
	s.Args = append(s.Args, o.extraArgs...)
	s.start(t, bin)
	if err := s.waitReady(t.Context()); err != nil {
		t.Fatalf("upstreamapi: %v; log (last 60 lines of %s):\n%s", err, s.LogPath, e2eutil.Tail(s.LogPath, 60))
	}
	return s
}

// startEtcd starts the etcd binary when there is one, else an embedded etcd; either
// is stopped by t.Cleanup after the server (cleanups run last-in first-out).
func startEtcd(t testing.TB) []string {
	t.Helper()
	if os.Getenv("KSTACK_ETCD") == "" {
		if _, err := exec.LookPath("etcd"); err != nil {
			endpoints, _ := testetcd.StartEmbedded(t)
			return endpoints
		}
	}
	endpoints, _ := testetcd.Start(t)
	return endpoints
}

// start runs the binary, output to LogPath, and registers the cleanup.
func (s *Server) start(t testing.TB, bin string) {
	t.Helper()
	logFile, err := os.Create(s.LogPath)
	if err != nil {
		t.Fatalf("upstreamapi: create log: %v", err)
	}
	s.cmd = exec.Command(bin, s.Args...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// A test binary killed by its timeout must not leave the server behind.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("upstreamapi: start %s: %v", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("upstreamapi: %v", err)
		}
		s.saveArtifact(t)
		if t.Failed() {
			t.Logf("kube-apiserver log (last 40 lines of %s):\n%s", s.LogPath, e2eutil.Tail(s.LogPath, 40))
		}
	})
}

// waitReady polls /readyz as the admin until it answers 200.
func (s *Server) waitReady(ctx context.Context) error {
	cert, err := tls.LoadX509KeyPair(s.PKI.AdminCertFile, s.PKI.AdminKeyFile)
	if err != nil {
		return fmt.Errorf("load admin certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CAData)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}},
	}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(readyTimeout)
	var last error
	for {
		if err := s.Err(); err != nil {
			return fmt.Errorf("kube-apiserver exited before it was ready: %w", err)
		}
		resp, err := client.Get(s.URL + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/readyz: %s: %s", resp.Status, bytes.TrimSpace(body))
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver not ready after %v: %v", readyTimeout, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for /readyz: %w (last: %v)", ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Err is nil while the server runs and describes its exit after.
func (s *Server) Err() error {
	select {
	case <-s.exited:
		if s.waitErr == nil {
			return fmt.Errorf("kube-apiserver exited with status 0")
		}
		return fmt.Errorf("kube-apiserver exited: %w", s.waitErr)
	default:
		return nil
	}
}

// Stop sends SIGTERM and waits for the exit, killing the server when it takes
// longer than 20 s (then it returns an error). Stopping twice is a no-op.
func (s *Server) Stop() error {
	var err error
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.exited
			err = fmt.Errorf("kube-apiserver did not exit %v after SIGTERM; killed it", stopTimeout)
		}
	})
	return err
}

// Kubeconfig issues a client certificate for user in groups and writes a
// kubeconfig for it, <Dir>/<name>.kubeconfig, whose path it returns. For the
// components: "system:kube-scheduler", "system:kube-controller-manager" (no
// group), or "system:node:<node>" in "system:nodes".
func (s *Server) Kubeconfig(t testing.TB, name, user string, groups ...string) string {
	t.Helper()
	certPEM, keyPEM, err := s.PKI.IssueClientPEM(pki.CertSpec{
		CommonName:   user,
		Organization: groups,
		Usages:       []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		t.Fatalf("upstreamapi: client certificate for %s: %v", user, err)
	}
	path := filepath.Join(s.Dir, name+".kubeconfig")
	if _, _, err := pki.WriteKubeconfig(path, pki.KubeconfigSpec{
		ClusterName: pki.DefaultClusterName, Server: s.URL, CAData: s.CAData,
		UserName: user, CertData: certPEM, KeyData: keyPEM,
	}); err != nil {
		t.Fatalf("upstreamapi: write %s: %v", path, err)
	}
	return path
}

// AdminConfig is a client config for the server as kubernetes-admin.
func (s *Server) AdminConfig() *rest.Config {
	return s.PKI.RESTConfig(s.URL)
}

// AdminClient is a clientset for the server as kubernetes-admin.
func (s *Server) AdminClient(t testing.TB) kubernetes.Interface {
	t.Helper()
	cfg := s.AdminConfig()
	cfg.UserAgent = "kstack-upstreamapi-test"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("upstreamapi: admin clientset: %v", err)
	}
	return cs
}

// saveArtifact copies the server and audit logs into
// $KSTACK_UPSTREAM_ARTIFACTS, when set.
func (s *Server) saveArtifact(t testing.TB) {
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		return
	}
	for _, path := range []string{s.LogPath, s.AuditLogPath} {
		data, err := os.ReadFile(path)
		if err == nil {
			err = os.MkdirAll(dir, 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "upstream-"+filepath.Base(path)), data, 0o644)
		}
		if err != nil {
			t.Logf("upstreamapi: save %s to %s: %v", path, dir, err)
		}
	}
}
