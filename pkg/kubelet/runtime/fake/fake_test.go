package fake

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/network"
	"github.com/kstack/kstack/pkg/kubelet/runtime"
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

func TestRuntime_ExecPassesUnlessScriptedAndCutsOutput(t *testing.T) {
	r := NewRuntime()
	if code, out, err := r.Exec(t.Context(), "c1", []string{"check"}, time.Second); code != 0 || out != nil || err != nil {
		t.Errorf("default Exec = %d, %q, %v; want 0, no output, nil", code, out, err)
	}
	var got []string
	r.SetExec(func(id string, cmd []string, _ time.Duration) (int, []byte, error) {
		got = append([]string{id}, cmd...)
		return 7, []byte(strings.Repeat("x", runtime.MaxExecOutput+1)), nil
	})
	code, out, err := r.Exec(t.Context(), "c1", []string{"check", "-v"}, time.Second)
	if code != 7 || len(out) != runtime.MaxExecOutput || err != nil {
		t.Errorf("scripted Exec = %d, %d bytes, %v; want 7, %d bytes, nil", code, len(out), err, runtime.MaxExecOutput)
	}
	if strings.Join(got, " ") != "c1 check -v" {
		t.Errorf("script saw %q", got)
	}
	r.SetExec(nil)
	if code, _, _ := r.Exec(t.Context(), "c1", nil, time.Second); code != 0 {
		t.Errorf("Exec after SetExec(nil) = %d, want 0", code)
	}
}
