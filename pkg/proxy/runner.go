package proxy

import (
	"context"
	"log/slog"
	"time"
)

// Runner calls one sync function no more often than minInterval and at
// least every maxInterval, like upstream's BoundedFrequencyRunner: Request
// asks for a run soon; requests arriving while a run is pending or within
// minInterval of the last run collapse into one. A failed run is retried
// after minInterval.
type Runner struct {
	fn          func() error
	minInterval time.Duration
	maxInterval time.Duration
	requests    chan struct{}
}

// NewRunner returns a runner for fn.
func NewRunner(fn func() error, minInterval, maxInterval time.Duration) *Runner {
	return &Runner{fn: fn, minInterval: minInterval, maxInterval: maxInterval, requests: make(chan struct{}, 1)}
}

// Request asks for a run; it never blocks.
func (r *Runner) Request() {
	select {
	case r.requests <- struct{}{}:
	default:
	}
}

// Loop runs fn until ctx ends: once at start, then on requests and every
// maxInterval.
func (r *Runner) Loop(ctx context.Context) {
	var last time.Time
	retry := false
	for {
		if !last.IsZero() {
			wait := r.maxInterval
			if retry {
				wait = r.minInterval
			}
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-r.requests:
				timer.Stop()
			case <-timer.C:
			}
			if d := r.minInterval - time.Since(last); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
			// requests during the wait are served by this run
			select {
			case <-r.requests:
			default:
			}
		}
		last = time.Now()
		err := r.fn()
		retry = err != nil
		if err != nil {
			slog.Error("sync failed, will retry", "err", err, "after", r.minInterval)
		}
	}
}
