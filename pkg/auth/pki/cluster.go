package pki

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Member is a named host with its IP addresses: a kubelet node or an etcd
// member.
type Member struct {
	Name string
	IPs  []net.IP
}

// ClusterConfig says which certificates, keys and kubeconfigs Generate
// writes.
type ClusterConfig struct {
	// Dir receives the certificates and keys (kubeadm's /etc/kubernetes/pki).
	Dir string
	// KubeconfigDir receives the kubeconfigs; empty means Dir.
	KubeconfigDir string
	// ClusterName names the cluster in kubeconfigs.
	ClusterName string
	// Server is the apiserver URL written into kubeconfigs (the VIP).
	Server string
	// APIServerNames and APIServerIPs are extra SANs of the apiserver serving
	// cert: the VIP's name and IP, every master's hostname and IP.
	APIServerNames []string
	APIServerIPs   []net.IP
	// ServiceCIDRs are the service IP ranges; the first IP of each (the
	// "kubernetes" Service) is a SAN of the apiserver serving cert.
	ServiceCIDRs []*net.IPNet
	// DNSDomain is the cluster domain (cluster.local).
	DNSDomain string
	// Nodes get a kubelet client cert, serving cert and kubeconfig each.
	Nodes []Member
	// EtcdMembers get an etcd server and peer cert each.
	EtcdMembers []Member
	// SingleCA signs the etcd certs with the cluster CA instead of a separate
	// etcd CA; etcd/ca.crt is then a copy of ca.crt.
	SingleCA bool
	// Validity and CAValidity are the lifetimes of new leaf and CA certs.
	Validity   time.Duration
	CAValidity time.Duration
	// RenewBefore reissues a leaf cert that expires within it.
	RenewBefore time.Duration
	// KeyAlgorithm is used for new CA and leaf keys; SAKeyAlgorithm for the
	// service-account key.
	KeyAlgorithm   KeyAlgorithm
	SAKeyAlgorithm KeyAlgorithm
	// Force regenerates everything, CAs and keys included.
	Force bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Default values of ClusterConfig, as upstream where upstream has one.
const (
	DefaultClusterName = "kstack"
	DefaultServer      = "https://127.0.0.1:6443"
	DefaultServiceCIDR = "10.96.0.0/12"
	DefaultDNSDomain   = "cluster.local"
	DefaultValidity    = 365 * 24 * time.Hour
	DefaultCAValidity  = 10 * 365 * 24 * time.Hour
	DefaultRenewBefore = 30 * 24 * time.Hour
)

// Validate checks c and fills in defaults for empty fields.
func (c *ClusterConfig) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("output directory is required"))
	}
	if c.KubeconfigDir == "" {
		c.KubeconfigDir = c.Dir
	}
	if c.ClusterName == "" {
		c.ClusterName = DefaultClusterName
	}
	if c.Server == "" {
		c.Server = DefaultServer
	}
	if u, err := url.Parse(c.Server); err != nil || u.Scheme != "https" || u.Hostname() == "" {
		errs = append(errs, fmt.Errorf("server %q: want an https:// URL with a host", c.Server))
	}
	if len(c.ServiceCIDRs) == 0 {
		_, n, _ := net.ParseCIDR(DefaultServiceCIDR)
		c.ServiceCIDRs = []*net.IPNet{n}
	}
	if c.DNSDomain == "" {
		c.DNSDomain = DefaultDNSDomain
	}
	if c.Validity == 0 {
		c.Validity = DefaultValidity
	}
	if c.CAValidity == 0 {
		c.CAValidity = DefaultCAValidity
	}
	if c.RenewBefore == 0 {
		c.RenewBefore = DefaultRenewBefore
	}
	if c.Validity < 0 || c.CAValidity < 0 || c.RenewBefore < 0 {
		errs = append(errs, errors.New("validity and renew-before must be positive"))
	}
	if c.Validity > c.CAValidity {
		errs = append(errs, fmt.Errorf("validity %s exceeds CA validity %s", c.Validity, c.CAValidity))
	}
	if c.RenewBefore >= c.Validity {
		errs = append(errs, fmt.Errorf("renew-before %s must be shorter than validity %s", c.RenewBefore, c.Validity))
	}
	if c.KeyAlgorithm == "" {
		c.KeyAlgorithm = ECDSAP256
	}
	if c.SAKeyAlgorithm == "" {
		c.SAKeyAlgorithm = RSA2048
	}
	for _, a := range []KeyAlgorithm{c.KeyAlgorithm, c.SAKeyAlgorithm} {
		if a != ECDSAP256 && a != RSA2048 {
			errs = append(errs, fmt.Errorf("unknown key algorithm %q (want %s or %s)", a, ECDSAP256, RSA2048))
		}
	}
	if len(c.EtcdMembers) == 0 {
		c.EtcdMembers = []Member{{Name: "default", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}}
	}
	for _, name := range c.APIServerNames {
		errs = append(errs, dnsNameErrors("apiserver name", name)...)
	}
	errs = append(errs, memberErrors("node", c.Nodes)...)
	errs = append(errs, memberErrors("etcd member", c.EtcdMembers)...)
	if c.Now == nil {
		c.Now = time.Now
	}
	return errors.Join(errs...)
}

func memberErrors(kind string, members []Member) []error {
	var errs []error
	seen := map[string]bool{}
	for _, m := range members {
		if seen[m.Name] {
			errs = append(errs, fmt.Errorf("%s %q listed twice", kind, m.Name))
		}
		seen[m.Name] = true
		errs = append(errs, dnsNameErrors(kind, m.Name)...)
	}
	return errs
}

// dnsNameErrors checks name as a SAN and as a file name part: a lowercase
// RFC 1123 subdomain (node names are the same upstream).
func dnsNameErrors(kind, name string) []error {
	var errs []error
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, fmt.Errorf("%s %q: %s", kind, name, msg))
	}
	return errs
}

// ParseMembers parses "name=ip,name=ip2" (an IP may be left out: "name"); a
// name may repeat to list several IPs ("m1=10.0.0.1,m1=fd00::1").
func ParseMembers(s string) ([]Member, error) {
	var out []Member
	index := map[string]int{}
	for _, item := range splitList(s) {
		name, ipText, hasIP := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("%q: empty name (want name=ip)", item)
		}
		i, ok := index[name]
		if !ok {
			i = len(out)
			index[name] = i
			out = append(out, Member{Name: name})
		}
		if !hasIP {
			continue
		}
		ip := net.ParseIP(strings.TrimSpace(ipText))
		if ip == nil {
			return nil, fmt.Errorf("%q: invalid IP %q", item, ipText)
		}
		out[i].IPs = append(out[i].IPs, ip)
	}
	return out, nil
}

// ParseIPs parses a comma-separated list of IP addresses.
func ParseIPs(s string) ([]net.IP, error) {
	var out []net.IP
	for _, item := range splitList(s) {
		ip := net.ParseIP(item)
		if ip == nil {
			return nil, fmt.Errorf("invalid IP %q", item)
		}
		out = append(out, ip)
	}
	return out, nil
}

// ParseCIDRs parses a comma-separated list of CIDRs (one per IP family for a
// dual-stack service range).
func ParseCIDRs(s string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, item := range splitList(s) {
		_, n, err := net.ParseCIDR(item)
		if err != nil {
			return nil, fmt.Errorf("invalid CIDR %q: %w", item, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// FirstIP returns the first usable address of n (10.96.0.0/12 -> 10.96.0.1),
// the address upstream gives the "kubernetes" Service.
func FirstIP(n *net.IPNet) (net.IP, error) {
	base := n.IP.Mask(n.Mask)
	if v4 := base.To4(); v4 != nil {
		base = v4
	}
	ones, bits := n.Mask.Size()
	if bits-ones < 1 {
		return nil, fmt.Errorf("service CIDR %s has no usable address", n)
	}
	ip := new(big.Int).SetBytes(base)
	ip.Add(ip, big.NewInt(1))
	out := make(net.IP, len(base))
	ip.FillBytes(out)
	return out, nil
}
