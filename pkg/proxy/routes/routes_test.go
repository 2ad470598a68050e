package routes

import (
	"errors"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type fakeIP struct {
	show    string
	addrs   string // "ip -4 -o addr show"; default: lo and 10.0.0.2/24
	addrErr error  // what "ip -4 -o addr show" fails with
	calls   []string
}

// wantCalls checks the changing ip calls (not the listings) were want.
func (f *fakeIP) wantCalls(t *testing.T, want ...string) {
	t.Helper()
	if strings.Join(f.calls, "|") != strings.Join(want, "|") {
		t.Errorf("ip calls:\n%s\nwant:\n%s", strings.Join(f.calls, "\n"), strings.Join(want, "\n"))
	}
}

const defaultAddrs = `1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
2: eth0    inet 10.0.0.2/24 brd 10.0.0.255 scope global eth0\       valid_lft forever preferred_lft forever
`

func (f *fakeIP) IP(args ...string) ([]byte, error) {
	if args[1] == "route" && args[2] == "show" {
		return []byte(f.show), nil
	}
	if strings.Join(args, " ") == "-4 -o addr show" {
		if f.addrErr != nil {
			return nil, f.addrErr
		}
		if f.addrs == "" {
			return []byte(defaultAddrs), nil
		}
		return []byte(f.addrs), nil
	}
	f.calls = append(f.calls, strings.Join(args, " "))
	return nil, nil
}

func node(name, cidr, ip string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{PodCIDR: cidr},
		Status: v1.NodeStatus{Addresses: []v1.NodeAddress{{Type: v1.NodeHostName, Address: name}, {Type: v1.NodeInternalIP, Address: ip}}}}
}

func TestSync_AddsOtherNodesRoutesAndRemovesGoneOnes(t *testing.T) {
	f := &fakeIP{show: "10.244.2.0/24 via 10.0.0.3 dev br0 proto 66\n10.244.9.0/24 via 10.0.0.9 dev br0 proto 66\n10.244.3.0/24 via 10.0.0.99 dev br0 proto 66\n"}
	m := New("n1", f)
	nodes := []*v1.Node{
		node("n1", "10.244.1.0/24", "10.0.0.2"), // self: no route
		node("n2", "10.244.2.0/24", "10.0.0.3"), // present and right
		node("n3", "10.244.3.0/24", "10.0.0.4"), // wrong gateway
		node("n4", "10.244.4.0/24", "10.0.0.5"), // missing
		node("n5", "", "10.0.0.6"),              // no podCIDR yet
	}
	if err := m.Sync(nodes); err != nil {
		t.Fatal(err)
	}
	f.wantCalls(t,
		"route replace 10.244.3.0/24 via 10.0.0.4 proto 66",
		"route replace 10.244.4.0/24 via 10.0.0.5 proto 66",
		"route del 10.244.9.0/24 proto 66",
	)
}

func TestSync_LeavesOutNodesOffThisNodesNetworks(t *testing.T) {
	f := &fakeIP{
		show:  "10.244.0.0/24 via 192.0.2.2 dev eth0 proto 66\n",
		addrs: defaultAddrs + "7: kstack-nodes    inet 10.88.0.11/24 scope global kstack-nodes\\ valid_lft forever\n",
	}
	m := New("n1", f)
	nodes := []*v1.Node{
		node("n1", "10.244.1.0/24", "10.0.0.2"),
		node("n2", "10.244.2.0/24", "10.0.0.3"),   // on eth0's network
		node("n3", "10.244.3.0/24", "10.88.0.12"), // on the second network
		node("vm", "10.244.0.0/24", "192.0.2.2"),  // on none: left out, its old route removed
		node("lo", "10.244.5.0/24", "127.0.0.5"),  // loopback is no gateway
	}
	if err := m.Sync(nodes); err != nil {
		t.Fatalf("a node off this node's networks failed the sync: %v", err)
	}
	f.wantCalls(t,
		"route replace 10.244.2.0/24 via 10.0.0.3 proto 66",
		"route replace 10.244.3.0/24 via 10.88.0.12 proto 66",
		"route del 10.244.0.0/24 proto 66",
	)
	off := m.OffLink()
	if len(off) != 2 || off["10.244.0.0/24"] != "192.0.2.2" || off["10.244.5.0/24"] != "127.0.0.5" {
		t.Errorf("OffLink = %v, want vm's and lo's routes", off)
	}

	// Once the node is on a shared network, its route is made.
	f.calls, f.show = nil, ""
	f.addrs += "8: eth1    inet 192.0.2.9/24 scope global eth1\n"
	if err := m.Sync(nodes[:4]); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(f.calls, "route replace 10.244.0.0/24 via 192.0.2.2 proto 66") || len(m.OffLink()) != 0 {
		t.Errorf("after the network appeared: calls %v, off-link %v", f.calls, m.OffLink())
	}

	// Cleanup needs no network list: it works when listing them fails.
	f.calls, f.show = nil, "10.244.0.0/24 via 192.0.2.2 dev eth0 proto 66\n"
	f.addrErr = errors.New("ip addr fails")
	if err := m.Cleanup(); err != nil {
		t.Fatal(err)
	}
	f.wantCalls(t, "route del 10.244.0.0/24 proto 66")
}
