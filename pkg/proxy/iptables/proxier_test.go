package iptables

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

func TestChainNames_MatchUpstream(t *testing.T) {
	// Names as a real kube-proxy writes them for kube-system Services.
	for _, tc := range []struct{ spn, proto, want string }{
		{"default/kubernetes:https", "TCP", "KUBE-SVC-NPX46M4PTMTKRN6Y"},
		{"kube-system/kube-dns:dns", "UDP", "KUBE-SVC-TCOU7JCQXEZGVUNU"},
		{"kube-system/kube-dns:dns-tcp", "TCP", "KUBE-SVC-ERIFXISQEP7F7OF4"},
		{"kube-system/kube-dns:metrics", "TCP", "KUBE-SVC-JD5MR3NA4I4DYORP"},
	} {
		if got := servicePortChain(prefixSVC, tc.spn, tc.proto); got != tc.want {
			t.Errorf("chain of %s/%s = %s, want %s", tc.spn, tc.proto, got, tc.want)
		}
	}
}

const goldenClusterIP = `*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-SERVICES -m comment --comment "ns/d:p has no endpoints" -m tcp -p tcp -d 10.96.0.13/32 --dport 80 -j REJECT
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns/d:p has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30082 -j REJECT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-ZOE7WQMSI2YE7I74 - [0:0]
:KUBE-SEP-364TS3XFXQB4PFXD - [0:0]
:KUBE-SEP-6GKE6Q433RAEGOKZ - [0:0]
-A KUBE-SERVICES -m comment --comment "ns/a:p cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j KUBE-SVC-ZOE7WQMSI2YE7I74
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SVC-ZOE7WQMSI2YE7I74 -m comment --comment "ns/a:p cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ZOE7WQMSI2YE7I74 -m comment --comment "ns/a:p -> 10.244.1.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-364TS3XFXQB4PFXD
-A KUBE-SVC-ZOE7WQMSI2YE7I74 -m comment --comment "ns/a:p -> 10.244.2.2:8080" -j KUBE-SEP-6GKE6Q433RAEGOKZ
-A KUBE-SEP-364TS3XFXQB4PFXD -m comment --comment ns/a:p -s 10.244.1.2/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-364TS3XFXQB4PFXD -m comment --comment ns/a:p -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080
-A KUBE-SEP-6GKE6Q433RAEGOKZ -m comment --comment ns/a:p -s 10.244.2.2/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-6GKE6Q433RAEGOKZ -m comment --comment ns/a:p -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080
COMMIT
`

func TestSync_GoldenClusterIPAndServiceWithoutEndpoints(t *testing.T) {
	h := newHarness(t, Config{ClusterCIDR: "10.244.0.0/16"})
	a := service("ns", "a", "10.96.0.10")
	d := service("ns", "d", "10.96.0.13", nodePort(30082))
	// 10.244.3.3 is neither ready nor serving: left out.
	h.add(a, slice(a, ready("10.244.2.2", "node-c"), ready("10.244.1.2", "node-b"), ep{ip: "10.244.3.3", node: "node-a"}), d)
	if got := h.sync(t); got != goldenClusterIP {
		t.Errorf("restore input:\n%s\nwant:\n%s", got, goldenClusterIP)
	}
	if len(h.ipt.jumps) != len(baseJumps) {
		t.Errorf("base jumps ensured: %d, want %d", len(h.ipt.jumps), len(baseJumps))
	}
}

func TestSync_Rules(t *testing.T) {
	local := v1.ServiceInternalTrafficPolicyLocal
	for _, tc := range []struct {
		name    string
		cfg     Config
		objs    func() []any
		want    []string // lines that must be present
		notWant []string // substrings that must be absent
	}{
		{
			name: "terminating-but-serving endpoint unused while a ready one exists",
			objs: func() []any {
				s := service("ns", "a", "10.96.0.10")
				return []any{s, slice(s, ready("10.244.1.2", "node-b"), ep{ip: "10.244.1.3", node: "node-b", serving: true, terminating: true})}
			},
			want:    []string{`-A KUBE-SVC-ZOE7WQMSI2YE7I74 -m comment --comment "ns/a:p -> 10.244.1.2:8080" -j KUBE-SEP-`},
			notWant: []string{"10.244.1.3"},
		},
		{
			name: "terminating-but-serving endpoints used when no ready one exists",
			objs: func() []any {
				s := service("ns", "a", "10.96.0.10")
				return []any{s, slice(s, ep{ip: "10.244.1.3", node: "node-b", serving: true, terminating: true},
					ep{ip: "10.244.1.4", node: "node-b", terminating: true})}
			},
			want:    []string{`-A KUBE-SVC-ZOE7WQMSI2YE7I74 -m comment --comment "ns/a:p -> 10.244.1.3:8080" -j KUBE-SEP-`},
			notWant: []string{"10.244.1.4", "REJECT"},
		},
		{
			name: "three endpoints get equal shares",
			objs: func() []any {
				s := service("ns", "a", "10.96.0.10")
				return []any{s, slice(s, ready("10.244.1.2", "b"), ready("10.244.1.3", "b"), ready("10.244.1.4", "b"))}
			},
			want: []string{
				`--comment "ns/a:p -> 10.244.1.2:8080" -m statistic --mode random --probability 0.3333333333 -j`,
				`--comment "ns/a:p -> 10.244.1.3:8080" -m statistic --mode random --probability 0.5000000000 -j`,
				`--comment "ns/a:p -> 10.244.1.4:8080" -j KUBE-SEP-`,
			},
		},
		{
			name: "masquerade-all marks every cluster IP connection",
			cfg:  Config{MasqueradeAll: true, ClusterCIDR: "10.244.0.0/16"},
			objs: func() []any {
				s := service("ns", "a", "10.96.0.10")
				return []any{s, slice(s, ready("10.244.1.2", "b"))}
			},
			want:    []string{`-A KUBE-SVC-ZOE7WQMSI2YE7I74 -m comment --comment "ns/a:p cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j KUBE-MARK-MASQ`},
			notWant: []string{"! -s 10.244.0.0/16"},
		},
		{
			name: "internalTrafficPolicy Local goes to the local endpoints only",
			objs: func() []any {
				s := service("ns", "a", "10.96.0.10", func(s *v1.Service) { s.Spec.InternalTrafficPolicy = &local })
				return []any{s, slice(s, ready("10.244.1.2", "node-b"), ready("10.244.0.7", testNode))}
			},
			want: []string{
				`-A KUBE-SERVICES -m comment --comment "ns/a:p cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j KUBE-SVL-`,
				`--comment "ns/a:p -> 10.244.0.7:8080" -j KUBE-SEP-`,
			},
		},
		{
			name: "internalTrafficPolicy Local without a local endpoint drops",
			objs: func() []any {
				s := service("ns", "a", "10.96.0.10", func(s *v1.Service) { s.Spec.InternalTrafficPolicy = &local })
				return []any{s, slice(s, ready("10.244.1.2", "node-b"))}
			},
			want:    []string{`-A KUBE-SERVICES -m comment --comment "ns/a:p has no local endpoints" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j DROP`},
			notWant: []string{"KUBE-SVL-"},
		},
		{
			name: "externalTrafficPolicy Local: external traffic to local endpoints, health check port open",
			cfg:  Config{ClusterCIDR: "10.244.0.0/16"},
			objs: func() []any {
				s := service("ns", "c", "10.96.0.12", nodePort(30081), func(s *v1.Service) {
					s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
					s.Spec.HealthCheckNodePort = 32000
				})
				return []any{s, slice(s, ready("10.244.1.6", "node-b"), ready("10.244.0.6", testNode))}
			},
			want: []string{
				`-A KUBE-NODEPORTS -m comment --comment "ns/c:p health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT`,
				`-A KUBE-NODEPORTS -m comment --comment ns/c:p -m tcp -p tcp --dport 30081 -j KUBE-EXT-2QC7POLXVQ57365R`,
				`-A KUBE-EXT-2QC7POLXVQ57365R -m comment --comment "pod traffic for ns/c:p external destinations" -s 10.244.0.0/16 -j KUBE-SVC-2QC7POLXVQ57365R`,
				`-A KUBE-EXT-2QC7POLXVQ57365R -m comment --comment "masquerade LOCAL traffic for ns/c:p external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
				`-A KUBE-EXT-2QC7POLXVQ57365R -m comment --comment "route LOCAL traffic for ns/c:p external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-2QC7POLXVQ57365R`,
				`-A KUBE-EXT-2QC7POLXVQ57365R -j KUBE-SVL-2QC7POLXVQ57365R`,
				`-A KUBE-SVL-2QC7POLXVQ57365R -m comment --comment "ns/c:p -> 10.244.0.6:8080" -j KUBE-SEP-`,
			},
			notWant: []string{"masquerade traffic for", "DROP\n-A KUBE-EXTERNAL"},
		},
		{
			name: "externalIPs and NodePort with cluster policy masquerade",
			objs: func() []any {
				s := service("ns", "b", "10.96.0.11", nodePort(30080), func(s *v1.Service) { s.Spec.ExternalIPs = []string{"192.0.2.1"} })
				return []any{s, slice(s, ready("10.244.1.5", "node-b"))}
			},
			want: []string{
				`-A KUBE-SERVICES -m comment --comment "ns/b:p external IP" -m tcp -p tcp -d 192.0.2.1/32 --dport 80 -j KUBE-EXT-M7WRKUUGGLVBVVX5`,
				`-A KUBE-NODEPORTS -m comment --comment ns/b:p -m tcp -p tcp --dport 30080 -j KUBE-EXT-M7WRKUUGGLVBVVX5`,
				`-A KUBE-EXT-M7WRKUUGGLVBVVX5 -m comment --comment "masquerade traffic for ns/b:p external destinations" -j KUBE-MARK-MASQ`,
				`-A KUBE-EXT-M7WRKUUGGLVBVVX5 -j KUBE-SVC-M7WRKUUGGLVBVVX5`,
			},
		},
		{
			name: "externalIP without endpoints is rejected in KUBE-EXTERNAL-SERVICES",
			objs: func() []any {
				return []any{service("ns", "b", "10.96.0.11", func(s *v1.Service) { s.Spec.ExternalIPs = []string{"192.0.2.1"} })}
			},
			want: []string{`-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns/b:p has no endpoints" -m tcp -p tcp -d 192.0.2.1/32 --dport 80 -j REJECT`},
		},
		{
			name: "ClientIP affinity with its timeout",
			objs: func() []any {
				to := int32(60)
				s := service("ns", "b", "10.96.0.11", func(s *v1.Service) {
					s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
					s.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: &to}}
				})
				return []any{s, slice(s, ready("10.244.1.5", "node-b"), ready("10.244.2.5", "node-c"))}
			},
			want: []string{
				`-A KUBE-SVC-M7WRKUUGGLVBVVX5 -m comment --comment "ns/b:p -> 10.244.1.5:8080" -m recent --name KUBE-SEP-UGAPHPU2CAYUV3VY --rcheck --seconds 60 --reap -j KUBE-SEP-UGAPHPU2CAYUV3VY`,
				`-A KUBE-SEP-UGAPHPU2CAYUV3VY -m comment --comment ns/b:p -m recent --name KUBE-SEP-UGAPHPU2CAYUV3VY --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:8080`,
			},
		},
		{
			name:    "nodeport-addresses limit the NodePort jump to matching local addresses",
			cfg:     Config{NodePortAddresses: []string{"192.168.1.0/24"}},
			objs:    func() []any { return []any{service("ns", "d", "10.96.0.13", nodePort(30082))} },
			want:    []string{`-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.1.5/32 -j KUBE-NODEPORTS`},
			notWant: []string{"10.0.0.9", "--dst-type LOCAL -j KUBE-NODEPORTS"},
		},
		{
			name:    "pod egress masquerade for host-gw",
			cfg:     Config{ClusterCIDR: "10.244.0.0/16", MasqueradePodEgress: true},
			objs:    func() []any { return nil },
			want:    []string{`-A KUBE-POSTROUTING -m comment --comment "pod traffic leaving the cluster CIDR" -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE`},
			notWant: []string{"KUBE-SVC-"},
		},
		{
			name: "UDP",
			objs: func() []any {
				s := service("kube-system", "kube-dns", "10.96.0.10", udp, func(s *v1.Service) { s.Spec.Ports[0].Name = "dns" })
				sl := slice(s, ready("10.244.1.2", "node-b"))
				n := "dns"
				sl.Ports[0].Name = &n
				return []any{s, sl}
			},
			want: []string{
				`-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10/32 --dport 80 -j KUBE-SVC-TCOU7JCQXEZGVUNU`,
				`-m udp -p udp -j DNAT --to-destination 10.244.1.2:8080`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			h.proxier.localAddrs = func() ([]net.IP, error) {
				return []net.IP{net.ParseIP("192.168.1.5").To4(), net.ParseIP("10.0.0.9").To4()}, nil
			}
			h.add(tc.objs()...)
			got := h.sync(t)
			lines := map[string]bool{}
			for _, l := range strings.Split(got, "\n") {
				lines[l] = true
			}
			for _, w := range tc.want {
				if !lines[w] && !containsLinePart(got, w) {
					t.Errorf("missing rule %q in:\n%s", w, got)
				}
			}
			for _, nw := range tc.notWant {
				if strings.Contains(got, nw) {
					t.Errorf("unexpected %q in:\n%s", nw, got)
				}
			}
		})
	}
}

// containsLinePart: w is a whole line, or (when it is a fragment) part of
// one line.
func containsLinePart(text, w string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, w) {
			return !strings.HasPrefix(w, "-A ") || strings.HasPrefix(l, w)
		}
	}
	return false
}

func TestSync_PartialSyncRewritesOnlyChangedService(t *testing.T) {
	h := newHarness(t, Config{})
	a := service("ns", "a", "10.96.0.10")
	b := service("ns", "b", "10.96.0.11")
	h.add(a, slice(a, ready("10.244.1.2", "n")), b, slice(b, ready("10.244.1.5", "n"), ready("10.244.2.5", "n")))
	h.sync(t)
	jumps := len(h.ipt.jumps)

	// b loses an endpoint.
	h.add(slice(b, ready("10.244.1.5", "n")))
	h.clock.Step(time.Second)
	got := h.sync(t)
	if strings.Contains(got, ":KUBE-SVC-ZOE7WQMSI2YE7I74") || strings.Contains(got, "-A KUBE-SEP-364TS3XFXQB4PFXD") {
		t.Errorf("partial sync rewrote unchanged ns/a:\n%s", got)
	}
	if strings.Contains(got, ":KUBE-SERVICES") || strings.Contains(got, ":KUBE-POSTROUTING") {
		t.Errorf("an endpoint change rewrote unchanged top-level chains:\n%s", got)
	}
	for _, w := range []string{
		":KUBE-SVC-M7WRKUUGGLVBVVX5 - [0:0]",
		"-A KUBE-SVC-M7WRKUUGGLVBVVX5 -m comment --comment \"ns/b:p -> 10.244.1.5:8080\" -j KUBE-SEP-UGAPHPU2CAYUV3VY",
		":KUBE-SEP-SMA34L6PJAWCPYAR - [0:0]",
		"-X KUBE-SEP-SMA34L6PJAWCPYAR",
	} {
		if !strings.Contains(got, w+"\n") {
			t.Errorf("partial sync lacks %q:\n%s", w, got)
		}
	}
	if len(h.ipt.jumps) != jumps {
		t.Errorf("a partial sync re-checked the base jumps")
	}

	// a is deleted: its chains go, b's are left alone.
	h.tracker.DeleteService(a)
	h.clock.Step(time.Second)
	got = h.sync(t)
	if !strings.Contains(got, "-X KUBE-SVC-ZOE7WQMSI2YE7I74\n") || !strings.Contains(got, "-X KUBE-SEP-364TS3XFXQB4PFXD\n") {
		t.Errorf("deleted Service's chains not removed:\n%s", got)
	}
	if strings.Contains(got, ":KUBE-SVC-M7WRKUUGGLVBVVX5") {
		t.Errorf("unchanged ns/b rewritten:\n%s", got)
	}
	if !strings.Contains(got, ":KUBE-SERVICES - [0:0]\n") || strings.Contains(got, "ns/a:p cluster IP") {
		t.Errorf("KUBE-SERVICES not rewritten without ns/a:\n%s", got)
	}

	// After the sync period every chain is rewritten.
	h.clock.Step(31 * time.Second)
	got = h.sync(t)
	if !strings.Contains(got, ":KUBE-SVC-M7WRKUUGGLVBVVX5") || len(h.ipt.jumps) != 2*jumps {
		t.Errorf("full resync after the sync period did not rewrite everything:\n%s", got)
	}
}

func TestSync_FailedRestoreMakesNextSyncFull(t *testing.T) {
	h := newHarness(t, Config{})
	a := service("ns", "a", "10.96.0.10")
	b := service("ns", "b", "10.96.0.11")
	h.add(a, slice(a, ready("10.244.1.2", "n")))
	h.sync(t)
	h.ipt.fail = errors.New("boom")
	h.add(b, slice(b, ready("10.244.1.5", "n")))
	if err := h.proxier.Sync(h.tracker.Snapshot()); err == nil {
		t.Fatal("sync with a failing restore succeeded")
	}
	h.ipt.fail = nil
	got := h.sync(t) // nothing changed since, but the failed change must land
	for _, w := range []string{":KUBE-SVC-ZOE7WQMSI2YE7I74", ":KUBE-SVC-M7WRKUUGGLVBVVX5"} {
		if !strings.Contains(got, w) {
			t.Errorf("sync after a failure is not full, lacks %s:\n%s", w, got)
		}
	}
}

func TestSync_RemovesStaleChainsOfAPreviousRun(t *testing.T) {
	h := newHarness(t, Config{})
	h.ipt.chains = map[string][]string{"nat": {"PREROUTING", "KUBE-SERVICES", "KUBE-MARK-MASQ", "KUBE-SVC-OLDOLDOLDOLDOLDO", "KUBE-SEP-OLDOLDOLDOLDOLDO", "DOCKER"}}
	got := h.sync(t)
	for _, w := range []string{"-X KUBE-SVC-OLDOLDOLDOLDOLDO\n", "-X KUBE-SEP-OLDOLDOLDOLDOLDO\n"} {
		if !strings.Contains(got, w) {
			t.Errorf("stale chain not removed (%q):\n%s", w, got)
		}
	}
	for _, nw := range []string{"-X KUBE-MARK-MASQ", "DOCKER", "-X KUBE-SERVICES"} {
		if strings.Contains(got, nw) {
			t.Errorf("removed a chain it must keep (%q):\n%s", nw, got)
		}
	}
}

func TestSync_UDPConntrack(t *testing.T) {
	h := newHarness(t, Config{})
	s := service("ns", "dns", "10.96.0.10", udp, nodePort(30053))
	h.add(s)
	h.sync(t)
	// Endpoints appear: entries cached while the Service rejected go.
	h.add(slice(s, ready("10.244.1.2", "n"), ready("10.244.1.3", "n")))
	h.sync(t)
	want := []string{
		"-p udp --orig-dst 10.96.0.10 --orig-port-dst 80",
		"-p udp --orig-port-dst 30053",
	}
	if strings.Join(h.ct.calls, "|") != strings.Join(want, "|") {
		t.Errorf("conntrack calls when endpoints appear = %q, want %q", h.ct.calls, want)
	}
	// One endpoint goes: its flows are deleted.
	h.ct.calls = nil
	h.add(slice(s, ready("10.244.1.2", "n")))
	h.sync(t)
	want = []string{"-p udp --dst-nat 10.244.1.3 --reply-port-src 8080"}
	if strings.Join(h.ct.calls, "|") != strings.Join(want, "|") {
		t.Errorf("conntrack calls when an endpoint goes = %q, want %q", h.ct.calls, want)
	}
}

func TestCleanup_RemovesJumpsAndOwnedChainsOnly(t *testing.T) {
	ipt := &fakeIPT{chains: map[string][]string{
		"filter": {"INPUT", "KUBE-SERVICES", "KUBE-FORWARD", "KUBE-FIREWALL"},
		"nat":    {"PREROUTING", "KUBE-SERVICES", "KUBE-MARK-MASQ", "KUBE-SVC-X", "KUBE-SEP-Y", "CNI-HOSTPORT-DNAT"},
	}}
	if err := Cleanup(ipt); err != nil {
		t.Fatal(err)
	}
	if len(ipt.deleted) != len(baseJumps) {
		t.Errorf("deleted %d jumps, want %d", len(ipt.deleted), len(baseJumps))
	}
	want := "*filter\n:KUBE-SERVICES - [0:0]\n:KUBE-FORWARD - [0:0]\n-X KUBE-SERVICES\n-X KUBE-FORWARD\nCOMMIT\n" +
		"*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-SVC-X - [0:0]\n:KUBE-SEP-Y - [0:0]\n" +
		"-X KUBE-SERVICES\n-X KUBE-MARK-MASQ\n-X KUBE-SVC-X\n-X KUBE-SEP-Y\nCOMMIT\n"
	if got := ipt.last(); got != want {
		t.Errorf("cleanup restore:\n%s\nwant:\n%s", got, want)
	}
}

func loadBalancer(np int32, ingress string, ranges ...string) func(*v1.Service) {
	return func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeLoadBalancer
		s.Spec.Ports[0].NodePort = np
		s.Spec.LoadBalancerSourceRanges = ranges
		s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: ingress}}
	}
}

func TestSync_GoldenLoadBalancerSourceRanges(t *testing.T) {
	h := newHarness(t, Config{ClusterCIDR: "10.244.0.0/16"})
	lb := service("ns", "lb", "10.96.0.20", loadBalancer(30090, "198.51.100.7", "203.0.113.0/25", " 192.0.2.0/24"))
	h.add(lb, slice(lb, ready("10.244.1.4", "node-b")))
	if got := h.sync(t); got != goldenLoadBalancerSourceRanges {
		t.Errorf("restore input:\n%s\nwant:\n%s", got, goldenLoadBalancerSourceRanges)
	}
}

// goldenLoadBalancerSourceRanges: the load-balancer IP goes through
// KUBE-FW-*, which passes the allowed sources on to KUBE-EXT-*; what falls
// through is not DNATed and KUBE-PROXY-FIREWALL drops it. The NodePort is
// not filtered (as upstream: the ranges apply to the load balancer's IP).
const goldenLoadBalancerSourceRanges = `*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-PROXY-FIREWALL -m comment --comment "ns/lb:p traffic not accepted by KUBE-FW-6MXKDKS4RXDXPGND" -m tcp -p tcp -d 198.51.100.7/32 --dport 80 -j DROP
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-6MXKDKS4RXDXPGND - [0:0]
:KUBE-EXT-6MXKDKS4RXDXPGND - [0:0]
:KUBE-FW-6MXKDKS4RXDXPGND - [0:0]
:KUBE-SEP-M27TBMNWTMOMGSF4 - [0:0]
-A KUBE-SERVICES -m comment --comment "ns/lb:p cluster IP" -m tcp -p tcp -d 10.96.0.20/32 --dport 80 -j KUBE-SVC-6MXKDKS4RXDXPGND
-A KUBE-SERVICES -m comment --comment "ns/lb:p loadbalancer IP" -m tcp -p tcp -d 198.51.100.7/32 --dport 80 -j KUBE-FW-6MXKDKS4RXDXPGND
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -m comment --comment ns/lb:p -m tcp -p tcp --dport 30090 -j KUBE-EXT-6MXKDKS4RXDXPGND
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SVC-6MXKDKS4RXDXPGND -m comment --comment "ns/lb:p cluster IP" -m tcp -p tcp -d 10.96.0.20/32 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-6MXKDKS4RXDXPGND -m comment --comment "ns/lb:p -> 10.244.1.4:8080" -j KUBE-SEP-M27TBMNWTMOMGSF4
-A KUBE-EXT-6MXKDKS4RXDXPGND -m comment --comment "masquerade traffic for ns/lb:p external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-6MXKDKS4RXDXPGND -j KUBE-SVC-6MXKDKS4RXDXPGND
-A KUBE-FW-6MXKDKS4RXDXPGND -m comment --comment "ns/lb:p loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-6MXKDKS4RXDXPGND
-A KUBE-FW-6MXKDKS4RXDXPGND -m comment --comment "ns/lb:p loadbalancer IP" -s 192.0.2.0/24 -j KUBE-EXT-6MXKDKS4RXDXPGND
-A KUBE-SEP-M27TBMNWTMOMGSF4 -m comment --comment ns/lb:p -s 10.244.1.4/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-M27TBMNWTMOMGSF4 -m comment --comment ns/lb:p -m tcp -p tcp -j DNAT --to-destination 10.244.1.4:8080
COMMIT
`

func TestSync_LoadBalancerSourceRanges(t *testing.T) {
	for _, tc := range []struct {
		name          string
		mod           func(*v1.Service)
		want, notWant []string
	}{
		{
			name:    "no ranges: the load-balancer IP goes straight to KUBE-EXT",
			mod:     loadBalancer(30090, "198.51.100.7"),
			want:    []string{`-A KUBE-SERVICES -m comment --comment "ns/lb:p loadbalancer IP" -m tcp -p tcp -d 198.51.100.7/32 --dport 80 -j KUBE-EXT-6MXKDKS4RXDXPGND`},
			notWant: []string{"KUBE-FW-", "-A KUBE-PROXY-FIREWALL"},
		},
		{
			name: "the annotation when the field is empty; bad entries skipped",
			mod: func(s *v1.Service) {
				loadBalancer(30090, "198.51.100.7")(s)
				s.Annotations = map[string]string{"service.beta.kubernetes.io/load-balancer-source-ranges": "10.1.0.0/16, nonsense,10.1.2.3/16"}
			},
			want: []string{
				`-A KUBE-FW-6MXKDKS4RXDXPGND -m comment --comment "ns/lb:p loadbalancer IP" -s 10.1.0.0/16 -j KUBE-EXT-6MXKDKS4RXDXPGND`,
				`-A KUBE-PROXY-FIREWALL -m comment --comment "ns/lb:p traffic not accepted by KUBE-FW-6MXKDKS4RXDXPGND" -m tcp -p tcp -d 198.51.100.7/32 --dport 80 -j DROP`,
			},
			notWant: []string{"nonsense", "10.1.2.3"},
		},
		{
			name:    "ranges without a load-balancer IP: nothing to filter",
			mod:     func(s *v1.Service) { loadBalancer(30090, "", "203.0.113.0/25")(s); s.Status.LoadBalancer.Ingress = nil },
			notWant: []string{"KUBE-FW-", "203.0.113.0"},
		},
		{
			name:    "ranges on a NodePort Service are ignored (upstream: LoadBalancer only)",
			mod:     func(s *v1.Service) { nodePort(30090)(s); s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/25"} },
			notWant: []string{"KUBE-FW-", "203.0.113.0"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{ClusterCIDR: "10.244.0.0/16"})
			lb := service("ns", "lb", "10.96.0.20", tc.mod)
			h.add(lb, slice(lb, ready("10.244.1.4", "node-b")))
			got := h.sync(t)
			for _, w := range tc.want {
				if !containsLinePart(got, w) {
					t.Errorf("missing rule %q in:\n%s", w, got)
				}
			}
			for _, nw := range tc.notWant {
				if strings.Contains(got, nw) {
					t.Errorf("unexpected %q in:\n%s", nw, got)
				}
			}
		})
	}
}
