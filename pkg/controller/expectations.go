package controller

import (
	"sync"
	"time"
)

// ExpectationsTimeout is how long unobserved expectations hold a
// controller back before it re-syncs anyway (a lost watch event must not
// stall it forever), as upstream.
const ExpectationsTimeout = 5 * time.Minute

// Expectations record, per controller key, the creates and deletes a
// controller has issued but not yet seen in its informer. While some are
// outstanding, the controller's cache is known to be stale, so sync must
// not act on counts (it would create or delete twice).
type Expectations struct {
	mu    sync.Mutex
	items map[string]*expectation
	now   func() time.Time
}

type expectation struct {
	adds    int
	deletes map[string]bool // keys of objects whose deletion is expected
	at      time.Time
}

// NewExpectations returns empty Expectations.
func NewExpectations() *Expectations {
	return &Expectations{items: map[string]*expectation{}, now: time.Now}
}

// Satisfied reports whether key has no outstanding expectations (or they
// expired).
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.items[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && len(x.deletes) == 0 {
		return true
	}
	return e.now().Sub(x.at) > ExpectationsTimeout
}

// ExpectCreations records that adds creations are about to be issued,
// replacing previous expectations of key.
func (e *Expectations) ExpectCreations(key string, adds int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.items[key] = &expectation{adds: adds, deletes: map[string]bool{}, at: e.now()}
}

// ExpectDeletions records that the objects with keys are about to be
// deleted, replacing previous expectations of key.
func (e *Expectations) ExpectDeletions(key string, keys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{deletes: map[string]bool{}, at: e.now()}
	for _, k := range keys {
		x.deletes[k] = true
	}
	e.items[key] = x
}

// CreationObserved lowers key's expected creations by one (an informer saw
// one, or a create failed and will not be seen).
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.items[key]; ok && x.adds > 0 {
		x.adds--
	}
}

// DeletionObserved marks the deletion of object objKey as seen.
func (e *Expectations) DeletionObserved(key, objKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.items[key]; ok {
		delete(x.deletes, objKey)
	}
}

// Delete forgets key (its owner is gone).
func (e *Expectations) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.items, key)
}
