//go:build e2e

package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/network"
	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The kubelet stops (the in-process harness cannot SIGKILL it, but a
// stopped kubelet leaves its containers running just the same), the pod is
// deleted with grace 0 meanwhile, and a sandbox is left half made, as by a
// kill between CNI ADD and creating its container. The restarted kubelet
// removes all of it.
func TestKubelet_RestartCollectsWhatGonePodsLeft(t *testing.T) {
	removePortmapChainsAfter(t)
	n := startNode(t)
	ctx := context.Background()
	pod := testServerPod("victim")
	pod.Spec.Volumes = []v1.Volume{{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory}}}}
	pod.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
	n.createPod(pod)
	victim := n.waitPod("victim", 60*time.Second, "running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	n.stopKubelet()
	if err := n.admin.CoreV1().Pods(testNamespace).Delete(ctx, "victim", metav1.DeleteOptions{GracePeriodSeconds: ptrInt64(0)}); err != nil {
		t.Fatal(err)
	}

	// The half-made sandbox: a network namespace, an IP and a hostPort rule.
	netw, err := network.New(network.Config{
		PluginDirs: n.cfg.CNIBinDirs, ConfDir: n.cfg.CNIConfDir,
		CacheDir: filepath.Join(n.cfg.RootDir, "cni-cache"), DataDir: filepath.Join(n.cfg.RootDir, "cni-ipam"),
		Bridge: n.cfg.CNIBridge, NetNSDir: n.cfg.NetNSDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := netw.SetPodCIDR(n.cfg.PodCIDR); err != nil {
		t.Fatal(err)
	}
	ghost := runtime.NewID()
	ns := netw.NetNSPath(ghost)
	if err := network.CreateNetNS(ns); err != nil {
		t.Fatal(err)
	}
	hostPort := freePort(t)
	ip, err := netw.SetUp(ctx, ghost, ns, network.PodRef{Namespace: testNamespace, Name: "ghost", UID: "ghost",
		PortMappings: []network.PortMapping{{HostPort: int32(hostPort), ContainerPort: 80, Protocol: "tcp"}}})
	if err != nil {
		t.Fatal(err)
	}
	ipFile := filepath.Join(n.cfg.RootDir, "cni-ipam", "kstack", ip.String())
	if _, err := os.Stat(ipFile); err != nil {
		t.Fatalf("the ghost's IP allocation: %v", err)
	}
	if len(natRulesFor(t, hostPort)) == 0 {
		t.Fatal("the ghost's hostPort has no rule")
	}
	// The directories of a pod that is known nowhere.
	ghostUID := "6a6e0c2e-0000-4000-8000-00000000beef"
	for _, d := range []string{
		filepath.Join(n.cfg.RootDir, "pods", ghostUID, "volumes"),
		filepath.Join(n.cfg.PodLogsDir, testNamespace+"_ghost_"+ghostUID, "c"),
	} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	n.startKubelet()
	n.assertNothingLeft()
	n.eventually(10*time.Second, "the ghost's hostPort rule removed", func() (bool, string) {
		rules := natRulesFor(t, hostPort)
		return len(rules) == 0, strings.Join(rules, "\n")
	})
	n.eventually(10*time.Second, "pod and log directories removed", func() (bool, string) {
		var left []string
		for _, d := range []string{
			filepath.Join(n.cfg.RootDir, "pods", string(victim.UID)),
			filepath.Join(n.cfg.RootDir, "pods", ghostUID),
			filepath.Join(n.cfg.PodLogsDir, fmt.Sprintf("%s_victim_%s", testNamespace, victim.UID)),
			filepath.Join(n.cfg.PodLogsDir, testNamespace+"_ghost_"+ghostUID),
		} {
			if _, err := os.Stat(d); err == nil {
				left = append(left, d)
			}
		}
		return len(left) == 0, strings.Join(left, " ")
	})
	if entries, _ := os.ReadDir(filepath.Join(n.cfg.RootDir, "cni-cache", "results")); len(entries) != 0 {
		t.Errorf("CNI cache entries left: %d", len(entries))
	}
	// The emptyDir was a tmpfs: nothing of the pod may stay mounted.
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), string(victim.UID)) {
		t.Errorf("mounts of the deleted pod left:\n%s", grepLines(string(mounts), string(victim.UID)))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
