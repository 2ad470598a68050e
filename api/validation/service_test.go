package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestValidateCreate_Service(t *testing.T) {
	runCreate(t, newService, []createCase[*corev1.Service]{
		{"valid", func(*corev1.Service) {}, nil},
		{"name must be DNS-1035 label", func(s *corev1.Service) { s.Name = "1web" }, []string{"metadata.name Invalid"}},
		{"ports required", func(s *corev1.Service) { s.Spec.Ports = nil }, []string{"spec.ports Required"}},
		{"headless needs no ports", func(s *corev1.Service) {
			s.Spec.Ports = nil
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"}
		}, nil},
		{"name required with several ports", func(s *corev1.Service) { s.Spec.Ports[1].Name = "" }, []string{"spec.ports[1].name Required"}},
		{"single unnamed port ok", func(s *corev1.Service) { s.Spec.Ports = s.Spec.Ports[:1]; s.Spec.Ports[0].Name = "" }, nil},
		{"duplicate port name", func(s *corev1.Service) { s.Spec.Ports[1].Name = "http" }, []string{"spec.ports[1].name Duplicate"}},
		{"duplicate port+protocol", func(s *corev1.Service) { s.Spec.Ports[1].Port = 80 }, []string{"spec.ports[1] Duplicate"}},
		{"bad protocol", func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "HTTP" }, []string{"spec.ports[0].protocol NotSupported"}},
		{"bad port", func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 }, []string{"spec.ports[0].port Invalid"}},
		{"bad targetPort", func(s *corev1.Service) { s.Spec.Ports[1].TargetPort = intstr.FromInt32(70000) }, []string{"spec.ports[1].targetPort Invalid"}},
		{"nodePort on ClusterIP", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 }, []string{"spec.ports[0].nodePort Forbidden"}},
		{"bad type", func(s *corev1.Service) { s.Spec.Type = "Public" }, []string{"spec.type NotSupported"}},
		{"bad clusterIP", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.300", []string{"10.96.0.300"} },
			[]string{"spec.clusterIPs[0] Invalid"}},
		{"clusterIP disagrees with clusterIPs", func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.21" }, []string{"spec.clusterIPs Invalid"}},
		{"clusterIP alone is normalized later", func(s *corev1.Service) { s.Spec.ClusterIPs = nil }, nil},
		{"clusterIP alone must be an IP", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "ten", nil }, []string{"spec.clusterIP Invalid"}},
		{"headless with clusterIP only", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", nil }, nil},
		{"selector label", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "-web"} }, []string{"spec.selector Invalid"}},
		{"bad sessionAffinity", func(s *corev1.Service) { s.Spec.SessionAffinity = "Cookie" }, []string{"spec.sessionAffinity NotSupported"}},
		{"externalName required", func(s *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, SessionAffinity: corev1.ServiceAffinityNone}
		}, []string{"spec.externalName Required"}},
		{"externalName valid", func(s *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com.", SessionAffinity: corev1.ServiceAffinityNone}
		}, nil},
		{"externalName with clusterIPs", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "db.example.com"
		},
			[]string{"spec.clusterIPs Forbidden"}},
		{"NodePort valid", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
			s.Spec.Ports[0].NodePort = 30080
		}, nil},
		{"externalTrafficPolicy on ClusterIP", func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal },
			[]string{"spec.externalTrafficPolicy Invalid"}},
		{"ClusterIP with externalIPs is externally accessible", func(s *corev1.Service) {
			s.Spec.ExternalIPs = []string{"192.0.2.1"}
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		}, nil},
		{"ClusterIP with externalIPs needs externalTrafficPolicy", func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"192.0.2.1"} },
			[]string{"spec.externalTrafficPolicy Required"}},
	})
}

func TestValidateUpdate_Service(t *testing.T) {
	runUpdate(t, newService, []updateCase[*corev1.Service]{
		{"ports change", func(s, _ *corev1.Service) { s.Spec.Ports[0].Port = 8080 }, nil},
		{"clusterIP change", func(s, _ *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.21", []string{"10.96.0.21"} },
			[]string{"spec.clusterIPs[0] Invalid"}},
		{"clusterIP unset", func(s, _ *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil }, []string{"spec.clusterIPs[0] Invalid"}},
		{"to ExternalName drops clusterIP", func(s, _ *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com", SessionAffinity: corev1.ServiceAffinityNone}
		}, nil},
		{"to ExternalName keeping the stored clusterIP", func(s, _ *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "db.example.com"
		}, nil},
		{"to ExternalName with a new clusterIP", func(s, _ *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "db.example.com"
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.9", []string{"10.96.0.9"}
		}, []string{"spec.clusterIPs Forbidden"}},
		{"NodePort to ClusterIP keeping stored nodePorts", func(s, old *corev1.Service) {
			old.Spec.Type = corev1.ServiceTypeNodePort
			old.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
			old.Spec.Ports[0].NodePort = 30080
			s.Spec.Type = corev1.ServiceTypeClusterIP
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
			s.Spec.Ports[0].NodePort = 30080
		}, nil},
		{"ClusterIP with a new nodePort", func(s, _ *corev1.Service) { s.Spec.Ports[0].NodePort = 30081 }, []string{"spec.ports[0].nodePort Forbidden"}},
		{"clusterIP only, same value", func(s, _ *corev1.Service) { s.Spec.ClusterIPs = nil }, nil},
		{"from ExternalName gets clusterIP", func(s, old *corev1.Service) {
			old.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com", SessionAffinity: corev1.ServiceAffinityNone}
		}, nil},
	})
	old := newService()
	old.ResourceVersion = "1"
	svc := old.DeepCopy()
	svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "10.96.0.21", []string{"10.96.0.21"}
	errs := ValidateUpdate(svc, old)
	if len(errs) != 1 || !strings.HasSuffix(errs[0].Error(), `Invalid value: "10.96.0.21": may not change once set`) {
		t.Errorf("got %v", errs)
	}
}

func TestValidateCreate_Endpoints(t *testing.T) {
	fixture := func() *corev1.Endpoints {
		return defaulted(&corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
			Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: "10.244.1.5", NodeName: ptr("node-1")}},
				Ports:     []corev1.EndpointPort{{Name: "http", Port: 80}, {Name: "https", Port: 443}},
			}},
		})
	}
	runCreate(t, fixture, []createCase[*corev1.Endpoints]{
		{"valid", func(*corev1.Endpoints) {}, nil},
		{"bad ip", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "x" }, []string{"subsets[0].addresses[0].ip Invalid"}},
		{"no addresses", func(e *corev1.Endpoints) { e.Subsets[0].Addresses = nil }, []string{"subsets[0] Required"}},
		{"unnamed of many ports", func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Name = "" }, []string{"subsets[0].ports[0].name Required"}},
	})
}

func TestValidateEndpointSlice(t *testing.T) {
	fixture := func() *discoveryv1.EndpointSlice {
		return defaulted(&discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "web-abc12", Namespace: "default"},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.1.5"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}}},
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(80)), Protocol: ptr(corev1.ProtocolTCP)}},
		})
	}
	runCreate(t, fixture, []createCase[*discoveryv1.EndpointSlice]{
		{"valid", func(*discoveryv1.EndpointSlice) {}, nil},
		{"bad address type", func(e *discoveryv1.EndpointSlice) { e.AddressType = "IPv5" }, []string{"addressType NotSupported"}},
		{"IPv6 address in IPv4 slice", func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Addresses[0] = "fd00::1" }, []string{"endpoints[0].addresses[0] Invalid"}},
		{"no addresses", func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Addresses = nil }, []string{"endpoints[0].addresses Required"}},
		{"duplicate port name", func(e *discoveryv1.EndpointSlice) { e.Ports = append(e.Ports, e.Ports[0]) }, []string{"ports[1].name Duplicate"}},
		{"port protocol", func(e *discoveryv1.EndpointSlice) { e.Ports[0].Protocol = ptr(corev1.Protocol("ICMP")) }, []string{"ports[0].protocol NotSupported"}},
	})
	runUpdate(t, fixture, []updateCase[*discoveryv1.EndpointSlice]{
		{"endpoints change", func(e, _ *discoveryv1.EndpointSlice) { e.Endpoints[0].Addresses[0] = "10.244.1.6" }, nil},
		{"address type immutable", func(e, _ *discoveryv1.EndpointSlice) {
			e.AddressType = discoveryv1.AddressTypeIPv6
			e.Endpoints[0].Addresses[0] = "fd00::1"
		}, []string{"addressType Invalid"}},
	})
}
