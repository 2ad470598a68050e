package fake

import (
	"context"
	"strings"
	"testing"

	"github.com/kstack/kstack/pkg/kubelet/network"
)

func TestNetwork_HandsOutHostLocalsAddressesAndReusesReleasedOnes(t *testing.T) {
	ctx := context.Background()
	n := NewNetwork()
	if n.Status() == nil {
		t.Fatal("ready before a podCIDR")
	}
	if err := n.SetPodCIDR("10.0.0.0/29"); err != nil { // .2 to .6 usable
		t.Fatal(err)
	}
	pod := network.PodRef{Namespace: "ns", Name: "p"}
	var got []string
	for _, sb := range []string{"a", "b", "c", "d", "e"} {
		ip, err := n.SetUp(ctx, sb, "", pod)
		if err != nil {
			t.Fatalf("SetUp %s: %v", sb, err)
		}
		got = append(got, ip.String())
	}
	if want := "10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6"; strings.Join(got, " ") != want {
		t.Errorf("IPs %v, want %s", got, want)
	}
	if _, err := n.SetUp(ctx, "f", "", pod); err == nil || !strings.Contains(err.Error(), "no IP addresses available") {
		t.Errorf("SetUp with the range full: %v", err)
	}
	if ip, _ := n.SetUp(ctx, "c", "", pod); ip.String() != "10.0.0.4" {
		t.Errorf("SetUp again for a sandbox gave %v, want its IP 10.0.0.4", ip)
	}
	if err := n.TearDown(ctx, "c", "", pod); err != nil {
		t.Fatal(err)
	}
	if ip, err := n.SetUp(ctx, "f", "", pod); err != nil || ip.String() != "10.0.0.4" {
		t.Errorf("SetUp after a release: %v, %v; want 10.0.0.4", ip, err)
	}
	if err := n.SetPodCIDR("10.0.0.1/24"); err == nil {
		t.Error("SetPodCIDR accepted a host address")
	}
}
