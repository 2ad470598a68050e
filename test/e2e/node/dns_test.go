//go:build e2e

package node

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/kubelet"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// A pod's /etc/resolv.conf and /etc/hosts, read through the upstream
// kubectl exec, are what upstream's kubelet (with containerd) writes, per
// dnsPolicy and dnsConfig, for a kubelet with --cluster-dns=10.96.0.10
// --cluster-domain=cluster.local and a --resolv-conf of its own.
func TestPod_DNSPolicyResolvConfAndHosts(t *testing.T) {
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte("# the node's resolver\nnameserver 10.0.0.53\nnameserver 10.0.0.54\nsearch corp.example.\noptions timeout:2 edns0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n := startNodeWith(t, func(c *kubelet.Config) {
		c.ClusterDNS, c.ClusterDomain, c.ResolvConf = []string{"10.96.0.10"}, "cluster.local", &resolv
	})
	k := newKubectl(t, n)

	const (
		cluster = "search default.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n"
		node    = "search corp.example\nnameserver 10.0.0.53\nnameserver 10.0.0.54\noptions timeout:2 edns0\n"
	)
	aliases := []v1.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"foo.local", "bar.local"}}, {IP: "10.1.2.4", Hostnames: []string{"baz.local"}}}
	tests := []struct {
		name    string
		policy  v1.DNSPolicy
		hostNet bool
		config  *v1.PodDNSConfig
		want    string
	}{
		{"cluster-first", v1.DNSClusterFirst, false, nil, cluster},
		{"cluster-first-host-net", v1.DNSClusterFirst, true, nil, node}, // falls back to Default
		{"cluster-first-with-host-net", v1.DNSClusterFirstWithHostNet, true, nil, cluster},
		{"default", v1.DNSDefault, false, nil, node},
		{"none", v1.DNSNone, false, &v1.PodDNSConfig{
			Nameservers: []string{"1.2.3.4", "5.6.7.8"},
			Searches:    []string{"ns1.svc.cluster-domain.example", "my.dns.search.suffix"},
			Options:     []v1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}, {Name: "edns0"}},
		}, "search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 1.2.3.4\nnameserver 5.6.7.8\noptions ndots:2 edns0\n"},
		{"cluster-first-merged", v1.DNSClusterFirst, false, &v1.PodDNSConfig{
			Nameservers: []string{"10.96.0.10", "1.2.3.4"},
			Searches:    []string{"cluster.local", "my.dns.search.suffix"},
			Options:     []v1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("1")}, {Name: "single-request-reopen"}},
		}, "search default.svc.cluster.local svc.cluster.local cluster.local corp.example my.dns.search.suffix\nnameserver 10.96.0.10\nnameserver 1.2.3.4\noptions ndots:1 single-request-reopen\n"},
	}
	for _, tt := range tests {
		spec := v1.PodSpec{
			DNSPolicy: tt.policy, HostNetwork: tt.hostNet, DNSConfig: tt.config,
			Hostname: "web", Subdomain: "sub", HostAliases: aliases,
			Containers: []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sleep", "3600"}}},
		}
		n.createPod(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: tt.name}, Spec: spec})
	}
	nodeHosts, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		p := n.waitPod(tt.name, 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
		out, errOut, code := k.run("", "exec", tt.name, "--", "cat", "/etc/resolv.conf")
		if code != 0 {
			t.Fatalf("%s: kubectl exec cat /etc/resolv.conf: exit %d: %s", tt.name, code, errOut)
		}
		if out != tt.want {
			t.Errorf("%s: /etc/resolv.conf\n%q\nwant\n%q", tt.name, out, tt.want)
		}

		out, errOut, code = k.run("", "exec", tt.name, "--", "cat", "/etc/hosts")
		if code != 0 {
			t.Fatalf("%s: kubectl exec cat /etc/hosts: exit %d: %s", tt.name, code, errOut)
		}
		want := "# Kubernetes-managed hosts file.\n" +
			"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
			"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
			p.Status.PodIP + "\tweb.sub.default.svc.cluster.local\tweb\n"
		if tt.hostNet { // the node's own file, as upstream
			want = "# Kubernetes-managed hosts file (host network).\n" + string(nodeHosts)
		}
		want += "\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n10.1.2.4\tbaz.local\n"
		if out != want {
			t.Errorf("%s: /etc/hosts\n%q\nwant\n%q", tt.name, out, want)
		}
	}
}
