package controller

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEndpointSliceMirroring_SelectorlessService(t *testing.T) {
	c := startCluster(t, []string{"endpointslicemirroring", "endpointslice"})
	ctx := t.Context()
	ns := c.namespace(t, "mirror")
	if _, err := c.client.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "pg", Port: 5432}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Subsets: []corev1.EndpointSubset{{
		Addresses:         []corev1.EndpointAddress{{IP: "192.0.2.10"}, {IP: "192.0.2.11"}},
		NotReadyAddresses: []corev1.EndpointAddress{{IP: "192.0.2.12"}},
		Ports:             []corev1.EndpointPort{{Name: "pg", Port: 5432, Protocol: corev1.ProtocolTCP}},
	}}}
	if _, err := c.client.CoreV1().Endpoints(ns).Create(ctx, ep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mirrored := func() (int, int) {
		l, err := c.client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=ext"})
		if err != nil {
			t.Fatal(err)
		}
		n, ready := 0, 0
		for _, s := range l.Items {
			if s.Labels["endpointslice.kubernetes.io/managed-by"] != "endpointslicemirroring-controller.k8s.io" {
				t.Fatalf("slice %s managed by %q", s.Name, s.Labels["endpointslice.kubernetes.io/managed-by"])
			}
			for _, e := range s.Endpoints {
				n++
				if *e.Conditions.Ready {
					ready++
				}
			}
		}
		return n, ready
	}
	eventually(t, 20*time.Second, "mirrored slice", func() (bool, error) {
		n, ready := mirrored()
		return n == 3 && ready == 2, nil
	})
	// Opting out removes the mirror.
	cur, err := c.client.CoreV1().Endpoints(ns).Get(ctx, "ext", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Labels = map[string]string{"endpointslice.kubernetes.io/skip-mirror": "true"}
	if _, err := c.client.CoreV1().Endpoints(ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "mirror removed", func() (bool, error) {
		n, _ := mirrored()
		return n == 0, nil
	})
}
