// Command kubelet is kstack's node agent: it registers the node and runs
// the pods bound to it on containerd with CNI networking. Its flags carry
// upstream kubelet's names and meanings.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kstack/kstack/pkg/daemon"
	"github.com/kstack/kstack/pkg/kubelet"
)

func main() {
	var cfg kubelet.Config
	var nodeLabels, taints, systemReserved, kubeReserved map[string]string
	var logFormat string
	var verbosity int
	fs := pflag.NewFlagSet("kubelet", pflag.ExitOnError)
	fs.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig file with the kubelet's credentials (system:node:<name>).")
	fs.StringVar(&cfg.NodeName, "hostname-override", "", "The node's name (default: the hostname).")
	fs.StringVar(&cfg.NodeIP, "node-ip", "", "The node's InternalIP (default: the source address of the default route).")
	fs.StringToStringVar(&nodeLabels, "node-labels", nil, "Labels to add when registering the node, key=value pairs separated by commas.")
	fs.StringToStringVar(&taints, "register-with-taints", nil, "Taints to register the node with, <key>=<value>:<effect> separated by commas.")
	fs.StringVar(&cfg.PodCIDR, "pod-cidr", "", "The podCIDR to set on the node when it has none (normally node IPAM assigns it).")
	fs.StringVar(&cfg.ContainerRuntimeEndpoint, "container-runtime-endpoint", "/run/containerd/containerd.sock", "containerd's socket (a path, or unix:///path).")
	fs.StringVar(&cfg.ContainerdNamespace, "containerd-namespace", "k8s.io", "The containerd namespace the kubelet's images and containers live in; one per kubelet on a machine.")
	fs.StringVar(&cfg.PodInfraContainerImage, "pod-infra-container-image", "kstack.local/pause:1.0", "The image of the pods' sandbox (pause) container.")
	fs.StringVar(&cfg.RootDir, "root-dir", "/var/lib/kubelet", "Directory for the kubelet's files (pod files, CNI cache and IPAM).")
	fs.StringVar(&cfg.StateDir, "state-dir", kubelet.DefaultStateDir, "Directory for what lives only while the machine is up (containers' stdio FIFOs, pods' /dev/shm mounts); put it on a tmpfs such as /run. One per kubelet on a machine.")
	fs.StringVar(&cfg.PodLogsDir, "pod-logs-dir", "/var/log/pods", "Directory of the containers' CRI-format logs.")
	fs.StringVar(&cfg.NetNSDir, "netns-dir", "/run/netns", "Directory where the pods' network namespaces are bind-mounted (one per kubelet on a machine).")
	fs.StringSliceVar(&cfg.CNIBinDirs, "cni-bin-dir", []string{"/opt/cni/bin", "/usr/lib/cni"}, "Directories of the CNI plugin binaries.")
	fs.StringVar(&cfg.CNIConfDir, "cni-conf-dir", "/etc/cni/net.d", "Directory the kubelet writes its CNI conflist to.")
	fs.StringVar(&cfg.CNIBridge, "cni-bridge", "cni0", "Name of the node's pod bridge.")
	fs.StringSliceVar(&cfg.ClusterDNS, "cluster-dns", nil, "DNS server IPs for pods with dnsPolicy ClusterFirst.")
	fs.StringVar(&cfg.ClusterDomain, "cluster-domain", "cluster.local", "The cluster's DNS domain.")
	resolvConf := fs.String("resolv-conf", "/etc/resolv.conf", "Resolver configuration file used as the basis for the container DNS resolution configuration (\"\" disables it: pods with dnsPolicy Default get the local machine's nameserver).")
	fs.IntVar(&cfg.MaxPods, "max-pods", 110, "Number of pods that can run on this node.")
	fs.StringToStringVar(&systemReserved, "system-reserved", nil, "Resources reserved for the system, e.g. cpu=200m,memory=500Mi.")
	fs.StringToStringVar(&kubeReserved, "kube-reserved", nil, "Resources reserved for Kubernetes daemons, e.g. cpu=200m,memory=500Mi.")
	fs.DurationVar(&cfg.NodeStatusUpdateFrequency, "node-status-update-frequency", 10*time.Second, "How often the kubelet posts the node status.")
	fs.DurationVar(&cfg.SyncFrequency, "sync-frequency", 10*time.Second, "How often each pod is resynced.")
	fs.IntVar(&cfg.Port, "port", 10250, "The HTTPS port (healthz, metrics). 0 disables it.")
	fs.StringVar(&cfg.BindAddress, "address", "0.0.0.0", "The address to serve on.")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "The kubelet's serving certificate (default: a self-signed one in <root-dir>/pki).")
	fs.StringVar(&cfg.TLSPrivateKeyFile, "tls-private-key-file", "", "The key of --tls-cert-file.")
	fs.StringVar(&cfg.ClientCAFile, "client-ca-file", "", "CA bundle that verifies client certificates (the apiserver's --kubelet-client-certificate).")
	anonymous := fs.Bool("anonymous-auth", true, "Serve requests without a verified client certificate as system:anonymous.")
	fs.StringVar(&cfg.AuthorizationMode, "authorization-mode", "AlwaysAllow", "AlwaysAllow or Webhook (SubjectAccessReview to the apiserver).")
	fs.DurationVar(&cfg.StreamingConnectionIdleTimeout, "streaming-connection-idle-timeout", 4*time.Hour, "Idle time after which exec, attach and port-forward streams are closed.")
	logMaxSize := fs.String("container-log-max-size", "10Mi", "Size at which a container log file is rotated, e.g. 10Mi.")
	fs.IntVar(&cfg.ContainerLogMaxFiles, "container-log-max-files", 5, "Log files kept per container (at least 2).")
	eventQPS := fs.Int32("event-qps", 50, "QPS to limit event creations (on a client of their own). The number must be >= 0. If 0 there is no limit enforced.")
	fs.Int32Var(&cfg.EventBurst, "event-burst", 100, "Maximum size of a bursty event records, temporarily allows event records to burst to this number, while still not exceeding event-qps. The number must be >= 0. If 0 will use DefaultBurst: 100.")
	fs.StringVar(&cfg.StaticPodPath, "pod-manifest-path", "", "Directory (or file) of static pod manifests: the kubelet runs them itself and mirrors them into the apiserver.")
	fs.DurationVar(&cfg.FileCheckFrequency, "file-check-frequency", 20*time.Second, "How often --pod-manifest-path is rescanned.")
	fs.StringVar(&cfg.CgroupRoot, "cgroup-root", "", "Root cgroup of the pods: <root>/kubepods/{burstable,besteffort}/pod<uid>; empty leaves containers in containerd's /<namespace>/<id>.")
	evictionHard := fs.String("eviction-hard", "", "Hard eviction thresholds, e.g. memory.available<100Mi,nodefs.available<10% (default: upstream's memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%; \"\" with the flag given disables eviction).")
	fs.DurationVar(&cfg.EvictionPressureTransitionPeriod, "eviction-pressure-transition-period", 5*time.Minute, "How long a pressure condition stays after its eviction threshold was last met.")
	configFile := fs.String("config", "", "A KubeletConfiguration (kubelet.config.k8s.io/v1beta1) YAML file; flags given on the command line override its fields.")
	fs.StringVar(&cfg.Runtime, "runtime", kubelet.RuntimeRemote, "Container runtime: remote (containerd) or fake (a hollow node: containers are faked, everything else is real).")
	fs.IntVar(&cfg.HollowNodes, "hollow-nodes", 0, "Run this many hollow kubelets (--runtime=fake) in this process, for scale tests.")
	fs.StringVar(&cfg.HollowNodePrefix, "hollow-node-prefix", "hollow-node-", "Name prefix of the hollow nodes (followed by an index).")
	fs.StringVar(&logFormat, "logging-format", "text", "Log format: text or json.")
	fs.IntVarP(&verbosity, "v", "v", 0, "Log verbosity (above 2: debug).")
	_ = fs.Parse(os.Args[1:])

	daemon.SetupLogging(logFormat, verbosity)
	if cfg.NodeName == "" {
		cfg.NodeName, _ = os.Hostname()
		cfg.NodeName = strings.ToLower(cfg.NodeName)
	}
	cfg.ContainerRuntimeEndpoint = strings.TrimPrefix(cfg.ContainerRuntimeEndpoint, "unix://")
	cfg.AnonymousAuth = anonymous
	cfg.ResolvConf = resolvConf
	cfg.EventRecordQPS = eventQPS
	if q, err := resource.ParseQuantity(*logMaxSize); err != nil || q.Value() <= 0 {
		fail(fmt.Errorf("--container-log-max-size %q: want a positive quantity such as 10Mi", *logMaxSize))
	} else {
		cfg.ContainerLogMaxSize = q.Value()
	}
	cfg.NodeLabels = nodeLabels
	var err error
	if cfg.RegisterWithTaints, err = parseTaints(taints); err != nil {
		fail(err)
	}
	if cfg.SystemReserved, err = parseResources("system-reserved", systemReserved); err != nil {
		fail(err)
	}
	if cfg.KubeReserved, err = parseResources("kube-reserved", kubeReserved); err != nil {
		fail(err)
	}
	if fs.Changed("eviction-hard") {
		if cfg.EvictionHard, err = parseEvictionHard(*evictionHard); err != nil {
			fail(err)
		}
	}
	if *configFile != "" {
		kc, warning, err := kubelet.LoadConfigFile(*configFile)
		if err != nil {
			fail(err)
		}
		if warning != nil {
			slog.Warn("kubelet config file", "err", warning)
		}
		if err := kc.ApplyTo(&cfg, fs.Changed); err != nil {
			fail(err)
		}
	}
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		fail(err)
	}
	if err := kubelet.Run(daemon.SignalContext(), cfg); err != nil {
		fail(err)
	}
}

// parseTaints reads key=value:Effect entries.
func parseTaints(m map[string]string) ([]v1.Taint, error) {
	var out []v1.Taint
	for key, v := range m {
		value, effect, ok := strings.Cut(v, ":")
		if !ok {
			return nil, fmt.Errorf("--register-with-taints %s=%s: want <key>=<value>:<effect>", key, v)
		}
		switch v1.TaintEffect(effect) {
		case v1.TaintEffectNoSchedule, v1.TaintEffectPreferNoSchedule, v1.TaintEffectNoExecute:
		default:
			return nil, fmt.Errorf("--register-with-taints %s: unknown effect %q", key, effect)
		}
		out = append(out, v1.Taint{Key: key, Value: value, Effect: v1.TaintEffect(effect)})
	}
	return out, nil
}

// parseEvictionHard reads signal<quantity entries separated by commas
// (upstream's syntax) into the config's signal -> quantity map.
func parseEvictionHard(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		sig, v, ok := strings.Cut(e, "<")
		if !ok {
			return nil, fmt.Errorf("--eviction-hard %q: want <signal><<quantity>, e.g. memory.available<100Mi", e)
		}
		out[strings.TrimSpace(sig)] = strings.TrimSpace(v)
	}
	return out, nil
}

func parseResources(flag string, m map[string]string) (v1.ResourceList, error) {
	out := v1.ResourceList{}
	for k, v := range m {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("--%s %s=%s: %w", flag, k, v, err)
		}
		out[v1.ResourceName(k)] = q
	}
	return out, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kubelet:", err)
	os.Exit(1)
}
