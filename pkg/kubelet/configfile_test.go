package kubelet

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

const fullConfigFile = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 10.0.0.7
port: 10350
readOnlyPort: 0
tlsCertFile: /pki/kubelet.crt
tlsPrivateKeyFile: /pki/kubelet.key
authentication:
  x509:
    clientCAFile: /pki/ca.crt
  anonymous:
    enabled: true
authorization:
  mode: AlwaysAllow
staticPodPath: /etc/kubernetes/manifests
fileCheckFrequency: 5s
syncFrequency: 30s
nodeStatusUpdateFrequency: 4s
streamingConnectionIdleTimeout: 1h
clusterDNS: [10.96.0.10]
clusterDomain: example.local
maxPods: 42
podCIDR: 10.244.3.0/24
cgroupRoot: /kubepods
evictionHard:
  memory.available: 100Mi
systemReserved:
  cpu: 200m
kubeReserved:
  memory: 256Mi
containerLogMaxSize: 5Mi
containerLogMaxFiles: 3
containerRuntimeEndpoint: unix:///run/k.sock
registerWithTaints:
- key: dedicated
  value: infra
  effect: NoSchedule
eventRecordQPS: 0
eventBurst: 20
`

func writeConfig(t *testing.T, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubelet.yaml")
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func noFlags(string) bool { return false }

func TestConfigFile_MapsEveryUpstreamField(t *testing.T) {
	kc, warning, err := LoadConfigFile(writeConfig(t, fullConfigFile))
	if err != nil || warning != nil {
		t.Fatalf("load: %v (warning %v)", err, warning)
	}
	var cfg Config
	if err := kc.ApplyTo(&cfg, noFlags); err != nil {
		t.Fatal(err)
	}
	yes := true
	noLimit := int32(0)
	want := Config{
		BindAddress: "10.0.0.7", Port: 10350,
		TLSCertFile: "/pki/kubelet.crt", TLSPrivateKeyFile: "/pki/kubelet.key",
		ClientCAFile: "/pki/ca.crt", AnonymousAuth: &yes, AuthorizationMode: "AlwaysAllow",
		StaticPodPath: "/etc/kubernetes/manifests", FileCheckFrequency: 5 * time.Second,
		SyncFrequency: 30 * time.Second, NodeStatusUpdateFrequency: 4 * time.Second,
		StreamingConnectionIdleTimeout: time.Hour,
		ClusterDNS:                     []string{"10.96.0.10"}, ClusterDomain: "example.local",
		MaxPods: 42, PodCIDR: "10.244.3.0/24", CgroupRoot: "/kubepods",
		EvictionHard:             map[string]string{"memory.available": "100Mi"},
		SystemReserved:           v1.ResourceList{v1.ResourceCPU: resource.MustParse("200m")},
		KubeReserved:             v1.ResourceList{v1.ResourceMemory: resource.MustParse("256Mi")},
		ContainerLogMaxSize:      5 * 1024 * 1024,
		ContainerLogMaxFiles:     3,
		ContainerRuntimeEndpoint: "/run/k.sock",
		RegisterWithTaints:       []v1.Taint{{Key: "dedicated", Value: "infra", Effect: v1.TaintEffectNoSchedule}},
		// eventRecordQPS 0 is no limit, unlike an omitted field (50).
		EventRecordQPS: &noLimit, EventBurst: 20,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestConfigFile_FlagsOnTheCommandLineWin(t *testing.T) {
	kc, _, err := LoadConfigFile(writeConfig(t, fullConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	// The flags' values are already in cfg; the file must leave them.
	cfg := Config{MaxPods: 7, ClusterDomain: "flag.local", StaticPodPath: "/from/flag", AuthorizationMode: "Webhook"}
	given := map[string]bool{"max-pods": true, "cluster-domain": true, "pod-manifest-path": true, "authorization-mode": true}
	if err := kc.ApplyTo(&cfg, func(name string) bool { return given[name] }); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxPods != 7 || cfg.ClusterDomain != "flag.local" || cfg.StaticPodPath != "/from/flag" || cfg.AuthorizationMode != "Webhook" {
		t.Errorf("flags overridden by the file: %+v", cfg)
	}
	if cfg.Port != 10350 || cfg.SyncFrequency != 30*time.Second {
		t.Errorf("file fields without a flag not applied: port %d sync %v", cfg.Port, cfg.SyncFrequency)
	}
}

func TestConfigFile_UpstreamV1beta1DefaultsForOmittedSecurityFields(t *testing.T) {
	kc, _, err := LoadConfigFile(writeConfig(t, "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{}
	if err := kc.ApplyTo(&cfg, noFlags); err != nil {
		t.Fatal(err)
	}
	if cfg.AnonymousAuth == nil || *cfg.AnonymousAuth || cfg.AuthorizationMode != "Webhook" {
		t.Errorf("anonymous %v mode %q: want false and Webhook as upstream's v1beta1 defaults", cfg.AnonymousAuth, cfg.AuthorizationMode)
	}
	if cfg.MaxPods != 0 || cfg.Port != 0 {
		t.Errorf("omitted fields set: %+v", cfg)
	}
}

func TestConfigFile_UnknownFieldsWarnErrorsFail(t *testing.T) {
	kc, warning, err := LoadConfigFile(writeConfig(t, "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nmaxPods: 9\nserializeImagePulls: false\n"))
	if err != nil || warning == nil || !strings.Contains(warning.Error(), "serializeImagePulls") {
		t.Fatalf("unknown field: err %v warning %v", err, warning)
	}
	if *kc.MaxPods != 9 {
		t.Errorf("maxPods %d after lenient decoding", *kc.MaxPods)
	}
	for name, data := range map[string]string{
		"wrong kind":    "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeProxyConfiguration\n",
		"wrong version": "apiVersion: kubelet.config.k8s.io/v1alpha9\nkind: KubeletConfiguration\n",
		"bad yaml":      "apiVersion: [\n",
	} {
		if _, _, err := LoadConfigFile(writeConfig(t, data)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	for name, data := range map[string]string{
		"read-only port": "readOnlyPort: 10255\n",
		"log size":       "containerLogMaxSize: lots\n",
		"reserved":       "systemReserved: {cpu: x}\n",
		"taint effect":   "registerWithTaints: [{key: a, effect: Sometimes}]\n",
	} {
		kc, _, err := LoadConfigFile(writeConfig(t, "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"+data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := kc.ApplyTo(&Config{}, noFlags); err == nil {
			t.Errorf("%s: applied", name)
		}
	}
	if _, _, err := LoadConfigFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file loaded")
	}
}
