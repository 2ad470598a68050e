package kubectl

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/kstack/kstack/pkg/auth/pki"
	"github.com/kstack/kstack/test/e2e/e2eutil"
	"io"
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
)

const (
	// commandTimeout bounds one kubectl invocation.
	commandTimeout = 60 * time.Second
	// readyTimeout bounds the apiserver's start, up to a successful /readyz.
	readyTimeout = 90 * time.Second
	// serviceCIDR is the --service-cluster-ip-range the apiserver is started with.
	serviceCIDR = "10.96.0.0/16"
)

// cluster is a running apiserver plus everything kubectl needs to talk to it.
type cluster struct {
	dir        string // temp dir: certs, data, kubeconfig, logs
	server     string // https://127.0.0.1:<port>
	kubectlBin string
	kubeconfig string
	logPath    string
}

// requireBinaries returns the paths of the apiserver and the upstream kubectl
// (_output/bin/apiserver and _output/tools/kubectl, or $KSTACK_APISERVER_BIN and
// $KSTACK_KUBECTL_BIN). When one is missing the test skips, or fails if
// KSTACK_REQUIRE_E2E is set.
func requireBinaries(t *testing.T) (apiserver, kubectl string) {
	t.Helper()
	root := e2eutil.RepoRoot(t)
	apiserver = e2eutil.EnvOr("KSTACK_APISERVER_BIN", filepath.Join(root, "_output", "bin", "apiserver"))
	kubectl = e2eutil.EnvOr("KSTACK_KUBECTL_BIN", filepath.Join(root, "_output", "tools", "kubectl"))
	for _, p := range []struct{ path, how string }{
		{apiserver, "make build"},
		{kubectl, "hack/build-upstream-kubectl.sh"},
	} {
		if _, err := os.Stat(p.path); err != nil {
			if os.Getenv("KSTACK_REQUIRE_E2E") != "" {
				t.Fatalf("KSTACK_REQUIRE_E2E is set but %s is missing (build it with %s): %v", p.path, p.how, err)
			}
			t.Skipf("skipping kubectl acceptance test: %s is missing (build it with %s, or run make test)", p.path, p.how)
		}
	}
	return apiserver, kubectl
}

// startCluster starts the apiserver with an embedded etcd and TLS, waits for /readyz and
// writes a kubeconfig for it. The apiserver is stopped (and waited for) in t.Cleanup.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	apiserverBin, kubectlBin := requireBinaries(t)
	dir := t.TempDir()
	// The project's PKI: CA, serving cert, an admin (system:masters) client
	// cert and service-account keys, written into dir.
	bundle, err := pki.NewTestCluster(dir, pki.TestOptions{})
	if err != nil {
		t.Fatalf("test PKI: %v", err)
	}
	caPEM := bundle.CAData
	port := e2eutil.FreePort(t)
	c := &cluster{
		dir:        dir,
		server:     "https://127.0.0.1:" + strconv.Itoa(port),
		kubectlBin: kubectlBin,
		kubeconfig: filepath.Join(dir, "kubeconfig"),
		logPath:    filepath.Join(dir, "apiserver.log"),
	}

	logFile, err := os.Create(c.logPath)
	if err != nil {
		t.Fatalf("create apiserver log: %v", err)
	}
	cmd := exec.Command(apiserverBin,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--tls-cert-file="+bundle.ServingCertFile,
		"--tls-private-key-file="+bundle.ServingKeyFile,
		"--client-ca-file="+filepath.Join(dir, "ca.crt"),
		"--authorization-mode=Node,RBAC",
		"--data-dir="+filepath.Join(dir, "data"),
		"--service-cluster-ip-range="+serviceCIDR,
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// A test binary killed by its timeout must not leave the apiserver behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start apiserver: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				t.Errorf("apiserver did not exit 15s after SIGTERM; killing it")
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		if t.Failed() {
			t.Logf("apiserver log (last 60 lines of %s):\n%s", c.logPath, e2eutil.Tail(c.logPath, 60))
		}
	})

	// Wait for /readyz over HTTPS, trusting only our CA.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for {
		select {
		case <-exited:
			t.Fatalf("apiserver exited before becoming ready (%v); log:\n%s", waitErr, e2eutil.Tail(c.logPath, 60))
		default:
		}
		resp, err := client.Get(c.server + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			err = fmt.Errorf("/readyz: %s: %s", resp.Status, bytes.TrimSpace(body))
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("apiserver not ready after %v: %v", readyTimeout, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}

	writeKubeconfig(t, c.kubeconfig, c.server, dir, testNamespace)
	return c
}

// kubectl runs kubectl with the cluster's kubeconfig and returns its stdout. A non-zero
// exit fails the test with stderr.
func (c *cluster) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := c.run(args, "")
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), err, stderr, stdout)
	}
	return stdout
}

// kubectlStdin is kubectl with stdin (for `-f -`).
func (c *cluster) kubectlStdin(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	stdout, stderr, err := c.run(args, stdin)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), err, stderr, stdout)
	}
	return stdout
}

// kubectlFails runs kubectl, expects a non-zero exit and returns stderr.
func (c *cluster) kubectlFails(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := c.run(args, "")
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("kubectl %s: want a non-zero exit, got err=%v\nstdout:\n%s", strings.Join(args, " "), err, stdout)
	}
	return stderr
}

func (c *cluster) run(args []string, stdin string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := c.command(ctx, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v: %w", commandTimeout, err)
	}
	return out.String(), errb.String(), err
}

// command builds a kubectl command against the cluster, with its own HOME and cache dir
// so no user configuration leaks in.
func (c *cluster) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"--kubeconfig=" + c.kubeconfig, "--cache-dir=" + filepath.Join(c.dir, "kubecache")}, args...)
	cmd := exec.CommandContext(ctx, c.kubectlBin, full...)
	cmd.Env = []string{"HOME=" + c.dir, "PATH=" + os.Getenv("PATH"), "KUBECONFIG=" + c.kubeconfig}
	return cmd
}

// watcher is a background `kubectl get -w`; its stdout lines arrive on lines.
type watcher struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	lines  chan string
	stderr *syncBuffer
	done   chan struct{}
}

// startWatch starts kubectl with args in the background; it is killed in t.Cleanup.
func (c *cluster) startWatch(t *testing.T, args ...string) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{cancel: cancel, lines: make(chan string, 100), stderr: &syncBuffer{}, done: make(chan struct{})}
	w.cmd = c.command(ctx, args...)
	w.cmd.Stderr = w.stderr
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("start kubectl %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
		close(w.lines)
		_ = w.cmd.Wait()
	}()
	t.Cleanup(w.stop)
	return w
}

// waitLine returns the first line for which match is true, or fails after timeout.
func (w *watcher) waitLine(t *testing.T, timeout time.Duration, what string, match func(fields []string) bool) string {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case line, ok := <-w.lines:
			if !ok {
				t.Fatalf("watch ended before %s; output:\n%s\nstderr:\n%s", what, strings.Join(seen, "\n"), w.stderr.String())
			}
			seen = append(seen, line)
			if match(strings.Fields(line)) {
				return line
			}
		case <-timer.C:
			t.Fatalf("no %s within %v; output:\n%s\nstderr:\n%s", what, timeout, strings.Join(seen, "\n"), w.stderr.String())
		}
	}
}

// stop kills the watch and waits for it.
func (w *watcher) stop() {
	w.cancel()
	go func() {
		for range w.lines { // drain so the reader can finish
		}
	}()
	<-w.done
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// writeKubeconfig writes a kubeconfig for server, trusting ca.crt in dir, for the admin
// client certificate, whose context's default namespace is namespace.
func writeKubeconfig(t *testing.T, path, server, dir, namespace string) {
	t.Helper()
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kstack
  cluster:
    server: %s
    certificate-authority: %[2]s/ca.crt
users:
- name: e2e
  user:
    client-certificate: %[2]s/admin.crt
    client-key: %[2]s/admin.key
contexts:
- name: kstack
  context:
    cluster: kstack
    user: e2e
    namespace: %[3]s
current-context: kstack
`, server, dir, namespace)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
}
