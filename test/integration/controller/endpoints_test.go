package controller

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestEndpoints_ServiceGetsSlicesAndEndpointsFollowingReadiness(t *testing.T) {
	c := startCluster(t, []string{"endpointslice", "endpoint"})
	ns := c.namespace(t, "svc")
	ctx := t.Context()
	if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1",
		Labels: map[string]string{corev1.LabelTopologyZone: "zone-a"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"},
		Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
	}}
	if _, err := c.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// 150 pods: slices hold at most 100 endpoints.
	for i := 0; i < 150; i++ {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%03d", i), Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(8080 + i%2), Protocol: corev1.ProtocolTCP}}}}}}
		if i == 0 {
			pod.Spec.NodeName = "n1"
		}
		p, err := c.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.PodIP = fmt.Sprintf("10.244.%d.%d", i/200, 1+i%200)
		p.Status.Phase = corev1.PodRunning
		if i%3 != 0 { // two in three ready
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}
		if _, err := c.client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	slices := func() []discoveryv1.EndpointSlice {
		l, err := c.client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	eventually(t, 30*time.Second, "150 endpoints in slices", func() (bool, error) {
		n := 0
		for _, s := range slices() {
			if len(s.Endpoints) > 100 {
				return false, fmt.Errorf("slice %s has %d endpoints", s.Name, len(s.Endpoints))
			}
			n += len(s.Endpoints)
		}
		return n == 150, nil
	})
	ready, ports := 0, map[int32]int{}
	for _, s := range slices() {
		if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Service" || s.Labels[discoveryv1.LabelManagedBy] != "endpointslice-controller.k8s.io" {
			t.Errorf("slice %s metadata: %+v", s.Name, s.ObjectMeta)
		}
		for _, ep := range s.Endpoints {
			if *ep.Conditions.Ready {
				ready++
			}
			ports[*s.Ports[0].Port] += 1
			if ep.TargetRef.Name == "web-000" && (ep.NodeName == nil || *ep.NodeName != "n1" || ep.Zone == nil || *ep.Zone != "zone-a") {
				t.Errorf("web-000 endpoint lacks node/zone: %+v", ep)
			}
		}
	}
	if ready != 100 || ports[8080] != 75 || ports[8081] != 75 {
		t.Errorf("ready=%d ports=%v, want 100 ready and the named port resolved per pod (75 each)", ready, ports)
	}
	eventually(t, 30*time.Second, "legacy Endpoints", func() (bool, error) {
		ep, err := c.client.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		r, nr := 0, 0
		for _, s := range ep.Subsets {
			r += len(s.Addresses)
			nr += len(s.NotReadyAddresses)
		}
		return r == 100 && nr == 50 && len(ep.Subsets) == 2, nil
	})

	// Readiness flips show up within a second.
	p, err := c.client.CoreV1().Pods(ns).Get(ctx, "web-003", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if _, err := c.client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "web-003 ready in its slice", func() (bool, error) {
		for _, s := range slices() {
			for _, ep := range s.Endpoints {
				if ep.TargetRef.Name == "web-003" {
					return *ep.Conditions.Ready, nil
				}
			}
		}
		return false, nil
	})
	// A deleted pod leaves.
	if err := c.client.CoreV1().Pods(ns).Delete(ctx, "web-001", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "web-001 gone from slices and endpoints", func() (bool, error) {
		names := map[string]bool{}
		for _, s := range slices() {
			for _, ep := range s.Endpoints {
				names[ep.TargetRef.Name] = true
			}
		}
		if len(names) != 149 || names["web-001"] {
			return false, nil
		}
		ep, err := c.client.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, s := range ep.Subsets {
			for _, a := range append(s.Addresses, s.NotReadyAddresses...) {
				if a.TargetRef.Name == "web-001" {
					return false, nil
				}
			}
		}
		return true, nil
	})

	// publishNotReadyAddresses makes every endpoint ready.
	s, err := c.client.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Spec.PublishNotReadyAddresses = true
	if _, err := c.client.CoreV1().Services(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "all endpoints ready", func() (bool, error) {
		n := 0
		for _, s := range slices() {
			for _, ep := range s.Endpoints {
				if !*ep.Conditions.Ready {
					return false, nil
				}
				n++
			}
		}
		return n == 149, nil
	})
}
