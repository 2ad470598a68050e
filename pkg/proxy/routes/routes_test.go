package routes

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type fakeIP struct {
	show  string
	calls []string
}

func (f *fakeIP) IP(args ...string) ([]byte, error) {
	if args[1] == "route" && args[2] == "show" {
		return []byte(f.show), nil
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
	want := []string{
		"route replace 10.244.3.0/24 via 10.0.0.4 proto 66",
		"route replace 10.244.4.0/24 via 10.0.0.5 proto 66",
		"route del 10.244.9.0/24 proto 66",
	}
	if strings.Join(f.calls, "|") != strings.Join(want, "|") {
		t.Errorf("ip calls:\n%s\nwant:\n%s", strings.Join(f.calls, "\n"), strings.Join(want, "\n"))
	}
}
