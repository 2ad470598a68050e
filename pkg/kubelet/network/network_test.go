package network

import (
	"encoding/json"
	"reflect"
	"testing"

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
