package integration

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func newService(name string, typ corev1.ServiceType, nodePort int32) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{
		Type: typ, Selector: map[string]string{"app": name},
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: nodePort}},
	}}
}

// TestServices_ConcurrentCreatesGetDistinctClusterIPsThatSurviveRestart
// creates 1,000 Services from 50 goroutines: every ClusterIP is distinct
// and inside the range. After an apiserver restart a new Service gets an
// IP none of them holds, and requesting a held IP is 422.
func TestServices_ConcurrentCreatesGetDistinctClusterIPsThatSurviveRestart(t *testing.T) {
	const n, workers = 1000, 50
	s := framework.Start(t, framework.Options{ServiceClusterIPRange: "10.100.0.0/20"})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "svc-many")
	_, cidr, _ := net.ParseCIDR("10.100.0.0/20")
	var mu sync.Mutex
	ips := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				svc, err := s.Client.CoreV1().Services(ns).Create(ctx, newService(fmt.Sprintf("s%04d", i), "", 0), metav1.CreateOptions{})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if other, dup := ips[svc.Spec.ClusterIP]; dup {
					errs <- fmt.Errorf("%s and %s both got %s", other, svc.Name, svc.Spec.ClusterIP)
				}
				ips[svc.Spec.ClusterIP] = svc.Name
				mu.Unlock()
				if ip := net.ParseIP(svc.Spec.ClusterIP); ip == nil || !cidr.Contains(ip) || len(svc.Spec.ClusterIPs) != 1 || svc.Spec.ClusterIPs[0] != svc.Spec.ClusterIP {
					errs <- fmt.Errorf("%s: clusterIP %q clusterIPs %v outside %s", svc.Name, svc.Spec.ClusterIP, svc.Spec.ClusterIPs, cidr)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(ips) != n {
		t.Fatalf("%d distinct IPs, want %d", len(ips), n)
	}
	// The kubernetes Service holds the first address.
	k, err := s.Client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || k.Spec.ClusterIP != "10.100.0.1" {
		t.Fatalf("kubernetes service: %v %v", err, k)
	}
	if _, dup := ips["10.100.0.1"]; dup {
		t.Fatalf("a service got the kubernetes service's IP")
	}

	var taken string
	for ip := range ips {
		taken = ip
		break
	}
	s = s.Restart(t, framework.Options{ServiceClusterIPRange: "10.100.0.0/20"})
	for i := range 20 {
		svc, err := s.Client.CoreV1().Services(ns).Create(ctx, newService(fmt.Sprintf("after-%d", i), "", 0), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := ips[svc.Spec.ClusterIP]; dup || svc.Spec.ClusterIP == "10.100.0.1" {
			t.Fatalf("after restart %s got %s, held by %s", svc.Name, svc.Spec.ClusterIP, other)
		}
		ips[svc.Spec.ClusterIP] = svc.Name
	}
	req := newService("wants-taken", "", 0)
	req.Spec.ClusterIP = taken
	_, err = s.Client.CoreV1().Services(ns).Create(ctx, req, metav1.CreateOptions{})
	wantStatus(t, err, 422)
	req.Spec.ClusterIP = "10.200.0.5" // outside the range
	_, err = s.Client.CoreV1().Services(ns).Create(ctx, req, metav1.CreateOptions{})
	wantStatus(t, err, 422)
}

// TestServices_ClusterIPRequestAndRelease requests a free ClusterIP, is
// refused a taken one, and gets the IP back after deleting its holder.
func TestServices_ClusterIPRequestAndRelease(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	svcs := s.Client.CoreV1().Services("default")
	a := newService("a", "", 0)
	a.Spec.ClusterIP = "10.96.10.10"
	got, err := svcs.Create(ctx, a, metav1.CreateOptions{})
	if err != nil || got.Spec.ClusterIP != "10.96.10.10" {
		t.Fatalf("request free IP: %v %+v", err, got)
	}
	b := newService("b", "", 0)
	b.Spec.ClusterIP = "10.96.10.10"
	_, err = svcs.Create(ctx, b, metav1.CreateOptions{})
	se := wantStatus(t, err, 422)
	if se.ErrStatus.Details == nil || len(se.ErrStatus.Details.Causes) == 0 || !strings.HasPrefix(se.ErrStatus.Details.Causes[0].Field, "spec.clusterIP") {
		t.Fatalf("taken IP causes: %+v", se.ErrStatus.Details)
	}
	if err := svcs.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "released IP can be requested again", func(ctx context.Context) (bool, error) {
		_, err := svcs.Create(ctx, b, metav1.CreateOptions{})
		return err == nil, nil
	})
	// Headless Services take no IP.
	h := newService("headless", "", 0)
	h.Spec.ClusterIP = corev1.ClusterIPNone
	got, err = svcs.Create(ctx, h, metav1.CreateOptions{})
	if err != nil || got.Spec.ClusterIP != "None" {
		t.Fatalf("headless: %v %+v", err, got)
	}
}

// TestServices_NodePortAllocation: NodePort Services get a port from the
// range, may request a free one, are refused a taken one, and a deleted
// Service's port can be requested again.
func TestServices_NodePortAllocation(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	svcs := s.Client.CoreV1().Services("default")
	auto, err := svcs.Create(ctx, newService("auto", corev1.ServiceTypeNodePort, 0), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := auto.Spec.Ports[0].NodePort; p < 30000 || p > 32767 {
		t.Fatalf("auto nodePort %d outside 30000-32767", p)
	}
	req, err := svcs.Create(ctx, newService("req", corev1.ServiceTypeNodePort, 31234), metav1.CreateOptions{})
	if err != nil || req.Spec.Ports[0].NodePort != 31234 {
		t.Fatalf("requested nodePort: %v %+v", err, req)
	}
	_, err = svcs.Create(ctx, newService("dup", corev1.ServiceTypeNodePort, 31234), metav1.CreateOptions{})
	se := wantStatus(t, err, 422)
	if se.ErrStatus.Details == nil || len(se.ErrStatus.Details.Causes) == 0 || se.ErrStatus.Details.Causes[0].Field != "spec.ports[0].nodePort" {
		t.Fatalf("taken nodePort causes: %+v", se.ErrStatus.Details)
	}
	_, err = svcs.Create(ctx, newService("auto-dup", corev1.ServiceTypeNodePort, auto.Spec.Ports[0].NodePort), metav1.CreateOptions{})
	wantStatus(t, err, 422)
	// An update that keeps the Service's own port is fine.
	req.Labels = map[string]string{"x": "y"}
	if _, err := svcs.Update(ctx, req, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update keeping nodePort: %v", err)
	}
	if err := svcs.Delete(ctx, "req", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	again, err := svcs.Create(ctx, newService("dup", corev1.ServiceTypeNodePort, 31234), metav1.CreateOptions{})
	if err != nil || again.Spec.Ports[0].NodePort != 31234 {
		t.Fatalf("released nodePort requested again: %v", err)
	}
	// Switching to ClusterIP releases the node port.
	again.Spec.Type = corev1.ServiceTypeClusterIP
	again.Spec.Ports[0].NodePort = 0
	if _, err := svcs.Update(ctx, again, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("type change to ClusterIP: %v", err)
	}
	if _, err := svcs.Create(ctx, newService("third", corev1.ServiceTypeNodePort, 31234), metav1.CreateOptions{}); err != nil {
		t.Fatalf("nodePort released by type change: %v", err)
	}
}

// TestServices_NodePortsSurviveRestart: node ports held before an
// apiserver restart are still refused after it, and new ones differ.
func TestServices_NodePortsSurviveRestart(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	held := map[int32]bool{}
	for i := range 10 {
		svc, err := s.Client.CoreV1().Services("default").Create(ctx, newService(fmt.Sprintf("np%d", i), corev1.ServiceTypeNodePort, 0), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		held[svc.Spec.Ports[0].NodePort] = true
	}
	s = s.Restart(t, framework.Options{})
	for p := range held {
		_, err := s.Client.CoreV1().Services("default").Create(ctx, newService(fmt.Sprintf("want%d", p), corev1.ServiceTypeNodePort, p), metav1.CreateOptions{})
		wantStatus(t, err, 422)
	}
	for i := range 10 {
		svc, err := s.Client.CoreV1().Services("default").Create(ctx, newService(fmt.Sprintf("new%d", i), corev1.ServiceTypeNodePort, 0), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p := svc.Spec.Ports[0].NodePort; held[p] {
			t.Fatalf("after restart %s got held node port %d", svc.Name, p)
		}
		held[svc.Spec.Ports[0].NodePort] = true
	}
}

// TestServices_RangeLimitsAndTypeChanges: a full range is a 500 that
// says so, a node port outside the range is 422, and changing a Service
// from ClusterIP to NodePort allocates a node port and keeps its IP.
func TestServices_RangeLimitsAndTypeChanges(t *testing.T) {
	t.Parallel()
	// A /29 has six usable addresses; the kubernetes Service takes one.
	s := framework.Start(t, framework.Options{ServiceClusterIPRange: "10.123.0.0/29"})
	ctx := t.Context()
	svcs := s.Client.CoreV1().Services("default")
	var first *corev1.Service
	for i := range 5 {
		svc, err := svcs.Create(ctx, newService(fmt.Sprintf("fill%d", i), "", 0), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("service %d of 5: %v", i, err)
		}
		if first == nil {
			first = svc
		}
	}
	_, err := svcs.Create(ctx, newService("overflow", "", 0), metav1.CreateOptions{})
	se := wantStatus(t, err, 500)
	if !strings.Contains(se.ErrStatus.Message, "range is full") {
		t.Fatalf("full range message %q", se.ErrStatus.Message)
	}
	// Headless Services need no address even then.
	h := newService("headless", "", 0)
	h.Spec.ClusterIP = corev1.ClusterIPNone
	if _, err := svcs.Create(ctx, h, metav1.CreateOptions{}); err != nil {
		t.Fatalf("headless in a full range: %v", err)
	}
	_, err = svcs.Create(ctx, func() *corev1.Service {
		x := newService("badport", corev1.ServiceTypeNodePort, 20000)
		x.Spec.ClusterIP = corev1.ClusterIPNone
		return x
	}(), metav1.CreateOptions{})
	wantStatus(t, err, 422)

	first.Spec.Type = corev1.ServiceTypeNodePort
	np, err := svcs.Update(ctx, first, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if np.Spec.ClusterIP != first.Spec.ClusterIP || np.Spec.Ports[0].NodePort < 30000 {
		t.Fatalf("ClusterIP->NodePort: ip %s (was %s) nodePort %d", np.Spec.ClusterIP, first.Spec.ClusterIP, np.Spec.Ports[0].NodePort)
	}
	// Deleting a Service frees its IP for the next create.
	if err := svcs.Delete(ctx, "fill1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a freed address is reused", func(ctx context.Context) (bool, error) {
		_, err := svcs.Create(ctx, newService("reuse", "", 0), metav1.CreateOptions{})
		return err == nil, nil
	})
}
