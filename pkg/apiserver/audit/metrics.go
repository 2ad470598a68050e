package audit

import "github.com/prometheus/client_golang/prometheus"

// Metrics, upstream names. Created here and registered only by
// RegisterMetrics, so tests and several servers in one process do not clash.
var (
	auditEvents = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "apiserver_audit_event_total",
		Help: "Counter of audit events generated and sent to the audit backend.",
	})
	auditErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name:        "apiserver_audit_error_total",
		Help:        "Counter of audit events that failed to be audited properly. Plugin identifies the plugin affected by the error.",
		ConstLabels: prometheus.Labels{"plugin": "log"},
	})
)

// RegisterMetrics registers the audit metrics with reg.
func RegisterMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{auditEvents, auditErrors} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
