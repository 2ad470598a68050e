//go:build e2e

package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/kubelet"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Node's Ready condition follows the runtime and the pod network, in
// upstream's words: containerd killed -> Ready=False "container runtime is
// down", and back once containerd is, without restarting the pods that ran
// through the outage; a CNI plugin missing from the plugin dir -> Ready=False
// "container runtime network not ready: ...", and back once it is there.
func TestNode_ReadyFollowsRuntimeAndNetwork(t *testing.T) {
	// The kubelet's CNI plugin dir links to the system's plugins, so the
	// test can take one away.
	binDir := t.TempDir()
	for _, dir := range []string{"/usr/lib/cni", "/opt/cni/bin"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			_ = os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(binDir, e.Name()))
		}
	}
	bridge := filepath.Join(binDir, "bridge")
	bridgeTarget, err := os.Readlink(bridge)
	if err != nil {
		t.Fatalf("no bridge CNI plugin: %v", err)
	}
	n := startNodeWith(t, func(c *kubelet.Config) {
		c.CNIBinDirs = []string{binDir}
		c.NodeStatusUpdateFrequency = time.Second
	})
	ctx := context.Background()
	n.waitNodeReady(v1.ConditionTrue, "kubelet is posting ready status")

	n.createPod(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "through-outage"}, Spec: v1.PodSpec{
		Containers: []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sleep", "3600"}}},
	}})
	before := n.waitPod("through-outage", 60*time.Second, "Running", func(p *v1.Pod) bool {
		cs := containerStatus(p, "c")
		return cs != nil && cs.State.Running != nil && podReady(p)
	})
	beforeCS := containerStatus(before, "c")

	// The runtime goes away: SIGKILL, as a crash (the shims, so the
	// containers, keep running).
	n.containerd.Stop(syscall.SIGKILL)
	n.waitNodeReady(v1.ConditionFalse, "container runtime is down")
	// The outage lasts a few pod syncs (they fail against the dead
	// socket), as the node's heartbeats while not ready show.
	n.eventually(60*time.Second, "heartbeats through the outage", func() (bool, string) {
		node, err := n.admin.CoreV1().Nodes().Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range node.Status.Conditions {
			if c.Type == v1.NodeReady {
				down := c.LastHeartbeatTime.Sub(c.LastTransitionTime.Time)
				return c.Status == v1.ConditionFalse && down >= 3*n.cfg.SyncFrequency, fmt.Sprintf("Ready=%s for %v", c.Status, down)
			}
		}
		return false, "no Ready condition"
	})

	n.containerd.Start()
	n.waitNodeReady(v1.ConditionTrue, "kubelet is posting ready status")
	// The kubelet works with the new containerd: a new pod runs ...
	n.createPod(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "after-outage"}, Spec: v1.PodSpec{
		Containers: []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sleep", "3600"}}},
	}})
	n.waitPod("after-outage", 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	// ... and the old one is the same container, not restarted.
	after, err := n.admin.CoreV1().Pods(testNamespace).Get(ctx, "through-outage", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	afterCS := containerStatus(after, "c")
	if afterCS == nil || afterCS.ContainerID != beforeCS.ContainerID || afterCS.RestartCount != beforeCS.RestartCount || afterCS.State.Running == nil {
		t.Errorf("the pod's container changed through the runtime outage: before %+v, after %s", *beforeCS, describe(after))
	}
	id := strings.TrimPrefix(beforeCS.ContainerID, "containerd://")
	c, err := n.ctrd.LoadContainer(ctx, id)
	if err != nil {
		t.Fatalf("container %s after the outage: %v", id, err)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		t.Fatalf("task of %s after the outage: %v", id, err)
	}
	if st, err := task.Status(ctx); err != nil || st.Status != "running" {
		t.Errorf("task of %s after the outage: %v (%v)", id, st.Status, err)
	}

	// The network goes away: the bridge plugin every pod's ADD runs.
	if err := os.Remove(bridge); err != nil {
		t.Fatal(err)
	}
	n.waitNodeReady(v1.ConditionFalse, fmt.Sprintf(
		`container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: failed to find plugin "bridge" in path [%s]`, binDir))
	if err := os.Symlink(bridgeTarget, bridge); err != nil {
		t.Fatal(err)
	}
	n.waitNodeReady(v1.ConditionTrue, "kubelet is posting ready status")
}

// waitNodeReady waits until the Node's Ready condition has status and
// message, with upstream's reason for it.
func (n *node) waitNodeReady(status v1.ConditionStatus, message string) {
	n.t.Helper()
	reason := "KubeletReady"
	if status != v1.ConditionTrue {
		reason = "KubeletNotReady"
	}
	n.eventually(60*time.Second, fmt.Sprintf("node Ready=%s %s %q", status, reason, message), func() (bool, string) {
		node, err := n.admin.CoreV1().Nodes().Get(context.Background(), n.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range node.Status.Conditions {
			if c.Type == v1.NodeReady {
				return c.Status == status && c.Reason == reason && c.Message == message,
					fmt.Sprintf("Ready=%s reason %q message %q", c.Status, c.Reason, c.Message)
			}
		}
		return false, "no Ready condition"
	})
}
