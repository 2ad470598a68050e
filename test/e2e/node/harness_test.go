//go:build e2e

package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/kstack/kstack/pkg/apiserver"
	"github.com/kstack/kstack/pkg/auth/pki"
	"github.com/kstack/kstack/pkg/kubelet"
	"github.com/kstack/kstack/pkg/kubelet/runtime"
	"github.com/kstack/kstack/test/e2e/containerdtest"
	"github.com/kstack/kstack/test/e2e/e2eutil"
	"github.com/kstack/kstack/test/integration/framework"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Images from hack/images.sh.
const (
	busyboxImage    = "kstack.local/busybox:1.0"
	testServerImage = "kstack.local/testserver:1.0"
)

// testNamespace is where the tests' pods live.
const testNamespace = "default"

// node is one test's cluster: apiserver, containerd, kubelet.
type node struct {
	t         *testing.T
	dir       string
	api       *framework.Server
	admin     kubernetes.Interface
	ctrd      *client.Client // inspection of the node's containerd namespace
	rt        *runtime.Runtime
	namespace string // containerd namespace
	cfg       kubelet.Config

	stopKubelet func()
	// containerd is the node's private containerd process, which a test
	// may kill and start again (its stop and start).
	containerd *containerdtest.Process
}

func requireE2E(t *testing.T) string {
	t.Helper()
	return containerdtest.Require(t, filepath.Join(repoRoot(t), "_output", "images"), "pause.tar", "busybox.tar", "testserver.tar")
}

func repoRoot(t *testing.T) string { return e2eutil.RepoRoot(t) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startNode starts containerd, the apiserver and the kubelet for one test;
// everything is torn down (and checked for leftovers) in t.Cleanup.
func startNode(t *testing.T) *node {
	t.Helper()
	return startNodeWith(t, nil)
}

// startNodeWith is startNode with configure applied to the kubelet's
// Config before the kubelet starts (the flags of a test's kubelet).
func startNodeWith(t *testing.T, configure func(*kubelet.Config)) *node {
	t.Helper()
	images := requireE2E(t)
	// A short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "kse2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("node files kept in %s", dir)
		}
	})
	id := randHex(3)
	n := &node{t: t, dir: dir, namespace: "kse2e-" + id}
	n.containerd = containerdtest.Start(t, dir)
	sock := n.containerd.Sock

	ctx := context.Background()
	n.ctrd, err = client.New(sock, client.WithDefaultNamespace(n.namespace))
	if err != nil {
		t.Fatalf("containerd client: %v", err)
	}
	t.Cleanup(func() { n.ctrd.Close() })
	n.rt, err = runtime.New(ctx, sock, n.namespace, filepath.Join(dir, "inspect-fifo"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.rt.Close() })
	for _, f := range []string{"pause.tar", "busybox.tar", "testserver.tar"} {
		if _, err := n.rt.ImportArchive(ctx, filepath.Join(images, f)); err != nil {
			t.Fatalf("import %s: %v", f, err)
		}
	}

	// The apiserver's kubelet-client identity (pods/log, exec,
	// port-forward) comes from its own CA, which the kubelet trusts.
	kubeletClientPKI, err := pki.NewTestCluster(filepath.Join(dir, "kubelet-client-pki"), pki.TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.api = framework.Start(t, framework.Options{EmbeddedEtcd: true, Configure: func(c *apiserver.Config) {
		c.KubeletClientCertificate, c.KubeletClientKey = kubeletClientPKI.AdminCertFile, kubeletClientPKI.AdminKeyFile
	}})
	n.admin = n.api.Client
	_, err = n.admin.CoreV1().ServiceAccounts(testNamespace).Create(ctx, &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("default service account: %v", err)
	}

	name := "e2e-node-" + id
	n.cfg = kubelet.Config{
		RESTConfig:                n.api.UserConfig(t, "system:node:"+name, "system:nodes"),
		NodeName:                  name,
		NodeIP:                    "127.0.0.1",
		PodCIDR:                   fmt.Sprintf("10.251.%d.0/24", 1+int(id[0])%250),
		ContainerRuntimeEndpoint:  sock,
		ContainerdNamespace:       n.namespace,
		RootDir:                   filepath.Join(dir, "kubelet"),
		StateDir:                  filepath.Join(dir, "state"),
		PodLogsDir:                filepath.Join(dir, "logs"),
		CNIBinDirs:                []string{"/usr/lib/cni", "/opt/cni/bin"},
		CNIConfDir:                filepath.Join(dir, "cni-conf"),
		CNIBridge:                 "kse2e" + id,
		NetNSDir:                  filepath.Join(dir, "netns"),
		SyncFrequency:             2 * time.Second,
		NodeStatusUpdateFrequency: 2 * time.Second,
		// The kubelet's API, authorized through the apiserver.
		Port:              freePort(t),
		BindAddress:       "127.0.0.1",
		ClientCAFile:      kubeletClientPKI.CACertFile,
		AnonymousAuth:     new(bool),
		AuthorizationMode: "Webhook",
	}
	if configure != nil {
		configure(&n.cfg)
	}
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", n.cfg.CNIBridge).Run()
		// runc leaves the namespace's cgroup parents and state dir.
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + n.namespace)
		for _, d := range dirs {
			_ = os.Remove(d)
		}
		_ = os.Remove(filepath.Join("/run/containerd/runc", n.namespace))
	})
	t.Cleanup(n.forceClean)
	t.Cleanup(func() {
		if n.stopKubelet != nil {
			n.stopKubelet()
		}
	})
	n.startKubelet()
	t.Cleanup(n.deleteAllPodsAndCheckClean)
	return n
}

// startKubelet runs the kubelet in-process until stopKubelet.
func (n *node) startKubelet() {
	t := n.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	k, err := kubelet.New(ctx, n.cfg)
	if err != nil {
		cancel()
		t.Fatalf("kubelet: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	select {
	case <-k.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("kubelet exited: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("kubelet not ready after 30s")
	}
	stopped := false
	n.stopKubelet = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("kubelet: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("kubelet did not stop 30s after cancel")
		}
	}
}

// forceClean removes whatever a failed test left in the node's containerd
// namespace and netns dir, so one failure does not leak into the machine.
func (n *node) forceClean() {
	ctx := context.Background()
	cs, _ := n.rt.List(ctx, "")
	for _, c := range cs {
		if err := n.rt.Remove(ctx, c.ID); err != nil {
			n.t.Logf("force-remove container %s: %v", c.ID, err)
		}
	}
	entries, _ := os.ReadDir(n.cfg.NetNSDir)
	for _, e := range entries {
		p := filepath.Join(n.cfg.NetNSDir, e.Name())
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
		_ = os.Remove(p)
	}
}

// deleteAllPodsAndCheckClean deletes the test's pods, waits for the kubelet
// to remove them, then checks nothing of them is left on the node.
func (n *node) deleteAllPodsAndCheckClean() {
	t := n.t
	ctx := context.Background()
	pods, err := n.admin.CoreV1().Pods(testNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Errorf("list pods: %v", err)
		return
	}
	for _, p := range pods.Items {
		_ = n.admin.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptrInt64(1)})
	}
	n.eventually(60*time.Second, "all pods gone", func() (bool, string) {
		pods, err := n.admin.CoreV1().Pods(testNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(pods.Items) == 0, fmt.Sprintf("%d pods left", len(pods.Items))
	})
	n.assertNothingLeft()
}

// assertNothingLeft checks the node has no containers, tasks, snapshots,
// network namespaces, CNI IP allocations or shims left.
func (n *node) assertNothingLeft() {
	t := n.t
	ctx := context.Background()
	n.eventually(30*time.Second, "no containers left", func() (bool, string) {
		cs, err := n.ctrd.Containers(ctx)
		if err != nil {
			return false, err.Error()
		}
		return len(cs) == 0, fmt.Sprintf("%d containers left", len(cs))
	})
	var snaps []string
	_ = n.ctrd.SnapshotService("overlayfs").Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		if info.Kind == snapshots.KindActive {
			snaps = append(snaps, info.Name)
		}
		return nil
	})
	if len(snaps) > 0 {
		t.Errorf("active snapshots left: %v", snaps)
	}
	if entries, _ := os.ReadDir(n.cfg.NetNSDir); len(entries) > 0 {
		t.Errorf("network namespaces left in %s: %d", n.cfg.NetNSDir, len(entries))
	}
	ipam := filepath.Join(n.cfg.RootDir, "cni-ipam", "kstack")
	entries, _ := os.ReadDir(ipam)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "last_reserved_ip") && e.Name() != "lock" {
			t.Errorf("CNI IP allocation left: %s", filepath.Join(ipam, e.Name()))
		}
	}
	n.eventually(15*time.Second, "no shims left", func() (bool, string) {
		shims := processesWith("-namespace " + n.namespace + " ")
		return len(shims) == 0, fmt.Sprintf("shims: %v", shims)
	})
}

// processesWith lists the pids whose command line contains s.
func processesWith(s string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), s) {
			out = append(out, filepath.Base(filepath.Dir(p)))
		}
	}
	return out
}

// eventually polls cond until it holds or timeout passes (then fails with
// cond's last message).
func (n *node) eventually(timeout time.Duration, what string, cond func() (bool, string)) {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s: not after %v: %s", what, timeout, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// createPod creates pod bound to the node.
func (n *node) createPod(pod *v1.Pod) *v1.Pod {
	n.t.Helper()
	pod.Namespace = testNamespace
	pod.Spec.NodeName = n.cfg.NodeName
	if pod.Spec.TerminationGracePeriodSeconds == nil {
		pod.Spec.TerminationGracePeriodSeconds = ptrInt64(2)
	}
	f := false
	pod.Spec.AutomountServiceAccountToken = &f
	created, err := n.admin.CoreV1().Pods(testNamespace).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		n.t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	return created
}

// waitPod waits until cond holds for the pod and returns it.
func (n *node) waitPod(name string, timeout time.Duration, what string, cond func(*v1.Pod) bool) *v1.Pod {
	n.t.Helper()
	var last *v1.Pod
	deadline := time.Now().Add(timeout)
	for {
		p, err := n.admin.CoreV1().Pods(testNamespace).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("pod %s: %s: not after %v; status: %s", name, what, timeout, describe(last))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func describe(p *v1.Pod) string {
	if p == nil {
		return "<none>"
	}
	s := fmt.Sprintf("phase=%s ip=%s", p.Status.Phase, p.Status.PodIP)
	for _, c := range append(append([]v1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		s += fmt.Sprintf(" [%s restarts=%d ready=%v state=%s last=%s]", c.Name, c.RestartCount, c.Ready, stateString(c.State), stateString(c.LastTerminationState))
	}
	return s
}

func stateString(s v1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running"
	case s.Waiting != nil:
		return "waiting:" + s.Waiting.Reason + ":" + s.Waiting.Message
	case s.Terminated != nil:
		return fmt.Sprintf("terminated:%s:%d", s.Terminated.Reason, s.Terminated.ExitCode)
	}
	return "-"
}

func ptrInt64(v int64) *int64 { return &v }

func containerStatus(p *v1.Pod, name string) *v1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	for i := range p.Status.InitContainerStatuses {
		if p.Status.InitContainerStatuses[i].Name == name {
			return &p.Status.InitContainerStatuses[i]
		}
	}
	return nil
}

func podReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// freePort is a TCP port free on 127.0.0.1 right now.
func freePort(t *testing.T) int { return framework.FreePort(t) }
