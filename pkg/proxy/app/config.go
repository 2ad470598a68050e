// Package app is the kube-proxy daemon: Config (upstream's flags and
// KubeProxyConfiguration file), Run (informers -> tracker -> one sync of
// iptables rules and pod routes, health and metrics) and Cleanup.
package app

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strings"
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

// fileConfig is upstream's KubeProxyConfiguration
// (kubeproxy.config.k8s.io/v1alpha1): the fields kstack uses, and the
// others by name only (typed any: accepted and ignored), so that a file
// written for upstream's kube-proxy (kubeadm's, with every field) loads,
// while a misspelt field is still an error as upstream's strict decoding.
type fileConfig struct {
	APIVersion       string `json:"apiVersion"`
	Kind             string `json:"kind"`
	ClientConnection struct {
		Kubeconfig         string  `json:"kubeconfig"`
		QPS                float32 `json:"qps"`
		Burst              int     `json:"burst"`
		ContentType        string  `json:"contentType"`
		AcceptContentTypes string  `json:"acceptContentTypes"`
	} `json:"clientConnection"`
	HostnameOverride   string   `json:"hostnameOverride"`
	ClusterCIDR        string   `json:"clusterCIDR"`
	HealthzBindAddress string   `json:"healthzBindAddress"`
	MetricsBindAddress string   `json:"metricsBindAddress"`
	Mode               string   `json:"mode"`
	NodePortAddresses  []string `json:"nodePortAddresses"`
	IPTables           struct {
		MasqueradeAll      *bool            `json:"masqueradeAll"`
		MasqueradeBit      *int             `json:"masqueradeBit"`
		MinSyncPeriod      *metav1.Duration `json:"minSyncPeriod"`
		SyncPeriod         *metav1.Duration `json:"syncPeriod"`
		LocalhostNodePorts any              `json:"localhostNodePorts"`
	} `json:"iptables"`

	// Upstream's fields kstack does not use.
	FeatureGates                any `json:"featureGates"`
	Logging                     any `json:"logging"`
	BindAddress                 any `json:"bindAddress"`
	BindAddressHardFail         any `json:"bindAddressHardFail"`
	EnableProfiling             any `json:"enableProfiling"`
	ShowHiddenMetricsForVersion any `json:"showHiddenMetricsForVersion"`
	IPVS                        any `json:"ipvs"`
	NFTables                    any `json:"nftables"`
	Winkernel                   any `json:"winkernel"`
	DetectLocalMode             any `json:"detectLocalMode"`
	DetectLocal                 any `json:"detectLocal"`
	OOMScoreAdj                 any `json:"oomScoreAdj"`
	Conntrack                   any `json:"conntrack"`
	ConfigSyncPeriod            any `json:"configSyncPeriod"`
	PortRange                   any `json:"portRange"`
	WindowsRunAsService         any `json:"windowsRunAsService"`
}

// LoadFile reads a KubeProxyConfiguration YAML file over c; fields the
// file leaves out, or sets to their zero value (which upstream's
// defaulting replaces: "0s" sync periods, "" addresses, qps 0), keep
// their values. A bind address without a port gets upstream's port.
func LoadFile(path string, c *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var f fileConfig
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return fmt.Errorf("parse config %s: %w", path, err)
	}
	// encoding/json matches names regardless of case; upstream's strict
	// decoding does not.
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("parse config %s: %w", path, err)
	}
	if err := exactNames(raw, reflect.TypeOf(f), ""); err != nil {
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
	setS(&c.HealthzBindAddress, appendPort(f.HealthzBindAddress, "10256"))
	setS(&c.MetricsBindAddress, appendPort(f.MetricsBindAddress, "10249"))
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
	if f.IPTables.MinSyncPeriod != nil && f.IPTables.MinSyncPeriod.Duration != 0 {
		c.MinSyncPeriod = f.IPTables.MinSyncPeriod.Duration
	}
	if f.IPTables.SyncPeriod != nil && f.IPTables.SyncPeriod.Duration != 0 {
		c.SyncPeriod = f.IPTables.SyncPeriod.Duration
	}
	return nil
}

// exactNames checks that every key of m is spelt as a json tag of the
// struct type t (recursively into struct-typed fields).
func exactNames(m map[string]any, t reflect.Type, prefix string) error {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		fields[name] = t.Field(i).Type
	}
	for k, v := range m {
		ft, ok := fields[k]
		if !ok {
			return fmt.Errorf("unknown field %q", prefix+k)
		}
		if sub, ok := v.(map[string]any); ok && ft.Kind() == reflect.Struct && ft != reflect.TypeOf(metav1.Duration{}) {
			if err := exactNames(sub, ft, prefix+k+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendPort adds port to a bind address that has none, as upstream's
// defaulting of healthzBindAddress and metricsBindAddress.
func appendPort(addr, port string) string {
	if addr == "" {
		return ""
	}
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	if ip := net.ParseIP(addr); ip != nil {
		return net.JoinHostPort(addr, port)
	}
	return addr
}
