package kubelet

import (
	"errors"
	"fmt"
	"net"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
)

// Config is the kubelet's configuration (upstream's flag names in
// comments).
type Config struct {
	Kubeconfig string       // --kubeconfig
	RESTConfig *rest.Config // set instead of Kubeconfig by in-process callers

	NodeName           string            // --hostname-override
	NodeIP             string            // --node-ip
	NodeLabels         map[string]string // --node-labels
	RegisterWithTaints []v1.Taint        // --register-with-taints
	// PodCIDR is set on the Node at registration when it has none
	// (--pod-cidr; with a controller-manager, node IPAM assigns it).
	PodCIDR string

	ContainerRuntimeEndpoint string // --container-runtime-endpoint: containerd's socket
	ContainerdNamespace      string // --containerd-namespace (default k8s.io)
	PodInfraContainerImage   string // --pod-infra-container-image

	RootDir    string // --root-dir (/var/lib/kubelet)
	PodLogsDir string // --pod-logs-dir (/var/log/pods)
	// StateDir (--state-dir, ours) holds what lives only while the machine
	// is up: the containers' stdio FIFOs, the pods' /dev/shm tmpfs mount
	// points, the copies of images' user files. It belongs on a tmpfs
	// (/run), as containerd's CRI plugin keeps the same under /run/containerd;
	// one per kubelet on a machine.
	StateDir string

	CNIBinDirs []string // --cni-bin-dir
	CNIConfDir string   // --cni-conf-dir
	CNIBridge  string   // --cni-bridge (ours): the node's bridge name
	// NetNSDir is where pod network namespaces are mounted (/run/netns).
	NetNSDir string

	// StaticPodPath is a directory (or file) of static pod manifests
	// (--pod-manifest-path; staticPodPath in the config file).
	StaticPodPath string
	// FileCheckFrequency is how often StaticPodPath is rescanned
	// (--file-check-frequency, 20s).
	FileCheckFrequency time.Duration

	ClusterDNS    []string // --cluster-dns
	ClusterDomain string   // --cluster-domain
	// ResolvConf is the node's resolver file that pods with dnsPolicy
	// Default (and ClusterFirst's search path) start from (--resolv-conf,
	// resolvConf; nil is /etc/resolv.conf; "" is none, as upstream).
	ResolvConf *string

	MaxPods        int             // --max-pods
	SystemReserved v1.ResourceList // --system-reserved
	KubeReserved   v1.ResourceList // --kube-reserved
	// CgroupRoot (--cgroup-root), when set, holds the pods' cgroups:
	// <root>/kubepods[/burstable|/besteffort]/pod<uid>/<container>, as
	// upstream's cgroupfs driver (cgroups.go). Empty: containerd's
	// /<namespace>/<container>.
	CgroupRoot string
	// EvictionHard (--eviction-hard memory.available<100Mi,...) maps
	// signal -> threshold (a quantity or a percentage); nil is upstream's
	// defaults, empty disables eviction (package eviction).
	EvictionHard map[string]string
	// EvictionPressureTransitionPeriod (--eviction-pressure-transition-period,
	// 5m) keeps a pressure condition after its threshold was last met.
	EvictionPressureTransitionPeriod time.Duration

	NodeStatusUpdateFrequency time.Duration // --node-status-update-frequency
	NodeLeaseDuration         time.Duration // 40s
	SyncFrequency             time.Duration // --sync-frequency: per-pod resync

	Port        int // --port: the kubelet's HTTPS server (logs, exec, port-forward, stats, health, metrics)
	BindAddress string

	TLSCertFile       string // --tls-cert-file (empty: self-signed, kept in <root-dir>/pki)
	TLSPrivateKeyFile string // --tls-private-key-file
	ClientCAFile      string // --client-ca-file: verifies client certificates
	AnonymousAuth     *bool  // --anonymous-auth (default true)
	// AuthorizationMode is AlwaysAllow or Webhook (SubjectAccessReview)
	// (--authorization-mode, default AlwaysAllow as upstream's flag).
	AuthorizationMode              string
	StreamingConnectionIdleTimeout time.Duration // --streaming-connection-idle-timeout (4h)

	// EventRecordQPS (--event-qps, eventRecordQPS; nil is 50) limits the
	// kubelet's event writes per second, on a client of their own; 0 means
	// no limit, as upstream. EventBurst (--event-burst, eventBurst; 0 is
	// 100) is their burst.
	EventRecordQPS *int32
	EventBurst     int32

	ContainerLogMaxSize  int64 // --container-log-max-size in bytes (10Mi)
	ContainerLogMaxFiles int   // --container-log-max-files (5)

	// Runtime is RuntimeRemote (containerd, the default) or RuntimeFake:
	// a hollow node, real but for its containers (--runtime).
	Runtime string
	// HollowNodes, when positive, runs that many hollow kubelets in this
	// process, named HollowNodePrefix plus an index, with the fake runtime
	// and one shared client and pod informer (--hollow-nodes,
	// --hollow-node-prefix, default "hollow-node-").
	HollowNodes      int
	HollowNodePrefix string
}

// Runtimes of Config.Runtime.
const (
	RuntimeRemote = "remote"
	RuntimeFake   = "fake"
)

// DefaultStateDir is --state-dir's default.
const DefaultStateDir = "/run/kstack/kubelet"

// Default fills unset fields with upstream's defaults.
func (c *Config) Default() {
	if c.ContainerdNamespace == "" {
		c.ContainerdNamespace = "k8s.io"
	}
	if c.PodInfraContainerImage == "" {
		c.PodInfraContainerImage = "kstack.local/pause:1.0"
	}
	if c.RootDir == "" {
		c.RootDir = "/var/lib/kubelet"
	}
	if c.PodLogsDir == "" {
		c.PodLogsDir = "/var/log/pods"
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if len(c.CNIBinDirs) == 0 {
		c.CNIBinDirs = []string{"/opt/cni/bin", "/usr/lib/cni"}
	}
	if c.CNIConfDir == "" {
		c.CNIConfDir = "/etc/cni/net.d"
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = "cluster.local"
	}
	if c.FileCheckFrequency == 0 {
		c.FileCheckFrequency = 20 * time.Second
	}
	if c.MaxPods == 0 {
		c.MaxPods = 110
	}
	if c.NodeStatusUpdateFrequency == 0 {
		c.NodeStatusUpdateFrequency = 10 * time.Second
	}
	if c.NodeLeaseDuration == 0 {
		c.NodeLeaseDuration = 40 * time.Second
	}
	if c.SyncFrequency == 0 {
		c.SyncFrequency = 10 * time.Second
	}
	if c.AnonymousAuth == nil {
		t := true
		c.AnonymousAuth = &t
	}
	if c.AuthorizationMode == "" {
		c.AuthorizationMode = "AlwaysAllow"
	}
	if c.StreamingConnectionIdleTimeout == 0 {
		c.StreamingConnectionIdleTimeout = 4 * time.Hour
	}
	if c.ContainerLogMaxSize == 0 {
		c.ContainerLogMaxSize = 10 * 1024 * 1024
	}
	if c.ContainerLogMaxFiles == 0 {
		c.ContainerLogMaxFiles = 5
	}
	if c.ContainerRuntimeEndpoint == "" {
		c.ContainerRuntimeEndpoint = "/run/containerd/containerd.sock"
	}
	if c.EvictionPressureTransitionPeriod == 0 {
		c.EvictionPressureTransitionPeriod = 5 * time.Minute
	}
	if c.EventRecordQPS == nil {
		qps := int32(defaultEventQPS)
		c.EventRecordQPS = &qps
	}
	if c.EventBurst == 0 {
		c.EventBurst = defaultEventBurst
	}
	if c.HollowNodes > 0 {
		c.Runtime = RuntimeFake
	}
	if c.Runtime == "" {
		c.Runtime = RuntimeRemote
	}
	if c.HollowNodePrefix == "" {
		c.HollowNodePrefix = "hollow-node-"
	}
}

// eventQPS is EventRecordQPS, its default when unset.
func (c *Config) eventQPS() int32 {
	if c.EventRecordQPS == nil {
		return defaultEventQPS
	}
	return *c.EventRecordQPS
}

// Validate reports the first configuration error.
func (c *Config) Validate() error {
	if c.Kubeconfig == "" && c.RESTConfig == nil {
		return errors.New("--kubeconfig is required")
	}
	if c.NodeName == "" && c.HollowNodes == 0 {
		return errors.New("--hostname-override (the node name) is required")
	}
	if c.NodeIP != "" && net.ParseIP(c.NodeIP) == nil {
		return fmt.Errorf("--node-ip %q is not an IP address", c.NodeIP)
	}
	if c.PodCIDR != "" {
		if _, _, err := net.ParseCIDR(c.PodCIDR); err != nil {
			return fmt.Errorf("--pod-cidr: %w", err)
		}
	}
	for _, ip := range c.ClusterDNS {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("--cluster-dns %q is not an IP address", ip)
		}
	}
	if c.AuthorizationMode != "AlwaysAllow" && c.AuthorizationMode != "Webhook" {
		return fmt.Errorf("--authorization-mode %q: want AlwaysAllow or Webhook", c.AuthorizationMode)
	}
	if c.ContainerLogMaxFiles < 2 {
		return fmt.Errorf("--container-log-max-files must be at least 2, got %d", c.ContainerLogMaxFiles)
	}
	if c.ContainerLogMaxSize < 0 {
		return fmt.Errorf("--container-log-max-size must not be negative")
	}
	if c.Runtime != RuntimeRemote && c.Runtime != RuntimeFake {
		return fmt.Errorf("--runtime %q: want %s or %s", c.Runtime, RuntimeRemote, RuntimeFake)
	}
	if _, err := evictionThresholds(*c); err != nil {
		return fmt.Errorf("--eviction-hard: %w", err)
	}
	if c.HollowNodes < 0 {
		return fmt.Errorf("--hollow-nodes must not be negative, got %d", c.HollowNodes)
	}
	if c.EventRecordQPS != nil && *c.EventRecordQPS < 0 {
		return fmt.Errorf("--event-qps must not be negative, got %d", *c.EventRecordQPS)
	}
	if c.EventBurst < 0 {
		return fmt.Errorf("--event-burst must not be negative, got %d", c.EventBurst)
	}
	if c.MaxPods < 1 {
		return fmt.Errorf("--max-pods must be positive, got %d", c.MaxPods)
	}
	return nil
}
