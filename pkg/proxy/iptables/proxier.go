// Package iptables is kube-proxy's iptables backend: Sync renders the
// whole desired rule set of the filter and nat tables from a
// proxy.Snapshot and applies it with one iptables-restore --noflush. After
// the first full sync, a partial sync rewrites the top-level chains
// (KUBE-SERVICES, KUBE-NODEPORTS, ...) and only the per-Service chains of
// Services that changed, as upstream's iptables mode does.
package iptables

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kstack/kstack/pkg/proxy"
	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// Config says how the proxier renders rules.
type Config struct {
	// ClusterCIDR is the pod network; traffic to a Service from outside
	// it is masqueraded. Empty: no such rule.
	ClusterCIDR string
	// MasqueradeAll masquerades all traffic to cluster IPs.
	MasqueradeAll bool
	// MasqueradeBit is the fwmark bit of KUBE-MARK-MASQ (upstream: 14).
	MasqueradeBit int
	// NodePortAddresses are CIDRs; NodePorts answer on the local
	// addresses inside them. Empty: on every local address.
	NodePortAddresses []string
	// MasqueradePodEgress adds a MASQUERADE rule for pod traffic leaving
	// the cluster CIDR (host-gw networking, pkg/proxy/routes).
	MasqueradePodEgress bool
	// SyncPeriod is how often a full sync rewrites every chain.
	SyncPeriod time.Duration
}

// Option changes a Proxier's seams.
type Option func(*Proxier)

// WithClock sets the clock (tests).
func WithClock(c clock.Clock) Option { return func(p *Proxier) { p.clock = c } }

// WithLocalAddrs sets how the node's local IPv4 addresses are found (for
// --nodeport-addresses).
func WithLocalAddrs(f func() ([]net.IP, error)) Option { return func(p *Proxier) { p.localAddrs = f } }

// WithMetrics records sync metrics.
func WithMetrics(m *proxy.Metrics) Option { return func(p *Proxier) { p.metrics = m } }

// Proxier owns the node's KUBE-* iptables chains. Sync is its only method
// with side effects and must not be called concurrently.
type Proxier struct {
	cfg        Config
	ipt        Interface
	ct         Conntrack
	clock      clock.Clock
	localAddrs func() ([]net.IP, error)
	metrics    *proxy.Metrics

	clusterCIDR *net.IPNet
	masqMark    string
	nodePortNet []*net.IPNet

	// state after the last successful sync
	synced   bool
	lastFull time.Time
	needFull bool
	// chains are the per-Service nat chains in the kernel, with their
	// rule counts.
	chains map[string]int
	// stale are owned chains found in the kernel at start (a previous
	// run's), removed by the first sync unless still wanted.
	stale map[string]bool
	// used are the endpoints each Service port used ("ip:port"), for
	// conntrack cleanup of UDP.
	used map[proxy.ServicePortName][]proxy.Endpoint
	// top are the rules of the top-level chains ("table/chain").
	top map[string][]byte
	// names are the chains of each Service port at the last sync.
	names map[proxy.ServicePortName]*serviceChains
}

// New returns a proxier that applies rules through ipt and flushes
// conntrack entries through ct.
func New(cfg Config, ipt Interface, ct Conntrack, opts ...Option) (*Proxier, error) {
	if cfg.MasqueradeBit == 0 {
		cfg.MasqueradeBit = 14
	}
	if cfg.MasqueradeBit < 0 || cfg.MasqueradeBit > 31 {
		return nil, fmt.Errorf("masquerade bit %d out of range [0, 31]", cfg.MasqueradeBit)
	}
	if cfg.SyncPeriod <= 0 {
		cfg.SyncPeriod = 30 * time.Second
	}
	p := &Proxier{
		cfg: cfg, ipt: ipt, ct: ct,
		clock:      clock.RealClock{},
		localAddrs: interfaceAddrs,
		chains:     map[string]int{},
		used:       map[proxy.ServicePortName][]proxy.Endpoint{},
		names:      map[proxy.ServicePortName]*serviceChains{},
	}
	mark := uint32(1) << uint(cfg.MasqueradeBit)
	p.masqMark = fmt.Sprintf("%#x", mark)
	if cfg.ClusterCIDR != "" {
		_, n, err := net.ParseCIDR(cfg.ClusterCIDR)
		if err != nil {
			return nil, fmt.Errorf("cluster CIDR: %w", err)
		}
		p.clusterCIDR = n
	}
	for _, c := range cfg.NodePortAddresses {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			return nil, fmt.Errorf("nodeport address %q: %w", c, err)
		}
		p.nodePortNet = append(p.nodePortNet, n)
	}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

func interfaceAddrs() ([]net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list local addresses: %w", err)
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			ips = append(ips, n.IP.To4())
		}
	}
	return ips, nil
}

// baseJump is a rule in a built-in chain that leads to ours.
type baseJump struct {
	table, chain string
	args         []string
}

// baseJumps are upstream's jumps from the built-in chains.
var baseJumps = []baseJump{
	{"filter", "INPUT", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes externally-visible service portals", "-j", kubeExternalServices}},
	{"filter", "FORWARD", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes externally-visible service portals", "-j", kubeExternalServices}},
	{"filter", "INPUT", []string{"-m", "comment", "--comment", "kubernetes health check service ports", "-j", kubeNodePorts}},
	{"filter", "INPUT", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes load balancer firewall", "-j", kubeProxyFirewall}},
	{"filter", "FORWARD", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes load balancer firewall", "-j", kubeProxyFirewall}},
	{"filter", "OUTPUT", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes load balancer firewall", "-j", kubeProxyFirewall}},
	{"filter", "FORWARD", []string{"-m", "comment", "--comment", "kubernetes forwarding rules", "-j", kubeForward}},
	{"filter", "FORWARD", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals", "-j", kubeServices}},
	{"filter", "OUTPUT", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals", "-j", kubeServices}},
	{"nat", "PREROUTING", []string{"-m", "comment", "--comment", "kubernetes service portals", "-j", kubeServices}},
	{"nat", "OUTPUT", []string{"-m", "comment", "--comment", "kubernetes service portals", "-j", kubeServices}},
	{"nat", "POSTROUTING", []string{"-m", "comment", "--comment", "kubernetes postrouting rules", "-j", kubePostrouting}},
}

// Sync makes the kernel's rules match snap. It is a full sync the first
// time, after a failure and every SyncPeriod; otherwise only the chains of
// snap.Changed Services are rewritten. On error the next Sync is full.
func (p *Proxier) Sync(snap *proxy.Snapshot) (err error) {
	start := p.clock.Now()
	full := !p.synced || p.needFull || p.clock.Since(p.lastFull) >= p.cfg.SyncPeriod
	defer func() {
		if err != nil {
			p.needFull = true
			if p.metrics != nil {
				p.metrics.IptablesRestoreErrors.Inc()
			}
		}
	}()
	if !p.synced && p.stale == nil {
		p.stale = map[string]bool{}
		names, err := p.ipt.SaveChains("nat")
		if err != nil {
			return fmt.Errorf("read existing nat chains: %w", err)
		}
		for _, n := range names {
			if perServiceChain(n) {
				p.stale[n] = true
			}
		}
	}
	var nodeIPs []net.IP
	if len(p.nodePortNet) > 0 {
		addrs, err := p.localAddrs()
		if err != nil {
			return err
		}
		for _, ip := range addrs {
			for _, n := range p.nodePortNet {
				if n.Contains(ip) {
					nodeIPs = append(nodeIPs, ip)
					break
				}
			}
		}
	}
	r := p.render(snap, full, nodeIPs)
	if err := p.ipt.Restore(r.data); err != nil {
		return fmt.Errorf("apply rules: %w", err)
	}
	if full {
		for _, j := range baseJumps {
			if err := p.ipt.EnsureRule(j.table, j.chain, j.args...); err != nil {
				return fmt.Errorf("ensure jump from %s %s: %w", j.table, j.chain, err)
			}
		}
	}
	p.chains, p.top, p.names = r.chains, r.top, r.names
	p.synced, p.needFull, p.stale = true, false, map[string]bool{}
	if full {
		p.lastFull = start
	}
	p.flushConntrack(snap, r.used)
	p.used = r.used
	if p.metrics != nil {
		done := p.clock.Now()
		p.metrics.SyncDuration.Observe(done.Sub(start).Seconds())
		p.metrics.SyncLastTimestamp.SetToCurrentTime()
		p.metrics.IptablesTotal.WithLabelValues("filter").Set(float64(r.filterRules))
		n := r.natTopRules
		for _, c := range p.chains {
			n += c
		}
		p.metrics.IptablesTotal.WithLabelValues("nat").Set(float64(n))
		if !full {
			p.metrics.PartialSyncs.Inc()
		}
		p.metrics.ObserveProgramming(snap.TriggerTimes, done)
	}
	return nil
}

// flushConntrack deletes the UDP conntrack entries that would keep
// sending traffic to endpoints that are gone, and the entries of Services
// that had no endpoints (their packets were rejected) and now have some.
func (p *Proxier) flushConntrack(snap *proxy.Snapshot, used map[proxy.ServicePortName][]proxy.Endpoint) {
	if p.ct == nil {
		return
	}
	for name := range p.used {
		if !snap.Changed[name.NamespacedName] || name.Protocol != v1.ProtocolUDP {
			continue
		}
		now := map[string]bool{}
		for _, ep := range used[name] {
			now[ep.String()] = true
		}
		for _, ep := range p.used[name] {
			if now[ep.String()] {
				continue
			}
			p.conntrackDelete("-p", "udp", "--dst-nat", ep.IP, "--reply-port-src", strconv.Itoa(int(ep.Port)))
		}
	}
	for name, eps := range used {
		if name.Protocol != v1.ProtocolUDP || len(eps) == 0 || len(p.used[name]) > 0 || !snap.Changed[name.NamespacedName] {
			continue
		}
		sp := snap.Services[name]
		p.conntrackDelete("-p", "udp", "--orig-dst", sp.ClusterIP, "--orig-port-dst", strconv.Itoa(int(sp.Port)))
		for _, ip := range append(append([]string{}, sp.ExternalIPs...), sp.LoadBalancerIPs...) {
			p.conntrackDelete("-p", "udp", "--orig-dst", ip, "--orig-port-dst", strconv.Itoa(int(sp.Port)))
		}
		if sp.NodePort != 0 {
			p.conntrackDelete("-p", "udp", "--orig-port-dst", strconv.Itoa(int(sp.NodePort)))
		}
	}
}

func (p *Proxier) conntrackDelete(args ...string) {
	if err := p.ct.Delete(args...); err != nil {
		// Not fatal: stale entries expire on their own.
		slog.Warn("conntrack cleanup failed", "args", strings.Join(args, " "), "err", err)
	}
}

// rendered is one sync's restore input and what it leaves in the kernel.
type rendered struct {
	data        []byte
	chains      map[string]int
	natTopRules int
	filterRules int
	used        map[proxy.ServicePortName][]proxy.Endpoint
	top         map[string][]byte
	names       map[proxy.ServicePortName]*serviceChains
}

// serviceChains are a Service port's chain names and the chains it owns,
// kept between syncs so unchanged Services cost no hashing.
type serviceChains struct {
	svc, svl, ext, fw string
	own               []string
}

// ruleWriter accumulates one table's chain declarations and rules; the
// top-level chains (KUBE-SERVICES, ...) each get their own buffer, so a
// partial sync can leave out those that did not change.
type ruleWriter struct {
	decls, rules bytes.Buffer
	topOrder     []string
	top          map[string]*bytes.Buffer
	count        map[string]int
}

func newRuleWriter(top ...string) *ruleWriter {
	w := &ruleWriter{topOrder: top, top: map[string]*bytes.Buffer{}, count: map[string]int{}}
	for _, c := range top {
		w.top[c] = &bytes.Buffer{}
	}
	return w
}

func (w *ruleWriter) declare(chain string) {
	fmt.Fprintf(&w.decls, ":%s - [0:0]\n", chain)
}

// add writes "-A chain args..." quoting arguments with spaces.
func (w *ruleWriter) add(chain string, args ...string) {
	b := &w.rules
	if t, ok := w.top[chain]; ok {
		b = t
	}
	b.WriteString("-A ")
	b.WriteString(chain)
	for _, a := range args {
		b.WriteByte(' ')
		if strings.ContainsAny(a, " \t") {
			b.WriteString(strconv.Quote(a))
		} else {
			b.WriteString(a)
		}
	}
	b.WriteByte('\n')
	w.count[chain]++
}

// write appends the table to b: the top-level chains (except those in
// skip), then the per-Service declarations and rules.
func (w *ruleWriter) write(b *bytes.Buffer, skip map[string]bool) {
	for _, c := range w.topOrder {
		if !skip[c] {
			fmt.Fprintf(b, ":%s - [0:0]\n", c)
		}
	}
	b.Write(w.decls.Bytes())
	for _, c := range w.topOrder {
		if !skip[c] {
			b.Write(w.top[c].Bytes())
		}
	}
	b.Write(w.rules.Bytes())
}

func comment(c string) []string { return []string{"-m", "comment", "--comment", c} }

func protoMatch(proto string) []string { return []string{"-m", proto, "-p", proto} }

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// render builds the restore input: the filter table's and nat table's
// top-level chains in full; per-Service nat chains for every Service when
// full, else for changed ones; stale chains flushed and deleted.
func (p *Proxier) render(snap *proxy.Snapshot, full bool, nodeIPs []net.IP) *rendered {
	filter := newRuleWriter(kubeServices, kubeExternalServices, kubeForward, kubeNodePorts, kubeProxyFirewall)
	nat := newRuleWriter(kubeServices, kubeNodePorts, kubePostrouting, kubeMarkMasq)
	out := &rendered{chains: map[string]int{}, used: map[proxy.ServicePortName][]proxy.Endpoint{}}

	type keyed struct {
		key  string
		name proxy.ServicePortName
	}
	names := make([]keyed, 0, len(snap.Services))
	for n := range snap.Services {
		names = append(names, keyed{n.String(), n})
	}
	sort.Slice(names, func(i, j int) bool { return names[i].key < names[j].key })

	out.names = make(map[proxy.ServicePortName]*serviceChains, len(names))
	for _, k := range names {
		sp := snap.Services[k.name]
		write := full || snap.Changed[k.name.NamespacedName]
		p.renderService(filter, nat, out, sp, snap.Endpoints[k.name], write)
	}

	// The NodePort jump is the last rule of nat KUBE-SERVICES.
	npComment := comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain")
	if len(p.nodePortNet) == 0 {
		nat.add(kubeServices, join(npComment, []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", kubeNodePorts})...)
	} else {
		for _, ip := range nodeIPs {
			nat.add(kubeServices, join(npComment, []string{"-d", ip.String() + "/32", "-j", kubeNodePorts})...)
		}
	}

	// Masquerading.
	mark := p.masqMark + "/" + p.masqMark
	if p.cfg.MasqueradePodEgress && p.clusterCIDR != nil {
		nat.add(kubePostrouting, join(comment("pod traffic leaving the cluster CIDR"),
			[]string{"-s", p.clusterCIDR.String(), "!", "-d", p.clusterCIDR.String(), "-j", "MASQUERADE"})...)
	}
	nat.add(kubePostrouting, "-m", "mark", "!", "--mark", mark, "-j", "RETURN")
	nat.add(kubePostrouting, "-j", "MARK", "--xor-mark", p.masqMark)
	nat.add(kubePostrouting, join(comment("kubernetes service traffic requiring SNAT"), []string{"-j", "MASQUERADE", "--random-fully"})...)
	nat.add(kubeMarkMasq, "-j", "MARK", "--or-mark", p.masqMark)

	filter.add(kubeForward, "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP")
	filter.add(kubeForward, join(comment("kubernetes forwarding rules"), []string{"-m", "mark", "--mark", mark, "-j", "ACCEPT"})...)
	filter.add(kubeForward, join(comment("kubernetes forwarding conntrack rule"), []string{"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"})...)

	// Chains no longer wanted: flush and delete (after the rules above
	// have dropped every reference).
	var gone []string
	for c := range p.chains {
		if _, ok := out.chains[c]; !ok {
			gone = append(gone, c)
		}
	}
	for c := range p.stale {
		if _, ok := out.chains[c]; !ok {
			if _, dup := p.chains[c]; !dup {
				gone = append(gone, c)
			}
		}
	}
	sort.Strings(gone)
	for _, c := range gone {
		nat.declare(c)
	}

	// A partial sync leaves out top-level chains whose rules are what the
	// kernel already has (most endpoint changes touch none of them).
	out.top = map[string][]byte{}
	skip := func(table string, w *ruleWriter) map[string]bool {
		m := map[string]bool{}
		for _, c := range w.topOrder {
			key := table + "/" + c
			out.top[key] = w.top[c].Bytes()
			if !full && p.top != nil && bytes.Equal(p.top[key], out.top[key]) {
				m[c] = true
			}
		}
		return m
	}
	var b bytes.Buffer
	b.WriteString("*filter\n")
	filter.write(&b, skip("filter", filter))
	b.WriteString("COMMIT\n*nat\n")
	nat.write(&b, skip("nat", nat))
	for _, c := range gone {
		fmt.Fprintf(&b, "-X %s\n", c)
	}
	b.WriteString("COMMIT\n")
	out.data = b.Bytes()
	for _, c := range filter.count {
		out.filterRules += c
	}
	for _, c := range []string{kubeServices, kubeNodePorts, kubePostrouting, kubeMarkMasq} {
		out.natTopRules += nat.count[c]
	}
	return out
}

// renderService writes one Service port's top-level rules and, when
// write, its own chains; it records the chains it owns in out.chains
// (with rule counts carried over when not rewritten).
func (p *Proxier) renderService(filter, nat *ruleWriter, out *rendered, sp *proxy.ServicePort, eps []proxy.Endpoint, write bool) {
	spn := sp.Name.String()
	proto := strings.ToLower(string(sp.Protocol))
	names := p.names[sp.Name]
	if write || names == nil {
		names = &serviceChains{
			svc: servicePortChain(prefixSVC, spn, proto),
			svl: servicePortChain(prefixSVL, spn, proto),
			ext: servicePortChain(prefixEXT, spn, proto),
			fw:  servicePortChain(prefixFW, spn, proto),
		}
	}
	out.names[sp.Name] = names
	svcChain, svlChain, extChain, fwChain := names.svc, names.svl, names.ext, names.fw
	cluster, local, all := proxy.CategorizeEndpoints(eps, sp)
	out.used[sp.Name] = all

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
		nat.add(kubeServices, join(comment(spn+" cluster IP"), pm, []string{"-d", sp.ClusterIP + "/32", "--dport", port, "-j", internalChain})...)
	} else {
		target, c := noEndpoints()
		filter.add(kubeServices, join(comment(c), pm, []string{"-d", sp.ClusterIP + "/32", "--dport", port, "-j", target})...)
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
				nat.add(kubeServices, join(comment(spn+set.what), pm, []string{"-d", ip + "/32", "--dport", port, "-j", set.target})...)
			}
			if usesFW && set.what == " loadbalancer IP" {
				filter.add(kubeProxyFirewall, join(comment(spn+" traffic not accepted by "+fwChain), pm, []string{"-d", ip + "/32", "--dport", port, "-j", "DROP"})...)
			}
			if !hasExternal {
				target, c := noEndpoints()
				filter.add(kubeExternalServices, join(comment(c), pm, []string{"-d", ip + "/32", "--dport", port, "-j", target})...)
			}
		}
	}
	// NodePort.
	if sp.NodePort != 0 {
		np := strconv.Itoa(int(sp.NodePort))
		if usesExt {
			nat.add(kubeNodePorts, join(comment(spn), pm, []string{"--dport", np, "-j", extChain})...)
		}
		if !hasExternal {
			target, c := noEndpoints()
			filter.add(kubeExternalServices, join(comment(c), []string{"-m", "addrtype", "--dst-type", "LOCAL"}, pm, []string{"--dport", np, "-j", target})...)
		}
	}
	if sp.ExternalPolicyLocal && sp.HealthCheckNodePort != 0 {
		filter.add(kubeNodePorts, join(comment(spn+" health check node port"), protoMatch("tcp"), []string{"--dport", strconv.Itoa(int(sp.HealthCheckNodePort)), "-j", "ACCEPT"})...)
	}

	// The Service's own chains.
	if !write && names.own != nil {
		for _, c := range names.own {
			out.chains[c] = p.chains[c]
		}
		return
	}
	sepChain := func(ep proxy.Endpoint) string { return endpointChain(spn, proto, ep.String()) }
	own := map[string]bool{}
	if usesCluster {
		own[svcChain] = true
	}
	if usesLocal {
		own[svlChain] = true
	}
	if usesExt {
		own[extChain] = true
	}
	if usesFW {
		own[fwChain] = true
	}
	for _, ep := range all {
		own[sepChain(ep)] = true
	}
	names.own = make([]string, 0, len(own))
	for c := range own {
		names.own = append(names.own, c)
	}
	if !write {
		for c := range own {
			out.chains[c] = p.chains[c]
		}
		return
	}
	before := map[string]int{}
	for c := range own {
		before[c] = nat.count[c]
	}
	if usesCluster {
		nat.declare(svcChain)
		if p.cfg.MasqueradeAll {
			nat.add(svcChain, join(comment(spn+" cluster IP"), pm, []string{"-d", sp.ClusterIP + "/32", "--dport", port, "-j", kubeMarkMasq})...)
		} else if p.clusterCIDR != nil {
			nat.add(svcChain, join(comment(spn+" cluster IP"), pm, []string{"-d", sp.ClusterIP + "/32", "--dport", port, "!", "-s", p.clusterCIDR.String(), "-j", kubeMarkMasq})...)
		}
		p.balance(nat, svcChain, spn, sp, cluster, sepChain)
	}
	if usesLocal {
		nat.declare(svlChain)
		p.balance(nat, svlChain, spn, sp, local, sepChain)
	}
	if usesExt {
		nat.declare(extChain)
		if sp.ExternalPolicyLocal {
			if p.clusterCIDR != nil && usesCluster {
				nat.add(extChain, join(comment("pod traffic for "+spn+" external destinations"), []string{"-s", p.clusterCIDR.String(), "-j", svcChain})...)
			}
			nat.add(extChain, join(comment("masquerade LOCAL traffic for "+spn+" external destinations"), []string{"-m", "addrtype", "--src-type", "LOCAL", "-j", kubeMarkMasq})...)
			if usesCluster {
				nat.add(extChain, join(comment("route LOCAL traffic for "+spn+" external destinations"), []string{"-m", "addrtype", "--src-type", "LOCAL", "-j", svcChain})...)
			}
		} else {
			nat.add(extChain, join(comment("masquerade traffic for "+spn+" external destinations"), []string{"-j", kubeMarkMasq})...)
		}
		if hasExternal {
			nat.add(extChain, "-j", externalChain)
		}
	}
	if usesFW {
		nat.declare(fwChain)
		for _, cidr := range sp.LoadBalancerSourceRanges {
			nat.add(fwChain, join(comment(spn+" loadbalancer IP"), []string{"-s", cidr, "-j", extChain})...)
		}
	}
	for _, ep := range all {
		c := sepChain(ep)
		nat.declare(c)
		nat.add(c, join(comment(spn), []string{"-s", ep.IP + "/32", "-j", kubeMarkMasq})...)
		args := comment(spn)
		if sp.StickyMaxAgeSeconds > 0 {
			args = append(args, "-m", "recent", "--name", c, "--set")
		}
		nat.add(c, join(args, pm, []string{"-j", "DNAT", "--to-destination", ep.String()})...)
	}
	for c := range own {
		out.chains[c] = nat.count[c] - before[c]
	}
}

// balance writes a KUBE-SVC/KUBE-SVL chain's jumps to its endpoints: the
// affinity checks first, then random picks with equal shares.
func (p *Proxier) balance(nat *ruleWriter, chain, spn string, sp *proxy.ServicePort, eps []proxy.Endpoint, sep func(proxy.Endpoint) string) {
	if sp.StickyMaxAgeSeconds > 0 {
		for _, ep := range eps {
			nat.add(chain, join(comment(spn+" -> "+ep.String()),
				[]string{"-m", "recent", "--name", sep(ep), "--rcheck", "--seconds", strconv.Itoa(int(sp.StickyMaxAgeSeconds)), "--reap", "-j", sep(ep)})...)
		}
	}
	n := len(eps)
	for i, ep := range eps {
		args := comment(spn + " -> " + ep.String())
		if i < n-1 {
			args = append(args, "-m", "statistic", "--mode", "random", "--probability", fmt.Sprintf("%0.10f", 1.0/float64(n-i)))
		}
		nat.add(chain, append(args, "-j", sep(ep))...)
	}
}
