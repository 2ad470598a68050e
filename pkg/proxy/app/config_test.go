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
