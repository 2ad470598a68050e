// Command apiserver serves the Kubernetes API from etcd. Its flags carry
// kube-apiserver's names and meanings.
package main

import (
	"fmt"
	"net"
	"os"

	"github.com/kstack/kstack/pkg/apiserver"
	"github.com/kstack/kstack/pkg/daemon"
	"github.com/spf13/pflag"
)

func main() {
	var cfg apiserver.Config
	var bind, advertise, logFormat string
	var verbosity int
	fs := pflag.NewFlagSet("apiserver", pflag.ExitOnError)
	fs.StringSliceVar(&cfg.EtcdServers, "etcd-servers", nil, "List of etcd servers to connect with (scheme://ip:port), comma separated. Empty runs an embedded etcd with its data under --data-dir.")
	fs.StringVar(&cfg.EtcdPrefix, "etcd-prefix", "/registry", "The prefix to prepend to all resource paths in etcd.")
	fs.StringVar(&cfg.EtcdCAFile, "etcd-cafile", "", "SSL Certificate Authority file used to secure etcd communication.")
	fs.StringVar(&cfg.EtcdCertFile, "etcd-certfile", "", "SSL certification file used to secure etcd communication.")
	fs.StringVar(&cfg.EtcdKeyFile, "etcd-keyfile", "", "SSL key file used to secure etcd communication.")
	fs.DurationVar(&cfg.EtcdCompactionInterval, "etcd-compaction-interval", 5*60*1e9, "The interval of compaction requests. If 0, the compaction request from apiserver is disabled.")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "Directory for the embedded etcd's data (used when --etcd-servers is empty).")
	fs.StringVar(&bind, "bind-address", "0.0.0.0", "The IP address on which to listen for the --secure-port port.")
	fs.IntVar(&cfg.SecurePort, "secure-port", 6443, "The port on which to serve HTTPS with authentication and authorization.")
	fs.StringVar(&advertise, "advertise-address", "", "The IP address on which to advertise the apiserver to members of the cluster (the kubernetes Service's endpoints). Empty uses --bind-address or the host's first address.")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "File containing the default x509 Certificate for HTTPS (CA cert, if any, concatenated after server cert).")
	fs.StringVar(&cfg.TLSPrivateKeyFile, "tls-private-key-file", "", "File containing the default x509 private key matching --tls-cert-file.")
	fs.StringVar(&cfg.CertDir, "cert-dir", "/var/run/kubernetes", "The directory where the TLS certs are located. If --tls-cert-file and --tls-private-key-file are provided, this flag will be ignored.")
	fs.StringVar(&cfg.ServiceClusterIPRange, "service-cluster-ip-range", "10.0.0.0/24", "A CIDR notation IP range from which to assign service cluster IPs.")
	fs.StringVar(&cfg.ServiceNodePortRange, "service-node-port-range", "30000-32767", "A port range to reserve for services with NodePort visibility.")
	fs.IntVar(&cfg.MaxRequestsInflight, "max-requests-inflight", 400, "The maximum number of non-mutating requests in flight at a given time. 0 means no limit.")
	fs.IntVar(&cfg.MaxMutatingRequestsInflight, "max-mutating-requests-inflight", 200, "The maximum number of mutating requests in flight at a given time. 0 means no limit.")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", 60*1e9, "The duration a handler must keep a request open before timing it out (watches excepted).")
	fs.BoolVar(&cfg.Profiling, "profiling", true, "Enable profiling via web interface host:port/debug/pprof/")
	fs.StringVar(&logFormat, "logging-format", "text", "Log format: text or json.")
	fs.IntVarP(&verbosity, "v", "v", 0, "Log verbosity (above 2 logs debug lines).")
	_ = fs.Parse(os.Args[1:])

	daemon.SetupLogging(logFormat, verbosity)
	cfg.BindAddress = net.ParseIP(bind)
	if cfg.BindAddress == nil {
		fail(fmt.Errorf("--bind-address %q is not an IP address", bind))
	}
	if advertise != "" {
		cfg.AdvertiseAddress = net.ParseIP(advertise)
		if cfg.AdvertiseAddress == nil {
			fail(fmt.Errorf("--advertise-address %q is not an IP address", advertise))
		}
	}
	if err := cfg.Validate(); err != nil {
		fail(err)
	}
	if err := apiserver.Run(daemon.SignalContext(), cfg); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "apiserver: %v\n", err)
	os.Exit(1)
}
