//go:build e2e

package proxy

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/proxy"
	"github.com/kstack/kstack/pkg/proxy/iptables"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// state is a set of Services and their EndpointSlices, by Service name.
type state struct {
	services map[string]*v1.Service
	slices   map[string]*discovery.EndpointSlice
}

func partialService(i int, mods ...func(*v1.Service)) *v1.Service {
	ip := fmt.Sprintf("10.96.3.%d", 10+i)
	s := &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "kp", Name: fmt.Sprintf("s%d", i)},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}}}}
	for _, m := range mods {
		m(s)
	}
	return s
}

// partialSlice gives the Service endpoints 10.244.<i>.<host> (ready unless
// the host is negative: then -host, not ready).
func partialSlice(svc *v1.Service, i int, hosts ...int) *discovery.EndpointSlice {
	name, port, proto, node := "http", int32(8080), svc.Spec.Ports[0].Protocol, "node-a"
	es := &discovery.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name + "-1",
		Labels: map[string]string{discovery.LabelServiceName: svc.Name}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}}}
	for _, h := range hosts {
		ready := h > 0
		if h < 0 {
			h = -h
		}
		es.Endpoints = append(es.Endpoints, discovery.Endpoint{Addresses: []string{fmt.Sprintf("10.244.%d.%d", i, h)},
			NodeName: &node, Conditions: discovery.EndpointConditions{Ready: &ready, Serving: &ready}})
	}
	return es
}

// kubeRules is the table's KUBE-* chains and their rules, as iptables-save
// prints them, in a canonical order: chains sorted, rules in chain order,
// except in the top-level chains (KUBE-SERVICES, ...), whose order does
// not matter and is sorted, but for the NodePort jump, which must be
// last (the test fails if it is not). Jumps from the built-in chains are
// kept too.
func kubeRules(t *testing.T, ns, table string) string {
	t.Helper()
	out := inNS(t, ns, "iptables-save", "-t", table)
	var chains []string
	rules := map[string][]string{}
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, ":KUBE-"):
			c := strings.Fields(l[1:])[0]
			chains = append(chains, c)
			rules[c] = append(rules[c], "")
		case strings.HasPrefix(l, "-A ") && strings.Contains(l, "KUBE-"):
			c := strings.Fields(l)[1]
			if _, ok := rules[c]; !ok {
				chains = append(chains, c)
			}
			rules[c] = append(rules[c], l)
		}
	}
	sort.Strings(chains)
	for _, c := range chains {
		if strings.HasPrefix(c, "KUBE-SVC-") || strings.HasPrefix(c, "KUBE-SVL-") || strings.HasPrefix(c, "KUBE-EXT-") ||
			strings.HasPrefix(c, "KUBE-FW-") || strings.HasPrefix(c, "KUBE-SEP-") || !strings.HasPrefix(c, "KUBE-") {
			continue
		}
		rs, last := rules[c], ""
		for i, r := range rs {
			if strings.Contains(r, "NOTE: this must be the last rule") {
				if i != len(rs)-1 {
					t.Errorf("%s %s: the NodePort jump is rule %d of %d", table, c, i, len(rs)-1)
				}
				last, rs = r, append(append([]string{}, rs[:i]...), rs[i+1:]...)
				break
			}
		}
		sort.Strings(rs)
		if last != "" {
			rs = append(rs, last)
		}
		rules[c] = rs
	}
	var b strings.Builder
	for _, c := range chains {
		fmt.Fprintf(&b, "== %s\n", c)
		for _, r := range rules[c] {
			if r != "" {
				b.WriteString(r + "\n")
			}
		}
	}
	return b.String()
}

// fullSyncRules applies st with a new proxier's full sync in a fresh
// network namespace and returns its nat and filter KUBE-* rules.
func fullSyncRules(t *testing.T, st *state) (nat, filter string) {
	t.Helper()
	ns := newNetns(t, "kpfull-"+randSuffix())
	ipt := iptables.Exec{Prefix: []string{"nsenter", "--net=/run/netns/" + ns, "--"}}
	p, err := iptables.New(iptables.Config{ClusterCIDR: "10.244.0.0/16", SyncPeriod: time.Hour}, ipt, ipt)
	if err != nil {
		t.Fatal(err)
	}
	tr := proxy.NewTracker("node-a", nil)
	for _, s := range st.services {
		tr.UpdateService(s)
	}
	for _, s := range st.slices {
		tr.UpdateSlice(s)
	}
	if err := p.Sync(tr.Snapshot()); err != nil {
		t.Fatalf("full sync: %v", err)
	}
	return kubeRules(t, ns, "nat"), kubeRules(t, ns, "filter")
}

// TestPartialSyncs_KernelMatchesAFullSync drives one proxier through a
// series of partial syncs in a fresh network namespace (endpoint changes,
// a Service losing its last endpoint and getting one back, type changes,
// a new cluster IP, deletions, load-balancer source ranges) and checks at
// each checkpoint that the kernel holds exactly what a new proxier's full
// sync of the same Services writes in another fresh namespace.
//
// It runs twice: with the default edit threshold (these small top-level
// chains are flushed and refilled) and with top-level chains always
// edited in place (-D/-I), as big ones are.
func TestPartialSyncs_KernelMatchesAFullSync(t *testing.T) {
	if _, err := exec.LookPath("iptables-restore"); err != nil {
		t.Skip("no iptables-restore")
	}
	t.Run("TopLevelChainsRewritten", func(t *testing.T) {
		if edits := testPartialSyncs(t); edits != 0 {
			t.Errorf("%d restores edited chains in place below the threshold", edits)
		}
	})
	t.Run("TopLevelChainsEdited", func(t *testing.T) {
		if edits := testPartialSyncs(t, iptables.WithEditMinRules(0)); edits == 0 {
			t.Errorf("no restore edited a chain in place")
		}
	})
}

// countingExec counts the restores that edit chains in place (-D/-I).
type countingExec struct {
	iptables.Exec
	edits int
}

func (c *countingExec) Restore(data []byte) error {
	if strings.Contains(string(data), "\n-D ") || strings.Contains(string(data), "\n-I ") {
		c.edits++
	}
	return c.Exec.Restore(data)
}

// testPartialSyncs runs the scenario and returns how many restores
// edited chains in place.
func testPartialSyncs(t *testing.T, opts ...iptables.Option) int {
	ns := newNetns(t, "kppart-"+randSuffix())
	ipt := &countingExec{Exec: iptables.Exec{Prefix: []string{"nsenter", "--net=/run/netns/" + ns, "--"}}}
	m := proxy.NewMetrics(prometheus.NewRegistry())
	p, err := iptables.New(iptables.Config{ClusterCIDR: "10.244.0.0/16", SyncPeriod: time.Hour}, ipt, ipt, append(opts, iptables.WithMetrics(m))...)
	if err != nil {
		t.Fatal(err)
	}
	tr := proxy.NewTracker("node-a", nil)
	st := &state{services: map[string]*v1.Service{}, slices: map[string]*discovery.EndpointSlice{}}
	set := func(i int, svc *v1.Service, hosts ...int) {
		st.services[svc.Name] = svc
		tr.UpdateService(svc)
		es := partialSlice(svc, i, hosts...)
		st.slices[svc.Name] = es
		tr.UpdateSlice(es)
	}
	endpoints := func(i int, hosts ...int) {
		es := partialSlice(st.services[fmt.Sprintf("s%d", i)], i, hosts...)
		st.slices[es.Labels[discovery.LabelServiceName]] = es
		tr.UpdateSlice(es)
	}
	nodePort := func(np int32) func(*v1.Service) {
		return func(s *v1.Service) { s.Spec.Type = v1.ServiceTypeNodePort; s.Spec.Ports[0].NodePort = np }
	}
	for i := 0; i < 6; i++ {
		set(i, partialService(i), 2, 3)
	}
	set(6, partialService(6, nodePort(30106)), 2, 3)
	set(7, partialService(7, func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeLoadBalancer
		s.Spec.Ports[0].NodePort = 30107
		s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/25"}
		s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: "198.51.100.7"}}
	}), 2)
	set(8, partialService(8, nodePort(30108), func(s *v1.Service) {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = 32108
		s.Spec.ExternalIPs = []string{"192.0.2.8"}
	}), 2, 3)
	set(9, partialService(9, func(s *v1.Service) { s.Spec.Ports[0].Protocol = v1.ProtocolUDP }), 2, 3)
	set(10, partialService(10))
	set(11, partialService(11, func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP }), 2, 3)
	if err := p.Sync(tr.Snapshot()); err != nil {
		t.Fatalf("first sync: %v", err)
	}

	steps := []struct {
		what   string
		change func()
	}{
		{"one endpoint of s0 replaced", func() { endpoints(0, 2, 4) }},
		{"s1 loses its last ready endpoint", func() { endpoints(1, -2, -3) }},
		{"s10 gets its first endpoint", func() { endpoints(10, 5) }},
		{"s2 gets a not-ready endpoint", func() { endpoints(2, 2, 3, -4) }},
		{"s6 is no longer a NodePort", func() { set(6, partialService(6), 2, 3) }},
		{"s3 gets a new cluster IP", func() {
			set(3, partialService(3, func(s *v1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.4.3", []string{"10.96.4.3"} }), 2, 3)
		}},
		{"s4 is deleted", func() {
			tr.DeleteService(st.services["s4"])
			tr.DeleteSlice(st.slices["s4"])
			delete(st.services, "s4")
			delete(st.slices, "s4")
		}},
		{"s7's source ranges change", func() {
			svc := st.services["s7"].DeepCopy()
			svc.Spec.LoadBalancerSourceRanges = []string{"192.0.2.0/24", "203.0.113.0/25"}
			set(7, svc, 2)
		}},
		{"one UDP endpoint of s9 goes", func() { endpoints(9, 3) }},
		{"s1 gets its endpoints back", func() { endpoints(1, 2, 3) }},
		{"s12 is created", func() { set(12, partialService(12, nodePort(30112)), 2) }},
		{"s11's endpoints move", func() { endpoints(11, 3, 4, 5) }},
		{"s8's local endpoints go", func() { endpoints(8) }},
	}
	for k, step := range steps {
		step.change()
		if err := p.Sync(tr.Snapshot()); err != nil {
			t.Fatalf("partial sync after %q: %v", step.what, err)
		}
		if k%4 != 3 && k != len(steps)-1 {
			continue
		}
		wantNat, wantFilter := fullSyncRules(t, st)
		if got := kubeRules(t, ns, "nat"); got != wantNat {
			t.Errorf("after %q, nat differs from a full sync's:\n%s", step.what, lineDiff(got, wantNat))
		}
		if got := kubeRules(t, ns, "filter"); got != wantFilter {
			t.Errorf("after %q, filter differs from a full sync's:\n%s", step.what, lineDiff(got, wantFilter))
		}
	}
	var partials dto.Metric
	if err := m.PartialSyncs.Write(&partials); err != nil {
		t.Fatal(err)
	}
	if got := partials.GetCounter().GetValue(); got != float64(len(steps)) {
		t.Errorf("partial syncs = %v, want %d (every step after the first sync)", got, len(steps))
	}
	return ipt.edits
}

// lineDiff lists the lines only in got (+) and only in want (-).
func lineDiff(got, want string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var b strings.Builder
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	if b.Len() == 0 {
		return "(same lines, different order)\n--- got\n" + got + "--- want\n" + want
	}
	return b.String()
}
