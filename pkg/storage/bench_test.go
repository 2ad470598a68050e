package storage

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// BenchmarkCacher_FanOut100 measures, per write, the time from the start of
// the Create call until each of 100 watchers has the event; it reports the
// p50 and p99 delivery latency over all (write, watcher) pairs.
func BenchmarkCacher_FanOut100(b *testing.B) {
	const watchers = 100
	c := newCacher(b)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		starts    sync.Map // resourceVersion -> start time
		wg        sync.WaitGroup
	)
	for range watchers {
		w, err := c.Watch(b.Context(), c.cfg.ListKey(""), ListOptions{SendInitialEvents: ptrTo(false)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(w.Stop)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range w.ResultChan() {
				now := time.Now()
				p, ok := ev.Object.(*corev1.Pod)
				if !ok {
					continue
				}
				if v, ok := starts.Load(p.Name); ok {
					mu.Lock()
					latencies = append(latencies, now.Sub(v.(time.Time)))
					mu.Unlock()
				}
			}
		}()
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("p%d", i)
		starts.Store(name, time.Now())
		mustCreate(b, c, pod("ns", name))
	}
	b.StopTimer()
	// Wait for delivery of everything, then report.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(latencies)
		mu.Unlock()
		if n >= b.N*watchers || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Stop()
	wg.Wait()
	slices.Sort(latencies)
	if len(latencies) == 0 {
		b.Fatal("no events delivered")
	}
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(latencies))/float64(b.N), "deliveries/op")
}
