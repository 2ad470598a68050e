package apiserver

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// serverMetrics are the request metrics, with upstream's names and labels.
type serverMetrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	longRunning *prometheus.GaugeVec
}

func newServerMetrics(reg *prometheus.Registry) *serverMetrics {
	m := &serverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
		}, []string{"verb", "group", "version", "resource", "subresource", "scope", "component", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Response latency distribution in seconds for each verb, group, version, resource, subresource, scope and component.",
			Buckets: []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		}, []string{"verb", "group", "version", "resource", "subresource", "scope", "component"}),
		longRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_longrunning_requests",
			Help: "Gauge of all active long-running apiserver requests broken out by verb and resource.",
		}, []string{"verb", "resource"}),
	}
	reg.MustRegister(m.requests, m.latency, m.longRunning,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func scopeOf(info *RequestInfo) string {
	switch {
	case info.Name != "" || info.Verb == "create": // upstream counts a create as one resource
		return "resource"
	case info.Namespace != "":
		return "namespace"
	}
	return "cluster"
}

func (m *serverMetrics) observe(info *RequestInfo, code int, d time.Duration) {
	verb := metricVerb(info.Verb)
	scope := scopeOf(info)
	m.requests.WithLabelValues(verb, info.APIGroup, info.APIVersion, info.Resource, info.Subresource, scope, "apiserver", strconv.Itoa(code)).Inc()
	if info.Verb != "watch" {
		m.latency.WithLabelValues(verb, info.APIGroup, info.APIVersion, info.Resource, info.Subresource, scope, "apiserver").Observe(d.Seconds())
	}
}

// metricVerb is the verb label upstream reports: the HTTP method, except
// LIST and WATCH for collection reads (dashboards match verb="POST").
func metricVerb(verb string) string {
	switch verb {
	case "create":
		return "POST"
	case "update":
		return "PUT"
	case "delete", "deletecollection":
		return "DELETE"
	}
	return upper(verb)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func clientCountOnly() clientv3.OpOption { return clientv3.WithCountOnly() }
