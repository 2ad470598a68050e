package iptables

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/proxy"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// goldenPartialEndpointChange: ns/a's endpoint 10.244.2.2 is replaced by
// 10.244.3.2. Only ns/a's KUBE-SVC chain, the new endpoint's KUBE-SEP
// chain and the deletion of the old one are written: no top-level chain,
// not the unchanged endpoint's chain, no filter table, nothing of ns/b.
const goldenPartialEndpointChange = `*nat
:KUBE-SVC-ZOE7WQMSI2YE7I74 - [0:0]
:KUBE-SEP-XTY22LFMVMS7PYIO - [0:0]
:KUBE-SEP-6GKE6Q433RAEGOKZ - [0:0]
-A KUBE-SVC-ZOE7WQMSI2YE7I74 -m comment --comment "ns/a:p cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ZOE7WQMSI2YE7I74 -m comment --comment "ns/a:p -> 10.244.1.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-364TS3XFXQB4PFXD
-A KUBE-SVC-ZOE7WQMSI2YE7I74 -m comment --comment "ns/a:p -> 10.244.3.2:8080" -j KUBE-SEP-XTY22LFMVMS7PYIO
-A KUBE-SEP-XTY22LFMVMS7PYIO -m comment --comment ns/a:p -s 10.244.3.2/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-XTY22LFMVMS7PYIO -m comment --comment ns/a:p -m tcp -p tcp -j DNAT --to-destination 10.244.3.2:8080
-X KUBE-SEP-6GKE6Q433RAEGOKZ
COMMIT
`

// goldenPartialLastEndpointGone: ns/b (a NodePort) loses its only
// endpoint. Its REJECT rules appear in the filter table, its jumps leave
// nat KUBE-SERVICES and KUBE-NODEPORTS (rebuilt from the other Services'
// cached rules: ns/a's jump is still there) and its chains are deleted.
const goldenPartialLastEndpointGone = `*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
-A KUBE-SERVICES -m comment --comment "ns/b:p has no endpoints" -m tcp -p tcp -d 10.96.0.11/32 --dport 80 -j REJECT
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns/b:p has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j REJECT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-EXT-M7WRKUUGGLVBVVX5 - [0:0]
:KUBE-SEP-UGAPHPU2CAYUV3VY - [0:0]
:KUBE-SVC-M7WRKUUGGLVBVVX5 - [0:0]
-A KUBE-SERVICES -m comment --comment "ns/a:p cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j KUBE-SVC-ZOE7WQMSI2YE7I74
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-X KUBE-EXT-M7WRKUUGGLVBVVX5
-X KUBE-SEP-UGAPHPU2CAYUV3VY
-X KUBE-SVC-M7WRKUUGGLVBVVX5
COMMIT
`

// goldenPartialFirstEndpoint: ns/b gets an endpoint again: the REJECT
// rules go (the filter chains are rewritten empty), the jumps come back.
const goldenPartialFirstEndpoint = `*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SVC-M7WRKUUGGLVBVVX5 - [0:0]
:KUBE-EXT-M7WRKUUGGLVBVVX5 - [0:0]
:KUBE-SEP-UGAPHPU2CAYUV3VY - [0:0]
-A KUBE-SERVICES -m comment --comment "ns/a:p cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j KUBE-SVC-ZOE7WQMSI2YE7I74
-A KUBE-SERVICES -m comment --comment "ns/b:p cluster IP" -m tcp -p tcp -d 10.96.0.11/32 --dport 80 -j KUBE-SVC-M7WRKUUGGLVBVVX5
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -m comment --comment ns/b:p -m tcp -p tcp --dport 30080 -j KUBE-EXT-M7WRKUUGGLVBVVX5
-A KUBE-SVC-M7WRKUUGGLVBVVX5 -m comment --comment "ns/b:p cluster IP" -m tcp -p tcp -d 10.96.0.11/32 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-M7WRKUUGGLVBVVX5 -m comment --comment "ns/b:p -> 10.244.1.5:8080" -j KUBE-SEP-UGAPHPU2CAYUV3VY
-A KUBE-EXT-M7WRKUUGGLVBVVX5 -m comment --comment "masquerade traffic for ns/b:p external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-M7WRKUUGGLVBVVX5 -j KUBE-SVC-M7WRKUUGGLVBVVX5
-A KUBE-SEP-UGAPHPU2CAYUV3VY -m comment --comment ns/b:p -s 10.244.1.5/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-UGAPHPU2CAYUV3VY -m comment --comment ns/b:p -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:8080
COMMIT
`

func TestSync_GoldenPartialSyncs(t *testing.T) {
	h := newHarness(t, Config{ClusterCIDR: "10.244.0.0/16"})
	a := service("ns", "a", "10.96.0.10")
	b := service("ns", "b", "10.96.0.11", nodePort(30080))
	h.add(a, slice(a, ready("10.244.1.2", "node-b"), ready("10.244.2.2", "node-c")), b, slice(b, ready("10.244.1.5", "node-b")))
	h.sync(t)
	for _, step := range []struct {
		name   string
		change *discovery.EndpointSlice
		want   string
	}{
		{"one endpoint of ns/a replaced", slice(a, ready("10.244.1.2", "node-b"), ready("10.244.3.2", "node-c")), goldenPartialEndpointChange},
		{"ns/b loses its last endpoint", slice(b), goldenPartialLastEndpointGone},
		{"ns/b gets its first endpoint", slice(b, ready("10.244.1.5", "node-b")), goldenPartialFirstEndpoint},
	} {
		h.clock.Step(time.Second)
		h.add(step.change)
		if got := h.sync(t); got != step.want {
			t.Errorf("%s: restore input:\n%s\nwant:\n%s", step.name, got, step.want)
		}
	}
}

// goldenPartialEditLastEndpointGone: with big top-level chains (here
// from 4 rules on) ns/b's jump is deleted from nat KUBE-SERVICES in
// place, not by refilling the chain; the small ones are rewritten.
const goldenPartialEditLastEndpointGone = `*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
-A KUBE-SERVICES -m comment --comment "ns/b:p has no endpoints" -m tcp -p tcp -d 10.96.0.11/32 --dport 80 -j REJECT
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns/b:p has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j REJECT
COMMIT
*nat
:KUBE-NODEPORTS - [0:0]
:KUBE-EXT-M7WRKUUGGLVBVVX5 - [0:0]
:KUBE-SEP-UGAPHPU2CAYUV3VY - [0:0]
:KUBE-SVC-M7WRKUUGGLVBVVX5 - [0:0]
-D KUBE-SERVICES -m comment --comment "ns/b:p cluster IP" -m tcp -p tcp -d 10.96.0.11/32 --dport 80 -j KUBE-SVC-M7WRKUUGGLVBVVX5
-X KUBE-EXT-M7WRKUUGGLVBVVX5
-X KUBE-SEP-UGAPHPU2CAYUV3VY
-X KUBE-SVC-M7WRKUUGGLVBVVX5
COMMIT
`

// goldenPartialEditFirstEndpoint: ns/b's jump is inserted at the top of
// nat KUBE-SERVICES (the NodePort jump stays last).
const goldenPartialEditFirstEndpoint = `*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
COMMIT
*nat
:KUBE-NODEPORTS - [0:0]
:KUBE-SVC-M7WRKUUGGLVBVVX5 - [0:0]
:KUBE-EXT-M7WRKUUGGLVBVVX5 - [0:0]
:KUBE-SEP-UGAPHPU2CAYUV3VY - [0:0]
-I KUBE-SERVICES 1 -m comment --comment "ns/b:p cluster IP" -m tcp -p tcp -d 10.96.0.11/32 --dport 80 -j KUBE-SVC-M7WRKUUGGLVBVVX5
-A KUBE-NODEPORTS -m comment --comment ns/b:p -m tcp -p tcp --dport 30080 -j KUBE-EXT-M7WRKUUGGLVBVVX5
-A KUBE-SVC-M7WRKUUGGLVBVVX5 -m comment --comment "ns/b:p cluster IP" -m tcp -p tcp -d 10.96.0.11/32 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-M7WRKUUGGLVBVVX5 -m comment --comment "ns/b:p -> 10.244.1.5:8080" -j KUBE-SEP-UGAPHPU2CAYUV3VY
-A KUBE-EXT-M7WRKUUGGLVBVVX5 -m comment --comment "masquerade traffic for ns/b:p external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-M7WRKUUGGLVBVVX5 -j KUBE-SVC-M7WRKUUGGLVBVVX5
-A KUBE-SEP-UGAPHPU2CAYUV3VY -m comment --comment ns/b:p -s 10.244.1.5/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-UGAPHPU2CAYUV3VY -m comment --comment ns/b:p -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:8080
COMMIT
`

func TestSync_GoldenPartialSyncsEditBigTopLevelChains(t *testing.T) {
	h := newHarness(t, Config{ClusterCIDR: "10.244.0.0/16"})
	h.proxier.editMinRules = 4
	for i := 0; i < 8; i++ {
		s := service("ns", fmt.Sprintf("s%d", i), fmt.Sprintf("10.96.0.%d", 20+i))
		h.add(s, slice(s, ready(fmt.Sprintf("10.244.1.%d", 10+i), "node-b")))
	}
	b := service("ns", "b", "10.96.0.11", nodePort(30080))
	h.add(b, slice(b, ready("10.244.1.5", "node-b")))
	h.sync(t)
	h.clock.Step(time.Second)
	h.add(slice(b))
	if got := h.sync(t); got != goldenPartialEditLastEndpointGone {
		t.Errorf("last endpoint gone: restore input:\n%s\nwant:\n%s", got, goldenPartialEditLastEndpointGone)
	}
	h.add(slice(b, ready("10.244.1.5", "node-b")))
	if got := h.sync(t); got != goldenPartialEditFirstEndpoint {
		t.Errorf("first endpoint: restore input:\n%s\nwant:\n%s", got, goldenPartialEditFirstEndpoint)
	}
}

func TestSync_PartialSyncWithNothingToWriteSkipsRestore(t *testing.T) {
	h := newHarness(t, Config{})
	a := service("ns", "a", "10.96.0.10")
	h.add(a, slice(a, ready("10.244.1.2", "n")))
	h.sync(t)
	// A not-ready endpoint changes nothing that reaches the rules.
	h.add(slice(a, ready("10.244.1.2", "n"), ep{ip: "10.244.1.3", node: "n"}))
	if err := h.proxier.Sync(h.tracker.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if len(h.ipt.restores) != 1 {
		t.Errorf("restores = %d, want 1 (nothing changed in the rules):\n%s", len(h.ipt.restores), h.ipt.last())
	}
}

// kernel models iptables-restore --noflush on the chains of two tables,
// strictly: a rule may only jump to a chain that exists, a chain may only
// be deleted when no rule jumps to it.
type kernel map[string]map[string][]string

var builtin = map[string]bool{"INPUT": true, "OUTPUT": true, "FORWARD": true, "PREROUTING": true, "POSTROUTING": true}

func (k kernel) apply(data string) error {
	var table string
	staged := kernel{}
	for name, chains := range k {
		staged[name] = map[string][]string{}
		for c, rules := range chains {
			staged[name][c] = append([]string{}, rules...)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
			if staged[table] == nil {
				staged[table] = map[string][]string{}
			}
		case line == "COMMIT":
			if err := staged.check(table); err != nil {
				return err
			}
		case strings.HasPrefix(line, ":"):
			staged[table][strings.Fields(line[1:])[0]] = []string{}
		case strings.HasPrefix(line, "-A "):
			c := strings.Fields(line)[1]
			if _, ok := staged[table][c]; !ok {
				return fmt.Errorf("append to missing chain: %s", line)
			}
			staged[table][c] = append(staged[table][c], line)
		case strings.HasPrefix(line, "-D "):
			f := strings.SplitN(line, " ", 3)
			rule := "-A " + f[1] + " " + f[2]
			i := indexOf(staged[table][f[1]], rule)
			if i < 0 {
				return fmt.Errorf("delete of a missing rule: %s", line)
			}
			staged[table][f[1]] = append(staged[table][f[1]][:i], staged[table][f[1]][i+1:]...)
		case strings.HasPrefix(line, "-I "):
			f := strings.SplitN(line, " ", 4)
			if _, ok := staged[table][f[1]]; !ok || f[2] != "1" {
				return fmt.Errorf("insert into a missing chain or not at the top: %s", line)
			}
			staged[table][f[1]] = append([]string{"-A " + f[1] + " " + f[3]}, staged[table][f[1]]...)
		case strings.HasPrefix(line, "-X "):
			c := line[3:]
			if len(staged[table][c]) != 0 {
				return fmt.Errorf("delete of a missing or non-empty chain: %s", line)
			}
			for _, rules := range staged[table] {
				for _, r := range rules {
					if strings.HasSuffix(r, " -j "+c) || strings.Contains(r, " -j "+c+" ") {
						return fmt.Errorf("delete of chain %s still used by %s", c, r)
					}
				}
			}
			delete(staged[table], c)
		default:
			return fmt.Errorf("unexpected restore line %q", line)
		}
	}
	for name, chains := range staged {
		k[name] = chains
	}
	return nil
}

func indexOf(rules []string, rule string) int {
	for i, r := range rules {
		if r == rule {
			return i
		}
	}
	return -1
}

// canonical is k with the top-level chains' rules sorted (their order
// does not matter, but for the NodePort jump, which must be last: it
// fails if it is not).
func (k kernel) canonical() (kernel, error) {
	out := kernel{}
	for table, chains := range k {
		out[table] = map[string][]string{}
		for c, rules := range chains {
			rules = append([]string{}, rules...)
			if ownedChain(c) && !perServiceChain(c) {
				last := ""
				for i, r := range rules {
					if strings.Contains(r, "NOTE: this must be the last rule") {
						if i != len(rules)-1 {
							return nil, fmt.Errorf("%s %s: the NodePort jump is rule %d of %d", table, c, i+1, len(rules))
						}
						last, rules = r, rules[:i]
					}
				}
				sort.Strings(rules)
				if last != "" {
					rules = append(rules, last)
				}
			}
			out[table][c] = rules
		}
	}
	return out, nil
}

// check fails on a rule that jumps to a chain that is not there.
func (k kernel) check(table string) error {
	for _, rules := range k[table] {
		for _, r := range rules {
			f := strings.Fields(r)
			for i := range f {
				if f[i] == "-j" && i+1 < len(f) && strings.HasPrefix(f[i+1], "KUBE-") {
					if _, ok := k[table][f[i+1]]; !ok {
						return fmt.Errorf("rule jumps to missing chain: %s", r)
					}
				}
			}
		}
	}
	return nil
}

// kernelIPT is an Interface backed by a kernel model.
type kernelIPT struct {
	k kernel
	// edits counts restores that edit a chain in place.
	edits int
}

func (f *kernelIPT) Restore(data []byte) error {
	if strings.Contains(string(data), "\n-D ") || strings.Contains(string(data), "\n-I ") {
		f.edits++
	}
	return f.k.apply(string(data))
}
func (f *kernelIPT) SaveChains(table string) ([]string, error) {
	var out []string
	for c := range f.k[table] {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}
func (f *kernelIPT) EnsureRule(table, chain string, args ...string) error { return nil }
func (f *kernelIPT) DeleteRule(table, chain string, args ...string) error { return nil }

// world is a set of Services and EndpointSlices that a test changes at
// random, step by step.
type world struct {
	rnd      *rand.Rand
	services map[string]*v1.Service
	slices   map[string]*discovery.EndpointSlice
}

func (w *world) objects() []any {
	var out []any
	for _, s := range w.services {
		out = append(out, s)
	}
	for _, s := range w.slices {
		out = append(out, s)
	}
	return out
}

// mutate makes one random change and feeds it to tr.
func (w *world) mutate(tr *proxy.Tracker) string {
	i := w.rnd.Intn(8)
	name := fmt.Sprintf("s%d", i)
	ip := fmt.Sprintf("10.96.0.%d", 10+i)
	endpoints := func() []ep {
		var eps []ep
		for k := 0; k < w.rnd.Intn(4); k++ {
			e := ready(fmt.Sprintf("10.244.%d.%d", w.rnd.Intn(3), 2+w.rnd.Intn(4)), []string{testNode, "node-b"}[w.rnd.Intn(2)])
			switch w.rnd.Intn(5) {
			case 0:
				e.ready, e.serving = false, false
			case 1:
				e.ready, e.terminating = false, true
			}
			eps = append(eps, e)
		}
		return eps
	}
	svc := w.services[name]
	switch op := w.rnd.Intn(10); {
	case svc == nil || op == 0: // (re)create, of a random type
		mods := []func(*v1.Service){}
		switch w.rnd.Intn(6) {
		case 1:
			mods = append(mods, nodePort(int32(30000+i)))
		case 2:
			mods = append(mods, loadBalancer(int32(30000+i), fmt.Sprintf("198.51.100.%d", i), "203.0.113.0/25"))
		case 3:
			mods = append(mods, nodePort(int32(30000+i)), func(s *v1.Service) {
				s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
				s.Spec.HealthCheckNodePort = int32(32000 + i)
				s.Spec.ExternalIPs = []string{fmt.Sprintf("192.0.2.%d", i)}
			})
		case 4:
			mods = append(mods, udp)
		case 5:
			to := int32(60)
			mods = append(mods, func(s *v1.Service) {
				s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
				s.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: &to}}
			})
		}
		if w.rnd.Intn(3) == 0 {
			ip = fmt.Sprintf("10.96.1.%d", 10+i) // a new cluster IP
		}
		svc = service("ns", name, ip, mods...)
		w.services[name] = svc
		tr.UpdateService(svc)
		s := slice(svc, endpoints()...)
		w.slices[name] = s
		tr.UpdateSlice(s)
		return "create " + name
	case op == 1:
		tr.DeleteService(svc)
		delete(w.services, name)
		if s := w.slices[name]; s != nil {
			tr.DeleteSlice(s)
			delete(w.slices, name)
		}
		return "delete " + name
	case op == 2 && w.slices[name] != nil:
		tr.DeleteSlice(w.slices[name])
		delete(w.slices, name)
		return "delete slice of " + name
	default:
		s := slice(svc, endpoints()...)
		w.slices[name] = s
		tr.UpdateSlice(s)
		return "endpoints of " + name
	}
}

func TestSync_PartialSyncsLeaveWhatAFullSyncWould(t *testing.T) {
	for _, edit := range []int{defaultEditMinRules, 0} {
		t.Run(fmt.Sprintf("edit top-level chains from %d rules", edit), func(t *testing.T) {
			testPartialSyncsLeaveWhatAFullSyncWould(t, edit)
		})
	}
}

func testPartialSyncsLeaveWhatAFullSyncWould(t *testing.T, editMinRules int) {
	edits := 0
	defer func() {
		if editMinRules == 0 && edits == 0 {
			t.Errorf("no partial sync edited a chain in place")
		}
	}()
	for seed := int64(1); seed <= 20; seed++ {
		w := &world{rnd: rand.New(rand.NewSource(seed)), services: map[string]*v1.Service{}, slices: map[string]*discovery.EndpointSlice{}}
		cfg := Config{ClusterCIDR: "10.244.0.0/16", SyncPeriod: time.Hour}
		ipt := &kernelIPT{k: kernel{}}
		tr := proxy.NewTracker(testNode, nil)
		p, err := New(cfg, ipt, nil, WithEditMinRules(editMinRules))
		if err != nil {
			t.Fatal(err)
		}
		var steps []string
		for step := 0; step < 60; step++ {
			// Several changes in one sync now and then.
			for n := 1 + w.rnd.Intn(2); n > 0; n-- {
				steps = append(steps, w.mutate(tr))
			}
			if err := p.Sync(tr.Snapshot()); err != nil {
				t.Fatalf("seed %d, after %v: %v", seed, steps, err)
			}
			// A new proxier's full sync of the same objects.
			fresh := &kernelIPT{k: kernel{}}
			ftr := proxy.NewTracker(testNode, nil)
			for _, o := range w.objects() {
				switch o := o.(type) {
				case *v1.Service:
					ftr.UpdateService(o)
				case *discovery.EndpointSlice:
					ftr.UpdateSlice(o)
				}
			}
			fp, _ := New(cfg, fresh, nil)
			if err := fp.Sync(ftr.Snapshot()); err != nil {
				t.Fatal(err)
			}
			got, err := ipt.k.canonical()
			if err != nil {
				t.Fatalf("seed %d: after %v: %v", seed, steps, err)
			}
			want, _ := fresh.k.canonical()
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: after %v the kernel differs from a full sync's:\n%s", seed, steps, diffKernels(got, want))
			}
		}
		edits += ipt.edits
		if p.natRules == 0 {
			t.Errorf("seed %d: no rules counted", seed)
		}
	}
}

func diffKernels(got, want kernel) string {
	var b strings.Builder
	for _, table := range []string{"filter", "nat"} {
		names := map[string]bool{}
		for c := range got[table] {
			names[c] = true
		}
		for c := range want[table] {
			names[c] = true
		}
		for c := range names {
			g, okg := got[table][c]
			wt, okw := want[table][c]
			if okg != okw || !reflect.DeepEqual(g, wt) {
				fmt.Fprintf(&b, "%s %s (present %v, want %v):\n got  %q\n want %q\n", table, c, okg, okw, g, wt)
			}
		}
	}
	return b.String()
}
