package kubelet

import (
	"bytes"
	"fmt"
	"net"
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
	nodeIP := net.ParseIP(k.hostIP)
	host, err := hostResolver(k.cfg.resolvConf(), os.ReadFile, nodeIP != nil && nodeIP.To4() == nil)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"etc-hosts":   hostsFile(pod, podIP, k.cfg.ClusterDomain),
		"resolv.conf": podResolver(pod, k.cfg.ClusterDNS, k.cfg.ClusterDomain, host).resolvConf(),
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
	writeHostAliases(&b, pod.Spec.HostAliases)
	return b.Bytes()
}

// writeHostAliases appends the hostAliases' section of an /etc/hosts: one
// header, then a line per IP with its hostnames.
func writeHostAliases(b *bytes.Buffer, aliases []v1.HostAlias) {
	if len(aliases) == 0 {
		return
	}
	b.WriteString("\n# Entries added by HostAliases.\n")
	for _, ha := range aliases {
		fmt.Fprintf(b, "%s\t%s\n", ha.IP, strings.Join(ha.Hostnames, "\t"))
	}
}

// hostNetworkHostsFile is a hostNetwork pod's /etc/hosts as upstream
// writes it: the node's file under its own header, then the hostAliases.
func hostNetworkHostsFile(nodeHosts []byte, aliases []v1.HostAlias) []byte {
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file (host network).\n")
	b.Write(nodeHosts)
	writeHostAliases(&b, aliases)
	return b.Bytes()
}

// resolvConf is ResolvConf, its default when unset.
func (c *Config) resolvConf() string {
	if c.ResolvConf == nil {
		return defaultResolvConf
	}
	return *c.ResolvConf
}

// defaultResolvConf is --resolv-conf's default.
const defaultResolvConf = "/etc/resolv.conf"

// Upstream's limits on a pod's resolver configuration (the API
// validation's MaxDNSNameservers, MaxDNSSearchPaths and
// MaxDNSSearchListChars with ExpandedDNSConfig, and a domain's length).
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
	maxDNSDomainLength    = 253
)

// resolver is a resolv.conf's nameservers, search domains and options.
type resolver struct {
	servers, searches, options []string
}

// parseResolvConf reads a resolv.conf as upstream does: nameserver lines
// accumulate, the last search and options lines win, a search domain's
// trailing dot is dropped, comments are skipped.
func parseResolvConf(data []byte) resolver {
	var r resolver
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) >= 2 {
				r.servers = append(r.servers, f[1])
			}
		case "search":
			r.searches = nil
			for _, d := range f[1:] {
				r.searches = append(r.searches, strings.TrimSuffix(d, "."))
			}
		case "options":
			r.options = append([]string(nil), f[1:]...)
		}
	}
	return r
}

// hostResolver is the node's resolver for dnsPolicy Default: from the
// --resolv-conf file, or, with --resolv-conf "", the local machine's
// nameserver and no search (upstream's choice).
func hostResolver(resolvConf string, read func(string) ([]byte, error), ipv6 bool) (resolver, error) {
	if resolvConf == "" {
		server := "127.0.0.1"
		if ipv6 {
			server = "::1"
		}
		return resolver{servers: []string{server}, searches: []string{"."}}, nil
	}
	data, err := read(resolvConf)
	if err != nil {
		return resolver{}, fmt.Errorf("read --resolv-conf: %w", err)
	}
	return parseResolvConf(data), nil
}

// podResolver is the pod's resolver per dnsPolicy and dnsConfig, as
// upstream's kubelet computes it: ClusterFirst uses the cluster DNS with
// the namespace's search path before the node's (the node's resolver
// when no cluster DNS is configured, or for a hostNetwork pod, unless
// ClusterFirstWithHostNet), Default the node's, None only dnsConfig, whose
// nameservers, searches and options are then merged in.
func podResolver(pod *v1.Pod, clusterDNS []string, domain string, host resolver) resolver {
	var r resolver
	policy := pod.Spec.DNSPolicy
	if policy == v1.DNSClusterFirst && pod.Spec.HostNetwork {
		policy = v1.DNSDefault
	}
	switch policy {
	case v1.DNSNone:
	case v1.DNSDefault:
		r = host
	default: // ClusterFirst, ClusterFirstWithHostNet
		if len(clusterDNS) == 0 {
			r = host
			break
		}
		r.servers = append([]string(nil), clusterDNS...)
		r.searches = host.searches
		if domain != "" {
			r.searches = dedup(append([]string{pod.Namespace + ".svc." + domain, "svc." + domain, domain}, host.searches...))
		}
		r.options = []string{"ndots:5"}
	}
	if dc := pod.Spec.DNSConfig; dc != nil {
		r.servers = dedup(append(append([]string(nil), r.servers...), dc.Nameservers...))
		r.searches = dedup(append(append([]string(nil), r.searches...), dc.Searches...))
		r.options = mergeDNSOptions(r.options, dc.Options)
	}
	return r.withinLimits()
}

// dedup drops repeated entries, keeping the first.
func dedup(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeDNSOptions adds the pod's dnsConfig options to existing ones; a
// pod's option replaces the value of an existing one of the same name in
// place. (Upstream's order comes from a map, so it is unspecified; this
// order is one of upstream's.)
func mergeDNSOptions(existing []string, pod []v1.PodDNSConfigOption) []string {
	var names []string
	values := map[string]string{}
	add := func(name, value string) {
		if _, ok := values[name]; !ok {
			names = append(names, name)
		}
		values[name] = value
	}
	for _, o := range existing {
		name, value, _ := strings.Cut(o, ":")
		add(name, value)
	}
	for _, o := range pod {
		value := ""
		if o.Value != nil {
			value = *o.Value
		}
		add(o.Name, value)
	}
	var out []string
	for _, name := range names {
		if v := values[name]; v != "" {
			out = append(out, name+":"+v)
		} else {
			out = append(out, name)
		}
	}
	return out
}

// withinLimits drops what exceeds upstream's limits: nameservers past the
// third, search domains past the 32nd, longer than 253 characters, or
// past 2048 characters of search line.
func (r resolver) withinLimits() resolver {
	if len(r.servers) > maxDNSNameservers {
		r.servers = r.servers[:maxDNSNameservers]
	}
	var searches []string
	for _, s := range r.searches {
		if len(s) <= maxDNSDomainLength {
			searches = append(searches, s)
		}
	}
	if len(searches) > maxDNSSearchPaths {
		searches = searches[:maxDNSSearchPaths]
	}
	for len(searches) > 0 && len(strings.Join(searches, " ")) > maxDNSSearchListChars {
		searches = searches[:len(searches)-1]
	}
	r.searches = searches
	return r
}

// resolvConf renders r as the runtime writes a pod's /etc/resolv.conf
// (containerd's CRI): a search line, a nameserver line each, an options
// line.
func (r resolver) resolvConf() []byte {
	var b bytes.Buffer
	if len(r.searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(r.searches, " "))
	}
	for _, s := range r.servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(r.options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(r.options, " "))
	}
	return b.Bytes()
}
