package proxy

import (
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func svc(name string, mods ...func(*v1.Service)) *v1.Service {
	s := &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}}}}
	for _, m := range mods {
		m(s)
	}
	return s
}

func eslice(service, name string, port int32, eps ...discovery.Endpoint) *discovery.EndpointSlice {
	pn, proto := "http", v1.ProtocolTCP
	return &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{discovery.LabelServiceName: service}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: &pn, Port: &port, Protocol: &proto}},
		Endpoints:   eps,
	}
}

func bp(b bool) *bool { return &b }

func sp(s string) *string { return &s }

func TestTracker_SnapshotMergesSlicesAndReportsChanges(t *testing.T) {
	tr := NewTracker("me", nil)
	tr.UpdateService(svc("web"))
	tr.UpdateSlice(eslice("web", "web-1", 8080, discovery.Endpoint{Addresses: []string{"10.244.2.9"}, NodeName: sp("me")}))
	tr.UpdateSlice(eslice("web", "web-2", 8080,
		discovery.Endpoint{Addresses: []string{"10.244.1.2"}, Conditions: discovery.EndpointConditions{Ready: bp(false), Serving: bp(true), Terminating: bp(true)}}))
	snap := tr.Snapshot()
	name := ServicePortName{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "web"}, Port: "http", Protocol: v1.ProtocolTCP}
	if got := snap.Services[name]; got == nil || got.ClusterIP != "10.96.0.10" || got.Port != 80 {
		t.Fatalf("service port = %+v", got)
	}
	want := []Endpoint{
		{IP: "10.244.1.2", Port: 8080, Serving: true, Terminating: true},
		{IP: "10.244.2.9", Port: 8080, NodeName: "me", IsLocal: true, Ready: true, Serving: true},
	}
	if got := snap.Endpoints[name]; !reflect.DeepEqual(got, want) {
		t.Errorf("endpoints = %+v, want %+v", got, want)
	}
	if !snap.Changed[name.NamespacedName] {
		t.Errorf("web not reported changed")
	}
	if again := tr.Snapshot(); len(again.Changed) != 0 || len(again.Services) != 1 {
		t.Errorf("second snapshot: changed %v, %d services", again.Changed, len(again.Services))
	}
	tr.DeleteSlice(eslice("web", "web-1", 8080))
	tr.DeleteSlice(eslice("web", "web-2", 8080))
	if snap := tr.Snapshot(); len(snap.Endpoints[name]) != 0 || !snap.Changed[name.NamespacedName] {
		t.Errorf("after deleting the slices: %+v", snap.Endpoints)
	}
}

func TestTracker_ServicesWithoutClusterIPAreSkipped(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*v1.Service)
	}{
		{"headless", func(s *v1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"} }},
		{"ExternalName", func(s *v1.Service) { s.Spec.Type = v1.ServiceTypeExternalName }},
		{"IPv6 only", func(s *v1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "fd00::1", []string{"fd00::1"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker("me", nil)
			tr.UpdateService(svc("x", tc.mod))
			if n := len(tr.Snapshot().Services); n != 0 {
				t.Errorf("%d service ports, want 0", n)
			}
		})
	}
}

func TestTracker_PolicyFields(t *testing.T) {
	local := v1.ServiceInternalTrafficPolicyLocal
	tr := NewTracker("me", nil)
	tr.UpdateService(svc("x", func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = 30001
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = 32001
		s.Spec.InternalTrafficPolicy = &local
		s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	}))
	for _, p := range tr.Snapshot().Services {
		if p.NodePort != 30001 || !p.ExternalPolicyLocal || p.HealthCheckNodePort != 32001 || !p.InternalPolicyLocal || p.StickyMaxAgeSeconds != 10800 {
			t.Errorf("service port = %+v", p)
		}
	}
}

func TestCategorizeEndpoints(t *testing.T) {
	r := Endpoint{IP: "10.0.0.1", Port: 1, Ready: true, Serving: true}
	rl := Endpoint{IP: "10.0.0.2", Port: 1, Ready: true, Serving: true, IsLocal: true}
	term := Endpoint{IP: "10.0.0.3", Port: 1, Serving: true, Terminating: true}
	terml := Endpoint{IP: "10.0.0.4", Port: 1, Serving: true, Terminating: true, IsLocal: true}
	dead := Endpoint{IP: "10.0.0.5", Port: 1}
	for _, tc := range []struct {
		name                string
		eps                 []Endpoint
		svc                 ServicePort
		cluster, local, all []Endpoint
	}{
		{"ready only", []Endpoint{r, term, dead}, ServicePort{}, []Endpoint{r}, nil, []Endpoint{r}},
		{"terminating fallback", []Endpoint{term, dead}, ServicePort{}, []Endpoint{term}, nil, []Endpoint{term}},
		{"nothing serving", []Endpoint{dead}, ServicePort{}, nil, nil, nil},
		{"external local", []Endpoint{r, rl}, ServicePort{ExternalPolicyLocal: true}, []Endpoint{r, rl}, []Endpoint{rl}, []Endpoint{r, rl}},
		{"local falls back to local terminating", []Endpoint{r, terml}, ServicePort{InternalPolicyLocal: true}, []Endpoint{r}, []Endpoint{terml}, []Endpoint{r, terml}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, l, a := CategorizeEndpoints(tc.eps, &tc.svc)
			if !reflect.DeepEqual(c, tc.cluster) || !reflect.DeepEqual(l, tc.local) || !reflect.DeepEqual(a, tc.all) {
				t.Errorf("got cluster %v local %v all %v; want %v %v %v", c, l, a, tc.cluster, tc.local, tc.all)
			}
		})
	}
}

func TestTracker_SnapshotUpdatesOnlyChangedServices(t *testing.T) {
	tr := NewTracker("me", nil)
	tr.UpdateService(svc("web"))
	tr.UpdateService(svc("api"))
	tr.Snapshot()
	web := types.NamespacedName{Namespace: "ns", Name: "web"}
	api := types.NamespacedName{Namespace: "ns", Name: "api"}
	tr.UpdateSlice(eslice("web", "web-1", 8080, discovery.Endpoint{Addresses: []string{"10.244.2.9"}}))
	snap := tr.Snapshot()
	if len(snap.Changed) != 1 || !snap.Changed[web] {
		t.Errorf("changed = %v, want only %v", snap.Changed, web)
	}
	if len(snap.Ports[web]) != 1 || len(snap.Ports[api]) != 1 || len(snap.Services) != 2 {
		t.Fatalf("ports %v, services %d", snap.Ports, len(snap.Services))
	}
	if eps := snap.Endpoints[snap.Ports[web][0].Name]; len(eps) != 1 || eps[0].IP != "10.244.2.9" {
		t.Errorf("web endpoints = %+v", eps)
	}
	tr.DeleteService(svc("web"))
	snap = tr.Snapshot()
	if _, ok := snap.Ports[web]; ok || len(snap.Services) != 1 || len(snap.Endpoints) != 0 {
		t.Errorf("after deleting web: ports %v, services %v, endpoints %v", snap.Ports, snap.Services, snap.Endpoints)
	}
}
