// Command kube-proxy programs a node's iptables for Services (and, with
// --pod-routes, routes to the other nodes' pod CIDRs). Its flags carry
// upstream kube-proxy's names and meanings.
package main

import (
	"fmt"
	"os"

	"github.com/kstack/kstack/pkg/daemon"
	"github.com/kstack/kstack/pkg/proxy/app"
	"github.com/spf13/pflag"
)

// options are the flags that are not Config fields.
type options struct {
	config, logFormat string
	verbosity         int
	cleanup           bool
}

func flags(cfg *app.Config, o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("kube-proxy", pflag.ExitOnError)
	fs.StringVar(&o.config, "config", "", "The path to the configuration file (KubeProxyConfiguration); flags given on the command line override it.")
	fs.StringVar(&cfg.Client.Kubeconfig, "kubeconfig", cfg.Client.Kubeconfig, "Path to kubeconfig file with authorization information (the master location can be overridden by the master flag).")
	fs.StringVar(&cfg.Client.Master, "master", cfg.Client.Master, "The address of the Kubernetes API server (overrides any value in kubeconfig)")
	fs.Float32Var(&cfg.Client.QPS, "kube-api-qps", cfg.Client.QPS, "QPS to use while talking with kubernetes apiserver")
	fs.IntVar(&cfg.Client.Burst, "kube-api-burst", cfg.Client.Burst, "Burst to use while talking with kubernetes apiserver")
	fs.StringVar(&cfg.Client.ContentType, "kube-api-content-type", cfg.Client.ContentType, "Content type of requests sent to apiserver.")
	fs.StringVar(&cfg.HostnameOverride, "hostname-override", cfg.HostnameOverride, "If non-empty, will be used as the name of the Node that kube-proxy is running on.")
	fs.StringVar(&cfg.ClusterCIDR, "cluster-cidr", cfg.ClusterCIDR, "The CIDR range of the pods in the cluster; traffic to Services from outside it is masqueraded.")
	fs.StringSliceVar(&cfg.NodePortAddresses, "nodeport-addresses", cfg.NodePortAddresses, "A list of CIDR ranges that contain valid node IPs; NodePorts answer on the local addresses inside them. Default: all local addresses.")
	fs.DurationVar(&cfg.MinSyncPeriod, "iptables-min-sync-period", cfg.MinSyncPeriod, "The minimum period between iptables rule resyncs (e.g. '5s', '1m', '2h22m').")
	fs.DurationVar(&cfg.SyncPeriod, "iptables-sync-period", cfg.SyncPeriod, "An interval (e.g. '5s', '1m', '2h22m') indicating how frequently various re-synchronizing and cleanup operations are performed. Must be greater than 0.")
	fs.BoolVar(&cfg.MasqueradeAll, "masquerade-all", cfg.MasqueradeAll, "SNAT all traffic sent via Service cluster IPs.")
	fs.IntVar(&cfg.MasqueradeBit, "iptables-masquerade-bit", cfg.MasqueradeBit, "The bit of the fwmark space to mark packets requiring SNAT with. Must be within the range [0, 31].")
	fs.StringVar(&cfg.HealthzBindAddress, "healthz-bind-address", cfg.HealthzBindAddress, "The IP address and port for the health check server to serve on; empty or port 0 to disable.")
	fs.StringVar(&cfg.MetricsBindAddress, "metrics-bind-address", cfg.MetricsBindAddress, "The IP address and port for the metrics server to serve on; empty or port 0 to disable.")
	fs.StringVar(&cfg.ProxyMode, "proxy-mode", cfg.ProxyMode, "Which proxy mode to use: only 'iptables' is supported.")
	fs.BoolVar(&cfg.PodRoutes, "pod-routes", cfg.PodRoutes, "Keep a route to every other node's spec.podCIDR via its InternalIP (host-gw) and masquerade pod traffic leaving --cluster-cidr.")
	fs.BoolVar(&o.cleanup, "cleanup", false, "If true cleanup iptables rules and pod routes and exit.")
	fs.StringVar(&o.logFormat, "logging-format", "text", "Log format: text or json.")
	fs.IntVarP(&o.verbosity, "v", "v", 0, "Log verbosity (above 2 logs debug lines).")
	return fs
}

// load builds the configuration from the command line: --config's file,
// then the flags given over it.
func load(args []string) (app.Config, options, error) {
	cfg := app.Defaults()
	var o options
	_ = flags(&cfg, &o).Parse(args)
	if o.config != "" {
		cfg = app.Defaults()
		if err := app.LoadFile(o.config, &cfg); err != nil {
			return cfg, o, err
		}
		_ = flags(&cfg, &o).Parse(args)
	}
	return cfg, o, nil
}

func main() {
	cfg, o, err := load(os.Args[1:])
	if err != nil {
		fail(err)
	}
	daemon.SetupLogging(o.logFormat, o.verbosity)
	if o.cleanup {
		if err := app.Cleanup(); err != nil {
			fail(err)
		}
		return
	}
	if err := cfg.Validate(); err != nil {
		fail(err)
	}
	if err := app.Run(daemon.SignalContext(), cfg); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kube-proxy:", err)
	os.Exit(1)
}
