package kubelet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// writePodFiles writes the pod's /etc/hosts, /etc/resolv.conf and
// /etc/hostname, which every container bind-mounts.
func (k *Kubelet) writePodFiles(pod *v1.Pod, podIP string) error {
	dir := k.podDir(string(pod.UID))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pod dir: %w", err)
	}
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	files := map[string][]byte{
		"etc-hosts":   hostsFile(pod, podIP, k.cfg.ClusterDomain),
		"resolv.conf": resolvConf(pod, k.cfg.ClusterDNS, k.cfg.ClusterDomain, hostResolv),
		"hostname":    []byte(podHostname(pod) + "\n"),
	}
	if pod.Spec.HostNetwork {
		// The node's own /etc/hosts and hostname, as upstream.
		nodeHosts, _ := os.ReadFile("/etc/hosts")
		files["etc-hosts"] = hostNetworkHostsFile(nodeHosts, pod.Spec.HostAliases)
		files["hostname"] = []byte(hostname() + "\n")
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// hostsFile is the pod's /etc/hosts as upstream writes it.
func hostsFile(pod *v1.Pod, podIP, domain string) []byte {
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	host := podHostname(pod)
	if pod.Spec.Subdomain != "" {
		fmt.Fprintf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", podIP, host, pod.Spec.Subdomain, pod.Namespace, domain, host)
	} else {
		fmt.Fprintf(&b, "%s\t%s\n", podIP, host)
	}
	for _, ha := range pod.Spec.HostAliases {
		fmt.Fprintf(&b, "\n# Entries added by HostAliases.\n%s\t%s\n", ha.IP, strings.Join(ha.Hostnames, "\t"))
	}
	return b.Bytes()
}

// hostNetworkHostsFile is a hostNetwork pod's /etc/hosts as upstream
// writes it: the node's file under its own header, then the hostAliases.
func hostNetworkHostsFile(nodeHosts []byte, aliases []v1.HostAlias) []byte {
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file (host network).\n")
	b.Write(nodeHosts)
	if len(aliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, ha := range aliases {
			fmt.Fprintf(&b, "%s\t%s\n", ha.IP, strings.Join(ha.Hostnames, "\t"))
		}
	}
	return b.Bytes()
}

// resolvConf is the pod's /etc/resolv.conf per dnsPolicy and dnsConfig:
// ClusterFirst uses the cluster DNS with the namespace's search path (or
// the host's file when no cluster DNS is configured), Default the host's,
// None only dnsConfig.
func resolvConf(pod *v1.Pod, clusterDNS []string, domain string, host []byte) []byte {
	var servers, searches, options []string
	parseHost := func() {
		for _, line := range strings.Split(string(host), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "nameserver":
				servers = append(servers, f[1])
			case "search":
				searches = append(searches, f[1:]...)
			case "options":
				options = append(options, f[1:]...)
			}
		}
	}
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = v1.DNSClusterFirst
	}
	if policy == v1.DNSClusterFirstWithHostNet && !pod.Spec.HostNetwork {
		policy = v1.DNSClusterFirst
	}
	switch policy {
	case v1.DNSClusterFirst, v1.DNSClusterFirstWithHostNet:
		if len(clusterDNS) == 0 {
			parseHost()
			break
		}
		servers = append(servers, clusterDNS...)
		searches = []string{pod.Namespace + ".svc." + domain, "svc." + domain, domain}
		options = []string{"ndots:5"}
	case v1.DNSDefault:
		parseHost()
	}
	if dc := pod.Spec.DNSConfig; dc != nil {
		servers = append(servers, dc.Nameservers...)
		searches = append(searches, dc.Searches...)
		for _, o := range dc.Options {
			if o.Value != nil {
				options = append(options, o.Name+":"+*o.Value)
			} else {
				options = append(options, o.Name)
			}
		}
	}
	var b bytes.Buffer
	if len(searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(searches, " "))
	}
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.Bytes()
}
