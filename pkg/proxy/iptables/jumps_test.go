package iptables

import (
	"sort"
	"strings"
	"testing"
)

// upstreamJumps are upstream's iptablesJumpChains: the jumps from the
// built-in chains into kube-proxy's, as "table CHAIN -> TARGET (new
// connections only?)".
var upstreamJumps = []string{
	"filter FORWARD -> KUBE-EXTERNAL-SERVICES new",
	"filter FORWARD -> KUBE-FORWARD",
	"filter FORWARD -> KUBE-PROXY-FIREWALL new",
	"filter FORWARD -> KUBE-SERVICES new",
	"filter INPUT -> KUBE-EXTERNAL-SERVICES new",
	"filter INPUT -> KUBE-NODEPORTS",
	"filter INPUT -> KUBE-PROXY-FIREWALL new",
	"filter OUTPUT -> KUBE-PROXY-FIREWALL new",
	"filter OUTPUT -> KUBE-SERVICES new",
	"nat OUTPUT -> KUBE-SERVICES",
	"nat POSTROUTING -> KUBE-POSTROUTING",
	"nat PREROUTING -> KUBE-SERVICES",
}

func TestSync_BaseJumpsAreUpstreams(t *testing.T) {
	h := newHarness(t, Config{})
	h.sync(t)
	var got []string
	for _, j := range h.ipt.jumps {
		f := strings.Fields(j)
		table, chain, args := f[0], f[1], strings.Join(f[2:], " ")
		target := f[len(f)-1]
		if f[len(f)-2] != "-j" || !strings.Contains(args, "-m comment --comment ") {
			t.Errorf("jump %q: not a commented jump", j)
		}
		s := table + " " + chain + " -> " + target
		if strings.Contains(args, "-m conntrack --ctstate NEW") {
			s += " new"
		}
		got = append(got, s)
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(upstreamJumps, "\n") {
		t.Errorf("base jumps:\n%s\nwant upstream's:\n%s", strings.Join(got, "\n"), strings.Join(upstreamJumps, "\n"))
	}
}
