package proxy

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are kube-proxy's sync metrics, with upstream's names.
type Metrics struct {
	SyncDuration          prometheus.Histogram
	SyncLastTimestamp     prometheus.Gauge
	IptablesTotal         *prometheus.GaugeVec
	NetworkProgramming    prometheus.Histogram
	IptablesRestoreErrors prometheus.Counter
	PartialSyncs          prometheus.Counter
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		SyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_duration_seconds",
			Help:    "SyncProxyRules latency in seconds",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		SyncLastTimestamp: prometheus.NewGauge(prometheus.GaugeOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_last_timestamp_seconds",
			Help: "The last time proxy rules were successfully synced",
		}),
		IptablesTotal: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_iptables_total",
			Help: "Total number of iptables rules owned by kube-proxy",
		}, []string{"table"}),
		NetworkProgramming: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "network_programming_duration_seconds",
			Help: "In Cluster Network Programming Latency in seconds",
			Buckets: append(append(prometheus.LinearBuckets(0.25, 0.25, 2),
				prometheus.LinearBuckets(1, 1, 59)...), prometheus.LinearBuckets(60, 5, 12)...),
		}),
		IptablesRestoreErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_iptables_restore_failures_total",
			Help: "Cumulative proxy iptables restore failures",
		}),
		PartialSyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Subsystem: "kubeproxy", Name: "sync_partial_proxy_rules_total",
			Help: "Number of partial syncs (only changed Services' chains rewritten)",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.SyncDuration, m.SyncLastTimestamp, m.IptablesTotal, m.NetworkProgramming,
			m.IptablesRestoreErrors, m.PartialSyncs)
	}
	return m
}

// ObserveProgramming records, for each EndpointSlice trigger time, the
// delay until the rules reached the kernel at done.
func (m *Metrics) ObserveProgramming(triggers []int64, done time.Time) {
	for _, ts := range triggers {
		if d := done.Sub(time.Unix(0, ts)); d >= 0 {
			m.NetworkProgramming.Observe(d.Seconds())
		}
	}
}
