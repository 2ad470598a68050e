package storage

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics, upstream names. They are created here and registered only by
// RegisterMetrics, so tests and several servers in one process do not clash.
var (
	etcdRequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "etcd_request_duration_seconds",
		Help: "Etcd request latency in seconds for each operation and object type.",
		Buckets: []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3,
			4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
	}, []string{"operation", "type"})

	storageObjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "apiserver_storage_objects",
		Help: "Number of stored objects at the time of last check split by kind.",
	}, []string{"resource"})
)

// RegisterMetrics registers the storage metrics with reg.
func RegisterMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{etcdRequestDuration, storageObjects} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// observe records one etcd request's latency.
func observe(op, typ string, start time.Time) {
	etcdRequestDuration.WithLabelValues(op, typ).Observe(time.Since(start).Seconds())
}
