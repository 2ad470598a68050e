//go:build e2e

package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// natRulesFor lists the nat table's rules that mention hostPort as a
// destination port.
func natRulesFor(t *testing.T, hostPort int) []string {
	t.Helper()
	out, err := exec.Command("iptables-save", "-t", "nat").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	var rules []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "-A ") && strings.Contains(l, "--dport "+strconv.Itoa(hostPort)+" ") {
			rules = append(rules, l)
		}
	}
	return rules
}

// removePortmapChainsAfter removes, when the test ends, the nat chains the
// portmap CNI plugin makes on its first hostPort (and never removes) with
// their jumps, when they were not there before the test and no mapping is
// left in them. Register it before the node starts: its cleanup then runs
// after the node's, once the pods are gone.
func removePortmapChainsAfter(t *testing.T) {
	t.Helper()
	out, err := exec.Command("iptables-save", "-t", "nat").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	if strings.Contains(string(out), ":CNI-HOSTPORT-DNAT ") {
		return // someone else's
	}
	t.Cleanup(func() {
		out, err := exec.Command("iptables-save", "-t", "nat").Output()
		if err != nil {
			t.Errorf("iptables-save: %v", err)
			return
		}
		// One iptables-restore, which parses the saved rules' quoting
		// (comments) itself: the jumps, then the chains.
		var chains []string
		restore := []string{"*nat"}
		for _, l := range strings.Split(string(out), "\n") {
			switch f := strings.Fields(l); {
			case strings.HasPrefix(l, "-A CNI-HOSTPORT-DNAT "):
				t.Errorf("a hostPort mapping is left after the pods: %s", l)
				return
			case strings.HasPrefix(l, ":CNI-HOSTPORT-"):
				chains = append(chains, strings.TrimPrefix(f[0], ":"))
			case len(f) > 1 && f[0] == "-A" && !strings.HasPrefix(f[1], "CNI-HOSTPORT-") && strings.Contains(l, "-j CNI-HOSTPORT-"):
				restore = append(restore, "-D "+strings.TrimPrefix(l, "-A "))
			}
		}
		for _, c := range chains {
			restore = append(restore, "-F "+c)
		}
		for _, c := range chains {
			restore = append(restore, "-X "+c)
		}
		restore = append(restore, "COMMIT", "")
		cmd := exec.Command("iptables-restore", "--noflush")
		cmd.Stdin = strings.NewReader(strings.Join(restore, "\n"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("iptables-restore --noflush: %v: %s\n%s", err, out, strings.Join(restore, "\n"))
		}
	})
}

func TestPod_HostPortAnswersOnTheNodeIP(t *testing.T) {
	removePortmapChainsAfter(t)
	n := startNode(t)
	hostPort := freePort(t)
	pod := testServerPod("hostport")
	pod.Spec.Containers[0].Ports[0].HostPort = int32(hostPort)
	n.createPod(pod)
	p := n.waitPod("hostport", 60*time.Second, "running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning && podReady(p) })
	if p.Status.PodIP == n.cfg.NodeIP || p.Status.PodIP == "" {
		t.Fatalf("pod IP %q: want one from the podCIDR", p.Status.PodIP)
	}
	if len(natRulesFor(t, hostPort)) == 0 {
		t.Errorf("no nat rule for hostPort %d", hostPort)
	}
	url := fmt.Sprintf("http://%s:%d/hostname", n.cfg.NodeIP, hostPort)
	n.eventually(20*time.Second, "the hostPort answers", func() (bool, string) {
		body, err := httpGet(url)
		if err != nil {
			return false, err.Error()
		}
		return body == "hostport", "body " + body
	})

	ctx := context.Background()
	if err := n.admin.CoreV1().Pods(testNamespace).Delete(ctx, "hostport", metav1.DeleteOptions{GracePeriodSeconds: ptrInt64(1)}); err != nil {
		t.Fatal(err)
	}
	n.eventually(30*time.Second, "pod gone", func() (bool, string) {
		_, err := n.admin.CoreV1().Pods(testNamespace).Get(ctx, "hostport", metav1.GetOptions{})
		return err != nil, "still there"
	})
	n.eventually(10*time.Second, "portmap rules removed", func() (bool, string) {
		rules := natRulesFor(t, hostPort)
		return len(rules) == 0, strings.Join(rules, "\n")
	})
}

func TestPod_HostNetworkUsesTheNodesNetworkAndName(t *testing.T) {
	n := startNode(t)
	port := freePort(t)
	pod := testServerPod("hostnet")
	pod.Spec.HostNetwork = true
	pod.Spec.Containers[0].Args = []string{"--port", strconv.Itoa(port)}
	pod.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: int32(port), HostPort: int32(port)}}
	pod.Spec.HostAliases = []v1.HostAlias{{IP: "10.9.8.7", Hostnames: []string{"alias.example"}}}
	n.createPod(pod)
	p := n.waitPod("hostnet", 60*time.Second, "running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning && podReady(p) })
	if p.Status.PodIP != n.cfg.NodeIP || len(p.Status.PodIPs) != 1 || p.Status.PodIPs[0].IP != n.cfg.NodeIP {
		t.Errorf("podIP %q podIPs %v: want the node IP %s", p.Status.PodIP, p.Status.PodIPs, n.cfg.NodeIP)
	}
	if p.Status.HostIP != n.cfg.NodeIP {
		t.Errorf("hostIP %q, want %s", p.Status.HostIP, n.cfg.NodeIP)
	}
	// The server listens in the node's namespace, so the node reaches it
	// directly, and it has the node's hostname (the node's UTS namespace).
	want, _ := os.Hostname()
	var body string
	n.eventually(20*time.Second, "the server answers on the node", func() (bool, string) {
		var err error
		body, err = httpGet(fmt.Sprintf("http://127.0.0.1:%d/hostname", port))
		return err == nil, fmt.Sprint(err)
	})
	if body != want {
		t.Errorf("hostname in the pod = %q, want the node's %q", body, want)
	}
	hosts, err := os.ReadFile(n.podFile(p, "etc-hosts"))
	if err != nil {
		t.Fatal(err)
	}
	nodeHosts, _ := os.ReadFile("/etc/hosts")
	wantHosts := "# Kubernetes-managed hosts file (host network).\n" + string(nodeHosts) + "\n# Entries added by HostAliases.\n10.9.8.7\talias.example\n"
	if string(hosts) != wantHosts {
		t.Errorf("/etc/hosts:\n%s\nwant:\n%s", hosts, wantHosts)
	}
	// No network namespace was made for it.
	if entries, _ := os.ReadDir(n.cfg.NetNSDir); len(entries) != 0 {
		t.Errorf("%d network namespaces for a hostNetwork pod", len(entries))
	}
}

// podFile is the path of one of the pod's kubelet-written files.
func (n *node) podFile(p *v1.Pod, name string) string {
	return n.cfg.RootDir + "/pods/" + string(p.UID) + "/" + name
}
