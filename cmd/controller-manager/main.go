// Command controller-manager runs kstack's controllers (replicaset,
// deployment, endpointslice, nodelifecycle, garbagecollector, ...). Its
// flags carry kube-controller-manager's names and meanings.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/kstack/kstack/pkg/controllermanager"
	"github.com/kstack/kstack/pkg/daemon"
	"github.com/spf13/pflag"
)

func main() {
	cfg := controllermanager.Defaults()
	var logFormat string
	var verbosity int
	fs := pflag.NewFlagSet("controller-manager", pflag.ExitOnError)
	fs.StringVar(&cfg.Client.Kubeconfig, "kubeconfig", "", "Path to kubeconfig file with authorization and master location information.")
	fs.StringVar(&cfg.Client.Master, "master", "", "The address of the Kubernetes API server (overrides any value in kubeconfig).")
	fs.Float32Var(&cfg.Client.QPS, "kube-api-qps", 20, "QPS to use while talking with kubernetes apiserver.")
	fs.IntVar(&cfg.Client.Burst, "kube-api-burst", 30, "Burst to use while talking with kubernetes apiserver.")
	fs.StringVar(&cfg.Client.ContentType, "kube-api-content-type", "application/vnd.kubernetes.protobuf", "Content type of requests sent to apiserver.")
	fs.StringSliceVar(&cfg.Controllers, "controllers", cfg.Controllers, "A list of controllers to enable. '*' enables all on-by-default controllers, 'foo' enables the controller named 'foo', '-foo' disables the controller named 'foo'.\nAll controllers: "+strings.Join(controllermanager.KnownControllers(), ", "))
	fs.BoolVar(&cfg.LeaderElection.Enabled, "leader-elect", cfg.LeaderElection.Enabled, "Start a leader election client and gain leadership before executing the main loop.")
	fs.DurationVar(&cfg.LeaderElection.LeaseDuration, "leader-elect-lease-duration", cfg.LeaderElection.LeaseDuration, "The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership.")
	fs.DurationVar(&cfg.LeaderElection.RenewDeadline, "leader-elect-renew-deadline", cfg.LeaderElection.RenewDeadline, "The interval between attempts by the acting master to renew a leadership slot before it stops leading.")
	fs.DurationVar(&cfg.LeaderElection.RetryPeriod, "leader-elect-retry-period", cfg.LeaderElection.RetryPeriod, "The duration the clients should wait between attempting acquisition and renewal of a leadership.")
	fs.StringVar(&cfg.LeaderElection.ResourceNamespace, "leader-elect-resource-namespace", cfg.LeaderElection.ResourceNamespace, "The namespace of resource object that is used for locking during leader election.")
	fs.StringVar(&cfg.LeaderElection.ResourceName, "leader-elect-resource-name", cfg.LeaderElection.ResourceName, "The name of resource object that is used for locking during leader election.")
	var lock string
	fs.StringVar(&lock, "leader-elect-resource-lock", "leases", "The type of resource object that is used for locking during leader election. Supported: leases.")
	fs.StringVar(&cfg.BindAddress, "bind-address", cfg.BindAddress, "The IP address on which to listen for the --secure-port port.")
	fs.IntVar(&cfg.SecurePort, "secure-port", cfg.SecurePort, "The port on which to serve HTTPS with authentication and authorization. If 0, don't serve HTTPS at all.")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "File containing the default x509 Certificate for HTTPS. Without it a self-signed certificate is generated.")
	fs.StringVar(&cfg.TLSPrivateKeyFile, "tls-private-key-file", "", "File containing the default x509 private key matching --tls-cert-file.")
	fs.BoolVar(&cfg.Profiling, "profiling", cfg.Profiling, "Enable profiling via web interface host:port/debug/pprof/")
	cfg.Auth.AddFlags(fs)
	fs.BoolVar(&cfg.UseServiceAccountCredentials, "use-service-account-credentials", false, "If true, use individual service account credentials for each controller.")
	fs.IntVar(&cfg.ConcurrentReplicaSetSyncs, "concurrent-replicaset-syncs", cfg.ConcurrentReplicaSetSyncs, "The number of replica sets that are allowed to sync concurrently.")
	fs.IntVar(&cfg.ConcurrentDeploymentSyncs, "concurrent-deployment-syncs", cfg.ConcurrentDeploymentSyncs, "The number of deployment objects that are allowed to sync concurrently.")
	fs.IntVar(&cfg.ConcurrentEndpointSyncs, "concurrent-endpoint-syncs", cfg.ConcurrentEndpointSyncs, "The number of endpoint syncing operations that will be done concurrently.")
	fs.IntVar(&cfg.ConcurrentServiceEndpointSyncs, "concurrent-service-endpoint-syncs", cfg.ConcurrentServiceEndpointSyncs, "The number of service endpoint syncing operations that will be done concurrently.")
	fs.IntVar(&cfg.ConcurrentGCSyncs, "concurrent-gc-syncs", cfg.ConcurrentGCSyncs, "The number of garbage collector workers that are allowed to sync concurrently.")
	fs.IntVar(&cfg.ConcurrentNamespaceSyncs, "concurrent-namespace-syncs", cfg.ConcurrentNamespaceSyncs, "The number of namespace objects that are allowed to sync concurrently.")
	fs.IntVar(&cfg.ConcurrentServiceAccountSyncs, "concurrent-serviceaccount-token-syncs", cfg.ConcurrentServiceAccountSyncs, "The number of service account objects that are allowed to sync concurrently.")
	fs.IntVar(&cfg.ConcurrentResourceQuotaSyncs, "concurrent-resource-quota-syncs", cfg.ConcurrentResourceQuotaSyncs, "The number of resource quotas that are allowed to sync concurrently.")
	fs.DurationVar(&cfg.ResourceQuotaSyncPeriod, "resource-quota-sync-period", cfg.ResourceQuotaSyncPeriod, "The period for syncing quota usage status in the system.")
	fs.IntVar(&cfg.TerminatedPodGCThreshold, "terminated-pod-gc-threshold", cfg.TerminatedPodGCThreshold, "Number of terminated pods that can exist before the terminated pod garbage collector starts deleting terminated pods. If <= 0, the terminated pod garbage collector is disabled.")
	fs.IntVar(&cfg.ConcurrentJobSyncs, "concurrent-job-syncs", cfg.ConcurrentJobSyncs, "The number of job objects that are allowed to sync concurrently.")
	fs.IntVar(&cfg.ConcurrentStatefulSetSyncs, "concurrent-statefulset-syncs", cfg.ConcurrentStatefulSetSyncs, "The number of statefulset objects that are allowed to sync concurrently.")
	fs.IntVar(&cfg.ConcurrentDaemonSetSyncs, "concurrent-daemonset-syncs", cfg.ConcurrentDaemonSetSyncs, "The number of daemonset objects that are allowed to sync concurrently.")
	fs.IntVar(&cfg.ConcurrentRCSyncs, "concurrent-rc-syncs", cfg.ConcurrentRCSyncs, "The number of replication controllers that are allowed to sync concurrently.")
	fs.IntVar(&cfg.ConcurrentHorizontalPodAutoscalerSyncs, "concurrent-horizontal-pod-autoscaler-syncs", cfg.ConcurrentHorizontalPodAutoscalerSyncs, "The number of horizontal pod autoscaler objects that are allowed to sync concurrently.")
	fs.DurationVar(&cfg.HorizontalPodAutoscalerSyncPeriod, "horizontal-pod-autoscaler-sync-period", cfg.HorizontalPodAutoscalerSyncPeriod, "The period for syncing the number of pods in horizontal pod autoscaler.")
	fs.DurationVar(&cfg.HorizontalPodAutoscalerDownscaleStabilization, "horizontal-pod-autoscaler-downscale-stabilization", cfg.HorizontalPodAutoscalerDownscaleStabilization, "The period for which autoscaler will look backwards and not scale down below any recommendation it made during that period.")
	fs.Float64Var(&cfg.HorizontalPodAutoscalerTolerance, "horizontal-pod-autoscaler-tolerance", cfg.HorizontalPodAutoscalerTolerance, "The minimum change (from 1.0) in the desired-to-actual metrics ratio for the horizontal pod autoscaler to consider scaling.")
	fs.DurationVar(&cfg.NodeMonitorPeriod, "node-monitor-period", cfg.NodeMonitorPeriod, "The period for syncing NodeStatus in the node lifecycle controller.")
	fs.DurationVar(&cfg.NodeMonitorGracePeriod, "node-monitor-grace-period", cfg.NodeMonitorGracePeriod, "Amount of time which we allow running Node to be unresponsive before marking it unhealthy.")
	fs.DurationVar(&cfg.NodeStartupGracePeriod, "node-startup-grace-period", cfg.NodeStartupGracePeriod, "Amount of time which we allow starting Node to be unresponsive before marking it unhealthy.")
	fs.Float32Var(&cfg.NodeEvictionRate, "node-eviction-rate", cfg.NodeEvictionRate, "Number of nodes per second on which pods are deleted in case of node failure when a zone is healthy.")
	fs.Float32Var(&cfg.SecondaryNodeEvictionRate, "secondary-node-eviction-rate", cfg.SecondaryNodeEvictionRate, "Number of nodes per second on which pods are deleted in case of node failure when a zone is unhealthy. This value is implicitly overridden to 0 if the cluster size is smaller than --large-cluster-size-threshold.")
	fs.Float32Var(&cfg.UnhealthyZoneThreshold, "unhealthy-zone-threshold", cfg.UnhealthyZoneThreshold, "Fraction of Nodes in a zone which needs to be not Ready (minimum 3) for zone to be treated as unhealthy.")
	fs.Int32Var(&cfg.LargeClusterSizeThreshold, "large-cluster-size-threshold", cfg.LargeClusterSizeThreshold, "Number of nodes from which node-lifecycle-controller treats the cluster as large for the eviction logic purposes.")
	fs.BoolVar(&cfg.AllocateNodeCIDRs, "allocate-node-cidrs", false, "Should CIDRs for Pods be allocated and set on the nodes.")
	fs.StringVar(&cfg.ClusterCIDR, "cluster-cidr", "", "CIDR Range for Pods in cluster. Requires --allocate-node-cidrs to be true.")
	fs.IntVar(&cfg.NodeCIDRMaskSize, "node-cidr-mask-size", cfg.NodeCIDRMaskSize, "Mask size for node cidr in cluster.")
	fs.StringVar(&cfg.ServiceAccountPrivateKeyFile, "service-account-private-key-file", "", "Filename containing a PEM-encoded private RSA or ECDSA key used to sign service account tokens.")
	fs.StringVar(&cfg.RootCAFile, "root-ca-file", "", "If set, this root certificate authority will be included in service account's token secret and the kube-root-ca.crt ConfigMap.")
	fs.StringVar(&logFormat, "logging-format", "text", "Log format: text or json.")
	fs.IntVarP(&verbosity, "v", "v", 0, "Log verbosity (above 2 logs debug lines).")
	_ = fs.Parse(os.Args[1:])

	daemon.SetupLogging(logFormat, verbosity)
	if lock != "leases" {
		fail(fmt.Errorf("--leader-elect-resource-lock %q: only leases is supported", lock))
	}
	if err := cfg.Validate(); err != nil {
		fail(err)
	}
	if err := controllermanager.Run(daemon.SignalContext(), cfg); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "controller-manager:", err)
	os.Exit(1)
}
