package endpointslice

import (
	"strconv"
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// tracker remembers the slices this controller last wrote or deleted per
// Service, so a sync that runs before the informer saw those writes (and
// would create duplicates) waits for the cache instead, as upstream's
// endpointSliceTracker.
type tracker struct {
	mu sync.Mutex
	// written: service key -> slice name -> resourceVersion written;
	// -1 marks a deleted slice.
	written map[string]map[string]int64
}

func newTracker() *tracker { return &tracker{written: map[string]map[string]int64{}} }

func rv(s *discoveryv1.EndpointSlice) int64 {
	n, _ := strconv.ParseInt(s.ResourceVersion, 10, 64)
	return n
}

// stale reports whether the cached slices lag behind this controller's
// own writes.
func (t *tracker) stale(key string, cached []*discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.written[key]
	if len(w) == 0 {
		return false
	}
	have := map[string]int64{}
	for _, s := range cached {
		have[s.Name] = rv(s)
	}
	for name, v := range w {
		got, ok := have[name]
		if v < 0 && ok {
			return true // deleted, still cached
		}
		if v >= 0 && (!ok || got < v) {
			return true // written, not yet cached
		}
	}
	return false
}

// wrote records a create or update.
func (t *tracker) wrote(key string, s *discoveryv1.EndpointSlice) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.written[key] == nil {
		t.written[key] = map[string]int64{}
	}
	t.written[key][s.Name] = rv(s)
}

// deleted records a delete.
func (t *tracker) deleted(key, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.written[key] == nil {
		t.written[key] = map[string]int64{}
	}
	t.written[key][name] = -1
}

// settle forgets writes the cache has caught up with.
func (t *tracker) settle(key string, cached []*discoveryv1.EndpointSlice) {
	t.mu.Lock()
	defer t.mu.Unlock()
	have := map[string]int64{}
	for _, s := range cached {
		have[s.Name] = rv(s)
	}
	for name, v := range t.written[key] {
		got, ok := have[name]
		if (v < 0 && !ok) || (v >= 0 && ok && got >= v) {
			delete(t.written[key], name)
		}
	}
	if len(t.written[key]) == 0 {
		delete(t.written, key)
	}
}

// forget drops a Service.
func (t *tracker) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.written, key)
}
