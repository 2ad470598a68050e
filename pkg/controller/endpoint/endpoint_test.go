package endpoint

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func testPod(name, ip string, ready, terminating bool, port int32) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip}}
	if ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	if terminating {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	return p
}

func TestSubsets(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}}}}
	pods := []*corev1.Pod{
		testPod("a", "10.0.0.2", true, false, 8080),
		testPod("b", "10.0.0.1", false, false, 8080),
		testPod("c", "10.0.0.3", true, false, 9090), // another port: another subset
		testPod("d", "10.0.0.4", true, true, 8080),  // terminating: left out
		testPod("e", "", true, false, 8080),         // no IP yet
	}
	subsets, total := Subsets(svc, pods)
	if total != 3 || len(subsets) != 2 {
		t.Fatalf("total=%d subsets=%+v", total, subsets)
	}
	s8080 := subsets[0]
	if s8080.Ports[0].Port != 8080 {
		s8080 = subsets[1]
	}
	if len(s8080.Addresses) != 1 || s8080.Addresses[0].IP != "10.0.0.2" || len(s8080.NotReadyAddresses) != 1 || s8080.NotReadyAddresses[0].IP != "10.0.0.1" {
		t.Errorf("8080 subset = %+v", s8080)
	}
	// publishNotReadyAddresses: everyone ready, terminating included.
	svc.Spec.PublishNotReadyAddresses = true
	subsets, total = Subsets(svc, pods)
	ready := 0
	for _, s := range subsets {
		ready += len(s.Addresses)
		if len(s.NotReadyAddresses) != 0 {
			t.Errorf("not-ready addresses with publishNotReadyAddresses: %+v", s)
		}
	}
	if total != 4 || ready != 4 {
		t.Errorf("publishNotReadyAddresses: total=%d ready=%d, want 4", total, ready)
	}
	if got := truncate(subsets, 2); len(got[0].Addresses)+len(got[1].Addresses) != 2 {
		t.Errorf("truncate kept %+v", got)
	}
}
