package integration

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kstack/kstack/test/integration/framework"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
)

// eventTTL is the --event-ttl of these tests' apiservers. The lease
// manager's reuse window for it is one second, so a lease lives 4 s.
const (
	eventTTL         = 3 * time.Second
	eventLeaseWindow = time.Second
	// expiryWait bounds the wait for an expiry: TTL, window and etcd's
	// lease checks, with room for a loaded machine.
	expiryWait = 60 * time.Second
)

func startEventTTLServer(t *testing.T) (*framework.Server, *clientv3.Client) {
	t.Helper()
	s := framework.Start(t, framework.Options{EventTTL: eventTTL})
	cli, err := clientv3.New(clientv3.Config{Endpoints: s.EtcdEndpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return s, cli
}

// coreEvent is a legacy core/v1 event about a pod in ns.
func coreEvent(ns, name string) *corev1.Event {
	now := metav1.Now()
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: ns, Name: name},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "p", APIVersion: "v1"},
		Reason:         "Started", Message: "started container", Type: corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
}

// newEvent is an events.k8s.io/v1 event about a pod in ns.
func newEvent(ns, name string) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: ns, Name: name},
		EventTime:           metav1.NowMicro(),
		ReportingController: "kstack.io/test", ReportingInstance: "test-1",
		Action: "Binding", Reason: "Scheduled", Note: "assigned", Type: corev1.EventTypeNormal,
		Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "p", APIVersion: "v1"},
	}
}

// expirySeen is a watch event as received, and when.
type expirySeen struct {
	typ  watch.EventType
	name string
	rv   int64
	at   time.Time
}

// nextEventSeen reads one event from w, failing the test after expiryWait (a
// hang guard).
func nextEventSeen(t *testing.T, w watch.Interface) expirySeen {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		m, err := meta.Accessor(ev.Object)
		if err != nil {
			t.Fatalf("watch event %s with %T: %v", ev.Type, ev.Object, err)
		}
		rv, _ := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
		return expirySeen{typ: ev.Type, name: m.GetName(), rv: rv, at: time.Now()}
	case <-time.After(expiryWait):
		t.Fatalf("no watch event in %v", expiryWait)
	}
	return expirySeen{}
}

// etcdLease returns the lease key is stored with (0: none).
func etcdLease(t *testing.T, cli *clientv3.Client, key string) clientv3.LeaseID {
	t.Helper()
	resp, err := cli.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		t.Fatalf("%s is not in etcd", key)
	}
	return clientv3.LeaseID(resp.Kvs[0].Lease)
}

// waitGone polls until get reports NotFound, within expiryWait.
func waitGone(t *testing.T, what string, get func(ctx context.Context) error) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, expiryWait, true, func(ctx context.Context) (bool, error) {
		err := get(ctx)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Fatalf("%s still there after %v: %v", what, expiryWait, err)
	}
}

func TestEvents_ExpireAfterEventTTL(t *testing.T) {
	t.Parallel()
	s, _ := startEventTTLServer(t)
	c := s.Client
	ns := createNamespace(t, c, "event-ttl")
	ctx := t.Context()

	// Watches of both groups, from before the events exist; the events.k8s.io
	// one goes straight to the watch cache (resourceVersion "0").
	coreW, err := c.CoreV1().Events(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer coreW.Stop()
	newW, err := c.EventsV1().Events(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer newW.Stop()

	before := time.Now()
	if _, err := c.CoreV1().Events(ns).Create(ctx, coreEvent(ns, "core"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EventsV1().Events(ns).Create(ctx, newEvent(ns, "new"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	for group, w := range map[string]watch.Interface{"core/v1": coreW, "events.k8s.io/v1": newW} {
		var got []string
		deleted := map[string]expirySeen{}
		for len(deleted) < 2 {
			ev := nextEventSeen(t, w)
			got = append(got, string(ev.typ)+" "+ev.name)
			if ev.typ == watch.Deleted {
				deleted[ev.name] = ev
			}
		}
		want := []string{"ADDED core", "ADDED new", "DELETED core", "DELETED new"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s watch: %v, want %v", group, got, want)
		}
		for name, ev := range deleted {
			// Expiry is never early: the lease outlives the TTL.
			if lived := ev.at.Sub(before); lived < eventTTL {
				t.Errorf("%s watch: %s deleted %v after its creation, before the TTL %v", group, name, lived, eventTTL)
			}
		}
	}

	// Both are gone from GET and LIST of both groups (the watches saw the
	// deletes, so the watch cache has them too).
	for _, name := range []string{"core", "new"} {
		if _, err := c.CoreV1().Events(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("core/v1 GET %s after expiry: %v, want NotFound", name, err)
		}
		if _, err := c.EventsV1().Events(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("events.k8s.io/v1 GET %s after expiry: %v, want NotFound", name, err)
		}
	}
	for _, rv := range []string{"", "0"} {
		l, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{ResourceVersion: rv})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 0 {
			t.Errorf("core/v1 LIST (rv %q) after expiry has %d events", rv, len(l.Items))
		}
		nl, err := c.EventsV1().Events(ns).List(ctx, metav1.ListOptions{ResourceVersion: rv})
		if err != nil {
			t.Fatal(err)
		}
		if len(nl.Items) != 0 {
			t.Errorf("events.k8s.io/v1 LIST (rv %q) after expiry has %d events", rv, len(nl.Items))
		}
	}
}

func TestEvents_OnlyEventsCarryALease(t *testing.T) {
	t.Parallel()
	s, cli := startEventTTLServer(t)
	c := s.Client
	ns := createNamespace(t, c, "event-lease")
	ctx := t.Context()

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cm"}, Data: map[string]string{"k": "v"}}
	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Events(ns).Create(ctx, coreEvent(ns, "ev"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := etcdLease(t, cli, "/registry/configmaps/"+ns+"/cm"); got != 0 {
		t.Errorf("ConfigMap stored with lease %x, want none", got)
	}
	lease := etcdLease(t, cli, "/registry/events/"+ns+"/ev")
	if lease == 0 {
		t.Fatal("event stored without a lease")
	}
	ttl, err := cli.TimeToLive(ctx, lease)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64((eventTTL + eventLeaseWindow) / time.Second); ttl.GrantedTTL != want {
		t.Errorf("event lease granted for %d s, want the TTL plus the reuse window (%d s)", ttl.GrantedTTL, want)
	}

	// Create through update (PUT of a new event) and patch write leases too.
	if _, err := c.CoreV1().Events(ns).Update(ctx, coreEvent(ns, "put"), metav1.UpdateOptions{}); err != nil {
		t.Fatalf("create an event with PUT: %v", err)
	}
	if got := etcdLease(t, cli, "/registry/events/"+ns+"/put"); got == 0 {
		t.Error("event created with PUT stored without a lease")
	}
	if _, err := c.CoreV1().Events(ns).Patch(ctx, "put", types.MergePatchType, []byte(`{"count":2}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch: %v", err)
	}
	if got := etcdLease(t, cli, "/registry/events/"+ns+"/put"); got == 0 {
		t.Error("patched event stored without a lease")
	}
	if _, err := c.CoreV1().ConfigMaps(ns).Patch(ctx, "cm", types.MergePatchType, []byte(`{"data":{"k":"w"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch: %v", err)
	}
	if got := etcdLease(t, cli, "/registry/configmaps/"+ns+"/cm"); got != 0 {
		t.Errorf("patched ConfigMap stored with lease %x, want none", got)
	}

	// The ConfigMap outlives the event.
	waitGone(t, "event", func(ctx context.Context) error {
		_, err := c.CoreV1().Events(ns).Get(ctx, "ev", metav1.GetOptions{})
		return err
	})
	if _, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "cm", metav1.GetOptions{}); err != nil {
		t.Errorf("ConfigMap after the event expired: %v", err)
	}
}

func TestEvents_UpdateRestartsTTL(t *testing.T) {
	t.Parallel()
	s, cli := startEventTTLServer(t)
	c := s.Client
	ns := createNamespace(t, c, "event-update")
	ctx := t.Context()

	w, err := c.CoreV1().Events(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	// Two events on one lease; one of them is updated later.
	ev, err := c.CoreV1().Events(ns).Create(ctx, coreEvent(ns, "updated"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Events(ns).Create(ctx, coreEvent(ns, "sibling"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	key := "/registry/events/" + ns + "/updated"
	created := etcdLease(t, cli, key)
	if sib := etcdLease(t, cli, "/registry/events/"+ns+"/sibling"); sib != created {
		t.Fatalf("events created together: leases %x and %x, want one", created, sib)
	}

	// Past the reuse window (the lease lives TTL plus the window, so the
	// update comes well before it expires), the update takes a new lease.
	time.Sleep(eventLeaseWindow + 100*time.Millisecond)
	ev.Count++
	ev.Message = "started container again"
	ev.LastTimestamp = metav1.Now()
	updatedAt := time.Now()
	if _, err := c.CoreV1().Events(ns).Update(ctx, ev, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update before the event's lease expired: %v", err)
	}
	if got := etcdLease(t, cli, key); got == 0 || got == created {
		t.Fatalf("updated event: lease %x, want a new one (created with %x)", got, created)
	}

	var got []string
	deleted := map[string]expirySeen{}
	for len(deleted) < 2 {
		e := nextEventSeen(t, w)
		got = append(got, string(e.typ)+" "+e.name)
		if e.typ == watch.Deleted {
			deleted[e.name] = e
		}
	}
	want := []string{"ADDED updated", "ADDED sibling", "MODIFIED updated", "DELETED sibling", "DELETED updated"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("watch: %v, want %v", got, want)
	}
	// The sibling went with the creation lease; the updated event was not
	// in that revision's deletes and lived at least the TTL after its update.
	if sib, upd := deleted["sibling"], deleted["updated"]; upd.rv <= sib.rv {
		t.Errorf("updated event deleted at rv %d, not after its sibling (rv %d): the update did not restart its TTL", upd.rv, sib.rv)
	}
	if lived := deleted["updated"].at.Sub(updatedAt); lived < eventTTL {
		t.Errorf("updated event deleted %v after its update, before the TTL %v", lived, eventTTL)
	}
}

func TestEvents_ManyEventsShareFewLeases(t *testing.T) {
	t.Parallel()
	s, cli := startEventTTLServer(t)
	c := s.Client
	ns := createNamespace(t, c, "event-leases")
	ctx := t.Context()
	const n = 200

	// Every put of an event key, with its lease, straight from etcd (the
	// keys expire soon after, so reading them afterwards could miss some).
	prefix := "/registry/events/" + ns + "/"
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cur, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	wch := cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(cur.Header.Revision+1))

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for worker := range 8 {
		wg.Go(func() {
			for i := worker; i < n; i += 8 {
				if _, err := c.CoreV1().Events(ns).Create(ctx, coreEvent(ns, fmt.Sprintf("ev-%03d", i)), metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatalf("create: %v", err)
	}

	leases := map[clientv3.LeaseID]int{}
	puts := 0
	timeout := time.After(expiryWait)
	for puts < n {
		select {
		case resp, ok := <-wch:
			if !ok || resp.Err() != nil {
				t.Fatalf("etcd watch ended: %v", resp.Err())
			}
			for _, e := range resp.Events {
				if e.Type == clientv3.EventTypePut {
					puts++
					leases[clientv3.LeaseID(e.Kv.Lease)]++
				}
			}
		case <-timeout:
			t.Fatalf("saw %d of %d event puts in etcd", puts, n)
		}
	}
	if _, ok := leases[0]; ok {
		t.Errorf("%d events stored without a lease", leases[0])
	}
	// A new lease is granted only once the last one is a reuse window old.
	limit := int(elapsed/eventLeaseWindow) + 1
	t.Logf("%d events in %v on %d leases", n, elapsed, len(leases))
	if len(leases) > limit || len(leases) > n/10 {
		t.Errorf("%d events created in %v used %d leases, want at most %d (one per %v reuse window)",
			n, elapsed, len(leases), min(limit, n/10), eventLeaseWindow)
	}

	// They all expire, the watch cache's list included.
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, expiryWait, true, func(ctx context.Context) (bool, error) {
		l, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		return err == nil && len(l.Items) == 0, err
	})
	if err != nil {
		t.Fatalf("events still listed after %v: %v", expiryWait, err)
	}
}
