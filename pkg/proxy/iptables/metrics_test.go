package iptables

import (
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/proxy"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	v1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

// gathered returns the metric family name's only metric from reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string, labels ...string) *dto.Metric {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue metrics
				}
			}
			return m
		}
	}
	t.Fatalf("no metric %s %v", name, labels)
	return nil
}

// countRules counts the "-A" lines of table in a full sync's restore input.
func countRules(restore, table string) int {
	n, in := 0, false
	for _, l := range strings.Split(restore, "\n") {
		switch {
		case strings.HasPrefix(l, "*"):
			in = l == "*"+table
		case in && strings.HasPrefix(l, "-A "):
			n++
		}
	}
	return n
}

func TestSync_MetricsWithUpstreamNames(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	reg := prometheus.NewRegistry()
	tr := proxy.NewTracker(testNode, nil, proxy.TrackerClock(clk))
	ipt := &fakeIPT{}
	p, err := New(Config{ClusterCIDR: "10.244.0.0/16"}, ipt, &fakeConntrack{}, WithClock(clk), WithMetrics(proxy.NewMetrics(reg)))
	if err != nil {
		t.Fatal(err)
	}
	a := service("ns", "a", "10.96.0.10", nodePort(30080))
	sl := slice(a, ready("10.244.1.2", "node-b"), ready("10.244.2.2", "node-c"))
	// A trigger time from before the tracker started (a previous run's
	// change, seen in the informers' initial list) is not a latency.
	sl.Annotations = map[string]string{v1.EndpointsLastChangeTriggerTime: time.Unix(990, 0).UTC().Format(time.RFC3339Nano)}
	tr.UpdateService(a)
	tr.UpdateSlice(sl)
	if err := p.Sync(tr.Snapshot()); err != nil {
		t.Fatal(err)
	}
	full := ipt.last()
	if got := gathered(t, reg, "kubeproxy_sync_proxy_rules_duration_seconds").GetHistogram().GetSampleCount(); got != 1 {
		t.Errorf("sync duration samples = %d, want 1", got)
	}
	if got := gathered(t, reg, "kubeproxy_sync_proxy_rules_last_timestamp_seconds").GetGauge().GetValue(); got <= 0 {
		t.Errorf("last sync timestamp = %v", got)
	}
	for _, table := range []string{"nat", "filter"} {
		want := countRules(full, table)
		if got := gathered(t, reg, "kubeproxy_sync_proxy_rules_iptables_total", "table", table).GetGauge().GetValue(); int(got) != want || want == 0 {
			t.Errorf("iptables_total{table=%q} = %v, want the %d rules written", table, got, want)
		}
	}
	if got := gathered(t, reg, "kubeproxy_network_programming_duration_seconds").GetHistogram().GetSampleCount(); got != 0 {
		t.Errorf("a trigger time from before the start was observed (%d samples)", got)
	}

	// An endpoint goes at 1001 s (the EndpointSlice controller's trigger
	// time); the rules are in the kernel at 1003.5 s: 2.5 s of latency.
	clk.SetTime(time.Unix(1003, 500_000_000))
	sl = slice(a, ready("10.244.1.2", "node-b"))
	sl.Annotations = map[string]string{v1.EndpointsLastChangeTriggerTime: time.Unix(1001, 0).UTC().Format(time.RFC3339Nano)}
	tr.UpdateSlice(sl)
	if err := p.Sync(tr.Snapshot()); err != nil {
		t.Fatal(err)
	}
	h := gathered(t, reg, "kubeproxy_network_programming_duration_seconds").GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() != 2.5 {
		t.Errorf("network programming: %d samples, sum %v; want 1 of 2.5 s", h.GetSampleCount(), h.GetSampleSum())
	}
	if got := gathered(t, reg, "kubeproxy_sync_proxy_rules_duration_seconds").GetHistogram().GetSampleCount(); got != 2 {
		t.Errorf("sync duration samples = %d, want 2", got)
	}
	// The partial sync's counts: one KUBE-SEP chain (2 rules) and one
	// KUBE-SVC jump fewer in nat.
	want := countRules(full, "nat") - 3
	if got := gathered(t, reg, "kubeproxy_sync_proxy_rules_iptables_total", "table", "nat").GetGauge().GetValue(); int(got) != want {
		t.Errorf("iptables_total{table=nat} after an endpoint went = %v, want %d", got, want)
	}
}
