// Package network gives pods their network through CNI (libcni and the
// standard plugins): a bridge with host-local IPAM on the node's podCIDR,
// loopback, and portmap for hostPorts. The kubelet writes the conflist from
// the node's spec.podCIDR, creates each pod's network namespace at
// <netns-dir>/<sandbox-id>, and calls ADD/DEL with upstream's K8S_POD_* args.
//
// Masquerading of traffic leaving the cluster CIDR is kube-proxy's job
// (ipMasq is false here, so pod-to-pod traffic across nodes keeps pod IPs).
package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	v1 "k8s.io/api/core/v1"
)

// ConflistName is the file the kubelet writes into the CNI conf dir.
const ConflistName = "10-kstack.conflist"

// Config says where the CNI pieces live.
type Config struct {
	PluginDirs []string // --cni-bin-dir, e.g. /usr/lib/cni
	ConfDir    string   // --cni-conf-dir: the conflist is written here
	CacheDir   string   // libcni's cache; per node on a shared machine
	DataDir    string   // host-local's allocations; per node on a shared machine
	NetNSDir   string   // where pod network namespaces are bind-mounted (/run/netns)
	Bridge     string   // bridge name, default cni0
	Name       string   // network name, default kstack
	MTU        int      // 0: the plugin's default
}

// PodRef names the pod a sandbox belongs to, for the CNI args.
type PodRef struct {
	Namespace, Name, UID string
	// PortMappings are the pod's hostPorts, for the portmap plugin (only
	// read by SetUp; TearDown uses the ones cached at SetUp).
	PortMappings []PortMapping
}

// PortMapping is one hostPort in the CNI portMappings capability's shape.
type PortMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"` // tcp, udp or sctp
	HostIP        string `json:"hostIP,omitempty"`
}

// Network runs CNI for one node's pods.
type Network struct {
	cfg Config
	cni *libcni.CNIConfig

	mu      sync.Mutex
	podCIDR string
	list    *libcni.NetworkConfigList
	// noPorts is list without the portmap plugin, for the pods without
	// hostPorts: one plugin exec less per ADD and DEL. It has the same
	// network name, so libcni's cache of an ADD (which keeps the config
	// used) is found by TearDown whichever of the two SetUp used.
	noPorts *libcni.NetworkConfigList
}

// New returns a Network that is not ready until SetPodCIDR.
func New(cfg Config) (*Network, error) {
	if cfg.Bridge == "" {
		cfg.Bridge = "cni0"
	}
	if cfg.Name == "" {
		cfg.Name = "kstack"
	}
	if cfg.NetNSDir == "" {
		cfg.NetNSDir = "/run/netns"
	}
	if len(cfg.PluginDirs) == 0 || cfg.ConfDir == "" || cfg.CacheDir == "" || cfg.DataDir == "" {
		return nil, errors.New("network: plugin dirs, conf dir, cache dir and data dir are required")
	}
	return &Network{cfg: cfg, cni: libcni.NewCNIConfigWithCacheDir(cfg.PluginDirs, cfg.CacheDir, nil)}, nil
}

// RenderConflist is the CNI conflist for a node with podCIDR.
func RenderConflist(cfg Config, podCIDR string) ([]byte, error) {
	ip, subnet, err := net.ParseCIDR(podCIDR)
	if err != nil {
		return nil, fmt.Errorf("podCIDR %q: %w", podCIDR, err)
	}
	if !ip.Equal(subnet.IP) {
		return nil, fmt.Errorf("podCIDR %q is not a network address (want %s)", podCIDR, subnet)
	}
	defaultRoute := "0.0.0.0/0"
	if subnet.IP.To4() == nil {
		defaultRoute = "::/0"
	}
	bridge := map[string]any{
		"type":        "bridge",
		"bridge":      cfg.Bridge,
		"isGateway":   true,
		"ipMasq":      false,
		"hairpinMode": true,
		"ipam": map[string]any{
			"type":    "host-local",
			"ranges":  [][]map[string]string{{{"subnet": subnet.String()}}},
			"routes":  []map[string]string{{"dst": defaultRoute}},
			"dataDir": cfg.DataDir,
		},
	}
	if cfg.MTU > 0 {
		bridge["mtu"] = cfg.MTU
	}
	list := map[string]any{
		"cniVersion": "1.0.0",
		"name":       cfg.Name,
		"plugins": []any{
			bridge,
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	return json.MarshalIndent(list, "", "  ")
}

// SetPodCIDR writes the conflist for podCIDR and makes the network ready.
// It also turns on IPv4 forwarding, which the bridge's routing needs.
func (n *Network) SetPodCIDR(podCIDR string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if podCIDR == n.podCIDR && n.list != nil {
		return nil
	}
	data, err := RenderConflist(n.cfg, podCIDR)
	if err != nil {
		return err
	}
	list, err := libcni.NetworkConfFromBytes(data)
	if err != nil {
		return fmt.Errorf("parse rendered conflist: %w", err)
	}
	noPorts, err := withoutPortmap(list)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(n.cfg.ConfDir, 0o755); err != nil {
		return fmt.Errorf("CNI conf dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(n.cfg.ConfDir, ConflistName), data, 0o644); err != nil {
		return fmt.Errorf("write conflist: %w", err)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enable ip_forward: %w", err)
	}
	n.podCIDR, n.list, n.noPorts = podCIDR, list, noPorts
	return nil
}

// withoutPortmap is list without its portmap plugin.
func withoutPortmap(list *libcni.NetworkConfigList) (*libcni.NetworkConfigList, error) {
	var raw map[string]any
	if err := json.Unmarshal(list.Bytes, &raw); err != nil {
		return nil, fmt.Errorf("parse conflist: %w", err)
	}
	plugins, _ := raw["plugins"].([]any)
	var kept []any
	for _, p := range plugins {
		if m, ok := p.(map[string]any); ok && m["type"] == "portmap" {
			continue
		}
		kept = append(kept, p)
	}
	raw["plugins"] = kept
	data, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	out, err := libcni.NetworkConfFromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("parse conflist without portmap: %w", err)
	}
	return out, nil
}

// ErrNotInitialized is Status before the node has a podCIDR: there is no
// network config yet (containerd's words for a CNI conf dir without one).
var ErrNotInitialized = errors.New("cni plugin not initialized")

// Status is nil once the network can set up pods: the node has a podCIDR
// (so a conflist) and every plugin the conflist names, IPAM included, is
// in the plugin dirs, as ADD will look for it.
func (n *Network) Status() error {
	n.mu.Lock()
	list := n.list
	n.mu.Unlock()
	if list == nil {
		return ErrNotInitialized
	}
	for _, p := range list.Plugins {
		for _, typ := range []string{p.Network.Type, p.Network.IPAM.Type} {
			if typ == "" {
				continue
			}
			if _, err := invoke.FindInPath(typ, n.cfg.PluginDirs); err != nil {
				return err
			}
		}
	}
	return nil
}

// conf is the conflist for a pod: without portmap when it has no hostPorts.
func (n *Network) conf(hostPorts bool) (*libcni.NetworkConfigList, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.list == nil {
		return nil, errors.New("network plugin not ready: the node has no podCIDR yet")
	}
	if !hostPorts {
		return n.noPorts, nil
	}
	return n.list, nil
}

func (n *Network) runtimeConf(sandboxID, netnsPath string, pod PodRef) *libcni.RuntimeConf {
	ports := make([]PortMapping, 0, len(pod.PortMappings))
	ports = append(ports, pod.PortMappings...)
	return &libcni.RuntimeConf{
		ContainerID: sandboxID,
		NetNS:       netnsPath,
		IfName:      "eth0",
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", pod.Namespace},
			{"K8S_POD_NAME", pod.Name},
			{"K8S_POD_INFRA_CONTAINER_ID", sandboxID},
			{"K8S_POD_UID", pod.UID},
		},
		CapabilityArgs: map[string]any{"portMappings": ports},
	}
}

// SetUp adds the pod's network namespace to the network and returns the
// pod's IP. The loopback interface is not CNI's: CreateNetNS brought it up.
func (n *Network) SetUp(ctx context.Context, sandboxID, netnsPath string, pod PodRef) (net.IP, error) {
	list, err := n.conf(len(pod.PortMappings) > 0)
	if err != nil {
		return nil, err
	}
	rt := n.runtimeConf(sandboxID, netnsPath, pod)
	res, err := n.cni.AddNetworkList(ctx, list, rt)
	if err != nil {
		return nil, fmt.Errorf("CNI ADD for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	cur, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("CNI result: %w", err)
	}
	for _, ip := range cur.IPs {
		if ip.Address.IP != nil {
			return ip.Address.IP, nil
		}
	}
	return nil, fmt.Errorf("CNI ADD for pod %s/%s returned no IP", pod.Namespace, pod.Name)
}

// TearDown removes the pod's sandbox from the network (releasing its IP).
// A netns already gone is passed as empty, as the CNI spec allows.
func (n *Network) TearDown(ctx context.Context, sandboxID, netnsPath string, pod PodRef) error {
	list, err := n.conf(true)
	if err != nil {
		return err
	}
	if _, err := os.Stat(netnsPath); err != nil {
		netnsPath = ""
	}
	rt := n.runtimeConf(sandboxID, netnsPath, pod)
	// DEL runs the plugins ADD ran (with or without portmap), and the
	// portmap plugin removes a sandbox's rules only when told its
	// mappings again: take the config and the args from libcni's cache of
	// the ADD. Without a cache (ADD never got that far), the full list.
	if data, cached, err := n.cni.GetNetworkListCachedConfig(list, rt); err == nil && cached != nil {
		rt = cached
		if l, err := libcni.NetworkConfFromBytes(data); err == nil && l.Name == list.Name && len(l.Plugins) > 0 {
			list = l
		}
	}
	if err := n.cni.DelNetworkList(ctx, list, rt); err != nil {
		return fmt.Errorf("CNI DEL for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// NetNSPath is where the network namespace of sandbox id is mounted.
func (n *Network) NetNSPath(id string) string { return filepath.Join(n.cfg.NetNSDir, id) }

// PodPortMappings are the hostPorts of the pod's containers (and init
// containers), for SetUp; ports without a hostPort are not mapped.
func PodPortMappings(pod *v1.Pod) []PortMapping {
	var out []PortMapping
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.HostPort <= 0 {
					continue
				}
				proto := p.Protocol
				if proto == "" {
					proto = v1.ProtocolTCP
				}
				out = append(out, PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: strings.ToLower(string(proto)), HostIP: p.HostIP})
			}
		}
	}
	return out
}
