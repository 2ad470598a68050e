package kubelet

import (
	"errors"
	"strings"
	"testing"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAllocatable_SubtractsReservations(t *testing.T) {
	capacity := v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse("4"),
		v1.ResourceMemory: resource.MustParse("8Gi"),
		v1.ResourcePods:   resource.MustParse("110"),
	}
	got := allocatable(capacity,
		v1.ResourceList{v1.ResourceCPU: resource.MustParse("500m"), v1.ResourceMemory: resource.MustParse("1Gi")},
		v1.ResourceList{v1.ResourceCPU: resource.MustParse("5"), v1.ResourceName("example.com/gpu"): resource.MustParse("1")},
	)
	if !got.Cpu().IsZero() {
		t.Errorf("cpu = %s, want 0 (reservations above capacity clamp at zero)", got.Cpu())
	}
	if want := resource.MustParse("7Gi"); got.Memory().Cmp(want) != 0 {
		t.Errorf("memory = %s, want 7Gi", got.Memory())
	}
	if got.Pods().Value() != 110 {
		t.Errorf("pods = %s", got.Pods())
	}
	if _, ok := got["example.com/gpu"]; ok {
		t.Error("a reservation of a resource the node lacks appeared in allocatable")
	}
	if capacity.Cpu().String() != "4" {
		t.Error("allocatable changed its capacity argument")
	}
}

func TestNodeStatus_ReadyReflectsRuntimeAndNetwork(t *testing.T) {
	k := &Kubelet{cfg: Config{NodeName: "n1", MaxPods: 10, RootDir: t.TempDir(), Port: 10250}, hostIP: "192.168.0.9"}
	now := metav1.NewTime(t0)
	tests := []struct {
		name          string
		rtErr, netErr error
		want          v1.ConditionStatus
		msg           string
	}{
		{"healthy", nil, nil, v1.ConditionTrue, "kubelet is posting ready status"},
		{"runtime down", errors.New("dial unix"), nil, v1.ConditionFalse, "container runtime is down"},
		{"no podCIDR", nil, errors.New("no podCIDR"), v1.ConditionFalse, "network not ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := k.nodeStatus(v1.NodeStatus{}, "1.6.20", tt.rtErr, tt.netErr, nil, now)
			var ready *v1.NodeCondition
			for i := range st.Conditions {
				if st.Conditions[i].Type == v1.NodeReady {
					ready = &st.Conditions[i]
				}
			}
			if ready == nil || ready.Status != tt.want || !strings.Contains(ready.Message, tt.msg) {
				t.Fatalf("Ready = %+v", ready)
			}
			if len(st.Conditions) != 4 {
				t.Errorf("conditions = %d, want Ready and three pressure conditions", len(st.Conditions))
			}
			if st.NodeInfo.ContainerRuntimeVersion != "containerd://1.6.20" || st.DaemonEndpoints.KubeletEndpoint.Port != 10250 {
				t.Errorf("nodeInfo = %+v endpoints = %+v", st.NodeInfo, st.DaemonEndpoints)
			}
			if st.Addresses[0] != (v1.NodeAddress{Type: v1.NodeInternalIP, Address: "192.168.0.9"}) {
				t.Errorf("addresses = %v", st.Addresses)
			}
			if st.Capacity.Pods().Value() != 10 {
				t.Errorf("pods capacity = %s", st.Capacity.Pods())
			}
		})
	}
}

func TestNotReadyMessage_UpstreamWords(t *testing.T) {
	netErr := errors.New("cni plugin not initialized")
	for _, tt := range []struct {
		name          string
		rtErr, netErr error
		want          string
	}{
		{"healthy", nil, nil, ""},
		{"runtime down", errors.New("dial unix /run/containerd.sock: connect: connection refused"), nil, "container runtime is down"},
		{"network", nil, netErr, "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"},
		{"both", errors.New("x"), netErr, "[container runtime is down, container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized]"},
	} {
		if got := notReadyMessage(tt.rtErr, tt.netErr); got != tt.want {
			t.Errorf("%s: message %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestNodeStatus_RuntimeDownKeepsLastImagesAndVersion(t *testing.T) {
	k := &Kubelet{cfg: Config{NodeName: "n1", MaxPods: 10, RootDir: t.TempDir()}, hostIP: "192.168.0.9"}
	now := metav1.NewTime(t0)
	old := k.nodeStatus(v1.NodeStatus{}, "1.6.20", nil, nil, []runtime.ImageInfo{{Names: []string{"busybox"}, Size: 1}}, now)
	st := k.nodeStatus(old, "", errors.New("down"), nil, nil, now)
	if len(st.Images) != 1 || st.NodeInfo.ContainerRuntimeVersion != "containerd://1.6.20" {
		t.Errorf("images %v, runtime version %q: want the last known ones", st.Images, st.NodeInfo.ContainerRuntimeVersion)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Kubeconfig: "k", NodeName: "n1"}
	good.Default()
	if err := good.Validate(); err != nil {
		t.Fatalf("defaulted config: %v", err)
	}
	for name, mut := range map[string]func(*Config){
		"no kubeconfig": func(c *Config) { c.Kubeconfig = "" },
		"no node name":  func(c *Config) { c.NodeName = "" },
		"bad node ip":   func(c *Config) { c.NodeIP = "x" },
		"bad pod cidr":  func(c *Config) { c.PodCIDR = "10.0.0.0" },
		"bad dns":       func(c *Config) { c.ClusterDNS = []string{"dns"} },
		"max pods":      func(c *Config) { c.MaxPods = -1 },
	} {
		c := good
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
