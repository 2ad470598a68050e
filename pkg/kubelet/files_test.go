package kubelet

import (
	"errors"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestPodResolver_PerDNSPolicyAsUpstream(t *testing.T) {
	host := parseResolvConf([]byte("# node\nnameserver 1.1.1.1\nsearch old.example\nsearch corp.example. lab.example\nnameserver 1.0.0.1\noptions edns0 timeout:2\n"))
	tests := []struct {
		name    string
		policy  v1.DNSPolicy
		hostNet bool
		dns     []string
		cfg     *v1.PodDNSConfig
		want    string
	}{
		{"cluster first: cluster DNS, the namespace's search path before the node's", v1.DNSClusterFirst, false, []string{"10.96.0.10"}, nil,
			"search prod.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.96.0.10\noptions ndots:5\n"},
		{"cluster first without cluster DNS is the node's", v1.DNSClusterFirst, false, nil, nil,
			"search corp.example lab.example\nnameserver 1.1.1.1\nnameserver 1.0.0.1\noptions edns0 timeout:2\n"},
		{"cluster first on the host network is the node's", v1.DNSClusterFirst, true, []string{"10.96.0.10"}, nil,
			"search corp.example lab.example\nnameserver 1.1.1.1\nnameserver 1.0.0.1\noptions edns0 timeout:2\n"},
		{"cluster first with host net", v1.DNSClusterFirstWithHostNet, true, []string{"10.96.0.10"}, nil,
			"search prod.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.96.0.10\noptions ndots:5\n"},
		{"default", v1.DNSDefault, false, []string{"10.96.0.10"}, nil,
			"search corp.example lab.example\nnameserver 1.1.1.1\nnameserver 1.0.0.1\noptions edns0 timeout:2\n"},
		{"none: only dnsConfig", v1.DNSNone, false, []string{"10.96.0.10"},
			&v1.PodDNSConfig{Nameservers: []string{"8.8.8.8"}, Searches: []string{"a.b"}, Options: []v1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}, {Name: "rotate"}}},
			"search a.b\nnameserver 8.8.8.8\noptions ndots:2 rotate\n"},
		{"dnsConfig merged onto cluster first: duplicates dropped, an option's value replaced", v1.DNSClusterFirst, false, []string{"10.96.0.10"},
			&v1.PodDNSConfig{Nameservers: []string{"10.96.0.10", "8.8.8.8"}, Searches: []string{"svc.cluster.local", "my.dns.search"}, Options: []v1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}, {Name: "edns0"}}},
			"search prod.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example my.dns.search\nnameserver 10.96.0.10\nnameserver 8.8.8.8\noptions ndots:2 edns0\n"},
		{"at most three nameservers", v1.DNSDefault, false, nil, &v1.PodDNSConfig{Nameservers: []string{"9.9.9.9", "8.8.8.8"}},
			"search corp.example lab.example\nnameserver 1.1.1.1\nnameserver 1.0.0.1\nnameserver 9.9.9.9\noptions edns0 timeout:2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod"}, Spec: v1.PodSpec{DNSPolicy: tt.policy, HostNetwork: tt.hostNet, DNSConfig: tt.cfg}}
			if got := string(podResolver(p, tt.dns, "cluster.local", host).resolvConf()); got != tt.want {
				t.Errorf("resolv.conf:\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestPodResolver_SearchLimits(t *testing.T) {
	var searches []string
	for i := 0; i < 40; i++ {
		searches = append(searches, strings.Repeat("d", 60)+".example")
	}
	searches = append([]string{strings.Repeat("x", 254)}, searches...)
	p := &v1.Pod{Spec: v1.PodSpec{DNSPolicy: v1.DNSNone, DNSConfig: &v1.PodDNSConfig{Searches: searches}}}
	r := podResolver(p, nil, "cluster.local", resolver{})
	if len(r.searches) == 0 || len(strings.Join(r.searches, " ")) > maxDNSSearchListChars || len(r.searches) > maxDNSSearchPaths {
		t.Errorf("%d searches, %d characters", len(r.searches), len(strings.Join(r.searches, " ")))
	}
	if r.searches[0] == searches[0] {
		t.Error("a search domain longer than 253 characters was kept")
	}
}

func TestHostResolver_FromResolvConfOrNone(t *testing.T) {
	read := func(p string) ([]byte, error) {
		if p == "/etc/my-resolv.conf" {
			return []byte("nameserver 10.0.0.2\n"), nil
		}
		return nil, errors.New("no such file")
	}
	r, err := hostResolver("/etc/my-resolv.conf", read, false)
	if err != nil || strings.Join(r.servers, ",") != "10.0.0.2" {
		t.Errorf("resolver %+v (%v)", r, err)
	}
	if _, err := hostResolver("/missing", read, false); err == nil {
		t.Error("a missing --resolv-conf was accepted")
	}
	// --resolv-conf "": the local machine's nameserver, as upstream.
	for ipv6, want := range map[bool]string{false: "search .\nnameserver 127.0.0.1\n", true: "search .\nnameserver ::1\n"} {
		r, err := hostResolver("", read, ipv6)
		if got := string(r.resolvConf()); err != nil || got != want {
			t.Errorf("no --resolv-conf (ipv6 %v): %q (%v), want %q", ipv6, got, err, want)
		}
	}
}

func TestHostsFile_AsUpstream(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod"}, Spec: v1.PodSpec{
		Hostname: "h", Subdomain: "sub",
		HostAliases: []v1.HostAlias{{IP: "10.1.1.1", Hostnames: []string{"foo", "bar"}}, {IP: "10.1.1.2", Hostnames: []string{"baz"}}},
	}}
	want := "# Kubernetes-managed hosts file.\n" +
		"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
		"10.0.0.5\th.sub.prod.svc.cluster.local\th\n" +
		"\n# Entries added by HostAliases.\n10.1.1.1\tfoo\tbar\n10.1.1.2\tbaz\n"
	if got := string(hostsFile(pod, "10.0.0.5", "cluster.local")); got != want {
		t.Errorf("hosts file:\n%s\nwant\n%s", got, want)
	}
	pod.Spec.Hostname, pod.Spec.Subdomain, pod.Spec.HostAliases = "", "", nil
	if got := string(hostsFile(pod, "10.0.0.5", "cluster.local")); !strings.HasSuffix(got, "fe00::2\tip6-allrouters\n10.0.0.5\tweb\n") {
		t.Errorf("hosts file without hostname or aliases:\n%s", got)
	}
}
