//go:build e2e

package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Settings of the tests' cluster (hack/local-cluster.sh variables).
const (
	Name          = "kscl"          // CLUSTER_NAME: netns kscl-node-<i>, bridge kscl-nodes
	NetPrefix     = "10.87.0"       // node i is 10.87.0.(10+i), the apiserver 10.87.0.1
	ClusterCIDR   = "10.246.0.0/16" // pod CIDRs
	apiPort       = "17443"
	etcdPort      = "17379"
	etcdPeerPort  = "17380"
	cmPort        = "17257"
	schedulerPort = "17259"
)

// Cluster is a running N-node cluster.
type Cluster struct {
	Root   string // repository root
	Dir    string // LOCAL_DIR: PKI, logs, pids, node files
	Nodes  int
	Client kubernetes.Interface
}

// Main starts an N-node cluster, stores it in *c, runs the tests and tears
// the cluster down; it returns the exit code for os.Exit. Without root (or
// tools) the tests are skipped, unless KSTACK_REQUIRE_E2E is set.
func Main(m *testing.M, nodes int, c **Cluster) int {
	if reason := missing(); reason != "" {
		if os.Getenv("KSTACK_REQUIRE_E2E") != "" {
			fmt.Fprintf(os.Stderr, "cluster e2e: %s\n", reason)
			return 1
		}
		fmt.Printf("cluster e2e: skipped: %s\n", reason)
		return 0
	}
	cl, err := Start(nodes)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster e2e: %v\n", err)
		return 1
	}
	*c = cl
	code := m.Run()
	if os.Getenv("KSTACK_E2E_KEEP_CLUSTER") != "" {
		fmt.Printf("cluster e2e: cluster kept (KSTACK_E2E_KEEP_CLUSTER); remove it with: %s\n", cl.downCommand())
		return code
	}
	if err := cl.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "cluster e2e: tear down: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// missing says why this machine cannot run the cluster, or "".
func missing() string {
	if os.Geteuid() != 0 {
		return "needs root"
	}
	for _, tool := range []string{"containerd", "runc", "ctr", "iptables-restore", "iptables-save", "nsenter", "ip", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not found (hack/install-deps.sh)"
		}
	}
	return ""
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/kstack/kstack\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the kstack go.mod above the working directory")
		}
		dir = parent
	}
}

// Start brings up an N-node cluster with hack/local-cluster.sh, after
// removing whatever a crashed earlier run left behind. On failure it tears
// down what it started and returns the script's output.
func Start(nodes int) (*Cluster, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Root: root, Dir: filepath.Join(root, "_output", "e2e-cluster"), Nodes: nodes}
	if _, err := os.Stat(c.bin("kubelet")); err != nil {
		return nil, fmt.Errorf("%s missing: run make build", c.bin("kubelet"))
	}
	_, _ = c.script("down")
	if out, err := c.script("up"); err != nil {
		_, _ = c.script("down")
		return nil, fmt.Errorf("hack/local-cluster.sh up: %w\n%s", err, out)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(c.Dir, "admin.conf"))
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	if c.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// Stop removes the cluster: nodes (namespaces, containers, mounts), bridge,
// control plane.
func (c *Cluster) Stop() error {
	if out, err := c.script("down"); err != nil {
		return fmt.Errorf("hack/local-cluster.sh down: %w\n%s", err, out)
	}
	return nil
}

// bin is a daemon binary: KSTACK_E2E_BIN (a directory) or _output/bin.
func (c *Cluster) bin(name string) string {
	dir := os.Getenv("KSTACK_E2E_BIN")
	if dir == "" {
		dir = filepath.Join(c.Root, "_output", "bin")
	}
	return filepath.Join(dir, name)
}

func (c *Cluster) env() []string {
	return append(os.Environ(),
		"BIN="+filepath.Dir(c.bin("kubelet")), "LOCAL_DIR="+c.Dir, fmt.Sprintf("NODES=%d", c.Nodes),
		"CLUSTER_NAME="+Name, "NODE_NET_PREFIX="+NetPrefix, "CLUSTER_CIDR="+ClusterCIDR,
		"API_PORT="+apiPort, "ETCD_CLIENT_PORT="+etcdPort, "ETCD_PEER_PORT="+etcdPeerPort,
		"CM_PORT="+cmPort, "SCHEDULER_PORT="+schedulerPort)
}

func (c *Cluster) downCommand() string {
	return fmt.Sprintf("CLUSTER_NAME=%s NODE_NET_PREFIX=%s LOCAL_DIR=%s API_PORT=%s ETCD_CLIENT_PORT=%s hack/local-cluster.sh down",
		Name, NetPrefix, c.Dir, apiPort, etcdPort)
}

// script runs hack/local-cluster.sh with the cluster's settings.
func (c *Cluster) script(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.Root, "hack", "local-cluster.sh"), args...)
	cmd.Env = c.env()
	cmd.Dir = c.Root
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// NodeName is node i's name (1-based).
func (c *Cluster) NodeName(i int) string { return fmt.Sprintf("node-%d", i) }

// NodeIP is node i's InternalIP.
func (c *Cluster) NodeIP(i int) string { return fmt.Sprintf("%s.%d", NetPrefix, 10+i) }

// NodeNetns is the path of node i's network namespace.
func (c *Cluster) NodeNetns(i int) string { return fmt.Sprintf("/run/netns/%s-node-%d", Name, i) }

// NodeIndex is the number of the node called name, or 0.
func (c *Cluster) NodeIndex(name string) int {
	var i int
	if _, err := fmt.Sscanf(name, "node-%d", &i); err != nil {
		return 0
	}
	return i
}

// StopDaemon stops node i's kubelet, kube-proxy or containerd.
func (c *Cluster) StopDaemon(i int, daemon string) error {
	if out, err := c.script("stop", fmt.Sprint(i), daemon); err != nil {
		return fmt.Errorf("stop %s on node-%d: %w\n%s", daemon, i, err, out)
	}
	return nil
}

// StartDaemon starts node i's kubelet, kube-proxy or containerd again.
func (c *Cluster) StartDaemon(i int, daemon string) error {
	if out, err := c.script("start", fmt.Sprint(i), daemon); err != nil {
		return fmt.Errorf("start %s on node-%d: %w\n%s", daemon, i, err, out)
	}
	return nil
}

// CutNode takes node i's link to the others down (a network partition);
// HealNode brings it back.
func (c *Cluster) CutNode(i int) error {
	_, err := c.script("cut", fmt.Sprint(i))
	return err
}

// HealNode brings node i's link back up.
func (c *Cluster) HealNode(i int) error {
	_, err := c.script("heal", fmt.Sprint(i))
	return err
}

// LogTail is the end of a daemon's log, e.g. LogTail("node-1-kube-proxy", 30).
func (c *Cluster) LogTail(name string, lines int) string {
	data, err := os.ReadFile(filepath.Join(c.Dir, "logs", name+".log"))
	if err != nil {
		return err.Error()
	}
	l := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// InNode runs a command in node i's network namespace (nsenter --net) and
// returns its combined output.
func (c *Cluster) InNode(i int, name string, args ...string) (string, error) {
	return InNetns(c.NodeNetns(i), name, args...)
}

// InNetns runs a command in the network namespace at path.
func InNetns(path, name string, args ...string) (string, error) {
	out, err := exec.Command("nsenter", append([]string{"--net=" + path, "--", name}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("nsenter --net=%s %s %s: %w: %s", path, name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// PodNetns finds the network namespace of a running pod: the one under its
// node's kubelet --netns-dir that holds the pod's IP.
func (c *Cluster) PodNetns(pod *v1.Pod) (string, error) {
	i := c.NodeIndex(pod.Spec.NodeName)
	if i == 0 || pod.Status.PodIP == "" {
		return "", fmt.Errorf("pod %s has no node or IP yet", pod.Name)
	}
	dir := fmt.Sprintf("/run/%s/node-%d/netns", Name, i)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		var found bool
		err := WithNetns(path, func() error {
			addrs, err := net.InterfaceAddrs()
			if err != nil {
				return err
			}
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok && ipn.IP.String() == pod.Status.PodIP {
					found = true
				}
			}
			return nil
		})
		if err == nil && found {
			return path, nil
		}
	}
	return "", fmt.Errorf("no network namespace in %s holds pod %s's IP %s", dir, pod.Name, pod.Status.PodIP)
}

// WithNetns runs f on a locked OS thread switched into the network
// namespace at path; the sockets f creates belong to that namespace. If
// switching back fails the thread stays locked, so the runtime discards it
// with the goroutine (f runs on a goroutine of its own for that reason).
func WithNetns(path string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns back: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// HTTPClient is an HTTP client whose connections start in the network
// namespace at path (a pod's or a node's; "" the host's), one new connection per request so
// that each is a new conntrack flow and a new load-balancing decision.
func HTTPClient(path string) *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return DialIn(ctx, path, network, addr)
			},
		},
	}
}

// DialIn dials addr from the network namespace at path ("": the test's own,
// the host's).
func DialIn(ctx context.Context, path, network, addr string) (net.Conn, error) {
	if path == "" {
		d := net.Dialer{Timeout: 3 * time.Second}
		return d.DialContext(ctx, network, addr)
	}
	var c net.Conn
	err := WithNetns(path, func() (err error) {
		d := net.Dialer{Timeout: 3 * time.Second}
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// ListenIn listens on addr in the network namespace at path.
func ListenIn(path, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := WithNetns(path, func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// Get returns the body of a GET that must answer 200.
func Get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b), err
}
