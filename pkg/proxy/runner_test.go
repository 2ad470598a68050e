package proxy

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRunner_RunsAtStartOnRequestAndRetriesFailures(t *testing.T) {
	calls := make(chan int, 10)
	n := 0
	fail := true
	r := NewRunner(func() error {
		n++
		calls <- n
		if n == 2 && fail {
			return errors.New("boom") // retried after minInterval without a request
		}
		return nil
	}, time.Millisecond, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Loop(ctx); close(done) }()

	if got := <-calls; got != 1 {
		t.Fatalf("first run = %d", got)
	}
	r.Request()
	if got := <-calls; got != 2 {
		t.Fatalf("run on request = %d", got)
	}
	if got := <-calls; got != 3 {
		t.Fatalf("retry after failure = %d", got)
	}
	cancel()
	<-done
	select {
	case got := <-calls:
		t.Errorf("unexpected run %d after cancel", got)
	default:
	}
}
