package upstream

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
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
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	// readyTimeout bounds the apiserver's start, up to a successful /readyz.
	readyTimeout = 90 * time.Second
	// serviceCIDR is the --service-cluster-ip-range of the apiserver and the
	// controller-manager.
	serviceCIDR = "10.96.0.0/16"
	// clusterCIDR is the controller-manager's --cluster-cidr (node IPAM).
	clusterCIDR = "10.244.0.0/16"
	// requireEnv makes missing binaries a failure instead of a skip.
	requireEnv = "KSTACK_REQUIRE_UPSTREAM"
)

// binaries are the programs the test runs.
type binaries struct {
	apiserver, scheduler, controllerManager string
}

// cluster is a running apiserver, the PKI it was started with, and the files an
// upstream component needs to talk to it.
type cluster struct {
	dir    string // temp dir: certs, data, kubeconfigs, logs
	server string // https://127.0.0.1:<port>
	bins   binaries
	// apiserverFlags are the authentication flags the apiserver binary accepted.
	apiserverFlags []string
	apiserver      *process
}

// requireBinaries returns the paths of the apiserver and the upstream components
// (_output/bin/apiserver and _output/tools/kube-{scheduler,controller-manager}, or
// $KSTACK_APISERVER_BIN, $KSTACK_KUBE_SCHEDULER_BIN and
// $KSTACK_KUBE_CONTROLLER_MANAGER_BIN). When one is missing the test skips, or fails
// if KSTACK_REQUIRE_UPSTREAM is set.
func requireBinaries(t *testing.T) binaries {
	t.Helper()
	root := e2eutil.RepoRoot(t)
	b := binaries{
		apiserver:         e2eutil.EnvOr("KSTACK_APISERVER_BIN", filepath.Join(root, "_output", "bin", "apiserver")),
		scheduler:         e2eutil.EnvOr("KSTACK_KUBE_SCHEDULER_BIN", filepath.Join(root, "_output", "tools", "kube-scheduler")),
		controllerManager: e2eutil.EnvOr("KSTACK_KUBE_CONTROLLER_MANAGER_BIN", filepath.Join(root, "_output", "tools", "kube-controller-manager")),
	}
	for _, p := range []struct{ path, how string }{
		{b.apiserver, "make build"},
		{b.scheduler, "hack/build-upstream-control-plane.sh"},
		{b.controllerManager, "hack/build-upstream-control-plane.sh"},
	} {
		if _, err := os.Stat(p.path); err != nil {
			if os.Getenv(requireEnv) != "" {
				t.Fatalf("%s is set but %s is missing (build it with %s): %v", requireEnv, p.path, p.how, err)
			}
			t.Skipf("skipping the upstream control-plane compatibility test: %s is missing (build it with %s; set %s=1 to make this a failure)", p.path, p.how, requireEnv)
		}
	}
	return b
}

// startCluster writes the PKI, starts the apiserver with an embedded etcd and waits
// for /readyz. The apiserver is stopped in t.Cleanup.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	bins := requireBinaries(t)
	dir := t.TempDir()
	caPEM := writePKI(t, dir)
	port := e2eutil.FreePort(t)
	c := &cluster{dir: dir, server: "https://127.0.0.1:" + strconv.Itoa(port), bins: bins}

	args := []string{
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + c.path("apiserver.crt"),
		"--tls-private-key-file=" + c.path("apiserver.key"),
		"--data-dir=" + c.path("data"),
		"--service-cluster-ip-range=" + serviceCIDR,
	}
	// Authentication as upstream's kube-apiserver is started by kubeadm, for each flag
	// this apiserver build knows: the test then tightens by itself as the security
	// work lands.
	c.apiserverFlags = supportedFlags(t, bins.apiserver, []string{
		"--client-ca-file=" + c.path("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + c.path("sa.pub"),
		"--service-account-signing-key-file=" + c.path("sa.key"),
	})
	args = append(args, c.apiserverFlags...)
	c.apiserver = startProcess(t, "apiserver", bins.apiserver, args, c.path("apiserver.log"))

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
		if err := c.apiserver.exitErr(); err != nil {
			t.Fatalf("apiserver exited before becoming ready (%v); log:\n%s", err, e2eutil.Tail(c.apiserver.logPath, 60))
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

	for _, id := range []string{"admin", "scheduler", "controller-manager"} {
		writeKubeconfig(t, c.kubeconfig(id), c.server, c.path("ca.crt"), c.path(id+".crt"), c.path(id+".key"))
	}
	return c
}

// hasFlag reports whether the apiserver was started with the flag name.
func (c *cluster) hasFlag(name string) bool {
	for _, f := range c.apiserverFlags {
		if strings.HasPrefix(f, name+"=") {
			return true
		}
	}
	return false
}

// path is the file name in the cluster's directory.
func (c *cluster) path(name string) string { return filepath.Join(c.dir, name) }

// kubeconfig is the kubeconfig of identity id (admin, scheduler, controller-manager).
func (c *cluster) kubeconfig(id string) string { return c.path(id + ".kubeconfig") }

// adminClient is a clientset authenticated as the system:masters admin.
func (c *cluster) adminClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig("admin"))
	if err != nil {
		t.Fatalf("load admin kubeconfig: %v", err)
	}
	cfg.UserAgent = "upstream-e2e-test"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("admin clientset: %v", err)
	}
	return cs
}

// supportedFlags returns the flags of want (each --name=value) that bin lists in
// its --help.
func supportedFlags(t *testing.T, bin string, want []string) []string {
	t.Helper()
	out, _ := exec.Command(bin, "--help").CombinedOutput()
	var got []string
	for _, f := range want {
		name, _, _ := strings.Cut(f, "=")
		if bytes.Contains(out, []byte(name+" ")) || bytes.Contains(out, []byte(name+"=")) {
			got = append(got, f)
		}
	}
	return got
}

// process is a child program whose output goes to a log file.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	// healthz is the component's https /healthz URL (empty for the apiserver).
	healthz string
}

// startProcess starts bin with args, output to logPath; it is stopped with SIGTERM
// (then SIGKILL) in t.Cleanup, which also prints its log tail when the test failed.
func startProcess(t *testing.T, name, bin string, args []string, logPath string) *process {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create %s log: %v", name, err)
	}
	p := &process{name: name, logPath: logPath, cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	p.cmd.Stdout = logFile
	p.cmd.Stderr = logFile
	// A test binary killed by its timeout must not leave the process behind.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(t)
		saveArtifact(t, logPath)
		if t.Failed() {
			t.Logf("%s log (last 40 lines of %s):\n%s", name, logPath, e2eutil.Tail(logPath, 40))
		}
	})
	return p
}

// exitErr is nil while the process runs, and describes its exit after.
func (p *process) exitErr() error {
	select {
	case <-p.exited:
		if p.waitErr == nil {
			return fmt.Errorf("%s exited with status 0", p.name)
		}
		return fmt.Errorf("%s exited: %w", p.name, p.waitErr)
	default:
		return nil
	}
}

// stop sends SIGTERM, waits up to 15 s, then kills.
func (p *process) stop(t *testing.T) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Errorf("%s did not exit 15s after SIGTERM; killing it", p.name)
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// writePKI writes into dir the project's test PKI (pki.NewTestCluster: the
// cluster CA ca.crt/ca.key, also the controller-manager's cluster signer; the
// apiserver's serving certificate apiserver.crt/key; admin.crt/key in
// system:masters; the service-account key pair sa.key/sa.pub) plus a client
// certificate per component identity (<id>.crt/key, as kubeadm issues them).
// It returns the CA PEM.
func writePKI(t *testing.T, dir string) []byte {
	t.Helper()
	bundle, err := pki.NewTestCluster(dir, pki.TestOptions{})
	if err != nil {
		t.Fatalf("test PKI: %v", err)
	}
	for id, cn := range map[string]string{
		"scheduler":          "system:kube-scheduler",
		"controller-manager": "system:kube-controller-manager",
	} {
		certPEM, keyPEM, err := bundle.IssueClientPEM(pki.CertSpec{CommonName: cn, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		if err != nil {
			t.Fatalf("client certificate for %s: %v", cn, err)
		}
		for name, data := range map[string][]byte{id + ".crt": certPEM, id + ".key": keyPEM} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatalf("write %s: %v", name, err)
			}
		}
	}
	return bundle.CAData
}

// writeKubeconfig writes a kubeconfig for server that trusts caPath and authenticates
// with the client certificate certPath/keyPath.
func writeKubeconfig(t *testing.T, path, server, caPath, certPath, keyPath string) {
	t.Helper()
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kstack
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: user
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: kstack
  context:
    cluster: kstack
    user: user
current-context: kstack
`, server, caPath, certPath, keyPath)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatalf("write kubeconfig %s: %v", path, err)
	}
}

// saveArtifact copies the file at path into $KSTACK_UPSTREAM_ARTIFACTS, when set, so
// the full logs outlive the test's temp dir.
func saveArtifact(t *testing.T, path string) {
	dir := os.Getenv("KSTACK_UPSTREAM_ARTIFACTS")
	if dir == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, filepath.Base(path)), data, 0o644)
	}
	if err != nil {
		t.Logf("save %s to %s: %v", path, dir, err)
	}
}
