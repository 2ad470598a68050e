package iptables

import (
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/proxy"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	clocktesting "k8s.io/utils/clock/testing"
)

const testNode = "node-a"

// service builds a ClusterIP Service "ns/name" with one TCP port "p" 80.
func service(ns, name, ip string, mods ...func(*v1.Service)) *v1.Service {
	s := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.ServiceSpec{
			Type: v1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip},
			Ports: []v1.ServicePort{{Name: "p", Port: 80, Protocol: v1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	for _, m := range mods {
		m(s)
	}
	return s
}

func nodePort(np int32) func(*v1.Service) {
	return func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = np
	}
}

func udp(s *v1.Service) { s.Spec.Ports[0].Protocol = v1.ProtocolUDP }

// ep is an endpoint fixture: ip, node, and its conditions.
type ep struct {
	ip, node                    string
	ready, serving, terminating bool
}

func ready(ip, node string) ep { return ep{ip: ip, node: node, ready: true, serving: true} }

// slice builds the EndpointSlice of svc (port "p" 8080, protocol of the
// Service's first port).
func slice(svc *v1.Service, eps ...ep) *discovery.EndpointSlice {
	name, port, proto := "p", int32(8080), svc.Spec.Ports[0].Protocol
	s := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name + "-abc", Labels: map[string]string{discovery.LabelServiceName: svc.Name}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
	for _, e := range eps {
		e := e
		s.Endpoints = append(s.Endpoints, discovery.Endpoint{
			Addresses:  []string{e.ip},
			NodeName:   &e.node,
			Conditions: discovery.EndpointConditions{Ready: &e.ready, Serving: &e.serving, Terminating: &e.terminating},
		})
	}
	return s
}

// harness drives a tracker and a proxier with fakes.
type harness struct {
	tracker *proxy.Tracker
	proxier *Proxier
	ipt     *fakeIPT
	ct      *fakeConntrack
	clock   *clocktesting.FakeClock
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{tracker: proxy.NewTracker(testNode, nil), ipt: &fakeIPT{}, ct: &fakeConntrack{},
		clock: clocktesting.NewFakeClock(time.Unix(1000, 0))}
	if cfg.SyncPeriod == 0 {
		cfg.SyncPeriod = 30 * time.Second
	}
	var err error
	h.proxier, err = New(cfg, h.ipt, h.ct, WithClock(h.clock))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) add(objs ...any) {
	for _, o := range objs {
		switch o := o.(type) {
		case *v1.Service:
			h.tracker.UpdateService(o)
		case *discovery.EndpointSlice:
			h.tracker.UpdateSlice(o)
		}
	}
}

func (h *harness) sync(t *testing.T) string {
	t.Helper()
	if err := h.proxier.Sync(h.tracker.Snapshot()); err != nil {
		t.Fatalf("sync: %v", err)
	}
	return h.ipt.last()
}
