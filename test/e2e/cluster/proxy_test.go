//go:build e2e

package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
)

// The images hack/images.sh builds and hack/local-cluster.sh imports.
const (
	testServerImage = "kstack.local/testserver:1.0"
	busyboxImage    = "kstack.local/busybox:1.0"
)

// c is the 3-node cluster every test in this package shares.
var c *Cluster

func TestMain(m *testing.M) { os.Exit(Main(m, 3, &c)) }

// eventually polls f every 200 ms until it returns nil or timeout passes,
// then fails with f's last error.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// newNamespace creates a namespace for one test, deleted at its end.
func newNamespace(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = c.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// webDeployment is n testserver replicas labelled app=web, one per node,
// ready while /healthz answers 200.
func webDeployment(n int32) *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	zero := int64(0)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: v1.PodSpec{
					TerminationGracePeriodSeconds: &zero,
					TopologySpreadConstraints: []v1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: "kubernetes.io/hostname",
						WhenUnsatisfiable: v1.DoNotSchedule,
						LabelSelector:     &metav1.LabelSelector{MatchLabels: labels},
					}},
					Containers: []v1.Container{{
						Name: "web", Image: testServerImage,
						Ports: []v1.ContainerPort{{ContainerPort: 8080}},
						ReadinessProbe: &v1.Probe{
							ProbeHandler:     v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
							PeriodSeconds:    1,
							FailureThreshold: 1,
						},
					}},
				},
			},
		},
	}
}

// service selects app=web on port 80 -> 8080.
func service(name string, typ v1.ServiceType, affinity v1.ServiceAffinity) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.ServiceSpec{
			Type:            typ,
			Selector:        map[string]string{"app": "web"},
			SessionAffinity: affinity,
			Ports:           []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

// clientPod is a busybox pod pinned to a node; the tests send requests
// from its network namespace.
func clientPod(name, node string) *v1.Pod {
	zero := int64(0)
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "client"}},
		Spec: v1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: &zero,
			Containers:                    []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sleep", "3600"}}},
		},
	}
}

// runningPods waits until the pods matching selector are n, Running and
// Ready, and returns them.
func runningPods(t *testing.T, ns, selector string, n int) []v1.Pod {
	t.Helper()
	var pods []v1.Pod
	eventually(t, 90*time.Second, fmt.Sprintf("%d ready pods %s", n, selector), func() error {
		list, err := c.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		pods = pods[:0]
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			if p.Status.Phase != v1.PodRunning || p.Status.PodIP == "" || !podReady(&p) {
				return fmt.Errorf("pod %s: %s ready=%v", p.Name, p.Status.Phase, podReady(&p))
			}
			pods = append(pods, p)
		}
		if len(pods) != n {
			return fmt.Errorf("%d pods", len(pods))
		}
		return nil
	})
	return pods
}

func podReady(p *v1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == v1.PodReady {
			return cond.Status == v1.ConditionTrue
		}
	}
	return false
}

// hits sends n requests from the netns at path to url and counts the
// answers (the testserver answers with its pod's name).
func hits(t *testing.T, path, url string, n int) map[string]int {
	t.Helper()
	client := HTTPClient(path)
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		body, err := Get(client, url)
		if err != nil {
			t.Fatalf("request %d of %d to %s: %v", i+1, n, url, err)
		}
		counts[body]++
	}
	return counts
}

// services is the shared fixture of TestServices: web pods on every node,
// a client pod on node-1 and its network namespace.
type services struct {
	ns        string
	web       []v1.Pod
	client    v1.Pod
	clientNS  string
	clusterIP string // of Service web (ClusterIP)
}

func TestServices(t *testing.T) {
	ctx := context.Background()
	f := services{ns: newNamespace(t, "svc-e2e")}
	if _, err := c.Client.AppsV1().Deployments(f.ns).Create(ctx, webDeployment(3), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	svc, err := c.Client.CoreV1().Services(f.ns).Create(ctx, service("web", v1.ServiceTypeClusterIP, v1.ServiceAffinityNone), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	f.clusterIP = svc.Spec.ClusterIP
	if _, err := c.Client.CoreV1().Pods(f.ns).Create(ctx, clientPod("client", c.NodeName(1)), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create client pod: %v", err)
	}
	f.web = runningPods(t, f.ns, "app=web", 3)
	nodes := map[string]bool{}
	for _, p := range f.web {
		nodes[p.Spec.NodeName] = true
	}
	if len(nodes) != 3 {
		t.Fatalf("web pods on %d nodes, want 3 (one per node): %v", len(nodes), nodes)
	}
	f.client = runningPods(t, f.ns, "app=client", 1)[0]
	if f.clientNS, err = c.PodNetns(&f.client); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://%s/", net.JoinHostPort(f.clusterIP, "80"))
	// kube-proxy on node-1 programs the Service within its min sync period.
	eventually(t, 30*time.Second, "ClusterIP reaches all 3 pods", func() error {
		counts := map[string]int{}
		client := HTTPClient(f.clientNS)
		for i := 0; i < 30; i++ {
			body, err := Get(client, url)
			if err != nil {
				return err
			}
			counts[body]++
		}
		if len(counts) != 3 {
			return fmt.Errorf("answers %v", counts)
		}
		return nil
	})

	t.Run("ClusterIPBalancesOverThreeNodes", func(t *testing.T) {
		counts := hits(t, f.clientNS, url, 300)
		for _, p := range f.web {
			share := float64(counts[p.Name]) / 300
			t.Logf("%s on %s: %d of 300 (%.0f%%)", p.Name, p.Spec.NodeName, counts[p.Name], share*100)
			if share < 0.20 || share > 0.46 {
				t.Errorf("%s got %.0f%% of the requests, want 20%%-46%%: %v", p.Name, share*100, counts)
			}
		}
	})

	t.Run("NodePortAnswersOnEveryNode", func(t *testing.T) {
		np, err := c.Client.CoreV1().Services(f.ns).Create(ctx, service("web-np", v1.ServiceTypeNodePort, v1.ServiceAffinityNone), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create NodePort service: %v", err)
		}
		port := np.Spec.Ports[0].NodePort
		web := map[string]bool{}
		for _, p := range f.web {
			web[p.Name] = true
		}
		// From the host, outside the cluster CIDR (masqueraded), and from
		// the client pod on node-1.
		for _, from := range []struct{ name, netns string }{{"host", ""}, {"client pod", f.clientNS}} {
			for i := 1; i <= c.Nodes; i++ {
				u := fmt.Sprintf("http://%s:%d/", c.NodeIP(i), port)
				eventually(t, 30*time.Second, fmt.Sprintf("NodePort %s from the %s", u, from.name), func() error {
					body, err := Get(HTTPClient(from.netns), u)
					if err != nil {
						return err
					}
					if !web[body] {
						return fmt.Errorf("answer %q is no web pod", body)
					}
					return nil
				})
			}
		}
	})

	t.Run("ClientIPAffinitySticks", func(t *testing.T) {
		sticky, err := c.Client.CoreV1().Services(f.ns).Create(ctx, service("web-sticky", v1.ServiceTypeClusterIP, v1.ServiceAffinityClientIP), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create service: %v", err)
		}
		u := fmt.Sprintf("http://%s/", net.JoinHostPort(sticky.Spec.ClusterIP, "80"))
		eventually(t, 30*time.Second, "sticky Service programmed", func() error {
			_, err := Get(HTTPClient(f.clientNS), u)
			return err
		})
		counts := hits(t, f.clientNS, u, 50)
		if len(counts) != 1 {
			t.Errorf("50 requests with ClientIP affinity reached %d pods, want 1: %v", len(counts), counts)
		}
	})

	t.Run("HairpinToOwnService", func(t *testing.T) {
		for _, p := range f.web {
			path, err := c.PodNetns(&p)
			if err != nil {
				t.Fatal(err)
			}
			// Each request picks one of 3 backends; in 40 the pod's own is
			// missed with probability (2/3)^40 < 1e-7.
			counts := hits(t, path, url, 40)
			if counts[p.Name] == 0 {
				t.Errorf("pod %s never reached itself through its Service: %v", p.Name, counts)
			}
		}
	})

	t.Run("PodToPodAcrossNodesKeepsSourceIP", func(t *testing.T) {
		for _, p := range f.web {
			if p.Spec.NodeName == f.client.Spec.NodeName {
				continue
			}
			path, err := c.PodNetns(&p)
			if err != nil {
				t.Fatal(err)
			}
			// The testserver does not echo the peer address: listen in the
			// server pod's namespace ourselves.
			ln, err := ListenIn(path, "tcp", ":9099")
			if err != nil {
				t.Fatal(err)
			}
			seen := make(chan string, 1)
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					seen <- err.Error()
					return
				}
				seen <- conn.RemoteAddr().(*net.TCPAddr).IP.String()
				conn.Close()
			}()
			conn, err := DialIn(ctx, f.clientNS, "tcp", net.JoinHostPort(p.Status.PodIP, "9099"))
			if err != nil {
				ln.Close()
				t.Fatalf("client on %s -> pod %s on %s: %v", f.client.Spec.NodeName, p.Status.PodIP, p.Spec.NodeName, err)
			}
			src := <-seen
			conn.Close()
			ln.Close()
			t.Logf("client %s on %s -> pod %s on %s: the server saw %s", f.client.Status.PodIP, f.client.Spec.NodeName, p.Status.PodIP, p.Spec.NodeName, src)
			if src != f.client.Status.PodIP {
				t.Errorf("pod on %s saw source %s, want the client pod's IP %s", p.Spec.NodeName, src, f.client.Status.PodIP)
			}
			// And the testserver itself, by pod IP.
			body, err := Get(HTTPClient(f.clientNS), fmt.Sprintf("http://%s/", net.JoinHostPort(p.Status.PodIP, "8080")))
			if err != nil || body != p.Name {
				t.Errorf("GET pod %s by IP from node-1: %q, %v", p.Name, body, err)
			}
		}
	})

	t.Run("ReadinessFailureLeavesRotation", func(t *testing.T) {
		victim := f.web[0]
		podURL := fmt.Sprintf("http://%s/", net.JoinHostPort(victim.Status.PodIP, "8080"))
		client := HTTPClient(f.clientNS)
		if _, err := Get(client, podURL+"sethealthz?ok=false"); err != nil {
			t.Fatal(err)
		}
		defer func() { _, _ = Get(client, podURL+"sethealthz?ok=true") }()
		// Out of rotation: 30 requests in a row miss it (with it in, the
		// chance of that is (2/3)^30 < 1e-5).
		eventually(t, 20*time.Second, "unready pod leaves rotation", func() error {
			counts := hits(t, f.clientNS, url, 30)
			if counts[victim.Name] > 0 {
				return fmt.Errorf("still answers: %v", counts)
			}
			return nil
		})
		if _, err := Get(client, podURL+"sethealthz?ok=true"); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "ready pod comes back", func() error {
			counts := hits(t, f.clientNS, url, 30)
			if counts[victim.Name] == 0 {
				return fmt.Errorf("not back: %v", counts)
			}
			return nil
		})
	})

	t.Run("KubeProxyRestartKeepsRequestsFlowing", func(t *testing.T) {
		var ok, failed atomic.Int64
		var firstErr atomic.Value
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := HTTPClient(f.clientNS)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := Get(client, url); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok.Add(1)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		if err := c.StopDaemon(1, "kube-proxy"); err != nil {
			close(stop)
			wg.Wait()
			t.Fatal(err)
		}
		duringStop := ok.Load()
		err := c.StartDaemon(1, "kube-proxy")
		// A little traffic after the restart's first sync too.
		after := ok.Load()
		for ok.Load() < after+20 && failed.Load() == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("requests: %d ok (%d while kube-proxy was stopped or starting), %d failed", ok.Load(), ok.Load()-duringStop, failed.Load())
		if failed.Load() > 0 {
			t.Errorf("%d requests failed across a kube-proxy restart; first: %v\n%s", failed.Load(), firstErr.Load(), c.LogTail("node-1-kube-proxy", 20))
		}
		if ok.Load()-duringStop < 20 {
			t.Errorf("only %d requests while kube-proxy was down or starting: the loop did not run", ok.Load()-duringStop)
		}
	})

	t.Run("LoadBalancerSourceRanges", func(t *testing.T) {
		// No cloud here: the test plays the load balancer controller and
		// writes the ingress IP into the status itself.
		const lbIP = "198.51.100.7"
		lb := service("web-lb", v1.ServiceTypeLoadBalancer, v1.ServiceAffinityNone)
		lb.Spec.LoadBalancerSourceRanges = []string{f.client.Status.PodIP + "/32"}
		lb, err := c.Client.CoreV1().Services(f.ns).Create(ctx, lb, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create LoadBalancer service: %v", err)
		}
		lb.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: lbIP}}
		if lb, err = c.Client.CoreV1().Services(f.ns).UpdateStatus(ctx, lb, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("set load-balancer status: %v", err)
		}
		u := "http://" + lbIP + "/"
		eventually(t, 30*time.Second, "the allowed client pod reaches the load-balancer IP", func() error {
			_, err := Get(HTTPClient(f.clientNS), u)
			return err
		})
		lb.Spec.LoadBalancerSourceRanges = []string{"192.0.2.0/24"}
		if _, err := c.Client.CoreV1().Services(f.ns).Update(ctx, lb, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "a client outside the ranges is dropped", func() error {
			if _, err := Get(HTTPClient(f.clientNS), u); err == nil {
				return errors.New("still answered")
			} else if errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("refused, want dropped: %v", err)
			}
			return nil
		})
		// The ClusterIP still answers the same client.
		if _, err := Get(HTTPClient(f.clientNS), url); err != nil {
			t.Errorf("ClusterIP after the source-range change: %v", err)
		}
	})

	// Last: it removes the backends.
	t.Run("ScaleToZeroRejectsAtOnce", func(t *testing.T) {
		scale, err := c.Client.AppsV1().Deployments(f.ns).GetScale(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		scale.Spec.Replicas = 0
		if _, err := c.Client.AppsV1().Deployments(f.ns).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		addr := net.JoinHostPort(f.clusterIP, "80")
		dial := func() error {
			conn, err := DialIn(ctx, f.clientNS, "tcp", addr)
			if err == nil {
				conn.Close()
				return errors.New("connected")
			}
			return err
		}
		// A dying backend can refuse a connection too, so wait for the
		// API to show no endpoints and node-1's kube-proxy to have written
		// the REJECT rule, then check it is what answers.
		eventually(t, 60*time.Second, "no endpoints left", func() error {
			slices, err := c.Client.DiscoveryV1().EndpointSlices(f.ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
			if err != nil {
				return err
			}
			for _, sl := range slices.Items {
				if len(sl.Endpoints) > 0 {
					return fmt.Errorf("slice %s has %d endpoints", sl.Name, len(sl.Endpoints))
				}
			}
			return nil
		})
		eventually(t, 30*time.Second, "REJECT rule on node-1", func() error {
			out, err := c.InNode(1, "iptables", "-t", "filter", "-S", "KUBE-SERVICES")
			if err != nil {
				return err
			}
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, "-d "+f.clusterIP+"/32") && strings.Contains(l, "-j REJECT") {
					return nil
				}
			}
			return fmt.Errorf("no REJECT for %s in:\n%s", f.clusterIP, out)
		})
		// Every further attempt is refused (REJECT), none times out (a
		// black hole would leave the dial to its 3 s timeout).
		for i := 0; i < 10; i++ {
			if err := dial(); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("attempt %d: dial %s: %v, want connection refused", i+1, addr, err)
			}
		}
	})
}

// TestRoutes_DeletedNodeRoutesRemoved: every node routes a new node's
// podCIDR via its InternalIP, and drops the route when the Node is deleted.
func TestRoutes_DeletedNodeRoutesRemoved(t *testing.T) {
	ctx := context.Background()
	const name, cidr, ip = "node-ghost", "10.246.199.0/24", NetPrefix + ".99"
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1.NodeSpec{PodCIDR: cidr, PodCIDRs: []string{cidr}, Unschedulable: true},
	}
	created, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node: %v", err)
	}
	t.Cleanup(func() { _ = c.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	// The node controllers may write the new Node first (taints, CIDRs):
	// set its address on the latest version.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		created.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: ip}}
		_, err := c.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			if latest, gerr := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); gerr == nil {
				created = latest
			}
		}
		return err
	})
	if err != nil {
		t.Fatalf("node status: %v", err)
	}
	route := func(i int) (string, error) {
		out, err := c.InNode(i, "ip", "-4", "route", "show", cidr)
		return strings.TrimSpace(out), err
	}
	for i := 1; i <= c.Nodes; i++ {
		eventually(t, 30*time.Second, fmt.Sprintf("route to %s on node-%d", cidr, i), func() error {
			r, err := route(i)
			if err != nil {
				return err
			}
			if !strings.Contains(r, "via "+ip) {
				return fmt.Errorf("route %q", r)
			}
			return nil
		})
	}
	if err := c.Client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	for i := 1; i <= c.Nodes; i++ {
		eventually(t, 30*time.Second, fmt.Sprintf("route to %s gone from node-%d", cidr, i), func() error {
			r, err := route(i)
			if err != nil {
				return err
			}
			if r != "" {
				return fmt.Errorf("route %q still there", r)
			}
			return nil
		})
	}
	// The real nodes' routes are untouched.
	if r, err := route(1); err != nil || r != "" {
		t.Fatalf("route check: %q %v", r, err)
	}
	out, err := c.InNode(1, "ip", "-4", "route")
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= c.Nodes; i++ {
		if !strings.Contains(out, "via "+c.NodeIP(i)) {
			t.Errorf("node-1 lost its route via node-%d (%s):\n%s", i, c.NodeIP(i), out)
		}
	}
}

// TestKubeProxy_CleanupLeavesNoChains runs kube-proxy --cleanup on the last
// node and checks no KUBE- chain and no pod route is left, then restarts
// that node's kube-proxy.
func TestKubeProxy_CleanupLeavesNoChains(t *testing.T) {
	n := c.Nodes
	if err := c.StopDaemon(n, "kube-proxy"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.StartDaemon(n, "kube-proxy"); err != nil {
			t.Errorf("restart kube-proxy: %v", err)
		}
	})
	before, err := c.InNode(n, "iptables-save")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(before, ":KUBE-SERVICES") {
		t.Fatalf("no KUBE-SERVICES chain on node-%d before the cleanup: the check below would prove nothing", n)
	}
	if out, err := c.InNode(n, c.bin("kube-proxy"), "--cleanup"); err != nil {
		t.Fatalf("kube-proxy --cleanup: %v\n%s", err, out)
	}
	after, err := c.InNode(n, "iptables-save")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(after, "KUBE-") {
		t.Errorf("KUBE- rules left after --cleanup:\n%s", after)
	}
	routes, err := c.InNode(n, "ip", "-4", "route")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if strings.Contains(routes, "via "+c.NodeIP(i)) {
			t.Errorf("pod route via node-%d left after --cleanup:\n%s", i, routes)
		}
	}
}
