package proxy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Health tracks when rules were last synced and serves upstream's
// kube-proxy /healthz (port 10256): 200 while the last successful sync is
// younger than the timeout, 503 before the first sync or once it is older.
type Health struct {
	clock   clock.Clock
	timeout time.Duration

	mu         sync.Mutex
	lastSynced time.Time
}

// NewHealth returns a tracker that turns unhealthy timeout after the last
// successful sync.
func NewHealth(c clock.Clock, timeout time.Duration) *Health {
	return &Health{clock: c, timeout: timeout}
}

// Synced records a successful sync now.
func (h *Health) Synced() {
	h.mu.Lock()
	h.lastSynced = h.clock.Now()
	h.mu.Unlock()
}

// Check returns nil when healthy.
func (h *Health) Check() error {
	h.mu.Lock()
	last := h.lastSynced
	h.mu.Unlock()
	if last.IsZero() {
		return fmt.Errorf("rules not synced yet")
	}
	if age := h.clock.Since(last); age > h.timeout {
		return fmt.Errorf("last sync %s ago, more than %s", age.Round(time.Millisecond), h.timeout)
	}
	return nil
}

// ServeHTTP answers upstream's JSON: lastUpdated, currentTime,
// nodeEligible.
func (h *Health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	last := h.lastSynced
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if h.Check() != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"lastUpdated":  last.UTC().Format(time.RFC3339Nano),
		"currentTime":  h.clock.Now().UTC().Format(time.RFC3339Nano),
		"nodeEligible": true,
	})
}
