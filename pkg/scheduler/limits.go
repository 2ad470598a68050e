package scheduler

import (
	"context"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/client-go/tools/events"
)

// Bounds on the scheduler's concurrent writes. Binding is asynchronous
// and the algorithm outpaces the apiserver, so without a bound every
// assumed pod has its own request in flight: past the apiserver's
// --max-mutating-requests-inflight (200 by default) they come back 429
// and are retried a second later, and past the HTTP/2 stream limit the
// client opens new TLS connections. Upstream's default client rate
// limit (50 QPS) hides this; ours is high so the limit must be here.
const (
	// maxInFlightBindings is how many pods/binding calls run at once:
	// enough for etcd to batch their commits, and with the event writes
	// below under the apiserver's default mutating limit (200). On the
	// 2-core bench 128 bound 500 nodes x 5,000 pods faster than 64 and 32.
	maxInFlightBindings = 128
	// maxInFlightEvents is how many event writes run at once. Events are
	// best effort: they get fewer slots than bindings and trail them
	// under load (1-3 s after the last of 6,000-12,000 bindings on the
	// bench; with 16 slots 3-6 s, and the waiting event goroutines pushed
	// the 5,000-node peak RSS past 300 MiB).
	maxInFlightEvents = 32
)

// limitedEventSink bounds the concurrent writes of client-go's event
// broadcaster, which starts a goroutine per event: the goroutines wait
// here for a slot.
type limitedEventSink struct {
	sink  events.EventSink
	slots chan struct{}
}

var _ events.EventSink = (*limitedEventSink)(nil)

func newLimitedEventSink(sink events.EventSink, n int) *limitedEventSink {
	return &limitedEventSink{sink: sink, slots: make(chan struct{}, n)}
}

func (l *limitedEventSink) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Create implements events.EventSink.
func (l *limitedEventSink) Create(ctx context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-l.slots }()
	return l.sink.Create(ctx, e)
}

// Update implements events.EventSink.
func (l *limitedEventSink) Update(ctx context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-l.slots }()
	return l.sink.Update(ctx, e)
}

// Patch implements events.EventSink.
func (l *limitedEventSink) Patch(ctx context.Context, old *eventsv1.Event, data []byte) (*eventsv1.Event, error) {
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-l.slots }()
	return l.sink.Patch(ctx, old, data)
}
