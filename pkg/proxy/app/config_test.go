package app

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadFile_KubeProxyConfiguration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.yaml")
	if err := os.WriteFile(path, []byte(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: /etc/kp.kubeconfig
hostnameOverride: n1
clusterCIDR: 10.244.0.0/16
mode: iptables
nodePortAddresses: ["192.168.0.0/16"]
iptables:
  masqueradeAll: true
  minSyncPeriod: 2s
  syncPeriod: 1m
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Defaults()
	if err := LoadFile(path, &c); err != nil {
		t.Fatal(err)
	}
	if c.Client.Kubeconfig != "/etc/kp.kubeconfig" || c.HostnameOverride != "n1" || c.ClusterCIDR != "10.244.0.0/16" ||
		!c.MasqueradeAll || c.MinSyncPeriod != 2*time.Second || c.SyncPeriod != time.Minute ||
		len(c.NodePortAddresses) != 1 || c.HealthzBindAddress != "0.0.0.0:10256" {
		t.Errorf("config = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
}

func TestValidate_Rejects(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"ipvs mode":         func(c *Config) { c.ProxyMode = "ipvs" },
		"bad cluster CIDR":  func(c *Config) { c.ClusterCIDR = "10.0.0.0" },
		"min above period":  func(c *Config) { c.MinSyncPeriod = time.Hour },
		"bad nodeport addr": func(c *Config) { c.NodePortAddresses = []string{"x"} },
		"routes no CIDR":    func(c *Config) { c.PodRoutes = true },
	} {
		c := Defaults()
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// kubeadmConfig is the KubeProxyConfiguration kubeadm writes (every
// field, most of them zero): it must load, the zeros taking upstream's
// defaults.
const kubeadmConfig = `apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
bindAddressHardFail: false
clientConnection:
  acceptContentTypes: ""
  burst: 0
  contentType: ""
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
  qps: 0
clusterCIDR: 10.244.0.0/16
configSyncPeriod: 0s
conntrack:
  maxPerCore: null
  min: null
  tcpBeLiberal: false
  tcpCloseWaitTimeout: null
  tcpEstablishedTimeout: null
  udpStreamTimeout: 0s
  udpTimeout: 0s
detectLocal:
  bridgeInterface: ""
  interfaceNamePrefix: ""
detectLocalMode: ""
enableProfiling: false
featureGates: {}
healthzBindAddress: "0.0.0.0"
hostnameOverride: ""
iptables:
  localhostNodePorts: null
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 0s
  scheduler: ""
  strictARP: false
  syncPeriod: 0s
  tcpFinTimeout: 0s
  tcpTimeout: 0s
  udpTimeout: 0s
kind: KubeProxyConfiguration
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
    text:
      infoBufferSize: "0"
  verbosity: 0
metricsBindAddress: ""
mode: ""
nftables:
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
nodePortAddresses: null
oomScoreAdj: null
portRange: ""
showHiddenMetricsForVersion: ""
winkernel:
  enableDSR: false
  forwardHealthCheckVip: false
  networkName: ""
  rootHnsEndpointName: ""
  sourceVip: ""
`

func TestLoadFile_KubeadmsFullConfigurationTakesUpstreamDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.yaml")
	if err := os.WriteFile(path, []byte(kubeadmConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Defaults()
	if err := LoadFile(path, &c); err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Client.Kubeconfig = "/var/lib/kube-proxy/kubeconfig.conf"
	want.ClusterCIDR = "10.244.0.0/16"
	want.HealthzBindAddress = "0.0.0.0:10256" // upstream appends the port
	if c.Client != want.Client || c.ClusterCIDR != want.ClusterCIDR || c.HealthzBindAddress != want.HealthzBindAddress ||
		c.MetricsBindAddress != want.MetricsBindAddress || c.MinSyncPeriod != time.Second || c.SyncPeriod != 30*time.Second ||
		c.MasqueradeBit != 14 || c.ProxyMode != "iptables" || c.NodePortAddresses != nil {
		t.Errorf("config = %+v\nwant %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}

	// A field upstream does not have is an error, as upstream's strict
	// decoding.
	if err := os.WriteFile(path, []byte(kubeadmConfig+"clusterCidr: 10.0.0.0/8\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := LoadFile(path, &c); err == nil {
		t.Error("a misspelt field (clusterCidr) loaded")
	}
}

func TestLoadFile_FieldNamesAreCaseSensitive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.yaml")
	for _, text := range []string{
		"kind: KubeProxyConfiguration\nclusterCidr: 10.0.0.0/8\n",
		"kind: KubeProxyConfiguration\niptables:\n  masqueradeall: true\n",
		"kind: KubeProxyConfiguration\nclusterIPRange: 10.0.0.0/8\n",
	} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		c := Defaults()
		if err := LoadFile(path, &c); err == nil {
			t.Errorf("loaded a field upstream does not have:\n%s", text)
		}
	}
}
