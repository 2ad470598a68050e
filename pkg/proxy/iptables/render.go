package iptables

import (
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"

	"github.com/kstack/kstack/pkg/proxy"
)

// A slot is a top-level chain that holds rules of every Service port
// (KUBE-SERVICES, KUBE-NODEPORTS, ...). Each port's share of a slot is
// kept between syncs, so a partial sync rebuilds a top-level chain from
// those cached fragments instead of rendering every Service again, and
// leaves the chain alone when the changed ports' fragments are the same.
type slot int

const (
	filterServices slot = iota
	filterExternal
	filterNodePorts
	filterFirewall
	natServices
	natNodePorts
	numSlots
)

// topChain is one of the chains kube-proxy owns outright: its rules are
// the ports' fragments of its slot (if any) followed by a tail of rules
// that do not belong to any Service.
type topChain struct {
	table, name string
	slot        slot // -1: only the tail
}

// topChains in the order a restore declares and fills them.
var topChains = []topChain{
	{"filter", kubeServices, filterServices},
	{"filter", kubeExternalServices, filterExternal},
	{"filter", kubeForward, -1},
	{"filter", kubeNodePorts, filterNodePorts},
	{"filter", kubeProxyFirewall, filterFirewall},
	{"nat", kubeServices, natServices},
	{"nat", kubeNodePorts, natNodePorts},
	{"nat", kubePostrouting, -1},
	{"nat", kubeMarkMasq, -1},
}

// rules is restore text of "-A" lines and their count.
type rules struct {
	b []byte
	n int
}

// add appends "-A chain args..." quoting arguments with spaces.
func (r *rules) add(chain string, args ...string) {
	r.b = append(r.b, "-A "...)
	r.b = append(r.b, chain...)
	for _, a := range args {
		r.b = append(r.b, ' ')
		if strings.ContainsAny(a, " \t") {
			r.b = strconv.AppendQuote(r.b, a)
		} else {
			r.b = append(r.b, a...)
		}
	}
	r.b = append(r.b, '\n')
	r.n++
}

// portState is what the proxier remembers of one Service port after a
// sync: its chain names, its fragments of the top-level chains, a hash of
// each chain it owns (so a partial sync rewrites only the chains whose
// rules changed) and the endpoints it used (for conntrack cleanup).
type portState struct {
	key    string // portKey(name): the sort key of the top-level chains
	name   proxy.ServicePortName
	sp     *proxy.ServicePort
	chains serviceChains
	top    [numSlots][]byte
	topN   [numSlots]int
	own    []ownChain
	used   []proxy.Endpoint
}

// portKey orders ports by "ns/name:port" (as upstream orders its rules)
// and then by protocol: the name string alone is the same for a port's
// TCP and UDP variants. The NUL keeps the order of different names.
func portKey(n proxy.ServicePortName) string {
	return n.String() + "\x00" + string(n.Protocol)
}

// serviceChains are a Service port's chain names, kept between syncs so
// a port's chains are hashed once.
type serviceChains struct {
	svc, svl, ext, fw string
}

// ownChain is a per-Service chain in the kernel: its name, a hash of its
// rules and how many there are.
type ownChain struct {
	name  string
	sum   uint64
	rules int
}

// natRules and filterRules count the port's rules in each table.
func (s *portState) natRules() int {
	n := s.topN[natServices] + s.topN[natNodePorts]
	for _, c := range s.own {
		n += c.rules
	}
	return n
}

func (s *portState) filterRules() int {
	return s.topN[filterServices] + s.topN[filterExternal] + s.topN[filterNodePorts] + s.topN[filterFirewall]
}

// ownsChain says whether the port owns chain c.
func (s *portState) ownsChain(c string) bool {
	for _, o := range s.own {
		if o.name == c {
			return true
		}
	}
	return false
}

// writer collects one sync's output: the ports' top-level fragments and
// the per-Service nat chains that must be (re)written.
type writer struct {
	top   [numSlots]rules
	decls []byte // ":CHAIN - [0:0]" of the per-Service chains written
	body  rules  // their rules
}

func (w *writer) declare(chain string) {
	w.decls = append(w.decls, ':')
	w.decls = append(w.decls, chain...)
	w.decls = append(w.decls, " - [0:0]\n"...)
}

// chainSeed keys the chain hashes (they never leave the process).
var chainSeed = maphash.MakeSeed()

func comment(c string) []string { return []string{"-m", "comment", "--comment", c} }

func protoMatch(proto string) []string { return []string{"-m", proto, "-p", proto} }

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// renderPort renders one Service port: its fragments of the top-level
// chains go to w.top, its own chains to w.body. prev is the port's state
// after the previous sync (nil if new); when rewriteAll is false, an own
// chain whose rules hash as in prev is left out (the kernel has it).
func (p *Proxier) renderPort(w *writer, sp *proxy.ServicePort, eps []proxy.Endpoint, prev *portState, rewriteAll bool) *portState {
	spn := sp.Name.String()
	proto := strings.ToLower(string(sp.Protocol))
	st := &portState{key: portKey(sp.Name), name: sp.Name, sp: sp}
	if prev != nil {
		st.chains = prev.chains
	} else {
		st.chains = serviceChains{
			svc: servicePortChain(prefixSVC, spn, proto),
			svl: servicePortChain(prefixSVL, spn, proto),
			ext: servicePortChain(prefixEXT, spn, proto),
			fw:  servicePortChain(prefixFW, spn, proto),
		}
	}
	svcChain, svlChain, extChain, fwChain := st.chains.svc, st.chains.svl, st.chains.ext, st.chains.fw
	cluster, local, all := proxy.CategorizeEndpoints(eps, sp)
	st.used = all

	var start [numSlots]int
	var startN [numSlots]int
	for s := range w.top {
		start[s], startN[s] = len(w.top[s].b), w.top[s].n
	}
	fServices, fExternal, fNodePorts, fFirewall := &w.top[filterServices], &w.top[filterExternal], &w.top[filterNodePorts], &w.top[filterFirewall]
	nServices, nNodePorts := &w.top[natServices], &w.top[natNodePorts]

	usesCluster := len(cluster) > 0
	usesLocal := (sp.InternalPolicyLocal || sp.ExternalPolicyLocal) && len(local) > 0
	usesExt := sp.ExternallyAccessible() && len(all) > 0
	// loadBalancerSourceRanges: load-balancer IP traffic goes through
	// KUBE-FW-*, which sends only the allowed sources on to KUBE-EXT-*;
	// the rest is not DNATed and KUBE-PROXY-FIREWALL (filter) drops it.
	usesFW := usesExt && len(sp.LoadBalancerIPs) > 0 && len(sp.LoadBalancerSourceRanges) > 0
	hasEndpoints := len(all) > 0
	internalChain, hasInternal := svcChain, usesCluster
	if sp.InternalPolicyLocal {
		internalChain, hasInternal = svlChain, len(local) > 0
	}
	externalChain, hasExternal := svcChain, usesCluster
	if sp.ExternalPolicyLocal {
		externalChain, hasExternal = svlChain, len(local) > 0
	}
	// What a filter rule does with traffic that has nowhere to go.
	noEndpoints := func() (string, string) {
		if !hasEndpoints {
			return "REJECT", spn + " has no endpoints"
		}
		return "DROP", spn + " has no local endpoints"
	}
	port := strconv.Itoa(int(sp.Port))
	pm := protoMatch(proto)

	// Cluster IP.
	if hasInternal {
		nServices.add(kubeServices, join(comment(spn+" cluster IP"), pm, []string{"-d", sp.ClusterIP + "/32", "--dport", port, "-j", internalChain})...)
	} else {
		target, c := noEndpoints()
		fServices.add(kubeServices, join(comment(c), pm, []string{"-d", sp.ClusterIP + "/32", "--dport", port, "-j", target})...)
	}
	// External and load-balancer IPs.
	for _, set := range []struct {
		ips    []string
		what   string
		target string
	}{{sp.ExternalIPs, " external IP", extChain}, {sp.LoadBalancerIPs, " loadbalancer IP", extChain}} {
		if usesFW && set.what == " loadbalancer IP" {
			set.target = fwChain
		}
		for _, ip := range set.ips {
			if usesExt {
				nServices.add(kubeServices, join(comment(spn+set.what), pm, []string{"-d", ip + "/32", "--dport", port, "-j", set.target})...)
			}
			if usesFW && set.what == " loadbalancer IP" {
				fFirewall.add(kubeProxyFirewall, join(comment(spn+" traffic not accepted by "+fwChain), pm, []string{"-d", ip + "/32", "--dport", port, "-j", "DROP"})...)
			}
			if !hasExternal {
				target, c := noEndpoints()
				fExternal.add(kubeExternalServices, join(comment(c), pm, []string{"-d", ip + "/32", "--dport", port, "-j", target})...)
			}
		}
	}
	// NodePort.
	if sp.NodePort != 0 {
		np := strconv.Itoa(int(sp.NodePort))
		if usesExt {
			nNodePorts.add(kubeNodePorts, join(comment(spn), pm, []string{"--dport", np, "-j", extChain})...)
		}
		if !hasExternal {
			target, c := noEndpoints()
			fExternal.add(kubeExternalServices, join(comment(c), []string{"-m", "addrtype", "--dst-type", "LOCAL"}, pm, []string{"--dport", np, "-j", target})...)
		}
	}
	if sp.ExternalPolicyLocal && sp.HealthCheckNodePort != 0 {
		fNodePorts.add(kubeNodePorts, join(comment(spn+" health check node port"), protoMatch("tcp"), []string{"--dport", strconv.Itoa(int(sp.HealthCheckNodePort)), "-j", "ACCEPT"})...)
	}
	for s := range w.top {
		end := len(w.top[s].b)
		st.top[s] = w.top[s].b[start[s]:end:end]
		st.topN[s] = w.top[s].n - startN[s]
	}

	// The port's own chains, each written unless the kernel has it as is.
	var prevSum map[string]ownChain
	if !rewriteAll && prev != nil {
		prevSum = make(map[string]ownChain, len(prev.own))
		for _, c := range prev.own {
			prevSum[c.name] = c
		}
	}
	body := &w.body
	chain := func(name string, fill func()) {
		mark, markN := len(body.b), body.n
		fill()
		c := ownChain{name: name, sum: maphash.Bytes(chainSeed, body.b[mark:]), rules: body.n - markN}
		st.own = append(st.own, c)
		if old, ok := prevSum[name]; ok && old == c {
			body.b, body.n = body.b[:mark], markN
			return
		}
		w.declare(name)
	}
	sepChain := func(ep proxy.Endpoint) string { return endpointChain(spn, proto, ep.String()) }
	if usesCluster {
		chain(svcChain, func() {
			if p.cfg.MasqueradeAll {
				body.add(svcChain, join(comment(spn+" cluster IP"), pm, []string{"-d", sp.ClusterIP + "/32", "--dport", port, "-j", kubeMarkMasq})...)
			} else if p.clusterCIDR != nil {
				body.add(svcChain, join(comment(spn+" cluster IP"), pm, []string{"-d", sp.ClusterIP + "/32", "--dport", port, "!", "-s", p.clusterCIDR.String(), "-j", kubeMarkMasq})...)
			}
			balance(body, svcChain, spn, sp, cluster, sepChain)
		})
	}
	if usesLocal {
		chain(svlChain, func() { balance(body, svlChain, spn, sp, local, sepChain) })
	}
	if usesExt {
		chain(extChain, func() {
			if sp.ExternalPolicyLocal {
				if p.clusterCIDR != nil && usesCluster {
					body.add(extChain, join(comment("pod traffic for "+spn+" external destinations"), []string{"-s", p.clusterCIDR.String(), "-j", svcChain})...)
				}
				body.add(extChain, join(comment("masquerade LOCAL traffic for "+spn+" external destinations"), []string{"-m", "addrtype", "--src-type", "LOCAL", "-j", kubeMarkMasq})...)
				if usesCluster {
					body.add(extChain, join(comment("route LOCAL traffic for "+spn+" external destinations"), []string{"-m", "addrtype", "--src-type", "LOCAL", "-j", svcChain})...)
				}
			} else {
				body.add(extChain, join(comment("masquerade traffic for "+spn+" external destinations"), []string{"-j", kubeMarkMasq})...)
			}
			if hasExternal {
				body.add(extChain, "-j", externalChain)
			}
		})
	}
	if usesFW {
		chain(fwChain, func() {
			for _, cidr := range sp.LoadBalancerSourceRanges {
				body.add(fwChain, join(comment(spn+" loadbalancer IP"), []string{"-s", cidr, "-j", extChain})...)
			}
		})
	}
	for _, ep := range all {
		c := sepChain(ep)
		chain(c, func() {
			body.add(c, join(comment(spn), []string{"-s", ep.IP + "/32", "-j", kubeMarkMasq})...)
			args := comment(spn)
			if sp.StickyMaxAgeSeconds > 0 {
				args = append(args, "-m", "recent", "--name", c, "--set")
			}
			body.add(c, join(args, pm, []string{"-j", "DNAT", "--to-destination", ep.String()})...)
		})
	}
	return st
}

// balance writes a KUBE-SVC/KUBE-SVL chain's jumps to its endpoints: the
// affinity checks first, then random picks with equal shares.
func balance(r *rules, chain, spn string, sp *proxy.ServicePort, eps []proxy.Endpoint, sep func(proxy.Endpoint) string) {
	if sp.StickyMaxAgeSeconds > 0 {
		for _, ep := range eps {
			r.add(chain, join(comment(spn+" -> "+ep.String()),
				[]string{"-m", "recent", "--name", sep(ep), "--rcheck", "--seconds", strconv.Itoa(int(sp.StickyMaxAgeSeconds)), "--reap", "-j", sep(ep)})...)
		}
	}
	n := len(eps)
	for i, ep := range eps {
		args := comment(spn + " -> " + ep.String())
		if i < n-1 {
			args = append(args, "-m", "statistic", "--mode", "random", "--probability", fmt.Sprintf("%0.10f", 1.0/float64(n-i)))
		}
		r.add(chain, append(args, "-j", sep(ep))...)
	}
}

// slotEdit is the rule lines a partial sync removes from and adds to a
// top-level chain ("-A CHAIN ..." lines of the ports' fragments).
type slotEdit struct {
	del, ins []string
}

// diff records the lines of old missing from new as deletions and those
// of new missing from old as insertions (as multisets: a line may repeat).
func (e *slotEdit) diff(old, new []byte) {
	count := map[string]int{}
	oldLines := splitLines(old)
	for _, l := range oldLines {
		count[l]++
	}
	for _, l := range splitLines(new) {
		if count[l] > 0 {
			count[l]--
		} else {
			e.ins = append(e.ins, l)
		}
	}
	for _, l := range oldLines {
		if count[l] > 0 {
			count[l]--
			e.del = append(e.del, l)
		}
	}
}

// render writes the edit of chain: "-D CHAIN ..." for each deletion, then
// "-I CHAIN 1 ..." for each insertion in reverse, so the inserted rules
// end up in order at the top and the chain's last rule stays last.
func (e *slotEdit) render(chain string) rules {
	var r rules
	prefix := "-A " + chain + " "
	for _, l := range e.del {
		r.b = append(r.b, "-D "+chain+" "...)
		r.b = append(r.b, strings.TrimPrefix(l, prefix)...)
		r.b = append(r.b, '\n')
	}
	for i := len(e.ins) - 1; i >= 0; i-- {
		r.b = append(r.b, "-I "+chain+" 1 "...)
		r.b = append(r.b, strings.TrimPrefix(e.ins[i], prefix)...)
		r.b = append(r.b, '\n')
	}
	return r
}

func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
