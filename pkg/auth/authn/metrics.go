package authn

import (
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kstack/kstack/pkg/auth"
)

// Metrics, upstream names. They are created here and registered only by
// RegisterMetrics, so tests and several servers in one process do not clash.
var (
	authenticationAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authentication_attempts",
		Help: "Counter of authenticated attempts.",
	}, []string{"result"})

	authenticationDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "authentication_duration_seconds",
		Help:    "Authentication duration in seconds broken out by result.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"result"})

	authenticatedUserRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authenticated_user_requests",
		Help: "Counter of authenticated requests broken out by username.",
	}, []string{"username"})
)

// RegisterMetrics registers the authentication metrics with reg.
func RegisterMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{authenticationAttempts, authenticationDuration, authenticatedUserRequests} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// observeAuthentication records one Chain.Authenticate: result "success"
// (including anonymous), "failure" (no credentials, anonymous disabled) or
// "error" (bad credentials), as upstream labels them.
func observeAuthentication(u *auth.User, err error, start time.Time) {
	result := "success"
	switch {
	case errors.Is(err, ErrUnauthenticated):
		result = "failure"
	case err != nil:
		result = "error"
	}
	authenticationAttempts.WithLabelValues(result).Inc()
	authenticationDuration.WithLabelValues(result).Observe(time.Since(start).Seconds())
	if err == nil && u != nil {
		authenticatedUserRequests.WithLabelValues(compressUsername(u.Name)).Inc()
	}
}

// compressUsername bounds the username label's values as upstream does:
// a few well-known names as themselves, e-mail addresses as "email_id",
// everything else as "other".
func compressUsername(name string) string {
	switch {
	case name == "admin" || name == "client" || name == "kube_proxy" || name == "kubelet" ||
		name == "system:serviceaccount:kube-system:default":
		return name
	case strings.Contains(name, "@"):
		return "email_id"
	default:
		return "other"
	}
}
