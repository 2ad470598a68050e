package network

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
	v1 "k8s.io/api/core/v1"
)

func TestRenderConflist(t *testing.T) {
	cfg := Config{Bridge: "kstack0", Name: "kstack", DataDir: "/var/lib/kstack/n1/ipam", MTU: 1400}
	data, err := RenderConflist(cfg, "10.244.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "kstack",
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": "kstack0", "isGateway": true, "ipMasq": false, "hairpinMode": true, "mtu": float64(1400),
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  []any{[]any{map[string]any{"subnet": "10.244.1.0/24"}}},
					"routes":  []any{map[string]any{"dst": "0.0.0.0/0"}},
					"dataDir": "/var/lib/kstack/n1/ipam",
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]any{"portMappings": true}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("conflist:\n%s", data)
	}
}

func TestRenderConflist_RejectsBadCIDRs(t *testing.T) {
	for _, cidr := range []string{"", "10.244.1.0", "10.244.1.5/24", "nonsense/8"} {
		if _, err := RenderConflist(Config{}, cidr); err == nil {
			t.Errorf("RenderConflist(%q) succeeded", cidr)
		}
	}
}

func TestPodPortMappings_OnlyHostPortsLowercaseProtocols(t *testing.T) {
	pod := &v1.Pod{Spec: v1.PodSpec{
		InitContainers: []v1.Container{{Name: "side", Ports: []v1.ContainerPort{{ContainerPort: 53, HostPort: 5353, Protocol: v1.ProtocolUDP}}}},
		Containers: []v1.Container{{Name: "web", Ports: []v1.ContainerPort{
			{ContainerPort: 80, HostPort: 8080},
			{ContainerPort: 443},
			{ContainerPort: 9000, HostPort: 9000, Protocol: v1.ProtocolSCTP, HostIP: "127.0.0.1"},
		}}},
	}}
	want := []PortMapping{
		{HostPort: 5353, ContainerPort: 53, Protocol: "udp"},
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostPort: 9000, ContainerPort: 9000, Protocol: "sctp", HostIP: "127.0.0.1"},
	}
	if got := PodPortMappings(pod); !reflect.DeepEqual(got, want) {
		t.Errorf("PodPortMappings = %+v, want %+v", got, want)
	}
	if got := PodPortMappings(&v1.Pod{}); got != nil {
		t.Errorf("no ports: %+v", got)
	}
}

func TestConf_PortmapOnlyForHostPorts(t *testing.T) {
	n, err := New(Config{PluginDirs: []string{"/nonexistent"}, ConfDir: t.TempDir(), CacheDir: t.TempDir(), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	data, err := RenderConflist(n.cfg, "10.244.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	list, err := libcni.NetworkConfFromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	noPorts, err := withoutPortmap(list)
	if err != nil {
		t.Fatal(err)
	}
	n.list, n.noPorts = list, noPorts
	types := func(l *libcni.NetworkConfigList) []string {
		var out []string
		for _, p := range l.Plugins {
			out = append(out, p.Network.Type)
		}
		return out
	}
	with, _ := n.conf(true)
	without, _ := n.conf(false)
	if got := types(with); !reflect.DeepEqual(got, []string{"bridge", "portmap"}) {
		t.Errorf("with hostPorts: plugins %v", got)
	}
	if got := types(without); !reflect.DeepEqual(got, []string{"bridge"}) {
		t.Errorf("without hostPorts: plugins %v", got)
	}
	// Same network name: TearDown finds libcni's cache of either ADD.
	if without.Name != with.Name || without.CNIVersion != with.CNIVersion {
		t.Errorf("without portmap: name %q version %q, want %q %q", without.Name, without.CNIVersion, with.Name, with.CNIVersion)
	}
}

func TestCreateNetNS_LoopbackUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	path := filepath.Join(t.TempDir(), "ns")
	if err := CreateNetNS(path); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := RemoveNetNS(path); err != nil {
			t.Error(err)
		}
	}()
	// (Not /sys/class/net: without a remount it shows the caller's namespace.)
	out, err := exec.Command("nsenter", "--net="+path, "ip", "-o", "link", "show", "lo").CombinedOutput()
	if err != nil {
		t.Fatalf("inspect lo: %v: %s", err, out)
	}
	got := string(out)
	_, flags, _ := strings.Cut(got, "<")
	flags, _, _ = strings.Cut(flags, ">")
	if !slices.Contains(strings.Split(flags, ","), "UP") {
		t.Errorf("lo in the new namespace is not up: %s", got)
	}
}

func TestStatus_NeedsPodCIDRAndEveryPlugin(t *testing.T) {
	bin := t.TempDir()
	cfg := Config{PluginDirs: []string{bin}, ConfDir: t.TempDir(), CacheDir: t.TempDir(), DataDir: t.TempDir()}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Status(); err != ErrNotInitialized {
		t.Fatalf("Status without a podCIDR = %v, want %v", err, ErrNotInitialized)
	}
	data, err := RenderConflist(n.cfg, "10.244.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	if n.list, err = libcni.NetworkConfFromBytes(data); err != nil { // what SetPodCIDR keeps
		t.Fatal(err)
	}
	for _, plugin := range []string{"bridge", "host-local", "portmap"} {
		if err := os.WriteFile(filepath.Join(bin, plugin), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Status(); err != nil {
		t.Fatalf("Status with every plugin = %v", err)
	}
	if err := os.Remove(filepath.Join(bin, "host-local")); err != nil {
		t.Fatal(err)
	}
	if err := n.Status(); err == nil || !strings.Contains(err.Error(), `failed to find plugin "host-local"`) {
		t.Errorf("Status without the IPAM plugin = %v, want it named", err)
	}
}
