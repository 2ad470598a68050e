package iptables

import (
	"fmt"
	"testing"
)

// BenchmarkPartialSync measures the Go side of a partial sync (render,
// no iptables) with 10,000 Services of 2 endpoints after one endpoint
// change.
func BenchmarkPartialSync(b *testing.B) {
	h := newHarness(&testing.T{}, Config{ClusterCIDR: "10.244.0.0/16"})
	for i := 0; i < 10000; i++ {
		s := service("bench", fmt.Sprintf("svc-%d", i), fmt.Sprintf("10.96.%d.%d", i/250, i%250+1))
		h.add(s, slice(s, ready(fmt.Sprintf("10.128.%d.%d", i/250, i%250+1), "n"), ready(fmt.Sprintf("10.129.%d.%d", i/250, i%250+1), "n")))
	}
	if err := h.proxier.Sync(h.tracker.Snapshot()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		s := service("bench", "svc-7", "10.96.0.8")
		h.add(slice(s, ready("10.128.0.8", "n"), ready(fmt.Sprintf("10.130.0.%d", k%200+1), "n")))
		if err := h.proxier.Sync(h.tracker.Snapshot()); err != nil {
			b.Fatal(err)
		}
		h.ipt.restores = h.ipt.restores[:0]
	}
}

// BenchmarkPartialSyncLastEndpoint measures the Go side of the slower
// partial path at 10,000 Services: one Service loses its last endpoint,
// then gets it back (REJECT rule, KUBE-SERVICES edit).
func BenchmarkPartialSyncLastEndpoint(b *testing.B) {
	h := newHarness(&testing.T{}, Config{ClusterCIDR: "10.244.0.0/16"})
	for i := 0; i < 10000; i++ {
		s := service("bench", fmt.Sprintf("svc-%d", i), fmt.Sprintf("10.96.%d.%d", i/250, i%250+1))
		h.add(s, slice(s, ready(fmt.Sprintf("10.128.%d.%d", i/250, i%250+1), "n"), ready(fmt.Sprintf("10.129.%d.%d", i/250, i%250+1), "n")))
	}
	if err := h.proxier.Sync(h.tracker.Snapshot()); err != nil {
		b.Fatal(err)
	}
	s := service("bench", "svc-7", "10.96.0.8")
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		h.add(slice(s))
		if err := h.proxier.Sync(h.tracker.Snapshot()); err != nil {
			b.Fatal(err)
		}
		h.add(slice(s, ready("10.128.0.8", "n"), ready("10.129.0.8", "n")))
		if err := h.proxier.Sync(h.tracker.Snapshot()); err != nil {
			b.Fatal(err)
		}
		h.ipt.restores = h.ipt.restores[:0]
	}
}
