// Package iptables is kube-proxy's iptables backend: Sync renders the
// whole desired rule set of the filter and nat tables from a
// proxy.Snapshot and applies it with one iptables-restore --noflush. After
// the first full sync, a partial sync renders only the Services that
// changed and writes only the chains whose rules changed: per Service
// port the proxier keeps its share of each top-level chain (KUBE-SERVICES,
// KUBE-NODEPORTS, ...) and a hash of each chain it owns (render.go), so
// an endpoint change costs the same at 10 or 10,000 Services.
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
	"k8s.io/apimachinery/pkg/types"
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

// defaultEditMinRules: top-level chains from this size on are edited in
// place rather than rewritten (below it a rewrite costs about as much).
const defaultEditMinRules = 200

// WithEditMinRules sets the size from which a partial sync edits a
// top-level chain in place instead of flushing and refilling it (tests;
// 0: always edit when few rules change).
func WithEditMinRules(n int) Option { return func(p *Proxier) { p.editMinRules = n } }

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
	// stale are owned chains found in the kernel at start (a previous
	// run's), removed by the first sync unless still wanted.
	stale map[string]bool
	// order has every Service port's state sorted by name: the order of
	// their fragments in the top-level chains.
	order []*portState
	// bySvc has each Service's port states.
	bySvc map[types.NamespacedName][]*portState
	// tails are the top-level chains' rules that belong to no Service,
	// as last written (indexed like topChains).
	tails []rules
	// natRules and filterRules count the ports' rules in the kernel;
	// slotRules their rules in each top-level chain.
	natRules, filterRules int
	slotRules             [numSlots]int
	// editMinRules: a top-level chain with at least this many Service
	// rules is edited in place by a partial sync (see render).
	editMinRules int
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
		bySvc:      map[types.NamespacedName][]*portState{},

		editMinRules: defaultEditMinRules,
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
// time, after a failure and every SyncPeriod: every chain is rendered and
// rewritten. Otherwise it is partial and costs what changed, not the
// number of Services: only the ports of snap.Changed Services are
// rendered; of their chains only those whose rules changed are written;
// a top-level chain (KUBE-SERVICES, ...) is touched only when a changed
// port's share of it differs (a Service gained its first endpoint, lost
// its last one, or its IPs or ports changed): a big one is edited in
// place (-D/-I of those rules), a small one rebuilt from the other ports'
// cached fragments. On error the next Sync is full.
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
	if len(r.data) > 0 {
		if err := p.ipt.Restore(r.data); err != nil {
			return fmt.Errorf("apply rules: %w", err)
		}
	}
	// Commit the new state: the kernel has it now (even if a base jump
	// below fails: then the next sync is full again).
	p.order, p.tails = r.order, r.tails
	if full {
		p.bySvc = r.bySvc
	} else {
		for nn, states := range r.bySvc {
			if len(states) == 0 {
				delete(p.bySvc, nn)
			} else {
				p.bySvc[nn] = states
			}
		}
	}
	p.natRules, p.filterRules, p.slotRules = r.natRules, r.filterRules, r.slotRules
	p.synced, p.stale = true, map[string]bool{}
	p.flushConntrack(r.changes)
	if full {
		for _, j := range baseJumps {
			if err := p.ipt.EnsureRule(j.table, j.chain, j.args...); err != nil {
				return fmt.Errorf("ensure jump from %s %s: %w", j.table, j.chain, err)
			}
		}
	}
	p.needFull = false
	if full {
		p.lastFull = start
	}
	if p.metrics != nil {
		done := p.clock.Now()
		p.metrics.SyncDuration.Observe(done.Sub(start).Seconds())
		p.metrics.SyncLastTimestamp.SetToCurrentTime()
		filter, nat := p.filterRules, p.natRules
		for i, tc := range topChains {
			if tc.table == "filter" {
				filter += p.tails[i].n
			} else {
				nat += p.tails[i].n
			}
		}
		p.metrics.IptablesTotal.WithLabelValues("filter").Set(float64(filter))
		p.metrics.IptablesTotal.WithLabelValues("nat").Set(float64(nat))
		if !full {
			p.metrics.PartialSyncs.Inc()
		}
		p.metrics.ObserveProgramming(snap.TriggerTimes, done)
	}
	return nil
}

// portChange is a port of a changed Service: the endpoints it used
// before and after the sync (for conntrack cleanup); sp is nil when the
// port is gone.
type portChange struct {
	name     proxy.ServicePortName
	sp       *proxy.ServicePort
	old, new []proxy.Endpoint
}

// flushConntrack deletes the UDP conntrack entries that would keep
// sending traffic to endpoints that are gone, and the entries of Services
// that had no endpoints (their packets were rejected) and now have some.
func (p *Proxier) flushConntrack(changes []portChange) {
	if p.ct == nil {
		return
	}
	for _, c := range changes {
		if c.name.Protocol != v1.ProtocolUDP {
			continue
		}
		now := map[string]bool{}
		for _, ep := range c.new {
			now[ep.String()] = true
		}
		for _, ep := range c.old {
			if now[ep.String()] {
				continue
			}
			p.conntrackDelete("-p", "udp", "--dst-nat", ep.IP, "--reply-port-src", strconv.Itoa(int(ep.Port)))
		}
	}
	for _, c := range changes {
		if c.name.Protocol != v1.ProtocolUDP || len(c.new) == 0 || len(c.old) > 0 {
			continue
		}
		sp := c.sp
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

// rendered is one sync's restore input and the state it leaves in the
// kernel once applied.
type rendered struct {
	data  []byte
	order []*portState
	// bySvc: after a full sync every Service's ports; after a partial
	// one the changed Services' (empty: the Service has none left).
	bySvc                 map[types.NamespacedName][]*portState
	tails                 []rules
	natRules, filterRules int
	slotRules             [numSlots]int
	changes               []portChange
}

// findPort returns the state of the port name among states.
func findPort(states []*portState, name proxy.ServicePortName) *portState {
	for _, s := range states {
		if s.name == name {
			return s
		}
	}
	return nil
}

// searchPort is the index of key in order (sorted by key), or where it
// would go.
func searchPort(order []*portState, key string) int {
	return sort.Search(len(order), func(i int) bool { return order[i].key >= key })
}

// renderTails renders the top-level chains' rules that belong to no
// Service (indexed like topChains).
func (p *Proxier) renderTails(nodeIPs []net.IP) []rules {
	tails := make([]rules, len(topChains))
	tail := func(table, chain string) *rules {
		for i, tc := range topChains {
			if tc.table == table && tc.name == chain {
				return &tails[i]
			}
		}
		panic("no top-level chain " + table + "/" + chain)
	}
	// The NodePort jump is the last rule of nat KUBE-SERVICES.
	natServices := tail("nat", kubeServices)
	npComment := comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain")
	if len(p.nodePortNet) == 0 {
		natServices.add(kubeServices, join(npComment, []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", kubeNodePorts})...)
	} else {
		for _, ip := range nodeIPs {
			natServices.add(kubeServices, join(npComment, []string{"-d", ip.String() + "/32", "-j", kubeNodePorts})...)
		}
	}
	// Masquerading.
	mark := p.masqMark + "/" + p.masqMark
	post := tail("nat", kubePostrouting)
	if p.cfg.MasqueradePodEgress && p.clusterCIDR != nil {
		post.add(kubePostrouting, join(comment("pod traffic leaving the cluster CIDR"),
			[]string{"-s", p.clusterCIDR.String(), "!", "-d", p.clusterCIDR.String(), "-j", "MASQUERADE"})...)
	}
	post.add(kubePostrouting, "-m", "mark", "!", "--mark", mark, "-j", "RETURN")
	post.add(kubePostrouting, "-j", "MARK", "--xor-mark", p.masqMark)
	post.add(kubePostrouting, join(comment("kubernetes service traffic requiring SNAT"), []string{"-j", "MASQUERADE", "--random-fully"})...)
	tail("nat", kubeMarkMasq).add(kubeMarkMasq, "-j", "MARK", "--or-mark", p.masqMark)

	fwd := tail("filter", kubeForward)
	fwd.add(kubeForward, "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP")
	fwd.add(kubeForward, join(comment("kubernetes forwarding rules"), []string{"-m", "mark", "--mark", mark, "-j", "ACCEPT"})...)
	fwd.add(kubeForward, join(comment("kubernetes forwarding conntrack rule"), []string{"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"})...)
	return tails
}

// render builds the restore input. A full sync renders every port and
// writes every chain; a partial one renders the changed Services' ports
// and writes only what differs from the kernel (see Sync). Chains no
// longer wanted are flushed and deleted after the rules that jumped to
// them are replaced.
func (p *Proxier) render(snap *proxy.Snapshot, full bool, nodeIPs []net.IP) *rendered {
	w := &writer{}
	r := &rendered{bySvc: map[types.NamespacedName][]*portState{}, tails: p.renderTails(nodeIPs)}
	var dirty [numSlots]bool
	var edits [numSlots]slotEdit
	var gone []string

	// changed lists the changed Services in a stable order.
	changed := make([]types.NamespacedName, 0, len(snap.Changed))
	for nn := range snap.Changed {
		changed = append(changed, nn)
	}
	sort.Slice(changed, func(i, j int) bool {
		if changed[i].Namespace != changed[j].Namespace {
			return changed[i].Namespace < changed[j].Namespace
		}
		return changed[i].Name < changed[j].Name
	})

	if full {
		r.order = make([]*portState, 0, len(snap.Services))
		for name, sp := range snap.Services {
			r.order = append(r.order, &portState{key: portKey(name), name: name, sp: sp})
		}
		sort.Slice(r.order, func(i, j int) bool { return r.order[i].key < r.order[j].key })
		wanted := map[string]bool{}
		for i, k := range r.order {
			nn := k.name.NamespacedName
			st := p.renderPort(w, k.sp, snap.Endpoints[k.name], findPort(p.bySvc[nn], k.name), true)
			r.order[i] = st
			r.bySvc[nn] = append(r.bySvc[nn], st)
			r.natRules += st.natRules()
			r.filterRules += st.filterRules()
			for s := range r.slotRules {
				r.slotRules[s] += st.topN[s]
			}
			for _, c := range st.own {
				wanted[c.name] = true
			}
		}
		compactFragments(r.order)
		goneSet := map[string]bool{}
		for _, st := range p.order {
			for _, c := range st.own {
				if !wanted[c.name] {
					goneSet[c.name] = true
				}
			}
		}
		for c := range p.stale {
			if !wanted[c] {
				goneSet[c] = true
			}
		}
		for c := range goneSet {
			gone = append(gone, c)
		}
		for s := range dirty {
			dirty[s] = true
		}
		for _, nn := range changed {
			r.changes = appendChanges(r.changes, p.bySvc[nn], r.bySvc[nn])
		}
	} else {
		r.order = append(make([]*portState, 0, len(p.order)+8), p.order...)
		r.natRules, r.filterRules, r.slotRules = p.natRules, p.filterRules, p.slotRules
		for _, nn := range changed {
			olds := p.bySvc[nn]
			ports := append([]*proxy.ServicePort(nil), snap.Ports[nn]...)
			sort.Slice(ports, func(i, j int) bool { return portKey(ports[i].Name) < portKey(ports[j].Name) })
			states := []*portState{}
			for _, sp := range ports {
				prev := findPort(olds, sp.Name)
				st := p.renderPort(w, sp, snap.Endpoints[sp.Name], prev, false)
				states = append(states, st)
				r.natRules += st.natRules()
				r.filterRules += st.filterRules()
				var prevTop [numSlots][]byte
				if prev != nil {
					prevTop = prev.top
				}
				for s := range dirty {
					if !bytes.Equal(st.top[s], prevTop[s]) {
						dirty[s] = true
						edits[s].diff(prevTop[s], st.top[s])
						r.slotRules[s] += st.topN[s]
						if prev != nil {
							r.slotRules[s] -= prev.topN[s]
						}
					}
				}
				i := searchPort(r.order, st.key)
				if prev != nil {
					for _, c := range prev.own {
						if !st.ownsChain(c.name) {
							gone = append(gone, c.name)
						}
					}
					r.order[i] = st
				} else {
					r.order = append(r.order, nil)
					copy(r.order[i+1:], r.order[i:])
					r.order[i] = st
				}
			}
			for _, old := range olds {
				r.natRules -= old.natRules()
				r.filterRules -= old.filterRules()
				if findPort(states, old.name) != nil {
					continue
				}
				for s := range dirty {
					if len(old.top[s]) > 0 {
						dirty[s] = true
						edits[s].diff(old.top[s], nil)
						r.slotRules[s] -= old.topN[s]
					}
				}
				for _, c := range old.own {
					gone = append(gone, c.name)
				}
				if i := searchPort(r.order, old.key); i < len(r.order) && r.order[i].key == old.key {
					r.order = append(r.order[:i], r.order[i+1:]...)
				}
			}
			r.bySvc[nn] = states
			r.changes = appendChanges(r.changes, olds, states)
		}
	}
	sort.Strings(gone)

	// The top-level chains to write: all of them in a full sync, else
	// those whose rules changed. A big chain with few changed rules is
	// edited in place (-D the old rules, -I the new ones at the top, so
	// the NodePort jump stays last) rather than flushed and refilled:
	// at 10,000 Services refilling KUBE-SERVICES costs the kernel about a
	// second, an edit what any change costs.
	text := make([]rules, len(topChains))
	write := make([]bool, len(topChains))
	edit := make([]bool, len(topChains))
	for i, tc := range topChains {
		tailChanged := full || p.tails == nil || !bytes.Equal(p.tails[i].b, r.tails[i].b)
		slotDirty := tc.slot >= 0 && dirty[tc.slot]
		if !tailChanged && !slotDirty {
			continue
		}
		write[i] = true
		switch {
		case tc.slot < 0:
		case full:
			text[i] = w.top[tc.slot]
		case !tailChanged && p.slotRules[tc.slot] >= p.editMinRules &&
			len(edits[tc.slot].del)+len(edits[tc.slot].ins) <= p.slotRules[tc.slot]/4:
			edit[i] = true
			text[i] = edits[tc.slot].render(tc.name)
		default:
			text[i] = assemble(r.order, tc.slot)
		}
	}

	var b []byte
	for _, table := range []string{"filter", "nat"} {
		nat := table == "nat"
		nonEmpty := full || (nat && (len(w.decls) > 0 || len(gone) > 0))
		for i, tc := range topChains {
			nonEmpty = nonEmpty || (tc.table == table && write[i])
		}
		if !nonEmpty {
			continue
		}
		b = append(b, '*')
		b = append(b, table...)
		b = append(b, '\n')
		for i, tc := range topChains {
			if tc.table == table && write[i] && !edit[i] {
				b = append(b, ':')
				b = append(b, tc.name...)
				b = append(b, " - [0:0]\n"...)
			}
		}
		if nat {
			b = append(b, w.decls...)
			for _, c := range gone {
				b = append(b, ':')
				b = append(b, c...)
				b = append(b, " - [0:0]\n"...)
			}
		}
		for i, tc := range topChains {
			if tc.table == table && write[i] {
				b = append(b, text[i].b...)
				if !edit[i] {
					b = append(b, r.tails[i].b...)
				}
			}
		}
		if nat {
			b = append(b, w.body.b...)
			for _, c := range gone {
				b = append(b, "-X "...)
				b = append(b, c...)
				b = append(b, '\n')
			}
		}
		b = append(b, "COMMIT\n"...)
	}
	r.data = b
	return r
}

// compactFragments moves the ports' fragments of each slot into one
// array of the exact size: rendered by appending, they point into every
// array the slot's buffer outgrew, which would all stay alive.
func compactFragments(order []*portState) {
	for s := slot(0); s < numSlots; s++ {
		size := 0
		for _, st := range order {
			size += len(st.top[s])
		}
		buf := make([]byte, 0, size)
		for _, st := range order {
			start := len(buf)
			buf = append(buf, st.top[s]...)
			st.top[s] = buf[start:len(buf):len(buf)]
		}
	}
}

// assemble concatenates the ports' fragments of slot s in order.
func assemble(order []*portState, s slot) rules {
	var out rules
	size := 0
	for _, st := range order {
		size += len(st.top[s])
	}
	out.b = make([]byte, 0, size)
	for _, st := range order {
		out.b = append(out.b, st.top[s]...)
		out.n += st.topN[s]
	}
	return out
}

// appendChanges pairs a changed Service's port states before and after
// the sync.
func appendChanges(changes []portChange, olds, news []*portState) []portChange {
	for _, st := range news {
		c := portChange{name: st.name, sp: st.sp, new: st.used}
		if prev := findPort(olds, st.name); prev != nil {
			c.old = prev.used
		}
		changes = append(changes, c)
	}
	for _, old := range olds {
		if findPort(news, old.name) == nil {
			changes = append(changes, portChange{name: old.name, old: old.used})
		}
	}
	return changes
}
