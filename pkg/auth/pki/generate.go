package pki

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Action says what Generate did with one file.
type Action string

// Actions, as printed in the summary.
const (
	Created  Action = "created"
	Reused   Action = "reused"
	Reissued Action = "reissued" // new certificate for an existing key
	Updated  Action = "updated"  // a derived file (kubeconfig, public key, CA copy) rewritten
)

// Entry is one line of Generate's report.
type Entry struct {
	Path   string
	Action Action
	// Reason says why a certificate was reissued or a file updated.
	Reason string
}

// Report lists what Generate did, file by file, in the order it did it.
type Report struct {
	Entries []Entry
}

func (r *Report) add(path string, a Action, reason string) {
	r.Entries = append(r.Entries, Entry{Path: path, Action: a, Reason: reason})
}

// Print writes the report, one file per line.
func (r *Report) Print(w io.Writer) error {
	for _, e := range r.Entries {
		line := fmt.Sprintf("%-9s %s", e.Action, e.Path)
		if e.Reason != "" {
			line += " (" + e.Reason + ")"
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// Count returns how many entries have action a.
func (r *Report) Count(a Action) int {
	n := 0
	for _, e := range r.Entries {
		if e.Action == a {
			n++
		}
	}
	return n
}

// Identity names of the component client certificates, as upstream.
const (
	AdminUser                  = "kubernetes-admin"
	MastersGroup               = "system:masters"
	ControllerManagerUser      = "system:kube-controller-manager"
	SchedulerUser              = "system:kube-scheduler"
	KubeProxyUser              = "system:kube-proxy"
	NodesGroup                 = "system:nodes"
	NodeUserPrefix             = "system:node:"
	APIServerKubeletClientUser = "kube-apiserver-kubelet-client"
	APIServerEtcdClientUser    = "kube-apiserver-etcd-client"
	EtcdHealthcheckClientUser  = "kube-etcd-healthcheck-client"
)

var (
	serverUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	clientUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	bothUsage   = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
)

// leaf is one certificate Generate maintains.
type leaf struct {
	name       string // path under Dir without extension
	etcd       bool   // signed by the etcd CA
	spec       CertSpec
	kubeconfig string // kubeconfig file name under KubeconfigDir, if any
}

// plan lists every leaf certificate c asks for.
func (c *ClusterConfig) plan() ([]leaf, error) {
	sans, err := c.apiserverSANs()
	if err != nil {
		return nil, err
	}
	client := func(cn string, orgs ...string) CertSpec {
		return CertSpec{CommonName: cn, Organization: orgs, Usages: clientUsage, Validity: c.Validity}
	}
	leaves := []leaf{
		{name: "apiserver", spec: CertSpec{CommonName: "kube-apiserver", DNSNames: sans.dns, IPs: sans.ips, Usages: serverUsage, Validity: c.Validity}},
		// system:masters rather than kubeadm's newer kubeadm:cluster-admins: it
		// needs no extra ClusterRoleBinding to reach the kubelet API.
		{name: "apiserver-kubelet-client", spec: client(APIServerKubeletClientUser, MastersGroup)},
		{name: "apiserver-etcd-client", etcd: true, spec: client(APIServerEtcdClientUser)},
		{name: "etcd/healthcheck-client", etcd: true, spec: client(EtcdHealthcheckClientUser)},
		{name: "admin", spec: client(AdminUser, MastersGroup), kubeconfig: "admin.conf"},
		{name: "controller-manager", spec: client(ControllerManagerUser), kubeconfig: "controller-manager.conf"},
		{name: "scheduler", spec: client(SchedulerUser), kubeconfig: "scheduler.conf"},
		{name: "kube-proxy", spec: client(KubeProxyUser), kubeconfig: "kube-proxy.conf"},
	}
	for _, m := range c.EtcdMembers {
		spec := CertSpec{
			CommonName: m.Name,
			DNSNames:   dedupeNames([]string{m.Name, "localhost"}),
			IPs:        dedupeIPs(append(slices.Clone(m.IPs), net.IPv4(127, 0, 0, 1), net.IPv6loopback)),
			Usages:     bothUsage,
			Validity:   c.Validity,
		}
		leaves = append(leaves,
			leaf{name: "etcd/server-" + m.Name, etcd: true, spec: spec},
			leaf{name: "etcd/peer-" + m.Name, etcd: true, spec: spec})
	}
	for _, n := range c.Nodes {
		user := NodeUserPrefix + n.Name
		leaves = append(leaves,
			leaf{name: "kubelet-" + n.Name, spec: CertSpec{
				CommonName: user, Organization: []string{NodesGroup},
				DNSNames: []string{n.Name}, IPs: dedupeIPs(n.IPs),
				Usages: serverUsage, Validity: c.Validity,
			}},
			leaf{name: "kubelet-" + n.Name + "-client", spec: client(user, NodesGroup), kubeconfig: "kubelet-" + n.Name + ".conf"})
	}
	return leaves, nil
}

type sanSet struct {
	dns []string
	ips []net.IP
}

// apiserverSANs are the apiserver serving cert's SANs: the names every client
// may dial (the in-cluster Service names, localhost, the VIP and masters) and
// the IPs (127.0.0.1, the kubernetes Service IP, the VIP and masters).
func (c *ClusterConfig) apiserverSANs() (sanSet, error) {
	dns := []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + c.DNSDomain, "localhost"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1)}
	for _, n := range c.ServiceCIDRs {
		ip, err := FirstIP(n)
		if err != nil {
			return sanSet{}, err
		}
		ips = append(ips, ip)
	}
	dns = append(dns, c.APIServerNames...)
	ips = append(ips, c.APIServerIPs...)
	if u, err := url.Parse(c.Server); err == nil && u.Hostname() != "" {
		if ip := net.ParseIP(u.Hostname()); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, u.Hostname())
		}
	}
	return sanSet{dns: dedupeNames(dns), ips: dedupeIPs(ips)}, nil
}

func dedupeNames(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func dedupeIPs(in []net.IP) []net.IP {
	var out []net.IP
	for _, ip := range in {
		if !slices.ContainsFunc(out, ip.Equal) {
			out = append(out, ip)
		}
	}
	return out
}

// generator carries one Generate run's state.
type generator struct {
	cfg    *ClusterConfig
	now    time.Time
	report *Report
}

// Generate makes Dir and KubeconfigDir hold the cluster's PKI as cfg asks,
// reusing what is already there when it still fits (see the package doc),
// and reports what it did per file. cfg is validated (and defaulted) first.
func Generate(cfg ClusterConfig) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid PKI config: %w", err)
	}
	leaves, err := cfg.plan()
	if err != nil {
		return nil, err
	}
	g := &generator{cfg: &cfg, now: cfg.Now(), report: &Report{}}

	ca, err := g.ensureCA("ca", cfg.ClusterName+"-ca")
	if err != nil {
		return g.report, err
	}
	etcdCA := ca
	if cfg.SingleCA {
		if err := g.ensureDerived("etcd/ca.crt", EncodeCertsPEM(ca.Cert), publicMode, "cluster CA changed"); err != nil {
			return g.report, err
		}
	} else if etcdCA, err = g.ensureCA("etcd/ca", cfg.ClusterName+"-etcd-ca"); err != nil {
		return g.report, err
	}

	for _, l := range leaves {
		signer := ca
		if l.etcd {
			signer = etcdCA
		}
		cert, key, err := g.ensureLeaf(l.name, signer, l.spec)
		if err != nil {
			return g.report, err
		}
		if l.kubeconfig == "" {
			continue
		}
		keyPEM, err := EncodePrivateKeyPEM(key)
		if err != nil {
			return g.report, err
		}
		path := filepath.Join(cfg.KubeconfigDir, l.kubeconfig)
		wrote, existed, err := WriteKubeconfig(path, KubeconfigSpec{
			ClusterName: cfg.ClusterName,
			Server:      cfg.Server,
			CAData:      EncodeCertsPEM(ca.Cert),
			UserName:    l.spec.CommonName,
			CertData:    EncodeCertsPEM(cert),
			KeyData:     keyPEM,
		})
		if err != nil {
			return g.report, err
		}
		g.record(path, wrote, existed, "server, CA or credentials changed")
	}

	if err := g.ensureSAKey(); err != nil {
		return g.report, err
	}
	return g.report, nil
}

func (g *generator) path(name string) string { return filepath.Join(g.cfg.Dir, name) }

func (g *generator) record(path string, wrote, existed bool, reason string) {
	switch {
	case !wrote:
		g.report.add(path, Reused, "")
	case existed:
		g.report.add(path, Updated, reason)
	default:
		g.report.add(path, Created, "")
	}
}

// ensureCA reuses <name>.crt/.key when both are present and sound, creates
// them when both are missing, and refuses to guess when only one is there or
// the CA has expired: replacing a CA invalidates every cert it signed.
func (g *generator) ensureCA(name, commonName string) (*CA, error) {
	certPath, keyPath := g.path(name+".crt"), g.path(name+".key")
	if !g.cfg.Force {
		certOK, err := exists(certPath)
		if err != nil {
			return nil, err
		}
		keyOK, err := exists(keyPath)
		if err != nil {
			return nil, err
		}
		switch {
		case certOK && keyOK:
			ca, err := LoadCA(certPath, keyPath)
			if err != nil {
				return nil, fmt.Errorf("reuse CA: %w (fix or remove it, or rerun with --force to regenerate everything)", err)
			}
			if !g.now.Before(ca.Cert.NotAfter) {
				return nil, fmt.Errorf("CA %s expired at %s: rerun with --force to regenerate everything", certPath, ca.Cert.NotAfter.Format(time.RFC3339))
			}
			g.report.add(certPath, Reused, "")
			return ca, nil
		case certOK || keyOK:
			return nil, fmt.Errorf("found only one of %s and %s: restore the other, or rerun with --force to regenerate everything", certPath, keyPath)
		}
	}
	key, err := GenerateKey(g.cfg.KeyAlgorithm)
	if err != nil {
		return nil, err
	}
	ca, err := NewCA(commonName, key, g.cfg.CAValidity, g.now)
	if err != nil {
		return nil, err
	}
	if err := writeCertAndKey(certPath, keyPath, ca.Cert, key); err != nil {
		return nil, err
	}
	g.report.add(certPath, Created, "")
	return ca, nil
}

// ensureLeaf makes <name>.crt/.key a certificate for spec signed by ca. An
// existing key is kept (unless Force); the certificate is kept when it still
// matches, else reissued for that key.
func (g *generator) ensureLeaf(name string, ca *CA, spec CertSpec) (*x509.Certificate, crypto.Signer, error) {
	certPath, keyPath := g.path(name+".crt"), g.path(name+".key")
	var key crypto.Signer
	if !g.cfg.Force {
		ok, err := exists(keyPath)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			if key, err = LoadKeyFile(keyPath); err != nil {
				return nil, nil, fmt.Errorf("reuse key: %w (remove it, or rerun with --force)", err)
			}
		}
	}
	reason := ""
	if key != nil {
		certs, err := LoadCertFile(certPath)
		switch {
		case err == nil:
			// A cert whose expiry was cut short at the CA's is as good as a
			// new one would be: renewing it again would not help.
			renewBefore := g.cfg.RenewBefore
			if limit := ca.Cert.NotAfter.Sub(g.now); limit < renewBefore {
				renewBefore = max(limit-time.Second, 0)
			}
			if reason = Mismatch(certs[0], key, ca.Cert, spec, g.now, renewBefore); reason == "" {
				g.report.add(certPath, Reused, "")
				return certs[0], key, nil
			}
		default:
			if ok, _ := exists(certPath); ok {
				reason = err.Error()
			} else {
				reason = "certificate missing"
			}
		}
	}
	action := Reissued
	if key == nil {
		action = Created
		var err error
		if key, err = GenerateKey(g.cfg.KeyAlgorithm); err != nil {
			return nil, nil, err
		}
	}
	cert, err := ca.Issue(spec, key.Public(), g.now)
	if err != nil {
		return nil, nil, err
	}
	if err := writeCertAndKey(certPath, keyPath, cert, key); err != nil {
		return nil, nil, err
	}
	g.report.add(certPath, action, reason)
	return cert, key, nil
}

// ensureSAKey keeps sa.key (unless Force) and derives sa.pub from it.
func (g *generator) ensureSAKey() error {
	keyPath := g.path("sa.key")
	var key crypto.Signer
	if !g.cfg.Force {
		ok, err := exists(keyPath)
		if err != nil {
			return err
		}
		if ok {
			if key, err = LoadKeyFile(keyPath); err != nil {
				return fmt.Errorf("reuse service-account key: %w (remove it, or rerun with --force)", err)
			}
			g.report.add(keyPath, Reused, "")
		}
	}
	if key == nil {
		var err error
		if key, err = GenerateKey(g.cfg.SAKeyAlgorithm); err != nil {
			return err
		}
		keyPEM, err := EncodePrivateKeyPEM(key)
		if err != nil {
			return err
		}
		if err := writeFile(keyPath, keyPEM, privateMode); err != nil {
			return err
		}
		g.report.add(keyPath, Created, "")
	}
	pubPEM, err := EncodePublicKeyPEM(key.Public())
	if err != nil {
		return err
	}
	return g.ensureDerived("sa.pub", pubPEM, publicMode, "did not match sa.key")
}

// ensureDerived writes a file computed from others (a public key, a CA copy)
// when its content differs.
func (g *generator) ensureDerived(name string, data []byte, mode os.FileMode, reason string) error {
	path := g.path(name)
	wrote, existed, err := writeIfChanged(path, data, mode)
	if err != nil {
		return err
	}
	g.record(path, wrote, existed, reason)
	return nil
}
