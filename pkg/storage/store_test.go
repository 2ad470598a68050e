package storage

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

func TestStore_CreateGetDelete(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	key := s.cfg.ObjectKey("ns", "a")

	created := mustCreate(t, s, pod("ns", "a"))
	if rvOf(t, created) == 0 {
		t.Fatal("created pod has no resourceVersion")
	}
	if err := s.Create(ctx, key, pod("ns", "a"), &corev1.Pod{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: got %v, want AlreadyExists", err)
	}
	withRV := pod("ns", "b")
	withRV.ResourceVersion = "5"
	if err := s.Create(ctx, s.cfg.ObjectKey("ns", "b"), withRV, &corev1.Pod{}); !apierrors.IsBadRequest(err) {
		t.Fatalf("create with resourceVersion: got %v, want BadRequest", err)
	}

	got := &corev1.Pod{}
	for _, rv := range []string{"", "0", created.ResourceVersion} {
		if err := s.Get(ctx, key, GetOptions{ResourceVersion: rv}, got); err != nil {
			t.Fatalf("get rv=%q: %v", rv, err)
		}
		if got.ResourceVersion != created.ResourceVersion || got.UID != created.UID {
			t.Fatalf("get rv=%q = %s %s, want %s %s", rv, got.UID, got.ResourceVersion, created.UID, created.ResourceVersion)
		}
	}
	if err := s.Get(ctx, key, GetOptions{ResourceVersion: "999999"}, got); !apierrors.IsTimeout(err) {
		t.Fatalf("get at a future rv: got %v, want 504 too large resource version", err)
	}

	deleted := &corev1.Pod{}
	if err := s.Delete(ctx, key, deleted, nil, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if deleted.Name != "a" || rvOf(t, deleted) <= rvOf(t, created) {
		t.Fatalf("deleted pod = %s@%s, want a at a newer rv than %s", deleted.Name, deleted.ResourceVersion, created.ResourceVersion)
	}
	err := s.Get(ctx, key, GetOptions{}, got)
	if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `pods "a" not found`) {
		t.Fatalf("get after delete: got %v, want pods \"a\" not found", err)
	}
	got = pod("x", "y")
	if err := s.Get(ctx, key, GetOptions{IgnoreNotFound: true}, got); err != nil || got.Name != "" {
		t.Fatalf("get ignoreNotFound = %v, %v; want zero pod", got.Name, err)
	}
	if err := s.Delete(ctx, key, &corev1.Pod{}, nil, nil); !apierrors.IsNotFound(err) {
		t.Fatalf("delete missing: got %v, want NotFound", err)
	}
	if st, err := s.Stats(ctx); err != nil || st.ObjectCount != 0 {
		t.Fatalf("stats = %+v, %v; want 0 objects", st, err)
	}
}

func TestStore_GuaranteedUpdate_ConcurrentIncrementsAllLand(t *testing.T) {
	s, _ := newStore(t)
	mustCreate(t, s, pod("ns", "counter"))
	key := s.cfg.ObjectKey("ns", "counter")
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				errs <- s.GuaranteedUpdate(t.Context(), key, &corev1.Pod{}, false, nil,
					func(existing runtime.Object) (runtime.Object, error) {
						p := existing.(*corev1.Pod)
						p.Spec.Priority = ptr.To(ptr.Deref(p.Spec.Priority, 0) + 1)
						return p, nil
					})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := &corev1.Pod{}
	if err := s.Get(t.Context(), key, GetOptions{}, got); err != nil {
		t.Fatal(err)
	}
	if n := ptr.Deref(got.Spec.Priority, 0); n != workers*each {
		t.Fatalf("counter = %d, want %d", n, workers*each)
	}
}

func TestStore_GuaranteedUpdate(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	created := mustCreate(t, s, pod("ns", "a"))
	key := s.cfg.ObjectKey("ns", "a")

	// No change: nothing written, resourceVersion kept.
	out := &corev1.Pod{}
	if err := s.GuaranteedUpdate(ctx, key, out, false, nil, func(o runtime.Object) (runtime.Object, error) { return o, nil }); err != nil {
		t.Fatal(err)
	}
	if out.ResourceVersion != created.ResourceVersion {
		t.Fatalf("no-op update rv = %s, want %s", out.ResourceVersion, created.ResourceVersion)
	}
	// A change gets a new resourceVersion.
	if err := s.GuaranteedUpdate(ctx, key, out, false, nil, setLabel("x", "1")); err != nil {
		t.Fatal(err)
	}
	if rvOf(t, out) <= rvOf(t, created) || out.Labels["x"] != "1" {
		t.Fatalf("update = %s labels %v, want newer than %s with x=1", out.ResourceVersion, out.Labels, created.ResourceVersion)
	}
	// tryUpdate's error comes back as is and nothing is written.
	boom := errors.New("boom")
	if err := s.GuaranteedUpdate(ctx, key, &corev1.Pod{}, false, nil, func(runtime.Object) (runtime.Object, error) { return nil, boom }); err != boom {
		t.Fatalf("update error = %v, want boom", err)
	}
	// Missing key: NotFound, or create with ignoreNotFound.
	if err := s.GuaranteedUpdate(ctx, s.cfg.ObjectKey("ns", "new"), &corev1.Pod{}, false, nil, setLabel("a", "b")); !apierrors.IsNotFound(err) {
		t.Fatalf("update missing: got %v, want NotFound", err)
	}
	made := &corev1.Pod{}
	err := s.GuaranteedUpdate(ctx, s.cfg.ObjectKey("ns", "new"), made, true, nil, func(o runtime.Object) (runtime.Object, error) {
		p := pod("ns", "new")
		return p, nil
	})
	if err != nil || made.Name != "new" || made.ResourceVersion == "" {
		t.Fatalf("upsert = %s@%s, %v", made.Name, made.ResourceVersion, err)
	}
}

func TestStore_Preconditions(t *testing.T) {
	s, _ := newStore(t)
	created := mustCreate(t, s, pod("ns", "a"))
	key := s.cfg.ObjectKey("ns", "a")
	for _, tc := range []struct {
		name    string
		pre     *Preconditions
		wantMsg string // "" means success
	}{
		{"uid mismatch", &Preconditions{UID: ptr.To(types.UID("other"))},
			`Operation cannot be fulfilled on pods "a": Precondition failed: UID in precondition: other, UID in object meta: uid-ns-a`},
		{"stale resourceVersion", &Preconditions{ResourceVersion: ptr.To("1")},
			`Operation cannot be fulfilled on pods "a": Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: ` + created.ResourceVersion},
		{"matching", &Preconditions{UID: ptr.To(created.UID), ResourceVersion: ptr.To(created.ResourceVersion)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for op, call := range map[string]func() error{
				"update": func() error {
					return s.GuaranteedUpdate(t.Context(), key, &corev1.Pod{}, false, tc.pre,
						func(o runtime.Object) (runtime.Object, error) { return o, nil })
				},
				"delete": func() error {
					if tc.wantMsg == "" {
						return nil // keep the object for the other cases
					}
					return s.Delete(t.Context(), key, &corev1.Pod{}, tc.pre, nil)
				},
			} {
				err := call()
				if tc.wantMsg == "" {
					if err != nil {
						t.Fatalf("%s: %v", op, err)
					}
					continue
				}
				if !apierrors.IsConflict(err) || err.Error() != tc.wantMsg {
					t.Fatalf("%s: got %v, want 409 %q", op, err, tc.wantMsg)
				}
			}
		})
	}
	// validateDeletion can refuse.
	refuse := apierrors.NewForbidden(s.cfg.GroupResource, "a", errors.New("no"))
	if err := s.Delete(t.Context(), key, &corev1.Pod{}, nil, func(context.Context, runtime.Object) error { return refuse }); err != refuse {
		t.Fatalf("delete with refusing validation: %v", err)
	}
}

// listAll pages through the list with the given page size.
func listAll(t *testing.T, s Interface, key string, opts ListOptions) (names []string, pages int, rvs []string) {
	t.Helper()
	for {
		list := &corev1.PodList{}
		if err := s.GetList(t.Context(), key, opts, list); err != nil {
			t.Fatalf("list %+v: %v", opts, err)
		}
		pages++
		rvs = append(rvs, list.ResourceVersion)
		for _, p := range list.Items {
			names = append(names, p.Namespace+"/"+p.Name)
		}
		if list.Continue == "" {
			return names, pages, rvs
		}
		opts.Predicate.Continue = list.Continue
		opts.ResourceVersion = ""
	}
}

func TestStore_GetList(t *testing.T) {
	s, _ := newStore(t)
	var all []string
	for _, ns := range []string{"a", "b"} {
		for _, n := range []string{"p0", "p1", "p2", "p3", "p4"} {
			color := "red"
			if n == "p1" || n == "p3" {
				color = "blue"
			}
			mustCreate(t, s, pod(ns, n, "color", color))
			all = append(all, ns+"/"+n)
		}
	}
	blue := labels.SelectorFromSet(labels.Set{"color": "blue"})
	for _, tc := range []struct {
		name      string
		key       string
		pred      Predicate
		want      []string
		wantPages int
	}{
		{"all", s.cfg.ListKey(""), Predicate{}, all, 1},
		{"namespace", s.cfg.ListKey("b"), Predicate{}, all[5:], 1},
		{"pages of 3", s.cfg.ListKey(""), Predicate{Limit: 3}, all, 4},
		{"pages of 5", s.cfg.ListKey(""), Predicate{Limit: 5}, all, 2},
		{"selector", s.cfg.ListKey(""), Predicate{Label: blue}, []string{"a/p1", "a/p3", "b/p1", "b/p3"}, 1},
		{"selector limit 3 reads on", s.cfg.ListKey(""), Predicate{Label: blue, Limit: 3}, []string{"a/p1", "a/p3", "b/p1", "b/p3"}, 2},
		{"field selector", s.cfg.ListKey(""), Predicate{Field: fieldsOne("metadata.name", "p4")}, []string{"a/p4", "b/p4"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pages, rvs := listAll(t, s, tc.key, ListOptions{Predicate: tc.pred})
			if strings.Join(got, ",") != strings.Join(tc.want, ",") || pages != tc.wantPages {
				t.Fatalf("got %v in %d pages, want %v in %d", got, pages, tc.want, tc.wantPages)
			}
			for _, rv := range rvs {
				if rv != rvs[0] {
					t.Fatalf("pages read at different revisions: %v", rvs)
				}
			}
		})
	}

	first := &corev1.PodList{}
	if err := s.GetList(t.Context(), s.cfg.ListKey(""), ListOptions{Predicate: Predicate{Limit: 4}}, first); err != nil {
		t.Fatal(err)
	}
	if first.RemainingItemCount == nil || *first.RemainingItemCount != 6 {
		t.Fatalf("remainingItemCount = %v, want 6", first.RemainingItemCount)
	}
	// A continued list sees the state of the first page, not later writes.
	mustCreate(t, s, pod("a", "p00"))
	names, _, _ := listAll(t, s, s.cfg.ListKey(""), ListOptions{Predicate: Predicate{Limit: 100, Continue: first.Continue}})
	if strings.Join(names, ",") != strings.Join(all[4:], ",") {
		t.Fatalf("continued list = %v, want %v", names, all[4:])
	}
	// Exact: the state at that revision.
	old := &corev1.PodList{}
	if err := s.GetList(t.Context(), s.cfg.ListKey(""), ListOptions{ResourceVersion: first.ResourceVersion,
		ResourceVersionMatch: metav1.ResourceVersionMatchExact}, old); err != nil || len(old.Items) != 10 {
		t.Fatalf("exact list = %d items, %v; want 10", len(old.Items), err)
	}
	if err := s.GetList(t.Context(), s.cfg.ListKey(""), ListOptions{ResourceVersion: "99999"}, old); !apierrors.IsTimeout(err) {
		t.Fatalf("list at a future rv: got %v, want 504", err)
	}
	if err := s.GetList(t.Context(), s.cfg.ListKey(""), ListOptions{Predicate: Predicate{Continue: "garbage"}}, old); !apierrors.IsBadRequest(err) {
		t.Fatalf("list with a bad continue: got %v, want 400", err)
	}
}

func TestStore_CompactionExpiresContinueAndExactAndWatch(t *testing.T) {
	s, client := newStore(t)
	for _, n := range []string{"a", "b", "c"} {
		mustCreate(t, s, pod("ns", n))
	}
	first := &corev1.PodList{}
	if err := s.GetList(t.Context(), s.cfg.ListKey(""), ListOptions{Predicate: Predicate{Limit: 1}}, first); err != nil {
		t.Fatal(err)
	}
	listRV, _ := ParseResourceVersion(first.ResourceVersion)
	mustCreate(t, s, pod("ns", "d"))
	cur := mustCreate(t, s, pod("ns", "e"))
	if _, err := client.Compact(t.Context(), rvOf(t, cur)); err != nil {
		t.Fatal(err)
	}

	err := s.GetList(t.Context(), s.cfg.ListKey(""), ListOptions{Predicate: Predicate{Limit: 1, Continue: first.Continue}}, &corev1.PodList{})
	if !apierrors.IsResourceExpired(err) || !strings.Contains(err.Error(), "The provided continue parameter is too old") {
		t.Fatalf("continue after compaction: got %v, want 410 continue too old", err)
	}
	err = s.GetList(t.Context(), s.cfg.ListKey(""), ListOptions{ResourceVersion: itoa(listRV),
		ResourceVersionMatch: metav1.ResourceVersionMatchExact}, &corev1.PodList{})
	if !apierrors.IsResourceExpired(err) {
		t.Fatalf("exact list after compaction: got %v, want 410", err)
	}
	w, err := s.Watch(t.Context(), s.cfg.ListKey(""), ListOptions{ResourceVersion: itoa(listRV)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := recv(t, w)
	want := "ERROR 410 too old resource version: " + itoa(listRV) + " (" + cur.ResourceVersion + ")"
	if eventString(ev) != want {
		t.Fatalf("watch from a compacted rv: got %q, want %q", eventString(ev), want)
	}
}

// history makes a sequence of changes and returns the events they produce,
// as eventString, and the rv before each.
func history(t *testing.T, s Interface, cfg Config) (events []string, rvBefore []int64) {
	t.Helper()
	ctx := t.Context()
	base := mustCreate(t, s, pod("ns", "base"))
	rv := rvOf(t, base)
	step := func(ev string, obj runtime.Object) {
		rvBefore = append(rvBefore, rv)
		rv = rvOf(t, obj)
		events = append(events, ev+"@"+itoa(rv))
	}
	a := mustCreate(t, s, pod("ns", "a"))
	step("ADDED ns/a", a)
	b := mustCreate(t, s, pod("other", "b"))
	step("ADDED other/b", b)
	out := &corev1.Pod{}
	if err := s.GuaranteedUpdate(ctx, cfg.ObjectKey("ns", "a"), out, false, nil, setLabel("x", "y")); err != nil {
		t.Fatal(err)
	}
	step("MODIFIED ns/a", out)
	del := &corev1.Pod{}
	if err := s.Delete(ctx, cfg.ObjectKey("other", "b"), del, nil, nil); err != nil {
		t.Fatal(err)
	}
	step("DELETED other/b", del)
	return events, rvBefore
}

func TestStore_WatchResumesFromEveryRV(t *testing.T) {
	s, _ := newStore(t)
	testWatchResume(t, s, s.cfg)
}

func testWatchResume(t *testing.T, s Interface, cfg Config) {
	events, rvBefore := history(t, s, cfg)
	for i, rv := range rvBefore {
		w, err := s.Watch(t.Context(), cfg.ListKey(""), ListOptions{ResourceVersion: itoa(rv)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for range events[i:] {
			got = append(got, eventString(recv(t, w)))
		}
		w.Stop()
		if strings.Join(got, "|") != strings.Join(events[i:], "|") {
			t.Fatalf("watch from %d:\n got %v\nwant %v", rv, got, events[i:])
		}
	}
}

func TestStore_WatchPredicateTurnsLabelChangesIntoAddDelete(t *testing.T) {
	s, _ := newStore(t)
	testWatchPredicate(t, s, s.cfg)
}

func testWatchPredicate(t *testing.T, s Interface, cfg Config) {
	ctx := t.Context()
	mustCreate(t, s, pod("ns", "a", "color", "red"))
	w, err := s.Watch(ctx, cfg.ListKey("ns"), ListOptions{
		ResourceVersion: "0",
		Predicate:       Predicate{Label: labels.SelectorFromSet(labels.Set{"color": "blue"})},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	key := cfg.ObjectKey("ns", "a")
	steps := []struct {
		color string
		want  watch.EventType
	}{
		{"blue", watch.Added},
		{"blue2", watch.Deleted},
		{"blue", watch.Added},
	}
	for _, st := range steps {
		out := &corev1.Pod{}
		if err := s.GuaranteedUpdate(ctx, key, out, false, nil, setLabel("color", st.color)); err != nil {
			t.Fatal(err)
		}
		// An unrelated pod that never matches must not show up.
		if st.color == "blue2" {
			mustCreate(t, s, pod("ns", "noise", "color", "green"))
		}
		ev := recv(t, w)
		if ev.Type != st.want || ev.Object.(*corev1.Pod).ResourceVersion != out.ResourceVersion {
			t.Fatalf("after color=%s: got %s, want %s@%s", st.color, eventString(ev), st.want, out.ResourceVersion)
		}
	}
}

func TestStore_WatchInitialEventsAndBookmark(t *testing.T) {
	s, _ := newStore(t)
	testInitialEvents(t, s, s.cfg)
}

func testInitialEvents(t *testing.T, s Interface, cfg Config) {
	a := mustCreate(t, s, pod("ns", "a"))
	b := mustCreate(t, s, pod("ns", "b"))
	for _, tc := range []struct {
		name string
		opts ListOptions
		want []string
	}{
		{"rv 0", ListOptions{ResourceVersion: "0"}, []string{"ADDED ns/a@" + a.ResourceVersion, "ADDED ns/b@" + b.ResourceVersion}},
		{"rv empty", ListOptions{}, []string{"ADDED ns/a@" + a.ResourceVersion, "ADDED ns/b@" + b.ResourceVersion}},
		{"sendInitialEvents", ListOptions{SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true,
			ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan},
			[]string{"ADDED ns/a@" + a.ResourceVersion, "ADDED ns/b@" + b.ResourceVersion, "BOOKMARK end"}},
		{"no initial events", ListOptions{SendInitialEvents: ptr.To(false)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := s.Watch(t.Context(), cfg.ListKey(""), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			var got []string
			for range tc.want {
				ev := recv(t, w)
				if ev.Type == watch.Bookmark {
					p := ev.Object.(*corev1.Pod)
					if p.Annotations[InitialEventsAnnotation] != "true" || rvOf(t, p) < rvOf(t, b) {
						t.Fatalf("bookmark %+v lacks the end annotation or is older than %s", p.ObjectMeta, b.ResourceVersion)
					}
					got = append(got, "BOOKMARK end")
					continue
				}
				got = append(got, eventString(ev))
			}
			// Then live changes follow.
			c := mustCreate(t, s, pod("ns", "c-"+strings.ReplaceAll(tc.name, " ", "")))
			got = append(got, eventString(recv(t, w)))
			want := append(append([]string{}, tc.want...), "ADDED ns/"+c.Name+"@"+c.ResourceVersion)
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("got  %v\nwant %v", got, want)
			}
			del := &corev1.Pod{}
			if err := s.Delete(t.Context(), cfg.ObjectKey("ns", c.Name), del, nil, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCompact_OneServerPerRound(t *testing.T) {
	_, client := newStore(t)
	ctx := t.Context()
	put := func() int64 {
		r, err := client.Put(ctx, "/x", "y")
		if err != nil {
			t.Fatal(err)
		}
		return r.Header.Revision
	}
	put()
	// Two servers start together: the first claims the round, the second
	// sees the claim and follows.
	v1, r1, err := compact(ctx, client, 0, 0)
	if err != nil || v1 != 1 {
		t.Fatalf("server 1 round 1: v=%d err=%v", v1, err)
	}
	v2, _, err := compact(ctx, client, 0, 0)
	if err != nil || v2 != 1 {
		t.Fatalf("server 2 round 1: v=%d err=%v, want to follow version 1", v2, err)
	}
	put()
	// Next round server 1 compacts to what it saw one round earlier.
	if _, _, err := compact(ctx, client, v1, r1); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Get(ctx, "/x", clientv3WithRev(r1-1)); !isCompacted(err) {
		t.Fatalf("read below the compacted revision: got %v, want compacted", err)
	}
}
