package storage

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// newCacher starts etcd, a pods store and a running, ready cacher on it.
func newCacher(t testing.TB, opts ...CacherOption) *Cacher {
	t.Helper()
	s, _ := newStore(t)
	c, err := NewCacher(s, s.cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c.Run(t.Context())
	t.Cleanup(c.Stop)
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCacher_WatchResumesFromEveryRV(t *testing.T) {
	c := newCacher(t)
	testWatchResume(t, c, c.cfg)
}

func TestCacher_WatchPredicateTurnsLabelChangesIntoAddDelete(t *testing.T) {
	c := newCacher(t)
	testWatchPredicate(t, c, c.cfg)
}

func TestCacher_WatchInitialEventsAndBookmark(t *testing.T) {
	c := newCacher(t)
	testInitialEvents(t, c, c.cfg)
}

func TestCacher_ListReadsItsOwnWrites(t *testing.T) {
	c := newCacher(t)
	ctx := t.Context()
	for i := range 20 {
		name := fmt.Sprintf("p%02d", i)
		created := mustCreate(t, c, pod("ns", name))
		list := &corev1.PodList{}
		if err := c.GetList(ctx, c.cfg.ListKey("ns"), ListOptions{}, list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != i+1 || list.Items[i].Name != name || list.Items[i].ResourceVersion != created.ResourceVersion {
			t.Fatalf("consistent list after creating %s@%s has %d items, last %s@%s", name, created.ResourceVersion,
				len(list.Items), list.Items[len(list.Items)-1].Name, list.Items[len(list.Items)-1].ResourceVersion)
		}
		if rvOf(t, &list.Items[i]) > mustRV(t, list.ResourceVersion) {
			t.Fatalf("list rv %s older than its item %s", list.ResourceVersion, list.Items[i].ResourceVersion)
		}
		// After a consistent list the cache holds the write: GET rv=0 sees it.
		got := &corev1.Pod{}
		if err := c.Get(ctx, c.cfg.ObjectKey("ns", name), GetOptions{ResourceVersion: "0"}, got); err != nil || got.ResourceVersion != created.ResourceVersion {
			t.Fatalf("get rv=0 %s = %s, %v; want %s", name, got.ResourceVersion, err, created.ResourceVersion)
		}
	}
	if st, err := c.Stats(ctx); err != nil || st.ObjectCount != 20 {
		t.Fatalf("stats = %+v, %v; want 20", st, err)
	}
	if err := c.Get(ctx, c.cfg.ObjectKey("ns", "missing"), GetOptions{ResourceVersion: "0"}, &corev1.Pod{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get rv=0 missing: %v, want NotFound", err)
	}
	// Paged and exact lists go to etcd and still work.
	names, pages, _ := listAll(t, c, c.cfg.ListKey(""), ListOptions{Predicate: Predicate{Limit: 7}})
	if len(names) != 20 || pages != 3 {
		t.Fatalf("paged list through the cacher: %d names in %d pages", len(names), pages)
	}
}

func mustRV(t testing.TB, rv string) int64 {
	t.Helper()
	n, err := ParseResourceVersion(rv)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCacher_WatchTooOldIsGone(t *testing.T) {
	c := newCacher(t, WithEventWindow(3))
	first := mustCreate(t, c, pod("ns", "first"))
	var last *corev1.Pod
	for i := range 6 {
		last = mustCreate(t, c, pod("ns", fmt.Sprint("p", i)))
	}
	// Make sure the cache has seen the writes.
	if err := c.GetList(t.Context(), c.cfg.ListKey(""), ListOptions{}, &corev1.PodList{}); err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(t.Context(), c.cfg.ListKey(""), ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := recv(t, w)
	if ev.Type != watch.Error || ev.Object.(*metav1.Status).Code != 410 ||
		!strings.HasPrefix(ev.Object.(*metav1.Status).Message, "too old resource version: "+first.ResourceVersion) {
		t.Fatalf("watch from an evicted rv: got %s, want ERROR 410 too old", eventString(ev))
	}
	// The newest events are still there.
	w2, err := c.Watch(t.Context(), c.cfg.ListKey(""), ListOptions{ResourceVersion: itoa(rvOf(t, last) - 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	if got := eventString(recv(t, w2)); got != "ADDED ns/p5@"+last.ResourceVersion {
		t.Fatalf("watch from the window = %s", got)
	}
}

func TestCacher_FanOutToManyWatchers(t *testing.T) {
	c := newCacher(t)
	const watchers, writes = 100, 30
	ws := make([]watch.Interface, watchers)
	for i := range ws {
		w, err := c.Watch(t.Context(), c.cfg.ListKey(""), ListOptions{SendInitialEvents: ptrTo(false), ResourceVersion: "0"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ws[i] = w
	}
	var want []string
	for i := range writes {
		p := mustCreate(t, c, pod("ns", fmt.Sprintf("p%02d", i)))
		want = append(want, "ADDED ns/"+p.Name+"@"+p.ResourceVersion)
	}
	var wg sync.WaitGroup
	errs := make(chan string, watchers)
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got []string
			for range writes {
				select {
				case ev, ok := <-w.ResultChan():
					if !ok {
						errs <- fmt.Sprintf("watcher %d closed after %v", i, got)
						return
					}
					got = append(got, eventString(ev))
				case <-time.After(20 * time.Second):
					errs <- fmt.Sprintf("watcher %d stuck after %v", i, got)
					return
				}
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				errs <- fmt.Sprintf("watcher %d got %v", i, got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestCacher_SlowWatcherIsDroppedWithoutBlockingOthers(t *testing.T) {
	c := newCacher(t, WithWatcherBuffer(5))
	slow, err := c.Watch(t.Context(), c.cfg.ListKey(""), ListOptions{SendInitialEvents: ptrTo(false), ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Stop()
	fast, err := c.Watch(t.Context(), c.cfg.ListKey(""), ListOptions{SendInitialEvents: ptrTo(false), ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Stop()

	const writes = 200 // more than the slow watcher's result and input buffers
	var want []string
	got := make(chan []string)
	go func() {
		var g []string
		for range writes {
			ev, ok := <-fast.ResultChan()
			if !ok {
				break
			}
			g = append(g, eventString(ev))
		}
		got <- g
	}()
	for i := range writes {
		p := mustCreate(t, c, pod("ns", fmt.Sprintf("p%03d", i)))
		want = append(want, "ADDED ns/"+p.Name+"@"+p.ResourceVersion)
	}
	if g := <-got; strings.Join(g, "|") != strings.Join(want, "|") {
		t.Fatalf("fast watcher got %d events, want all %d in order", len(g), writes)
	}
	// The slow one delivers what it had, in order, then is closed.
	var slowGot []string
	for ev := range slow.ResultChan() {
		slowGot = append(slowGot, eventString(ev))
	}
	if len(slowGot) == 0 || len(slowGot) >= writes || strings.Join(slowGot, "|") != strings.Join(want[:len(slowGot)], "|") {
		t.Fatalf("slow watcher got %d events (want a strict in-order prefix of %d, then close)", len(slowGot), writes)
	}
}

func TestCacher_PeriodicBookmarks(t *testing.T) {
	c := newCacher(t, WithBookmarkInterval(20*time.Millisecond))
	p := mustCreate(t, c, pod("ns", "a"))
	w, err := c.Watch(t.Context(), c.cfg.ListKey(""), ListOptions{ResourceVersion: p.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	q := mustCreate(t, c, pod("ns", "b"))
	// Bookmarks may come first; the creation must come, then a bookmark
	// that covers it.
	for {
		ev := recv(t, w)
		if ev.Type == watch.Bookmark && rvOf(t, ev.Object) < rvOf(t, q) {
			continue
		}
		if got := eventString(ev); got != "ADDED ns/b@"+q.ResourceVersion {
			t.Fatalf("got %s, want ADDED ns/b@%s", got, q.ResourceVersion)
		}
		break
	}
	ev := recv(t, w)
	if ev.Type != watch.Bookmark || rvOf(t, ev.Object) < rvOf(t, q) {
		t.Fatalf("want a bookmark at >= %s, got %s", q.ResourceVersion, eventString(ev))
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestCacher_RelistsWhenItsWatchIsCompactedAway(t *testing.T) {
	c := newCacher(t)
	a := mustCreate(t, c, pod("ns", "a"))
	w, err := c.Watch(t.Context(), c.cfg.ListKey(""), ListOptions{ResourceVersion: a.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	b := mustCreate(t, c, pod("ns", "b"))
	if got := eventString(recv(t, w)); got != "ADDED ns/b@"+b.ResourceVersion {
		t.Fatalf("got %s", got)
	}
	if _, err := c.store.client.Compact(t.Context(), rvOf(t, b)); err != nil {
		t.Fatal(err)
	}
	// Pretend the cache fell far behind and its etcd watch broke: the
	// re-watch from the stale revision is compacted, so the cache relists.
	c.mu.Lock()
	c.rev = 1
	brk := c.wcancel
	c.mu.Unlock()
	brk()

	// The relist closes existing watchers.
	select {
	case ev, ok := <-w.ResultChan():
		if ok {
			t.Fatalf("unexpected event %s before close", eventString(ev))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("watcher not closed after relist")
	}
	d := mustCreate(t, c, pod("ns", "d"))
	list := &corev1.PodList{}
	if err := c.GetList(t.Context(), c.cfg.ListKey(""), ListOptions{}, list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Name+"@"+p.ResourceVersion)
	}
	want := []string{"a@" + a.ResourceVersion, "b@" + b.ResourceVersion, "d@" + d.ResourceVersion}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("list after relist = %v, want %v", names, want)
	}
	// History compacted away before the relist is gone (a watch from an
	// rv the new cache never held falls through to etcd, which has
	// compacted everything before b).
	w2, err := c.Watch(t.Context(), c.cfg.ListKey(""), ListOptions{ResourceVersion: itoa(rvOf(t, a) - 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	if ev := recv(t, w2); ev.Type != watch.Error || ev.Object.(*metav1.Status).Code != 410 {
		t.Fatalf("watch from before the relist: got %s, want 410", eventString(ev))
	}
}

func TestCacher_CatchesUpWithWritesToOtherResources(t *testing.T) {
	c := newCacher(t)
	// A write elsewhere moves etcd's revision but sends the pods watch no
	// event: only a progress notification can tell the cache it is current.
	resp, err := c.store.client.Put(t.Context(), "/registry/configmaps/ns/x", "v")
	if err != nil {
		t.Fatal(err)
	}
	if !c.waitFresh(t.Context(), resp.Header.Revision) {
		t.Fatalf("cache did not reach revision %d (progress notification not honoured)", resp.Header.Revision)
	}
	list := &corev1.PodList{}
	if err := c.GetList(t.Context(), c.cfg.ListKey(""), ListOptions{}, list); err != nil {
		t.Fatal(err)
	}
	if mustRV(t, list.ResourceVersion) < resp.Header.Revision {
		t.Fatalf("consistent list rv %s older than etcd's %d", list.ResourceVersion, resp.Header.Revision)
	}
}

func TestCacher_WindowExpiresOldEventsAndDeletedEventsShareTheObject(t *testing.T) {
	c := newCacher(t)
	first := mustCreate(t, c, pod("ns", "old"))
	if err := c.GetList(t.Context(), c.cfg.ListKey(""), ListOptions{}, &corev1.PodList{}); err != nil {
		t.Fatal(err)
	}
	// Age the window's events past the TTL, then expire them.
	c.mu.Lock()
	for i := 0; i < c.wlen; i++ {
		c.window[(c.wstart+i)%len(c.window)].at = time.Now().Add(-2 * EventWindowTTL)
	}
	c.expireLocked(time.Now())
	left := c.wlen
	c.mu.Unlock()
	if left != 0 {
		t.Fatalf("window holds %d events after expiry, want 0", left)
	}
	w, err := c.Watch(t.Context(), c.cfg.ListKey(""), ListOptions{ResourceVersion: itoa(rvOf(t, first) - 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if ev := recv(t, w); ev.Type != watch.Error || ev.Object.(*metav1.Status).Code != 410 {
		t.Fatalf("watch from an expired rv: got %s, want ERROR 410", eventString(ev))
	}

	// A DELETED event carries the deletion's resourceVersion on a copy
	// that shares the cached object's contents (no deep copy).
	w2, err := c.Watch(t.Context(), c.cfg.ListKey(""), ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	c.mu.RLock()
	cached := c.objects[c.cfg.ObjectKey("ns", "old")].Object.(*corev1.Pod)
	c.mu.RUnlock()
	if err := c.Delete(t.Context(), c.cfg.ObjectKey("ns", "old"), &corev1.Pod{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	ev := recv(t, w2)
	got, ok := ev.Object.(*corev1.Pod)
	if ev.Type != watch.Deleted || !ok {
		t.Fatalf("got %s, want DELETED", eventString(ev))
	}
	if got == cached || got.ResourceVersion == cached.ResourceVersion {
		t.Fatalf("DELETED object must be a copy at the deletion's rv (cached rv %s, event rv %s)", cached.ResourceVersion, got.ResourceVersion)
	}
	if &got.Spec.Containers[0] != &cached.Spec.Containers[0] {
		t.Fatalf("DELETED object should share the cached object's contents, not deep-copy them")
	}
}

func TestCacher_WindowGrowsOnDemandAndKeepsOrder(t *testing.T) {
	c := newCacher(t, WithEventWindow(100))
	c.mu.RLock()
	initial := len(c.window)
	c.mu.RUnlock()
	if initial > 16 {
		t.Fatalf("a new cache allocates a %d-event window, want at most 16", initial)
	}
	first := mustCreate(t, c, pod("ns", "p0"))
	for i := 1; i < 40; i++ {
		mustCreate(t, c, pod("ns", fmt.Sprint("p", i)))
	}
	if err := c.GetList(t.Context(), c.cfg.ListKey(""), ListOptions{}, &corev1.PodList{}); err != nil {
		t.Fatal(err)
	}
	// Every event after the first is still there, in order.
	w, err := c.Watch(t.Context(), c.cfg.ListKey(""), ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i := 1; i < 40; i++ {
		ev := recv(t, w)
		if ev.Type != watch.Added || ev.Object.(*corev1.Pod).Name != fmt.Sprint("p", i) {
			t.Fatalf("event %d = %s, want ADDED ns/p%d", i, eventString(ev), i)
		}
	}
	c.mu.RLock()
	grown := len(c.window)
	c.mu.RUnlock()
	if grown < 40 || grown > 100 {
		t.Fatalf("window holds room for %d events after 40 writes, want between 40 and 100", grown)
	}
}

// TestCacher_ExpiredEventsLeaveWithoutNewWrites: after a burst of writes
// (a mass deletion) and no write since, the window still lets its expired
// events go, so it no longer pins the objects they carry.
func TestCacher_ExpiredEventsLeaveWithoutNewWrites(t *testing.T) {
	c := newCacher(t, withExpiryInterval(10*time.Millisecond))
	p := mustCreate(t, c, pod("ns", "gone"))
	if err := c.Delete(t.Context(), c.cfg.ObjectKey("ns", "gone"), &corev1.Pod{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	// Wait for both events to reach the window, then age them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		n := c.wlen
		if n == 2 {
			for i := 0; i < c.wlen; i++ {
				c.window[(c.wstart+i)%len(c.window)].at = time.Now().Add(-2 * EventWindowTTL)
			}
		}
		c.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("window holds %d events, want the create and the delete", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		c.mu.RLock()
		n, oldest := c.wlen, c.oldest
		c.mu.RUnlock()
		if n == 0 {
			if oldest <= rvOf(t, p) {
				t.Fatalf("oldest resumable rv %d, want past the expired events (> %d)", oldest, rvOf(t, p))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("window still holds %d expired events with no new write", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
