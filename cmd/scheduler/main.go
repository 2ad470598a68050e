// Command scheduler assigns pending pods to nodes. Its flags carry
// kube-scheduler's names and meanings; --config takes a
// KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) file.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/kstack/kstack/pkg/daemon"
	"github.com/kstack/kstack/pkg/scheduler"
)

func main() {
	var cfg scheduler.Config
	var configFile, logFormat string
	var verbosity int
	fs := pflag.NewFlagSet("scheduler", pflag.ExitOnError)
	fs.StringVar(&configFile, "config", "", "The path to the KubeSchedulerConfiguration file (profiles, plugins, pluginConfig, percentageOfNodesToScore, parallelism, clientConnection, leaderElection).")
	fs.StringVar(&cfg.Client.Kubeconfig, "kubeconfig", "", "Path to kubeconfig file with authorization and master location information.")
	fs.StringVar(&cfg.Client.Master, "master", "", "The address of the Kubernetes API server (overrides any value in kubeconfig).")
	// Upstream defaults to 50/100; the scheduler's throughput is bounded by
	// one binding (and some status writes) per pod, so low client limits
	// would be the bottleneck. Lower them to protect a small apiserver.
	fs.Float32Var(&cfg.Client.QPS, "kube-api-qps", 1000, "QPS to use while talking with the apiserver (default high so that the client does not bound throughput).")
	fs.IntVar(&cfg.Client.Burst, "kube-api-burst", 2000, "Burst to use while talking with the apiserver.")
	fs.StringVar(&cfg.Client.ContentType, "kube-api-content-type", "application/vnd.kubernetes.protobuf", "Content type of requests sent to the apiserver.")
	fs.BoolVar(&cfg.LeaderElection.Enabled, "leader-elect", true, "Start a leader election client and gain leadership before scheduling. Enable this when running replicated schedulers for high availability.")
	fs.DurationVar(&cfg.LeaderElection.LeaseDuration, "leader-elect-lease-duration", 15*time.Second, "The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership.")
	fs.DurationVar(&cfg.LeaderElection.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second, "The interval between attempts by the acting master to renew a leadership slot before it stops leading.")
	fs.DurationVar(&cfg.LeaderElection.RetryPeriod, "leader-elect-retry-period", 2*time.Second, "The duration the clients should wait between attempting acquisition and renewal of a leadership.")
	fs.StringVar(&cfg.LeaderElection.ResourceNamespace, "leader-elect-resource-namespace", "kube-system", "The namespace of the Lease used for locking during leader election.")
	fs.StringVar(&cfg.LeaderElection.ResourceName, "leader-elect-resource-name", "kube-scheduler", "The name of the Lease used for locking during leader election.")
	fs.StringVar(&cfg.Serve.BindAddress, "bind-address", "0.0.0.0", "The IP address on which to listen for the --secure-port port.")
	fs.IntVar(&cfg.Serve.Port, "secure-port", 10259, "The port on which to serve HTTPS with authentication and authorization (healthz, livez, readyz, metrics, debug/pprof). 0 disables it.")
	fs.StringVar(&cfg.Serve.CertFile, "tls-cert-file", "", "File containing the x509 certificate for HTTPS (self-signed when empty).")
	fs.StringVar(&cfg.Serve.KeyFile, "tls-private-key-file", "", "File containing the x509 private key matching --tls-cert-file.")
	fs.BoolVar(&cfg.Profiling, "profiling", true, "Enable profiling via web interface host:port/debug/pprof/")
	cfg.Auth.AddFlags(fs)
	fs.StringVar(&logFormat, "logging-format", "text", "Log format: text or json.")
	fs.IntVarP(&verbosity, "v", "v", 0, "Log verbosity (above 2: debug).")
	_ = fs.Parse(os.Args[1:])

	daemon.SetupLogging(logFormat, verbosity)
	if configFile != "" {
		c, err := scheduler.LoadConfigFile(configFile)
		if err != nil {
			fail(err)
		}
		cfg.Component = *c
		applyFileDefaults(fs, &cfg, c)
	}
	if err := cfg.Validate(); err != nil {
		fail(err)
	}
	if err := scheduler.RunDaemon(daemon.SignalContext(), &cfg); err != nil {
		fail(err)
	}
}

// applyFileDefaults lets the config file set what no flag set explicitly.
func applyFileDefaults(fs *pflag.FlagSet, cfg *scheduler.Config, c *scheduler.KubeSchedulerConfiguration) {
	cc := c.ClientConnection
	if !fs.Changed("kubeconfig") && cc.Kubeconfig != "" {
		cfg.Client.Kubeconfig = cc.Kubeconfig
	}
	if !fs.Changed("kube-api-qps") && cc.QPS != 0 {
		cfg.Client.QPS = cc.QPS
	}
	if !fs.Changed("kube-api-burst") && cc.Burst != 0 {
		cfg.Client.Burst = int(cc.Burst)
	}
	if le := c.LeaderElection; le != nil {
		if !fs.Changed("leader-elect") && le.LeaderElect != nil {
			cfg.LeaderElection.Enabled = *le.LeaderElect
		}
		if !fs.Changed("leader-elect-lease-duration") && le.LeaseDuration.Duration != 0 {
			cfg.LeaderElection.LeaseDuration = le.LeaseDuration.Duration
		}
		if !fs.Changed("leader-elect-renew-deadline") && le.RenewDeadline.Duration != 0 {
			cfg.LeaderElection.RenewDeadline = le.RenewDeadline.Duration
		}
		if !fs.Changed("leader-elect-retry-period") && le.RetryPeriod.Duration != 0 {
			cfg.LeaderElection.RetryPeriod = le.RetryPeriod.Duration
		}
		if !fs.Changed("leader-elect-resource-namespace") && le.ResourceNamespace != "" {
			cfg.LeaderElection.ResourceNamespace = le.ResourceNamespace
		}
		if !fs.Changed("leader-elect-resource-name") && le.ResourceName != "" {
			cfg.LeaderElection.ResourceName = le.ResourceName
		}
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "scheduler: %v\n", err)
	os.Exit(1)
}
