package proxy

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestHealth_FailsBeforeFirstSyncAndWhenSyncIsOld(t *testing.T) {
	c := clocktesting.NewFakeClock(time.Unix(1000, 0))
	h := NewHealth(c, time.Minute)
	code := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code
	}
	if got := code(); got != http.StatusServiceUnavailable {
		t.Errorf("before the first sync: %d", got)
	}
	h.Synced()
	c.Step(59 * time.Second)
	if got := code(); got != http.StatusOK {
		t.Errorf("59s after a sync: %d", got)
	}
	c.Step(2 * time.Second)
	if got := code(); got != http.StatusServiceUnavailable {
		t.Errorf("61s after a sync: %d", got)
	}
}
