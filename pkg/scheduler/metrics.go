package scheduler

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the scheduler's metrics, with upstream's names.
type Metrics struct {
	// ScheduleAttempts counts attempts by result (scheduled,
	// unschedulable, error) and profile.
	ScheduleAttempts *prometheus.CounterVec
	// AttemptDuration is the scheduling attempt latency (scheduling
	// algorithm plus binding) by result and profile.
	AttemptDuration *prometheus.HistogramVec
	// PendingPods is the number of pending pods per queue (active,
	// backoff, unschedulable, gated).
	PendingPods *prometheus.GaugeVec
	// QueueIncoming counts pods added to a queue, by queue and event.
	QueueIncoming *prometheus.CounterVec
	// E2EDuration is the time from a pod's first attempt to its binding
	// (upstream's scheduler_pod_scheduling_sli_duration_seconds).
	E2EDuration *prometheus.HistogramVec
}

// NewMetrics registers the metrics in reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	buckets := prometheus.ExponentialBuckets(0.001, 2, 15)
	m := &Metrics{
		ScheduleAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: "scheduler", Name: "schedule_attempts_total",
			Help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem."},
			[]string{"result", "profile"}),
		AttemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: "scheduler", Name: "scheduling_attempt_duration_seconds",
			Help: "Scheduling attempt latency in seconds (scheduling algorithm + binding)", Buckets: buckets}, []string{"result", "profile"}),
		PendingPods: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: "scheduler", Name: "pending_pods",
			Help: "Number of pending pods, by the queue type."}, []string{"queue"}),
		QueueIncoming: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: "scheduler", Name: "queue_incoming_pods_total",
			Help: "Number of pods added to scheduling queues by event and queue type."}, []string{"queue", "event"}),
		E2EDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: "scheduler", Name: "pod_scheduling_sli_duration_seconds",
			Help: "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue until it is bound.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 20)},
			[]string{"attempts"}),
	}
	if reg != nil {
		reg.MustRegister(m.ScheduleAttempts, m.AttemptDuration, m.PendingPods, m.QueueIncoming, m.E2EDuration)
	}
	return m
}

// Incoming implements queue.Metrics.
func (m *Metrics) Incoming(queue, event string) { m.QueueIncoming.WithLabelValues(queue, event).Inc() }

// Pending implements queue.Metrics.
func (m *Metrics) Pending(queue string, n int) { m.PendingPods.WithLabelValues(queue).Set(float64(n)) }
