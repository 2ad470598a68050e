//go:build e2e

package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/test/integration/framework"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// epOf is an endpoint of backend b on node with its conditions.
func epOf(b *backend, node string, ready, serving, terminating bool) discovery.Endpoint {
	return discovery.Endpoint{Addresses: []string{b.ip}, NodeName: &node,
		Conditions: discovery.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating}}
}

// onlyAnswers checks that n requests to url all reach backend want.
func onlyAnswers(client nsClient, url, want string, n int) error {
	got, err := hits(client, url, n)
	if err != nil {
		return err
	}
	if got[want] != n {
		return fmt.Errorf("answers %v, want all %d from %s", got, n, want)
	}
	return nil
}

// conntrackFlows lists the node's UDP conntrack entries to ip:port.
func conntrackFlows(t *testing.T, ns, ip string, port int32) []string {
	t.Helper()
	out := inNS(t, ns, "sh", "-c", fmt.Sprintf("conntrack -L -p udp --orig-dst %s --orig-port-dst %d 2>/dev/null || true", ip, port))
	var flows []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "udp") {
			flows = append(flows, l)
		}
	}
	return flows
}

// metricValue is the value of the sample line that starts with name in
// a Prometheus text exposition.
func metricValue(text, name string) (float64, bool) {
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// TestKubeProxy_UpstreamSemantics checks, through the kernel, the parts of
// upstream's iptables semantics TestKubeProxy does not: externalIPs,
// internalTrafficPolicy Local, terminating-but-serving endpoints, the UDP
// conntrack flush as conntrack -L shows it, the network programming
// latency from the EndpointSlice's trigger time, /healthz's JSON and the
// periodic full sync repairing rules and routes removed behind
// kube-proxy's back (a 2 s --iptables-sync-period here).
func TestKubeProxy_UpstreamSemantics(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	c := s.Client
	n := newNode(t)
	b1, b2 := n.addBackend(t, "b1"), n.addBackend(t, "b2")
	createNamespace(t, c, "up")
	startKubeProxy(t, s, n, "--iptables-sync-period", "2s")
	client := nsClient{n.ns}

	t.Run("ExternalIPAnswers", func(t *testing.T) {
		// The node's own IP as the external IP: reached from the node,
		// through nat OUTPUT -> KUBE-SERVICES -> KUBE-EXT-*.
		svc := createService(t, c, "up", "ext", func(s *v1.Service) {
			s.Spec.ExternalIPs = []string{n.ip}
			s.Spec.Ports[0].Port = 8181
		})
		putSlice(t, c, svc, nil, epOf(b2, "node-a", true, true, false))
		eventually(t, "external IP answers", func() error {
			return onlyAnswers(client, fmt.Sprintf("http://%s:8181/", n.ip), "b2", 5)
		})
		out := inNS(t, n.ns, "iptables", "-t", "nat", "-S", "KUBE-SERVICES")
		if !strings.Contains(out, "-d "+n.ip+"/32") || !strings.Contains(out, "external IP") {
			t.Errorf("no external IP rule in nat KUBE-SERVICES:\n%s", out)
		}
	})

	t.Run("InternalTrafficPolicyLocalUsesOnlyThisNodesEndpoints", func(t *testing.T) {
		local := v1.ServiceInternalTrafficPolicyLocal
		svc := createService(t, c, "up", "itp", func(s *v1.Service) { s.Spec.InternalTrafficPolicy = &local })
		// b2 is reachable but the slice puts it on another node.
		putSlice(t, c, svc, nil, epOf(b1, "node-a", true, true, false), epOf(b2, "node-z", true, true, false))
		url := "http://" + svc.Spec.ClusterIP + ":80/"
		eventually(t, "service answers", func() error { _, err := client.Get(url); return err })
		if err := onlyAnswers(client, url, "b1", 30); err != nil {
			t.Error(err)
		}
	})

	t.Run("TerminatingServingEndpointsOnlyWithoutReadyOnes", func(t *testing.T) {
		svc := createService(t, c, "up", "term")
		url := "http://" + svc.Spec.ClusterIP + ":80/"
		putSlice(t, c, svc, nil, epOf(b1, "node-a", true, true, false), epOf(b2, "node-a", false, true, true))
		eventually(t, "only the ready endpoint", func() error { return onlyAnswers(client, url, "b1", 20) })
		// b1 stops being ready (and serving): the terminating but still
		// serving b2 takes the traffic rather than the Service rejecting.
		putSlice(t, c, svc, nil, epOf(b1, "node-a", false, false, false), epOf(b2, "node-a", false, true, true))
		eventually(t, "the terminating serving endpoint", func() error { return onlyAnswers(client, url, "b2", 20) })
	})

	t.Run("UDPConntrackEntriesOfAGoneEndpointAreDeleted", func(t *testing.T) {
		b1.serveUDP(t, 8080)
		b2.serveUDP(t, 8080)
		svc := createService(t, c, "up", "udp", func(s *v1.Service) { s.Spec.Ports[0].Protocol = v1.ProtocolUDP })
		putSlice(t, c, svc, nil, epOf(b1, "node-a", true, true, false), epOf(b2, "node-a", true, true, false))
		conn := udpConn(t, n.ns, svc.Spec.ClusterIP+":80")
		var first string
		eventually(t, "UDP service answers", func() (err error) { first, err = ask(conn); return err })
		for i := 0; i < 3; i++ { // replies both ways: an assured flow, kept 120 s
			if _, err := ask(conn); err != nil {
				t.Fatal(err)
			}
		}
		gone, other := b1, b2
		if first == "b2" {
			gone, other = b2, b1
		}
		toGone := func() []string {
			var out []string
			for _, f := range conntrackFlows(t, n.ns, svc.Spec.ClusterIP, 80) {
				if strings.Contains(f, " src="+gone.ip+" ") {
					out = append(out, f)
				}
			}
			return out
		}
		if len(toGone()) == 0 {
			t.Fatalf("conntrack -L shows no flow to %s before the change: %q", gone.ip, conntrackFlows(t, n.ns, svc.Spec.ClusterIP, 80))
		}
		putSlice(t, c, svc, nil, epOf(other, "node-a", true, true, false))
		// No datagram is sent meanwhile: only kube-proxy's conntrack -D
		// can remove the flow before its 120 s timeout.
		eventually(t, "flow to the gone endpoint deleted", func() error {
			if f := toGone(); len(f) > 0 {
				return fmt.Errorf("conntrack -L still shows %q", f)
			}
			return nil
		})
		if got, err := ask(conn); err != nil || got != other.name {
			t.Errorf("next datagram answered by %q (%v), want %s", got, err, other.name)
		}
	})

	t.Run("NetworkProgrammingLatencyFromTheTriggerTime", func(t *testing.T) {
		metrics := func() string {
			body, err := get(clientIn(n.ns), "http://127.0.0.1:10249/metrics")
			if err != nil {
				t.Fatal(err)
			}
			return body
		}
		const count = "kubeproxy_network_programming_duration_seconds_count"
		before, _ := metricValue(metrics(), count)
		svc := createService(t, c, "up", "npl")
		trigger := time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
		putSlice(t, c, svc, map[string]string{v1.EndpointsLastChangeTriggerTime: trigger}, epOf(b1, "node-a", true, true, false))
		eventually(t, "a network programming sample", func() error {
			if v, ok := metricValue(metrics(), count); !ok || v <= before {
				return fmt.Errorf("%s = %v (before: %v)", count, v, before)
			}
			return nil
		})
		sum, _ := metricValue(metrics(), "kubeproxy_network_programming_duration_seconds_sum")
		if sum < 1 {
			t.Errorf("latency sum %v s, want at least the 1 s between the trigger and the slice's creation", sum)
		}
	})

	t.Run("HealthzAnswersUpstreamsJSON", func(t *testing.T) {
		resp, err := clientIn(n.ns).Get("http://127.0.0.1:10256/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			LastUpdated  time.Time `json:"lastUpdated"`
			CurrentTime  time.Time `json:"currentTime"`
			NodeEligible *bool     `json:"nodeEligible"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || body.LastUpdated.IsZero() || body.CurrentTime.Before(body.LastUpdated) ||
			body.NodeEligible == nil || !*body.NodeEligible || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("healthz: %s %s %+v", resp.Status, resp.Header.Get("Content-Type"), body)
		}
	})

	t.Run("PeriodicSyncRepairsRulesAndRoutes", func(t *testing.T) {
		svc := createService(t, c, "up", "drift")
		putSlice(t, c, svc, nil, epOf(b1, "node-a", true, true, false))
		url := "http://" + svc.Spec.ClusterIP + ":80/"
		eventually(t, "service answers", func() error { _, err := client.Get(url); return err })
		ctx := context.Background()
		nq := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-q"}, Spec: v1.NodeSpec{PodCIDR: "10.244.9.0/24"}}
		nq, err := c.CoreV1().Nodes().Create(ctx, nq, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.CoreV1().Nodes().Delete(context.Background(), "node-q", metav1.DeleteOptions{}) })
		nq.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "192.168.77.9"}}
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, nq, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		route := func() error {
			if out := inNS(t, n.ns, "ip", "route", "show", "10.244.9.0/24"); !strings.Contains(out, "via 192.168.77.9") {
				return fmt.Errorf("route: %q", out)
			}
			return nil
		}
		eventually(t, "route to node-q's pods", route)

		// Behind kube-proxy's back: the Services chain emptied, the route
		// deleted. No API object changes, so only the periodic sync
		// brings them back.
		inNS(t, n.ns, "iptables", "-t", "nat", "-F", "KUBE-SERVICES")
		inNS(t, n.ns, "ip", "route", "del", "10.244.9.0/24")
		if err := route(); err == nil {
			t.Fatal("route still there after ip route del")
		}
		eventually(t, "service answers again", func() error { _, err := client.Get(url); return err })
		eventually(t, "route restored", route)
	})
}
