package controllermanager

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/kstack/kstack/pkg/daemon"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
)

// Config is the controller-manager's configuration; its fields carry
// kube-controller-manager's flag names.
type Config struct {
	Client daemon.ClientOptions
	// RESTConfig, when set, is used instead of Client (tests).
	RESTConfig *rest.Config

	// Controllers is --controllers: "*" for the default set, "foo" to
	// enable, "-foo" to disable.
	Controllers    []string
	LeaderElection daemon.LeaderElection

	BindAddress       string
	SecurePort        int // 0 disables the health and metrics server
	TLSCertFile       string
	TLSPrivateKeyFile string
	Profiling         bool
	// Auth guards the secure port as upstream's: /healthz, /readyz and
	// /livez are open, /metrics and /debug/pprof/ need a token or client
	// certificate the apiserver authorizes (delegated authn/authz).
	Auth daemon.DelegatedAuthOptions

	// UseServiceAccountCredentials gives each controller the identity of
	// its own service account in kube-system (tokens by TokenRequest).
	UseServiceAccountCredentials bool

	ConcurrentReplicaSetSyncs      int
	ConcurrentDeploymentSyncs      int
	ConcurrentEndpointSyncs        int
	ConcurrentServiceEndpointSyncs int // endpointslice
	ConcurrentGCSyncs              int
	ConcurrentNamespaceSyncs       int
	ConcurrentServiceAccountSyncs  int
	ConcurrentResourceQuotaSyncs   int
	ConcurrentJobSyncs             int
	ConcurrentStatefulSetSyncs     int
	ConcurrentDaemonSetSyncs       int
	ConcurrentRCSyncs              int // --concurrent-rc-syncs
	// --concurrent-horizontal-pod-autoscaler-syncs
	ConcurrentHorizontalPodAutoscalerSyncs int

	HorizontalPodAutoscalerSyncPeriod             time.Duration
	HorizontalPodAutoscalerDownscaleStabilization time.Duration
	HorizontalPodAutoscalerTolerance              float64

	NodeMonitorPeriod      time.Duration
	NodeMonitorGracePeriod time.Duration
	NodeStartupGracePeriod time.Duration
	NodeEvictionRate       float32
	// SecondaryNodeEvictionRate, UnhealthyZoneThreshold and
	// LargeClusterSizeThreshold are the zone-disruption knobs
	// (--secondary-node-eviction-rate, --unhealthy-zone-threshold,
	// --large-cluster-size-threshold).
	SecondaryNodeEvictionRate float32
	UnhealthyZoneThreshold    float32
	LargeClusterSizeThreshold int32

	AllocateNodeCIDRs bool
	ClusterCIDR       string
	NodeCIDRMaskSize  int

	ResourceQuotaSyncPeriod  time.Duration
	TerminatedPodGCThreshold int

	// Clock, when set, replaces the wall clock of the schedule-driven
	// controllers (cronjob): a seam for tests.
	Clock clock.PassiveClock

	ServiceAccountPrivateKeyFile string
	RootCAFile                   string
}

// Defaults returns upstream's defaults.
func Defaults() Config {
	return Config{
		Controllers: []string{"*"},
		LeaderElection: daemon.LeaderElection{Enabled: true, LeaseDuration: 15 * time.Second,
			RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
			ResourceNamespace: "kube-system", ResourceName: "kube-controller-manager"},
		BindAddress:                    "0.0.0.0",
		SecurePort:                     10257,
		Profiling:                      true,
		ConcurrentReplicaSetSyncs:      5,
		ConcurrentDeploymentSyncs:      5,
		ConcurrentEndpointSyncs:        5,
		ConcurrentServiceEndpointSyncs: 5,
		ConcurrentGCSyncs:              20,
		ConcurrentNamespaceSyncs:       10,
		ConcurrentServiceAccountSyncs:  5,
		ConcurrentResourceQuotaSyncs:   5,
		ConcurrentJobSyncs:             5,
		ConcurrentStatefulSetSyncs:     5,
		ConcurrentDaemonSetSyncs:       2,
		ConcurrentRCSyncs:              5,

		ConcurrentHorizontalPodAutoscalerSyncs:        5,
		HorizontalPodAutoscalerSyncPeriod:             15 * time.Second,
		HorizontalPodAutoscalerDownscaleStabilization: 5 * time.Minute,
		HorizontalPodAutoscalerTolerance:              0.1,
		NodeMonitorPeriod:                             5 * time.Second,
		NodeMonitorGracePeriod:                        40 * time.Second,
		NodeStartupGracePeriod:                        time.Minute,
		NodeEvictionRate:                              0.1,
		SecondaryNodeEvictionRate:                     0.01,
		UnhealthyZoneThreshold:                        0.55,
		LargeClusterSizeThreshold:                     50,
		NodeCIDRMaskSize:                              24,
		ResourceQuotaSyncPeriod:                       5 * time.Minute,
		TerminatedPodGCThreshold:                      12500,
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []string
	if _, err := EnabledControllers(c.Controllers); err != nil {
		errs = append(errs, err.Error())
	}
	if c.SecurePort < 0 || c.SecurePort > 65535 {
		errs = append(errs, fmt.Sprintf("--secure-port %d must be between 0 and 65535", c.SecurePort))
	}
	if c.BindAddress != "" && net.ParseIP(c.BindAddress) == nil {
		errs = append(errs, fmt.Sprintf("--bind-address %q is not an IP address", c.BindAddress))
	}
	if c.AllocateNodeCIDRs {
		if c.ClusterCIDR == "" {
			errs = append(errs, "--allocate-node-cidrs needs --cluster-cidr")
		} else if _, n, err := net.ParseCIDR(c.ClusterCIDR); err != nil {
			errs = append(errs, fmt.Sprintf("--cluster-cidr %q: %v", c.ClusterCIDR, err))
		} else if ones, bits := n.Mask.Size(); c.NodeCIDRMaskSize < ones || c.NodeCIDRMaskSize > bits {
			errs = append(errs, fmt.Sprintf("--node-cidr-mask-size %d must be between %d and %d for --cluster-cidr %s", c.NodeCIDRMaskSize, ones, bits, c.ClusterCIDR))
		}
	}
	if c.NodeMonitorGracePeriod <= 0 {
		errs = append(errs, "--node-monitor-grace-period must be positive")
	}
	if c.LeaderElection.Enabled && c.LeaderElection.RenewDeadline >= c.LeaderElection.LeaseDuration {
		errs = append(errs, "--leader-elect-renew-deadline must be shorter than --leader-elect-lease-duration")
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid controller-manager configuration: %s", strings.Join(errs, "; "))
	}
	return nil
}
