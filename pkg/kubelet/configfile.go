package kubelet

import (
	"errors"
	"fmt"
	"os"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// KubeletConfigurationAPIVersion and KubeletConfigurationKind identify the
// --config file, as upstream's.
const (
	KubeletConfigurationAPIVersion = "kubelet.config.k8s.io/v1beta1"
	KubeletConfigurationKind       = "KubeletConfiguration"
)

// KubeletConfiguration is the subset of upstream's kubelet.config.k8s.io/
// v1beta1 KubeletConfiguration that kstack's kubelet reads, with upstream's
// field names. Other upstream fields are accepted and ignored (with a
// warning), as upstream's lenient decoding does.
type KubeletConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	Address                        string            `json:"address,omitempty"`
	Port                           *int32            `json:"port,omitempty"`
	ReadOnlyPort                   *int32            `json:"readOnlyPort,omitempty"`
	TLSCertFile                    string            `json:"tlsCertFile,omitempty"`
	TLSPrivateKeyFile              string            `json:"tlsPrivateKeyFile,omitempty"`
	Authentication                 *Authentication   `json:"authentication,omitempty"`
	Authorization                  *Authorization    `json:"authorization,omitempty"`
	StaticPodPath                  string            `json:"staticPodPath,omitempty"`
	FileCheckFrequency             *metav1.Duration  `json:"fileCheckFrequency,omitempty"`
	SyncFrequency                  *metav1.Duration  `json:"syncFrequency,omitempty"`
	NodeStatusUpdateFrequency      *metav1.Duration  `json:"nodeStatusUpdateFrequency,omitempty"`
	StreamingConnectionIdleTimeout *metav1.Duration  `json:"streamingConnectionIdleTimeout,omitempty"`
	ClusterDNS                     []string          `json:"clusterDNS,omitempty"`
	ClusterDomain                  string            `json:"clusterDomain,omitempty"`
	ResolvConf                     *string           `json:"resolvConf,omitempty"`
	MaxPods                        *int32            `json:"maxPods,omitempty"`
	PodCIDR                        string            `json:"podCIDR,omitempty"`
	CgroupRoot                     string            `json:"cgroupRoot,omitempty"`
	EvictionHard                   map[string]string `json:"evictionHard,omitempty"`
	SystemReserved                 map[string]string `json:"systemReserved,omitempty"`
	KubeReserved                   map[string]string `json:"kubeReserved,omitempty"`
	ContainerLogMaxSize            string            `json:"containerLogMaxSize,omitempty"`
	ContainerLogMaxFiles           *int32            `json:"containerLogMaxFiles,omitempty"`
	ContainerRuntimeEndpoint       string            `json:"containerRuntimeEndpoint,omitempty"`
	RegisterWithTaints             []v1.Taint        `json:"registerWithTaints,omitempty"`
	EventRecordQPS                 *int32            `json:"eventRecordQPS,omitempty"`
	EventBurst                     *int32            `json:"eventBurst,omitempty"`
}

// Authentication is KubeletConfiguration's authentication.
type Authentication struct {
	X509      *X509Authentication      `json:"x509,omitempty"`
	Anonymous *AnonymousAuthentication `json:"anonymous,omitempty"`
}

// X509Authentication is authentication.x509.
type X509Authentication struct {
	ClientCAFile string `json:"clientCAFile,omitempty"`
}

// AnonymousAuthentication is authentication.anonymous.
type AnonymousAuthentication struct {
	Enabled *bool `json:"enabled,omitempty"`
}

// Authorization is KubeletConfiguration's authorization.
type Authorization struct {
	Mode string `json:"mode,omitempty"`
}

// LoadConfigFile reads a KubeletConfiguration file. Unknown fields are not
// an error: they come back as warning (nil when the decoding was strict).
func LoadConfigFile(path string) (kc *KubeletConfiguration, warning error, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--config: %w", err)
	}
	kc = &KubeletConfiguration{}
	if strictErr := yaml.UnmarshalStrict(data, kc); strictErr != nil {
		kc = &KubeletConfiguration{}
		if err := yaml.Unmarshal(data, kc); err != nil {
			return nil, nil, fmt.Errorf("--config %s: %w", path, err)
		}
		warning = fmt.Errorf("--config %s: fields kstack does not use are ignored: %w", path, strictErr)
	}
	if kc.Kind != KubeletConfigurationKind || kc.APIVersion != KubeletConfigurationAPIVersion {
		return nil, nil, fmt.Errorf("--config %s: kind %q apiVersion %q: want %s %s", path, kc.Kind, kc.APIVersion, KubeletConfigurationKind, KubeletConfigurationAPIVersion)
	}
	return kc, warning, nil
}

// ApplyTo sets cfg's fields from the file, except those whose command-line
// flag was given (flagSet reports it by the flag's name): as upstream,
// flags override the file. Where the file leaves a field out, upstream's
// v1beta1 defaults apply: anonymous authentication off and Webhook
// authorization, unlike the flags' defaults.
func (kc *KubeletConfiguration) ApplyTo(cfg *Config, flagSet func(name string) bool) error {
	var errs []error
	set := func(flag string, present bool, apply func() error) {
		if present && !flagSet(flag) {
			if err := apply(); err != nil {
				errs = append(errs, fmt.Errorf("--config %s: %w", flag, err))
			}
		}
	}
	str := func(flag, v string, dst *string) {
		set(flag, v != "", func() error { *dst = v; return nil })
	}
	str("address", kc.Address, &cfg.BindAddress)
	set("port", kc.Port != nil, func() error { cfg.Port = int(*kc.Port); return nil })
	if kc.ReadOnlyPort != nil && *kc.ReadOnlyPort != 0 && !flagSet("read-only-port") {
		errs = append(errs, fmt.Errorf("--config readOnlyPort %d: kstack's kubelet serves no read-only port; use 0", *kc.ReadOnlyPort))
	}
	str("tls-cert-file", kc.TLSCertFile, &cfg.TLSCertFile)
	str("tls-private-key-file", kc.TLSPrivateKeyFile, &cfg.TLSPrivateKeyFile)
	var caFile string
	anonymous := false
	if a := kc.Authentication; a != nil {
		if a.X509 != nil {
			caFile = a.X509.ClientCAFile
		}
		if a.Anonymous != nil && a.Anonymous.Enabled != nil {
			anonymous = *a.Anonymous.Enabled
		}
	}
	str("client-ca-file", caFile, &cfg.ClientCAFile)
	set("anonymous-auth", true, func() error { cfg.AnonymousAuth = &anonymous; return nil })
	mode := "Webhook"
	if kc.Authorization != nil && kc.Authorization.Mode != "" {
		mode = kc.Authorization.Mode
	}
	str("authorization-mode", mode, &cfg.AuthorizationMode)
	str("pod-manifest-path", kc.StaticPodPath, &cfg.StaticPodPath)
	set("file-check-frequency", kc.FileCheckFrequency != nil, func() error { cfg.FileCheckFrequency = kc.FileCheckFrequency.Duration; return nil })
	set("sync-frequency", kc.SyncFrequency != nil, func() error { cfg.SyncFrequency = kc.SyncFrequency.Duration; return nil })
	set("node-status-update-frequency", kc.NodeStatusUpdateFrequency != nil, func() error {
		cfg.NodeStatusUpdateFrequency = kc.NodeStatusUpdateFrequency.Duration
		return nil
	})
	set("streaming-connection-idle-timeout", kc.StreamingConnectionIdleTimeout != nil, func() error {
		cfg.StreamingConnectionIdleTimeout = kc.StreamingConnectionIdleTimeout.Duration
		return nil
	})
	set("cluster-dns", kc.ClusterDNS != nil, func() error { cfg.ClusterDNS = append([]string(nil), kc.ClusterDNS...); return nil })
	str("cluster-domain", kc.ClusterDomain, &cfg.ClusterDomain)
	set("resolv-conf", kc.ResolvConf != nil, func() error { v := *kc.ResolvConf; cfg.ResolvConf = &v; return nil })
	set("max-pods", kc.MaxPods != nil, func() error { cfg.MaxPods = int(*kc.MaxPods); return nil })
	str("pod-cidr", kc.PodCIDR, &cfg.PodCIDR)
	str("cgroup-root", kc.CgroupRoot, &cfg.CgroupRoot)
	set("eviction-hard", kc.EvictionHard != nil, func() error {
		cfg.EvictionHard = map[string]string{}
		for k, v := range kc.EvictionHard {
			cfg.EvictionHard[k] = v
		}
		return nil
	})
	set("system-reserved", kc.SystemReserved != nil, func() error {
		var err error
		cfg.SystemReserved, err = ParseResourceList(kc.SystemReserved)
		return err
	})
	set("kube-reserved", kc.KubeReserved != nil, func() error {
		var err error
		cfg.KubeReserved, err = ParseResourceList(kc.KubeReserved)
		return err
	})
	set("container-log-max-size", kc.ContainerLogMaxSize != "", func() error {
		q, err := resource.ParseQuantity(kc.ContainerLogMaxSize)
		if err != nil || q.Value() <= 0 {
			return fmt.Errorf("%q: want a positive quantity such as 10Mi", kc.ContainerLogMaxSize)
		}
		cfg.ContainerLogMaxSize = q.Value()
		return nil
	})
	set("container-log-max-files", kc.ContainerLogMaxFiles != nil, func() error { cfg.ContainerLogMaxFiles = int(*kc.ContainerLogMaxFiles); return nil })
	set("container-runtime-endpoint", kc.ContainerRuntimeEndpoint != "", func() error {
		cfg.ContainerRuntimeEndpoint = strings.TrimPrefix(kc.ContainerRuntimeEndpoint, "unix://")
		return nil
	})
	set("register-with-taints", kc.RegisterWithTaints != nil, func() error {
		for _, t := range kc.RegisterWithTaints {
			switch t.Effect {
			case v1.TaintEffectNoSchedule, v1.TaintEffectPreferNoSchedule, v1.TaintEffectNoExecute:
			default:
				return fmt.Errorf("taint %s: unknown effect %q", t.Key, t.Effect)
			}
		}
		cfg.RegisterWithTaints = append([]v1.Taint(nil), kc.RegisterWithTaints...)
		return nil
	})
	set("event-qps", kc.EventRecordQPS != nil, func() error {
		qps := *kc.EventRecordQPS
		cfg.EventRecordQPS = &qps
		return nil
	})
	set("event-burst", kc.EventBurst != nil, func() error { cfg.EventBurst = *kc.EventBurst; return nil })
	return errors.Join(errs...)
}

// ParseResourceList reads name=quantity pairs such as cpu=200m.
func ParseResourceList(m map[string]string) (v1.ResourceList, error) {
	out := v1.ResourceList{}
	for k, v := range m {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", k, v, err)
		}
		out[v1.ResourceName(k)] = q
	}
	return out, nil
}
