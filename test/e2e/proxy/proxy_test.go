//go:build e2e

// Package proxy's e2e tests run the real kube-proxy binary inside a fresh
// network namespace (a "node": bridge with pod backends in their own
// namespaces, a dummy uplink with the node IP) against an in-process
// apiserver, and check Service traffic end to end through the kernel's
// iptables. The host's own iptables are never touched. Needs root,
// iptables (nf_tables), nsenter and conntrack.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kstack/kstack/test/integration/framework"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

var kubeProxyBin string

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("skipping kube-proxy e2e: needs root")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "kp-e2e-bin")
	if err != nil {
		panic(err)
	}
	kubeProxyBin = filepath.Join(dir, "kube-proxy")
	if out, err := exec.Command("go", "build", "-o", kubeProxyBin, "github.com/kstack/kstack/cmd/kube-proxy").CombinedOutput(); err != nil {
		fmt.Printf("build kube-proxy: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// writeKubeconfig writes a kubeconfig for cfg's identity at server.
func writeKubeconfig(t *testing.T, cfg *rest.Config, server string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: cfg.CAData, CertificateAuthority: cfg.CAFile}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData,
		ClientCertificate: cfg.CertFile, ClientKey: cfg.KeyFile}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "c"
	path := filepath.Join(t.TempDir(), "kube-proxy.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// startKubeProxy runs the binary inside the node's netns as
// system:kube-proxy, extra flags after the usual ones (the last of a
// flag wins); the returned func stops it (SIGTERM, then wait).
func startKubeProxy(t *testing.T, s *framework.Server, n *node, extra ...string) func() {
	t.Helper()
	// The apiserver listens on the host's loopback: relay the same
	// address inside the node so its serving certificate still matches.
	addr := s.Running.Addr
	forward(t, n.ns, addr, addr)
	kubeconfig := writeKubeconfig(t, s.UserConfig(t, "system:kube-proxy"), "https://"+addr)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "kube-proxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--net=/run/netns/" + n.ns, "--", kubeProxyBin,
		"--kubeconfig", kubeconfig, "--hostname-override", "node-a", "--cluster-cidr", "10.244.0.0/16",
		"--iptables-min-sync-period", "100ms", "--iptables-sync-period", "30s", "--pod-routes",
		"--healthz-bind-address", "127.0.0.1:10256", "--metrics-bind-address", "127.0.0.1:10249", "-v", "4"}, extra...)
	cmd := exec.Command("nsenter", args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kube-proxy: %v", err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("kube-proxy log:\n%s", b)
		}
	}
	t.Cleanup(stop)
	return stop
}

// createService creates a Service with port "http" 80 -> 8080 in ns.
func createService(t *testing.T, c kubernetes.Interface, ns, name string, mods ...func(*v1.Service)) *v1.Service {
	t.Helper()
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1.ServiceSpec{Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}},
	}
	for _, m := range mods {
		m(svc)
	}
	out, err := c.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service %s/%s: %v", ns, name, err)
	}
	return out
}

// setEndpoints creates or replaces the Service's EndpointSlice: each
// backend with its readiness.
func setEndpoints(t *testing.T, c kubernetes.Interface, svc *v1.Service, ready map[*backend]bool) {
	t.Helper()
	nodeName := "node-a"
	var eps []discovery.Endpoint
	for b, r := range ready {
		eps = append(eps, discovery.Endpoint{Addresses: []string{b.ip}, NodeName: &nodeName,
			Conditions: discovery.EndpointConditions{Ready: &r, Serving: &r}})
	}
	putSlice(t, c, svc, nil, eps...)
}

// setUDPEndpoints sets a UDP Service's slice to the ready backends.
func setUDPEndpoints(t *testing.T, c kubernetes.Interface, svc *v1.Service, bs ...*backend) {
	t.Helper()
	yes := true
	var eps []discovery.Endpoint
	for _, b := range bs {
		eps = append(eps, discovery.Endpoint{Addresses: []string{b.ip}, Conditions: discovery.EndpointConditions{Ready: &yes}})
	}
	putSlice(t, c, svc, nil, eps...)
}

// putSlice creates or replaces the Service's EndpointSlice (port "http"
// 8080 of the Service's protocol) with eps and annotations.
func putSlice(t *testing.T, c kubernetes.Interface, svc *v1.Service, annotations map[string]string, eps ...discovery.Endpoint) {
	t.Helper()
	name, port, proto := "http", int32(8080), svc.Spec.Ports[0].Protocol
	es := &discovery.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name + "-1", Annotations: annotations,
			Labels: map[string]string{discovery.LabelServiceName: svc.Name}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
		Endpoints:   eps,
	}
	ctx := context.Background()
	cur, err := c.DiscoveryV1().EndpointSlices(svc.Namespace).Get(ctx, es.Name, metav1.GetOptions{})
	if err == nil {
		es.ResourceVersion = cur.ResourceVersion
		_, err = c.DiscoveryV1().EndpointSlices(svc.Namespace).Update(ctx, es, metav1.UpdateOptions{})
	} else {
		_, err = c.DiscoveryV1().EndpointSlices(svc.Namespace).Create(ctx, es, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatalf("endpoint slice of %s: %v", svc.Name, err)
	}
}

func createNamespace(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// eventually polls f until it returns nil or 20 s pass.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: still failing after 20s: %v", what, err)
}

// hits sends n requests and counts the answers per backend name.
func hits(client interface {
	Get(string) (string, error)
}, url string, n int) (map[string]int, error) {
	out := map[string]int{}
	for i := 0; i < n; i++ {
		body, err := client.Get(url)
		if err != nil {
			return out, err
		}
		out[body]++
	}
	return out, nil
}

type nsClient struct{ ns string }

func (c nsClient) Get(url string) (string, error) { return get(clientIn(c.ns), url) }

func TestKubeProxy(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	c := s.Client
	n := newNode(t)
	b1, b2 := n.addBackend(t, "b1"), n.addBackend(t, "b2")
	createNamespace(t, c, "kp")
	stop := startKubeProxy(t, s, n)
	client := nsClient{n.ns}

	t.Run("ClusterIPBalancesAcrossTwoReadyEndpoints", func(t *testing.T) {
		svc := createService(t, c, "kp", "web")
		setEndpoints(t, c, svc, map[*backend]bool{b1: true, b2: true})
		url := "http://" + svc.Spec.ClusterIP + ":80/"
		eventually(t, "service answers", func() error { _, err := client.Get(url); return err })
		got, err := hits(client, url, 50)
		if err != nil {
			t.Fatal(err)
		}
		if got["b1"] == 0 || got["b2"] == 0 {
			t.Errorf("50 requests reached %v, want both b1 and b2", got)
		}

		// b2 turns not ready: it leaves the rotation.
		setEndpoints(t, c, svc, map[*backend]bool{b1: true, b2: false})
		eventually(t, "only b1 answers", func() error {
			got, err := hits(client, url, 20)
			if err != nil {
				return err
			}
			if got["b1"] != 20 {
				return fmt.Errorf("answers %v", got)
			}
			return nil
		})
	})

	t.Run("ServiceWithoutEndpointsRefusesConnections", func(t *testing.T) {
		svc := createService(t, c, "kp", "empty")
		addr := svc.Spec.ClusterIP + ":80"
		eventually(t, "connection refused", func() error {
			start := time.Now()
			err := withNetns(n.ns, func() error {
				conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err == nil {
					conn.Close()
				}
				return err
			})
			if !errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("dial %s: %v, want connection refused", addr, err)
			}
			if d := time.Since(start); d > time.Second {
				return fmt.Errorf("refusal took %s", d)
			}
			return nil
		})
	})

	t.Run("NodePortAnswersOnTheNodeIP", func(t *testing.T) {
		svc := createService(t, c, "kp", "np", func(s *v1.Service) { s.Spec.Type = v1.ServiceTypeNodePort })
		setEndpoints(t, c, svc, map[*backend]bool{b1: true, b2: true})
		url := fmt.Sprintf("http://%s:%d/", n.ip, svc.Spec.Ports[0].NodePort)
		eventually(t, "node port answers", func() error { _, err := client.Get(url); return err })
	})

	t.Run("SessionAffinityClientIPSticks", func(t *testing.T) {
		svc := createService(t, c, "kp", "sticky", func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP })
		setEndpoints(t, c, svc, map[*backend]bool{b1: true, b2: true})
		url := "http://" + svc.Spec.ClusterIP + ":80/"
		eventually(t, "service answers", func() error { _, err := client.Get(url); return err })
		got, err := hits(client, url, 30)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Errorf("30 requests with ClientIP affinity reached %v, want one backend", got)
		}
	})

	t.Run("HairpinPodReachesItsOwnService", func(t *testing.T) {
		svc := createService(t, c, "kp", "self")
		setEndpoints(t, c, svc, map[*backend]bool{b1: true})
		url := "http://" + svc.Spec.ClusterIP + ":80/"
		eventually(t, "b1 reaches its own Service", func() error {
			body, err := get(clientIn(b1.ns), url)
			if err == nil && body != "b1" {
				err = fmt.Errorf("answer %q", body)
			}
			return err
		})
	})

	t.Run("ExternalTrafficPolicyLocalHealthCheckNodePort", func(t *testing.T) {
		svc := createService(t, c, "kp", "local", func(s *v1.Service) {
			// Only LoadBalancer Services get a health-check node port.
			s.Spec.Type = v1.ServiceTypeLoadBalancer
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		})
		if svc.Spec.HealthCheckNodePort == 0 {
			t.Fatal("the apiserver allocated no spec.healthCheckNodePort")
		}
		hc := fmt.Sprintf("http://%s:%d/", n.ip, svc.Spec.HealthCheckNodePort)
		setEndpoints(t, c, svc, map[*backend]bool{b1: true})
		eventually(t, "health check reports a local endpoint", func() error {
			body, err := client.Get(hc)
			if err == nil && !strings.Contains(body, `"localEndpoints":1`) {
				err = fmt.Errorf("answer %s", body)
			}
			return err
		})
		url := fmt.Sprintf("http://%s:%d/", n.ip, svc.Spec.Ports[0].NodePort)
		eventually(t, "node port answers", func() error { _, err := client.Get(url); return err })
	})

	t.Run("PodRoutesFollowNodes", func(t *testing.T) {
		ctx := context.Background()
		nb := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-b"}, Spec: v1.NodeSpec{PodCIDR: "10.244.1.0/24"}}
		nb, err := c.CoreV1().Nodes().Create(ctx, nb, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		nb.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "192.168.77.2"}}
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, nb, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		want := "10.244.1.0/24 via 192.168.77.2"
		eventually(t, "route to node-b's pods", func() error {
			if out := inNS(t, n.ns, "ip", "route", "show", "proto", "66"); !strings.Contains(out, want) {
				return fmt.Errorf("routes: %q", out)
			}
			return nil
		})
		if err := c.CoreV1().Nodes().Delete(ctx, "node-b", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "route gone with node-b", func() error {
			if out := inNS(t, n.ns, "ip", "route", "show", "proto", "66"); strings.Contains(out, "10.244.1.0/24") {
				return fmt.Errorf("routes: %q", out)
			}
			return nil
		})
	})

	t.Run("UDPFlowMovesWhenItsEndpointGoes", func(t *testing.T) {
		b1.serveUDP(t, 8080)
		b2.serveUDP(t, 8080)
		svc := createService(t, c, "kp", "dns", func(s *v1.Service) { s.Spec.Ports[0].Protocol = v1.ProtocolUDP })
		setUDPEndpoints(t, c, svc, b1, b2)
		conn := udpConn(t, n.ns, svc.Spec.ClusterIP+":80")
		var first string
		eventually(t, "UDP service answers", func() (err error) { first, err = ask(conn); return err })
		// The flow stays on one backend ...
		for i := 0; i < 5; i++ {
			if got, err := ask(conn); err != nil || got != first {
				t.Fatalf("datagram %d of one flow: %q, %v; want %q", i, got, err, first)
			}
		}
		// ... until that backend leaves the Service: kube-proxy deletes
		// the flow, the next datagram goes to the other one (the removed
		// backend still runs and would answer if the flow were kept).
		other := b1
		if first == "b1" {
			other = b2
		}
		setUDPEndpoints(t, c, svc, other)
		eventually(t, "flow moved to "+other.name, func() error {
			got, err := ask(conn)
			if err == nil && got != other.name {
				err = fmt.Errorf("answer from %q", got)
			}
			return err
		})
	})

	t.Run("HealthzAndMetrics", func(t *testing.T) {
		eventually(t, "healthz 200", func() error { _, err := client.Get("http://127.0.0.1:10256/healthz"); return err })
		body, err := client.Get("http://127.0.0.1:10249/metrics")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"kubeproxy_sync_proxy_rules_duration_seconds", "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
			`kubeproxy_sync_proxy_rules_iptables_total{table="nat"}`, "kubeproxy_network_programming_duration_seconds"} {
			if !strings.Contains(body, m) {
				t.Errorf("metrics lack %s", m)
			}
		}
	})

	t.Run("CleanupLeavesNoKubeChains", func(t *testing.T) {
		stop()
		if !strings.Contains(inNS(t, n.ns, "iptables-save"), "KUBE-SERVICES") {
			t.Fatal("no KUBE-SERVICES chain before cleanup: the test would prove nothing")
		}
		inNS(t, n.ns, kubeProxyBin, "--cleanup")
		if out := inNS(t, n.ns, "iptables-save"); strings.Contains(out, "KUBE-") {
			t.Errorf("KUBE- rules left after --cleanup:\n%s", out)
		}
	})
}
