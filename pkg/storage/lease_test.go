package storage

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kstack/kstack/internal/testetcd"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeGranter records the TTLs it grants and numbers leases from 1.
type fakeGranter struct {
	ttls []int64
	err  error
}

func (g *fakeGranter) Grant(_ context.Context, ttl int64) (*clientv3.LeaseGrantResponse, error) {
	if g.err != nil {
		return nil, g.err
	}
	g.ttls = append(g.ttls, ttl)
	return &clientv3.LeaseGrantResponse{ID: clientv3.LeaseID(len(g.ttls)), TTL: ttl}, nil
}

func TestLeaseManager(t *testing.T) {
	type step struct {
		after time.Duration // clock advance before the call
		ttl   time.Duration
		want  clientv3.LeaseID
	}
	tests := []struct {
		name      string
		cfg       LeaseManagerConfig
		steps     []step
		wantGrant []int64 // TTLs granted, in seconds
	}{{
		name: "an hour's TTL reuses a lease for the 60 s window and grants TTL plus the window",
		steps: []step{
			{ttl: time.Hour, want: 1},
			{after: 30 * time.Second, ttl: time.Hour, want: 1},
			{after: 29 * time.Second, ttl: time.Hour, want: 1},
			// 60 s after the grant the lease would expire in exactly the TTL: too soon.
			{after: time.Second, ttl: time.Hour, want: 2},
			{after: time.Second, ttl: time.Hour, want: 2},
		},
		wantGrant: []int64{3660, 3660},
	}, {
		name: "the window is at most 5% of the TTL",
		steps: []step{
			{ttl: 100 * time.Second, want: 1},
			{after: 4 * time.Second, ttl: 100 * time.Second, want: 1},
			{after: time.Second, ttl: 100 * time.Second, want: 2},
		},
		wantGrant: []int64{105, 105},
	}, {
		name: "a short TTL still gets a one second window",
		steps: []step{
			{ttl: 3 * time.Second, want: 1},
			{after: 999 * time.Millisecond, ttl: 3 * time.Second, want: 1},
			{after: time.Millisecond, ttl: 3 * time.Second, want: 2},
		},
		wantGrant: []int64{4, 4},
	}, {
		name: "the reuse duration caps the window",
		cfg:  LeaseManagerConfig{ReuseDuration: 10 * time.Second},
		steps: []step{
			{ttl: time.Hour, want: 1},
			{after: 9 * time.Second, ttl: time.Hour, want: 1},
			{after: time.Second, ttl: time.Hour, want: 2},
		},
		wantGrant: []int64{3610, 3610},
	}, {
		name: "a lease holds at most MaxObjectCount objects",
		cfg:  LeaseManagerConfig{MaxObjectCount: 2},
		steps: []step{
			{ttl: time.Hour, want: 1},
			{ttl: time.Hour, want: 1},
			{ttl: time.Hour, want: 2},
			{ttl: time.Hour, want: 2},
			{ttl: time.Hour, want: 3},
		},
		wantGrant: []int64{3660, 3660, 3660},
	}, {
		name: "a longer TTL than the lease has gets a new lease, a much shorter one too",
		steps: []step{
			{ttl: time.Hour, want: 1},
			{ttl: 2 * time.Hour, want: 2},
			{ttl: time.Minute, want: 3},
			{ttl: time.Minute, want: 3},
		},
		wantGrant: []int64{3660, 7260, 63},
	}, {
		name: "TTLs round up to whole seconds",
		steps: []step{
			{ttl: 1500 * time.Millisecond, want: 1},
		},
		wantGrant: []int64{3},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(time.Unix(1000, 0))
			g := &fakeGranter{}
			cfg := tt.cfg
			cfg.Clock = clk
			m := NewLeaseManager(g, cfg)
			for i, s := range tt.steps {
				clk.SetTime(clk.Now().Add(s.after))
				got, err := m.Lease(t.Context(), s.ttl)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got != s.want {
					t.Errorf("step %d (+%v, ttl %v): lease %d, want %d", i, s.after, s.ttl, got, s.want)
				}
			}
			if len(g.ttls) != len(tt.wantGrant) {
				t.Fatalf("granted %v, want %v", g.ttls, tt.wantGrant)
			}
			for i := range g.ttls {
				if g.ttls[i] != tt.wantGrant[i] {
					t.Errorf("grant %d: TTL %d s, want %d s", i, g.ttls[i], tt.wantGrant[i])
				}
			}
		})
	}
}

func TestLeaseManager_ForgetGrantsANewLease(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Unix(1000, 0))
	g := &fakeGranter{}
	m := NewLeaseManager(g, LeaseManagerConfig{Clock: clk})
	first, _ := m.Lease(t.Context(), time.Hour)
	m.Forget(first + 100) // another lease: no effect
	if id, _ := m.Lease(t.Context(), time.Hour); id != first {
		t.Fatalf("after forgetting another lease: %d, want %d", id, first)
	}
	m.Forget(first)
	if id, _ := m.Lease(t.Context(), time.Hour); id == first {
		t.Fatalf("after Forget the forgotten lease %d was handed out again", id)
	}
}

func TestLeaseManager_GrantErrorIsReturned(t *testing.T) {
	g := &fakeGranter{err: errors.New("etcd down")}
	m := NewLeaseManager(g, LeaseManagerConfig{})
	if id, err := m.Lease(t.Context(), time.Hour); err == nil || id != 0 {
		t.Fatalf("Lease with a failing granter: %d, %v; want an error", id, err)
	}
	g.err = nil
	if id, err := m.Lease(t.Context(), time.Hour); err != nil || id != 1 {
		t.Fatalf("Lease after the granter recovered: %d, %v; want lease 1", id, err)
	}
}

// leaseOf returns the lease key is stored with (0: none).
func leaseOf(t *testing.T, client *clientv3.Client, key string) clientv3.LeaseID {
	t.Helper()
	resp, err := client.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		t.Fatalf("%s is not in etcd", key)
	}
	return clientv3.LeaseID(resp.Kvs[0].Lease)
}

func TestStore_TTLWritesCarryALease(t *testing.T) {
	_, client := testetcd.Start(t)
	clk := clocktesting.NewFakePassiveClock(time.Now())
	cfg := podConfig(t)
	cfg.TTL = time.Hour
	s := NewStore(client, cfg, WithLeaseManager(NewLeaseManager(client, LeaseManagerConfig{Clock: clk})))
	plain := NewStore(client, podConfig(t)) // same prefix, no TTL
	ctx := t.Context()

	created := mustCreate(t, s, pod("ns", "a"))
	key := cfg.ObjectKey("ns", "a")
	first := leaseOf(t, client, key)
	if first == 0 {
		t.Fatal("create with a TTL wrote no lease")
	}
	ttl, err := client.TimeToLive(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if ttl.GrantedTTL != 3660 {
		t.Errorf("lease granted for %d s, want the TTL plus the 60 s window (3660)", ttl.GrantedTTL)
	}

	// Past the reuse window an update moves the key to a new lease.
	clk.SetTime(clk.Now().Add(2 * time.Minute))
	out := &corev1.Pod{}
	if err := s.GuaranteedUpdate(ctx, key, out, false, nil, setLabel("x", "1")); err != nil {
		t.Fatal(err)
	}
	if rvOf(t, out) <= rvOf(t, created) {
		t.Fatalf("update did not write: rv %d after %d", rvOf(t, out), rvOf(t, created))
	}
	second := leaseOf(t, client, key)
	if second == 0 || second == first {
		t.Errorf("update after the reuse window: lease %x, want a new one (created with %x)", second, first)
	}

	// Create through update (ignoreNotFound) takes a lease too.
	newKey := cfg.ObjectKey("ns", "b")
	if err := s.GuaranteedUpdate(ctx, newKey, &corev1.Pod{}, true, nil, func(runtime.Object) (runtime.Object, error) {
		return pod("ns", "b"), nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := leaseOf(t, client, newKey); got != second {
		t.Errorf("create on update: lease %x, want the reused %x", got, second)
	}

	// A store without a TTL writes no lease, even over a key that had one.
	if err := plain.GuaranteedUpdate(ctx, key, out, false, nil, setLabel("x", "2")); err != nil {
		t.Fatal(err)
	}
	if got := leaseOf(t, client, key); got != 0 {
		t.Errorf("update without a TTL: lease %x, want none", got)
	}
	mustCreate(t, plain, pod("ns", "c"))
	if got := leaseOf(t, client, cfg.ObjectKey("ns", "c")); got != 0 {
		t.Errorf("create without a TTL: lease %x, want none", got)
	}

	// A lease etcd lost (revoked here) is replaced, not an error.
	if _, err := client.Revoke(ctx, second); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, pod("ns", "d"))
	if got := leaseOf(t, client, cfg.ObjectKey("ns", "d")); got == 0 || got == second {
		t.Errorf("create after the lease was revoked: lease %x, want a new one", got)
	}
}

func TestCacher_LeaseExpiryIsADelete(t *testing.T) {
	_, client := testetcd.Start(t)
	cfg := podConfig(t)
	cfg.TTL = time.Hour
	s := NewStore(client, cfg)
	c, err := NewCacher(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Run(t.Context())
	t.Cleanup(c.Stop)
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(t.Context(), cfg.ListKey(""), ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	a := mustCreate(t, c, pod("ns", "a"))
	b := mustCreate(t, c, pod("ns", "b"))
	for _, want := range []string{"ADDED ns/a@" + a.ResourceVersion, "ADDED ns/b@" + b.ResourceVersion} {
		if got := eventString(recv(t, w)); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	// Both share one lease: expiring it (as etcd does, by revoking it)
	// deletes both keys in one revision.
	lease := leaseOf(t, client, cfg.ObjectKey("ns", "a"))
	resp, err := client.Revoke(t.Context(), lease)
	if err != nil {
		t.Fatal(err)
	}
	rev := itoa(resp.Header.Revision)
	for _, want := range []string{"DELETED ns/a@" + rev, "DELETED ns/b@" + rev} {
		if got := eventString(recv(t, w)); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	list := &corev1.PodList{}
	if err := c.GetList(t.Context(), cfg.ListKey(""), ListOptions{ResourceVersion: rev}, list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("cache lists %d pods after their lease expired, want none", len(list.Items))
	}
}
