package endpointslice

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestDesired_GroupsByResolvedPortsAndConditions(t *testing.T) {
	client := fake.NewClientset()
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(client, f.Core().V1().Services(), f.Core().V1().Pods(), f.Core().V1().Nodes(), f.Discovery().V1().EndpointSlices())
	_ = f.Core().V1().Nodes().Informer().GetIndexer().Add(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1",
		Labels: map[string]string{corev1.LabelTopologyZone: "z1"}}})
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Spec: corev1.ServiceSpec{
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}}}}
	mk := func(name string, port int32, ready, terminating bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
			Spec:   corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.0.0.%d", port%250)}}
		if ready {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}
		if terminating {
			now := metav1.Now()
			p.DeletionTimestamp = &now
		}
		return p
	}
	groups := c.desired(svc, []*corev1.Pod{mk("a", 8080, true, false), mk("b", 9090, false, false), mk("c", 8081, true, true)})
	if len(groups) != 3 {
		t.Fatalf("%d groups, want one per resolved port", len(groups))
	}
	byPort := map[int32]discoveryv1.Endpoint{}
	for _, g := range groups {
		if g.addressType != discoveryv1.AddressTypeIPv4 || len(g.endpoints) != 1 {
			t.Fatalf("group %+v", g)
		}
		byPort[*g.ports[0].Port] = g.endpoints[0]
	}
	for port, want := range map[int32][3]bool{8080: {true, true, false}, 9090: {false, false, false}, 8081: {false, true, true}} {
		ep := byPort[port]
		got := [3]bool{*ep.Conditions.Ready, *ep.Conditions.Serving, *ep.Conditions.Terminating}
		if got != want {
			t.Errorf("port %d: ready/serving/terminating = %v, want %v", port, got, want)
		}
		if ep.Zone == nil || *ep.Zone != "z1" || *ep.NodeName != "n1" {
			t.Errorf("port %d: zone/node missing: %+v", port, ep)
		}
	}
}

func TestReconcile_ChunksAt100(t *testing.T) {
	client := fake.NewClientset()
	n := 0
	client.PrependReactor("create", "endpointslices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s := a.(k8stesting.CreateAction).GetObject().(*discoveryv1.EndpointSlice)
		n++
		s.Name = fmt.Sprintf("%s%d", s.GenerateName, n)
		return false, nil, nil
	})
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(client, f.Core().V1().Services(), f.Core().V1().Pods(), f.Core().V1().Nodes(), f.Discovery().V1().EndpointSlices())
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc"}}
	g := &group{addressType: discoveryv1.AddressTypeIPv4}
	for i := 0; i < 250; i++ {
		g.endpoints = append(g.endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.0.%d.%d", i/200, i%200)}})
	}
	if err := c.reconcile(t.Context(), "ns/web", svc, []*group{g}, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	sizes := []int{}
	for _, a := range client.Actions() {
		if a.GetVerb() == "create" {
			sizes = append(sizes, len(a.(k8stesting.CreateAction).GetObject().(*discoveryv1.EndpointSlice).Endpoints))
		}
	}
	if fmt.Sprint(sizes) != "[100 100 50]" {
		t.Errorf("slice sizes %v, want [100 100 50]", sizes)
	}
}
