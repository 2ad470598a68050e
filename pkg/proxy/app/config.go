// Package app is the kube-proxy daemon: Config (upstream's flags and
// KubeProxyConfiguration file), Run (informers -> tracker -> one sync of
// iptables rules and pod routes, health and metrics) and Cleanup.
package app

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/kstack/kstack/pkg/daemon"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Config is kube-proxy's configuration.
type Config struct {
	Client             daemon.ClientOptions
	HostnameOverride   string
	ClusterCIDR        string
	NodePortAddresses  []string
	MinSyncPeriod      time.Duration
	SyncPeriod         time.Duration
	MasqueradeAll      bool
	MasqueradeBit      int
	HealthzBindAddress string
	MetricsBindAddress string
	ProxyMode          string
	// PodRoutes keeps host-gw routes to the other nodes' pod CIDRs and
	// masquerades pod traffic leaving the cluster CIDR (kstack's own
	// option, --pod-routes).
	PodRoutes bool
}

// Defaults are upstream's defaults.
func Defaults() Config {
	return Config{
		MinSyncPeriod:      time.Second,
		SyncPeriod:         30 * time.Second,
		MasqueradeBit:      14,
		HealthzBindAddress: "0.0.0.0:10256",
		MetricsBindAddress: "127.0.0.1:10249",
		ProxyMode:          "iptables",
		Client:             daemon.ClientOptions{QPS: 5, Burst: 10, ContentType: "application/vnd.kubernetes.protobuf"},
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.ProxyMode != "" && c.ProxyMode != "iptables" {
		errs = append(errs, fmt.Errorf("--proxy-mode %q: only iptables is supported", c.ProxyMode))
	}
	if c.ClusterCIDR != "" {
		if _, _, err := net.ParseCIDR(c.ClusterCIDR); err != nil {
			errs = append(errs, fmt.Errorf("--cluster-cidr: %w", err))
		}
	}
	for _, a := range c.NodePortAddresses {
		if _, _, err := net.ParseCIDR(a); err != nil {
			errs = append(errs, fmt.Errorf("--nodeport-addresses %q: %w", a, err))
		}
	}
	if c.MinSyncPeriod < 0 || c.SyncPeriod <= 0 || c.MinSyncPeriod > c.SyncPeriod {
		errs = append(errs, fmt.Errorf("--iptables-min-sync-period %s must be >= 0 and <= --iptables-sync-period %s (> 0)", c.MinSyncPeriod, c.SyncPeriod))
	}
	if c.MasqueradeBit < 0 || c.MasqueradeBit > 31 {
		errs = append(errs, fmt.Errorf("--iptables-masquerade-bit %d must be in [0, 31]", c.MasqueradeBit))
	}
	if c.PodRoutes && c.ClusterCIDR == "" {
		errs = append(errs, errors.New("--pod-routes needs --cluster-cidr"))
	}
	return errors.Join(errs...)
}

// fileConfig is the subset of upstream's KubeProxyConfiguration
// (kubeproxy.config.k8s.io/v1alpha1) that kstack reads.
type fileConfig struct {
	APIVersion       string `json:"apiVersion"`
	Kind             string `json:"kind"`
	ClientConnection struct {
		Kubeconfig  string  `json:"kubeconfig"`
		QPS         float32 `json:"qps"`
		Burst       int     `json:"burst"`
		ContentType string  `json:"contentType"`
	} `json:"clientConnection"`
	HostnameOverride   string   `json:"hostnameOverride"`
	ClusterCIDR        string   `json:"clusterCIDR"`
	HealthzBindAddress string   `json:"healthzBindAddress"`
	MetricsBindAddress string   `json:"metricsBindAddress"`
	Mode               string   `json:"mode"`
	NodePortAddresses  []string `json:"nodePortAddresses"`
	IPTables           struct {
		MasqueradeAll *bool            `json:"masqueradeAll"`
		MasqueradeBit *int             `json:"masqueradeBit"`
		MinSyncPeriod *metav1.Duration `json:"minSyncPeriod"`
		SyncPeriod    *metav1.Duration `json:"syncPeriod"`
	} `json:"iptables"`
}

// LoadFile reads a KubeProxyConfiguration YAML file over c; fields the
// file leaves out keep their values.
func LoadFile(path string, c *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var f fileConfig
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return fmt.Errorf("parse config %s: %w", path, err)
	}
	if f.Kind != "" && f.Kind != "KubeProxyConfiguration" {
		return fmt.Errorf("config %s: kind %q, want KubeProxyConfiguration", path, f.Kind)
	}
	setS := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setS(&c.Client.Kubeconfig, f.ClientConnection.Kubeconfig)
	setS(&c.Client.ContentType, f.ClientConnection.ContentType)
	if f.ClientConnection.QPS != 0 {
		c.Client.QPS = f.ClientConnection.QPS
	}
	if f.ClientConnection.Burst != 0 {
		c.Client.Burst = f.ClientConnection.Burst
	}
	setS(&c.HostnameOverride, f.HostnameOverride)
	setS(&c.ClusterCIDR, f.ClusterCIDR)
	setS(&c.HealthzBindAddress, f.HealthzBindAddress)
	setS(&c.MetricsBindAddress, f.MetricsBindAddress)
	setS(&c.ProxyMode, f.Mode)
	if f.NodePortAddresses != nil {
		c.NodePortAddresses = f.NodePortAddresses
	}
	if f.IPTables.MasqueradeAll != nil {
		c.MasqueradeAll = *f.IPTables.MasqueradeAll
	}
	if f.IPTables.MasqueradeBit != nil {
		c.MasqueradeBit = *f.IPTables.MasqueradeBit
	}
	if f.IPTables.MinSyncPeriod != nil {
		c.MinSyncPeriod = f.IPTables.MinSyncPeriod.Duration
	}
	if f.IPTables.SyncPeriod != nil {
		c.SyncPeriod = f.IPTables.SyncPeriod.Duration
	}
	return nil
}
