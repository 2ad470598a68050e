package storage

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/utils/clock"
)

// Lease manager defaults, as upstream's (k8s.io/apiserver storage/etcd3).
const (
	// DefaultLeaseReuseDuration is how long a granted lease is handed out
	// again (--lease-reuse-duration-seconds).
	DefaultLeaseReuseDuration = 60 * time.Second
	// DefaultLeaseMaxObjectCount caps the objects attached to one lease.
	DefaultLeaseMaxObjectCount = 1000
	// leaseReusePercent caps the reuse window at this share of the TTL, so
	// a short TTL is not stretched by a long window.
	leaseReusePercent = 0.05
)

// LeaseGranter grants etcd leases; clientv3.Lease is one.
type LeaseGranter interface {
	Grant(ctx context.Context, ttl int64) (*clientv3.LeaseGrantResponse, error)
}

// LeaseManagerConfig tunes lease reuse.
type LeaseManagerConfig struct {
	// ReuseDuration is the longest a lease is reused after its grant
	// (rounded up to whole seconds; 0 means DefaultLeaseReuseDuration).
	// The window is also capped at 5% of the TTL, but is at least one
	// second: upstream rounds it down, so TTLs under 20 s get a lease per
	// write there.
	ReuseDuration time.Duration
	// MaxObjectCount caps the writes attached to one lease (0 means
	// DefaultLeaseMaxObjectCount).
	MaxObjectCount int64
	// Clock defaults to the real clock (tests inject a fake).
	Clock clock.PassiveClock
}

// LeaseManager hands out etcd leases for keys that expire (objects stored
// with a TTL, events above all). Instead of a lease per write it reuses the
// last one while that still outlives the requested TTL by no more than the
// reuse window: a lease is granted for TTL plus the window, so no object
// lives shorter than its TTL and none longer than TTL plus the window.
// Safe for concurrent use.
type LeaseManager struct {
	granter  LeaseGranter
	clock    clock.PassiveClock
	reuse    int64 // seconds
	maxCount int64

	mu      sync.Mutex
	id      clientv3.LeaseID
	expires time.Time // of id, as granted (etcd may only keep it longer)
	count   int64     // writes given id
}

// NewLeaseManager returns a LeaseManager granting leases through granter.
func NewLeaseManager(granter LeaseGranter, cfg LeaseManagerConfig) *LeaseManager {
	m := &LeaseManager{granter: granter, clock: cfg.Clock, reuse: seconds(cfg.ReuseDuration), maxCount: cfg.MaxObjectCount}
	if m.clock == nil {
		m.clock = clock.RealClock{}
	}
	if cfg.ReuseDuration <= 0 {
		m.reuse = seconds(DefaultLeaseReuseDuration)
	}
	if m.maxCount <= 0 {
		m.maxCount = DefaultLeaseMaxObjectCount
	}
	return m
}

// seconds rounds d up to whole seconds, at least one.
func seconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// window is the reuse window in seconds for a TTL of ttl seconds.
func (m *LeaseManager) window(ttl int64) int64 {
	w := int64(leaseReusePercent*float64(ttl) + 0.999999)
	return max(min(w, m.reuse), 1)
}

// Lease returns a lease that expires no sooner than ttl (rounded up to
// whole seconds) from now, for one key to be written with; callers that
// fail to write may drop it. Errors are etcd's, from granting a new lease.
func (m *LeaseManager) Lease(ctx context.Context, ttl time.Duration) (clientv3.LeaseID, error) {
	ttlSec := seconds(ttl)
	w := m.window(ttlSec)
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	life := time.Duration(ttlSec) * time.Second
	// Long enough for this TTL, but not longer than TTL plus the window.
	valid := now.Add(life).Before(m.expires)
	short := !m.expires.After(now.Add(life + time.Duration(w)*time.Second))
	if m.id != 0 && valid && short && m.count < m.maxCount {
		m.count++
		return m.id, nil
	}
	resp, err := m.granter.Grant(ctx, ttlSec+w)
	if err != nil {
		return 0, err
	}
	m.id, m.expires, m.count = resp.ID, now.Add(time.Duration(ttlSec+w)*time.Second), 1
	return m.id, nil
}

// Forget stops reusing id (etcd no longer has it: revoked, or a restored
// backup), so the next Lease grants a new one.
func (m *LeaseManager) Forget(id clientv3.LeaseID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.id == id {
		m.id, m.expires, m.count = 0, time.Time{}, 0
	}
}

// isLeaseNotFound reports etcd refusing a put with a lease it does not have.
func isLeaseNotFound(err error) bool {
	return errors.Is(err, rpctypes.ErrLeaseNotFound)
}
