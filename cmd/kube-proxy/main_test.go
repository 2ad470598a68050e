package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestLoad_UpstreamFlagNames(t *testing.T) {
	cfg, o, err := load([]string{
		"--kubeconfig=/etc/kp.kubeconfig", "--hostname-override=node-7", "--cluster-cidr=10.244.0.0/16",
		"--proxy-mode=iptables", "--masquerade-all", "--iptables-min-sync-period=2s", "--iptables-sync-period=1m",
		"--nodeport-addresses=192.168.0.0/16,10.0.0.0/8", "--iptables-masquerade-bit=15",
		"--healthz-bind-address=127.0.0.1:10256", "--metrics-bind-address=0.0.0.0:10249", "--v=3",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Client.Kubeconfig != "/etc/kp.kubeconfig" || cfg.HostnameOverride != "node-7" || cfg.ClusterCIDR != "10.244.0.0/16" ||
		cfg.ProxyMode != "iptables" || !cfg.MasqueradeAll || cfg.MinSyncPeriod != 2*time.Second || cfg.SyncPeriod != time.Minute ||
		!reflect.DeepEqual(cfg.NodePortAddresses, []string{"192.168.0.0/16", "10.0.0.0/8"}) || cfg.MasqueradeBit != 15 ||
		cfg.HealthzBindAddress != "127.0.0.1:10256" || cfg.MetricsBindAddress != "0.0.0.0:10249" || o.verbosity != 3 {
		t.Errorf("config = %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
	if _, o, _ := load([]string{"--cleanup"}); !o.cleanup {
		t.Error("--cleanup not parsed")
	}
}

func TestLoad_FlagsOverrideTheConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.yaml")
	if err := os.WriteFile(path, []byte(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
hostnameOverride: from-file
clusterCIDR: 10.244.0.0/16
iptables:
  syncPeriod: 45s
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := load([]string{"--config", path, "--hostname-override=from-flag"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HostnameOverride != "from-flag" || cfg.ClusterCIDR != "10.244.0.0/16" || cfg.SyncPeriod != 45*time.Second {
		t.Errorf("config = %+v, want the flag over the file and the file's other fields", cfg)
	}
	if _, _, err := load([]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}); err == nil {
		t.Error("a missing config file loaded")
	}
}
