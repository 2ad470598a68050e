// Command pki generates a kstack cluster's certificates, keys and kubeconfigs
// in kubeadm's layout: the cluster and etcd CAs, the apiserver serving cert,
// client certs for every component and kubelet, kubelet serving certs, etcd
// server and peer certs, the service-account key pair and a kubeconfig per
// identity. Rerunning it reuses what is there and only fills in or reissues
// what the flags ask for; --force regenerates everything.
//
//	go run ./hack/pki --out /etc/kubernetes/pki --kubeconfig-dir /etc/kubernetes \
//	    --server https://10.0.0.100:6443 \
//	    --apiserver-names api.example,m1,m2,m3 \
//	    --apiserver-ips 10.0.0.100,10.0.0.1,10.0.0.2,10.0.0.3 \
//	    --etcd-members m1=10.0.0.1,m2=10.0.0.2,m3=10.0.0.3 \
//	    --nodes n1=10.0.0.11,n2=10.0.0.12
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kstack/kstack/pkg/auth/pki"
	"github.com/spf13/pflag"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pki:", err)
		os.Exit(1)
	}
}

// run parses args, generates the PKI and prints the report to out.
func run(args []string, out io.Writer) error {
	var cfg pki.ClusterConfig
	var apiserverIPs, serviceCIDR, nodes, etcdMembers, keyAlg, saKeyAlg string
	fs := pflag.NewFlagSet("pki", pflag.ContinueOnError)
	fs.StringVar(&cfg.Dir, "out", "_output/pki", "Directory for certificates and keys (kubeadm's /etc/kubernetes/pki).")
	fs.StringVar(&cfg.KubeconfigDir, "kubeconfig-dir", "", "Directory for the kubeconfigs (kubeadm's /etc/kubernetes). Empty: --out.")
	fs.StringVar(&cfg.ClusterName, "cluster-name", pki.DefaultClusterName, "Cluster name in kubeconfigs and CA names.")
	fs.StringVar(&cfg.Server, "server", pki.DefaultServer, "Apiserver URL in every kubeconfig (the VIP or load balancer); its host is also an apiserver SAN.")
	fs.StringSliceVar(&cfg.APIServerNames, "apiserver-names", nil, "Extra DNS SANs of the apiserver cert, comma separated: the VIP's name, every master's hostname.")
	fs.StringVar(&apiserverIPs, "apiserver-ips", "", "Extra IP SANs of the apiserver cert, comma separated: the VIP, every master's IP.")
	fs.StringVar(&serviceCIDR, "service-cidr", pki.DefaultServiceCIDR, "Service IP range(s), comma separated; the first IP of each is an apiserver SAN (the kubernetes Service).")
	fs.StringVar(&cfg.DNSDomain, "dns-domain", pki.DefaultDNSDomain, "Cluster DNS domain (kubernetes.default.svc.<domain> SAN).")
	fs.StringVar(&nodes, "nodes", "", "Nodes as name=ip,name=ip: a kubelet serving cert, client cert and kubelet-<name>.conf each. Repeat a name for more IPs.")
	fs.StringVar(&etcdMembers, "etcd-members", "default=127.0.0.1", "etcd members as name=ip,name=ip: a server and peer cert each (etcd/server-<name>, etcd/peer-<name>).")
	fs.BoolVar(&cfg.SingleCA, "single-ca", false, "Sign etcd certs with the cluster CA instead of a separate etcd CA.")
	fs.DurationVar(&cfg.Validity, "validity", pki.DefaultValidity, "Lifetime of new leaf certificates.")
	fs.DurationVar(&cfg.CAValidity, "ca-validity", pki.DefaultCAValidity, "Lifetime of new CA certificates.")
	fs.DurationVar(&cfg.RenewBefore, "renew-before", pki.DefaultRenewBefore, "Reissue leaf certificates that expire within this long.")
	fs.StringVar(&keyAlg, "key-algorithm", string(pki.ECDSAP256), "Key type of new CA and leaf keys: ecdsa-p256 or rsa-2048.")
	fs.StringVar(&saKeyAlg, "sa-key-algorithm", string(pki.RSA2048), "Key type of a new service-account key: rsa-2048 (RS256 tokens) or ecdsa-p256 (ES256).")
	fs.BoolVar(&cfg.Force, "force", false, "Regenerate everything, CAs and keys included (every existing cert and kubeconfig stops working).")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "Usage: pki [flags]\n\nGenerates (or completes) a cluster's PKI and kubeconfigs. Flags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.KeyAlgorithm, cfg.SAKeyAlgorithm = pki.KeyAlgorithm(keyAlg), pki.KeyAlgorithm(saKeyAlg)

	var err error
	if cfg.APIServerIPs, err = pki.ParseIPs(apiserverIPs); err != nil {
		return fmt.Errorf("--apiserver-ips: %w", err)
	}
	if cfg.ServiceCIDRs, err = pki.ParseCIDRs(serviceCIDR); err != nil {
		return fmt.Errorf("--service-cidr: %w", err)
	}
	if cfg.Nodes, err = pki.ParseMembers(nodes); err != nil {
		return fmt.Errorf("--nodes: %w", err)
	}
	if cfg.EtcdMembers, err = pki.ParseMembers(etcdMembers); err != nil {
		return fmt.Errorf("--etcd-members: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	report, err := pki.Generate(cfg)
	if report != nil {
		if perr := report.Print(out); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "pki: %d created, %d reissued, %d updated, %d reused in %s\n",
		report.Count(pki.Created), report.Count(pki.Reissued), report.Count(pki.Updated), report.Count(pki.Reused), cfg.Dir)
	return err
}
