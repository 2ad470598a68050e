package storage

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// Cacher defaults.
const (
	DefaultEventWindow      = 10000
	DefaultBookmarkInterval = time.Minute
	DefaultWatcherBuffer    = 1000
	// freshTimeout bounds how long a read waits for the cache to catch up
	// with etcd before it goes to etcd instead.
	freshTimeout = 3 * time.Second
	// dispatchBudget is how long one dispatch may wait, in total, for
	// watchers whose buffers are full before dropping them.
	dispatchBudget = 100 * time.Millisecond
)

// CacherOption adjusts a Cacher.
type CacherOption func(*Cacher)

// WithEventWindow keeps the last n events for resuming watches.
func WithEventWindow(n int) CacherOption { return func(c *Cacher) { c.windowSize = max(n, 1) } }

// WithBookmarkInterval sets how often watchers that allow bookmarks get one.
func WithBookmarkInterval(d time.Duration) CacherOption {
	return func(c *Cacher) { c.bookmarkEvery = d }
}

// withExpiryInterval sets how often expired events leave the window
// (tests).
func withExpiryInterval(d time.Duration) CacherOption { return func(c *Cacher) { c.expireEvery = d } }

// WithWatcherBuffer sets how many events a watcher may fall behind before
// it is closed.
func WithWatcherBuffer(n int) CacherOption { return func(c *Cacher) { c.bufSize = max(n, 1) } }

// Cacher is the watch cache in front of a Store. It implements Interface:
// writes go to the Store; LIST, GET with resourceVersion "0" and every
// WATCH are served from memory, fed by one etcd watch on the resource.
//
// Objects the Cacher returns from GetList and in watch events are shared
// with the cache and with other watchers: callers must not modify them.
// (Get returns a private copy.)
type Cacher struct {
	store         *Store
	cfg           Config
	windowSize    int
	bookmarkEvery time.Duration
	expireEvery   time.Duration
	bufSize       int
	attrs         AttrFunc
	gauge         prometheus.Gauge

	mu      sync.RWMutex
	ready   bool
	rev     int64 // the revision the cache reflects
	objects map[string]*CachedObject
	keys    []string // sorted keys of objects
	window  []*cacheEvent
	wstart  int   // index of the oldest event in window (a ring)
	wlen    int   // events in window
	oldest  int64 // the lowest resourceVersion a watch can resume from
	// evicted reports that the window dropped events since the last list:
	// older resourceVersions are then gone from the cache's history, while
	// before that they only predate the cache (see Watch).
	evicted  bool
	watchers map[*cacheWatcher]struct{}
	wlist    []*cacheWatcher    // snapshot of watchers, nil when stale
	revCh    chan struct{}      // closed when rev or ready changes
	wctx     context.Context    // the etcd watch's context, for RequestProgress
	wcancel  context.CancelFunc // breaks the etcd watch (tests)

	runOnce sync.Once
	cancel  context.CancelFunc
	done    chan struct{}
}

var _ Interface = (*Cacher)(nil)

// NewCacher returns a Cacher for store; Run starts it.
func NewCacher(store *Store, cfg Config, opts ...CacherOption) (*Cacher, error) {
	if cfg.NewFunc == nil || cfg.NewListFunc == nil || cfg.Codec == nil || cfg.Prefix == "" {
		return nil, fmt.Errorf("cacher for %s: Prefix, Codec, NewFunc and NewListFunc are required", cfg.GroupResource)
	}
	c := &Cacher{
		store: store, cfg: cfg,
		windowSize: DefaultEventWindow, bookmarkEvery: DefaultBookmarkInterval, bufSize: DefaultWatcherBuffer, expireEvery: EventWindowTTL / 8,
		attrs:    cfg.attrFunc(&Predicate{}),
		gauge:    storageObjects.WithLabelValues(cfg.GroupResource.String()),
		objects:  map[string]*CachedObject{},
		watchers: map[*cacheWatcher]struct{}{},
		revCh:    make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, o := range opts {
		o(c)
	}
	// The window grows on demand up to windowSize: most resources see few
	// writes, and a full-size ring per resource would cost the idle server
	// megabytes.
	c.window = make([]*cacheEvent, min(16, c.windowSize))
	return c, nil
}

// Config returns the cached resource's configuration.
func (c *Cacher) Config() Config { return c.cfg }

// Run starts filling the cache in the background and returns. It stops
// when ctx ends or Stop is called; calling it again does nothing.
func (c *Cacher) Run(ctx context.Context) {
	c.runOnce.Do(func() {
		ctx, c.cancel = context.WithCancel(ctx)
		go func() {
			defer close(c.done)
			c.loop(ctx)
		}()
	})
}

// Stop ends the cache: every watcher is closed and reads go to etcd.
func (c *Cacher) Stop() {
	c.Run(context.Background()) // make sure there is something to stop
	c.cancel()
	<-c.done
}

// WaitReady blocks until the cache holds a full list (or ctx ends).
func (c *Cacher) WaitReady(ctx context.Context) error {
	for {
		c.mu.RLock()
		ready, ch := c.ready, c.revCh
		c.mu.RUnlock()
		if ready {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *Cacher) loop(ctx context.Context) {
	defer func() {
		c.mu.Lock()
		c.ready = false
		ws := c.takeWatchersLocked()
		c.notifyLocked()
		c.mu.Unlock()
		for _, w := range ws {
			close(w.input)
		}
	}()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if err := c.relist(ctx); err != nil {
			if ctx.Err() == nil {
				slog.Warn("watch cache list failed", "resource", c.cfg.GroupResource.String(), "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		c.watch(ctx)
	}
}

// relist replaces the cache with a fresh list from etcd. Every watcher is
// closed (its client re-watches, from a resourceVersion the new window may
// no longer hold).
func (c *Cacher) relist(ctx context.Context) error {
	prefix := c.cfg.Prefix + "/"
	end := clientv3.GetPrefixRangeEnd(prefix)
	objects := map[string]*CachedObject{}
	var keys []string
	var rev int64
	start := prefix
	for {
		ops := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(maxPageSize)}
		if rev != 0 {
			ops = append(ops, clientv3.WithRev(rev))
		}
		t := time.Now()
		resp, err := c.store.client.Get(ctx, start, ops...)
		observe("list", c.store.typ, t)
		if err != nil {
			return err
		}
		rev = resp.Header.Revision
		for _, kv := range resp.Kvs {
			obj, err := c.store.decode(kv.Key, kv.Value, kv.ModRevision)
			if err != nil {
				return err
			}
			objects[string(kv.Key)] = &CachedObject{Object: obj}
			keys = append(keys, string(kv.Key)) // etcd returns keys sorted
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	c.mu.Lock()
	c.objects, c.keys = objects, keys
	clear(c.window)
	c.wstart, c.wlen = 0, 0
	c.rev, c.oldest, c.ready = rev, rev, true
	c.evicted = false
	ws := c.takeWatchersLocked()
	c.gauge.Set(float64(len(objects)))
	c.notifyLocked()
	c.mu.Unlock()
	for _, w := range ws {
		close(w.input)
	}
	return nil
}

// watch follows etcd from the cache's revision until the watch is
// compacted away (the caller relists) or ctx ends. A broken watch is
// re-opened from where it stopped.
func (c *Cacher) watch(ctx context.Context) {
	tick := time.NewTicker(c.bookmarkEvery)
	defer tick.Stop()
	expire := time.NewTicker(c.expireEvery)
	defer expire.Stop()
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		c.mu.Lock()
		from := c.rev + 1
		c.wctx, c.wcancel = wctx, cancel
		c.mu.Unlock()
		wch := c.store.client.Watch(wctx, c.cfg.Prefix+"/", clientv3.WithPrefix(), clientv3.WithRev(from),
			clientv3.WithPrevKV(), clientv3.WithProgressNotify())
		compacted := c.follow(ctx, wch, tick.C, expire.C)
		cancel()
		if compacted {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// follow applies one etcd watch's responses; true means compacted.
// Expired events leave the window on expire's ticks (and whenever an event
// is added): after a mass deletion, nothing pins the deleted objects much
// past EventWindowTTL, even when no write follows.
func (c *Cacher) follow(ctx context.Context, wch clientv3.WatchChan, tick, expire <-chan time.Time) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-expire:
			c.mu.Lock()
			c.expireLocked(time.Now())
			c.mu.Unlock()
		case <-tick:
			c.mu.Lock()
			c.expireLocked(time.Now())
			c.mu.Unlock()
			c.mu.RLock()
			wctx := c.wctx
			rev := c.rev
			c.mu.RUnlock()
			_ = c.store.client.RequestProgress(wctx)
			c.dispatch([]*cacheEvent{{typ: watch.Bookmark, rev: rev, obj: c.cfg.bookmark(rev, false)}})
		case resp, ok := <-wch:
			if !ok {
				return false
			}
			if resp.CompactRevision != 0 {
				slog.Info("watch cache fell behind compaction, relisting", "resource", c.cfg.GroupResource.String(),
					"compacted", resp.CompactRevision)
				return true
			}
			if err := resp.Err(); err != nil {
				if isCompacted(err) {
					return true
				}
				slog.Warn("watch cache etcd watch failed", "resource", c.cfg.GroupResource.String(), "err", err)
				return false
			}
			if resp.IsProgressNotify() {
				c.mu.Lock()
				if resp.Header.Revision > c.rev {
					c.rev = resp.Header.Revision
					c.notifyLocked()
				}
				c.mu.Unlock()
				continue
			}
			if err := c.apply(resp.Events); err != nil {
				slog.Error("watch cache cannot apply an event, relisting", "resource", c.cfg.GroupResource.String(), "err", err)
				return true
			}
		}
	}
}

// cacheEvent is one change, decoded once and shared by every watcher.
type cacheEvent struct {
	typ watch.EventType // Added, Modified, Deleted or Bookmark
	key string
	rev int64
	obj runtime.Object // the new state; for Deleted the last state at rev
	at  time.Time      // when the cache applied it (window expiry)

	prevRaw  runtime.Object // Modified: the state before, at its own rev
	prevOnce sync.Once
	prev     runtime.Object // prevRaw at rev

	attrOnce, prevAttrOnce sync.Once
	l, pl                  labels.Set
	f, pf                  fields.Set
	aerr, paerr            error
}

// previous is the state before a Modified event, with the event's
// resourceVersion (as upstream reports an object leaving a selector).
func (e *cacheEvent) previous() runtime.Object {
	e.prevOnce.Do(func() {
		if e.prevRaw != nil {
			e.prev = withRV(e.prevRaw, e.rev)
		}
	})
	return e.prev
}

func (c *Cacher) apply(events []*clientv3.Event) error {
	if len(events) == 0 {
		return nil
	}
	evs := make([]*cacheEvent, 0, len(events))
	now := time.Now()
	c.mu.RLock()
	for _, e := range events {
		key := string(e.Kv.Key)
		ev := &cacheEvent{key: key, rev: e.Kv.ModRevision, at: now}
		var old runtime.Object
		if co := c.objects[key]; co != nil {
			old = co.Object
		}
		if old == nil && e.PrevKv != nil {
			var err error
			if old, err = c.store.decode(e.PrevKv.Key, e.PrevKv.Value, e.PrevKv.ModRevision); err != nil {
				c.mu.RUnlock()
				return err
			}
		}
		switch e.Type {
		case clientv3.EventTypeDelete:
			if old == nil {
				continue
			}
			ev.typ = watch.Deleted
			ev.obj = withRV(old, ev.rev)
		default:
			obj, err := c.store.decode(e.Kv.Key, e.Kv.Value, e.Kv.ModRevision)
			if err != nil {
				c.mu.RUnlock()
				return err
			}
			ev.obj = obj
			ev.typ = watch.Added
			if old != nil {
				ev.typ, ev.prevRaw = watch.Modified, old
			}
		}
		evs = append(evs, ev)
	}
	c.mu.RUnlock()

	c.mu.Lock()
	for _, ev := range evs {
		_, had := c.objects[ev.key]
		if ev.typ == watch.Deleted {
			delete(c.objects, ev.key)
			if i, ok := slices.BinarySearch(c.keys, ev.key); ok {
				c.keys = slices.Delete(c.keys, i, i+1)
			}
		} else {
			c.objects[ev.key] = &CachedObject{Object: ev.obj}
			if !had {
				i, _ := slices.BinarySearch(c.keys, ev.key)
				c.keys = slices.Insert(c.keys, i, ev.key)
			}
		}
		c.pushLocked(ev)
		c.rev = ev.rev
	}
	c.gauge.Set(float64(len(c.objects)))
	c.notifyLocked()
	c.mu.Unlock()
	c.dispatch(evs)
	return nil
}

// EventWindowTTL bounds how long an event stays in the window, besides its
// size (upstream keeps about 75 s): a burst of writes, a mass deletion
// above all, does not pin its objects in memory for long.
const EventWindowTTL = 75 * time.Second

// expireLocked drops events older than EventWindowTTL.
func (c *Cacher) expireLocked(now time.Time) {
	for c.wlen > 0 {
		front := c.window[c.wstart]
		if front.at.IsZero() || now.Sub(front.at) <= EventWindowTTL {
			return
		}
		c.window[c.wstart] = nil
		c.wstart = (c.wstart + 1) % len(c.window)
		c.wlen--
		c.oldest = front.rev
		c.evicted = true
	}
}

// withRV returns a shallow copy of obj with resourceVersion rev: the
// cache's objects are shared and never mutated, so the copy may share
// their maps and slices.
func withRV(obj runtime.Object, rev int64) runtime.Object {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		cp := obj.DeepCopyObject()
		_ = setRV(cp, rev)
		return cp
	}
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	out := cp.Interface().(runtime.Object)
	_ = setRV(out, rev)
	return out
}

// pushLocked appends ev to the event window, evicting the oldest.
func (c *Cacher) pushLocked(ev *cacheEvent) {
	c.expireLocked(ev.at)
	if c.wlen == len(c.window) && len(c.window) < c.windowSize {
		grown := make([]*cacheEvent, min(2*len(c.window), c.windowSize))
		for i := 0; i < c.wlen; i++ {
			grown[i] = c.window[(c.wstart+i)%len(c.window)]
		}
		c.window, c.wstart = grown, 0
	}
	if c.wlen == len(c.window) {
		evicted := c.window[c.wstart]
		c.window[c.wstart] = ev
		c.wstart = (c.wstart + 1) % len(c.window)
		c.oldest = evicted.rev
		c.evicted = true
		return
	}
	c.window[(c.wstart+c.wlen)%len(c.window)] = ev
	c.wlen++
}

// eventsAfterLocked returns the window's events newer than rev, in order.
func (c *Cacher) eventsAfterLocked(rev int64) []*cacheEvent {
	at := func(i int) *cacheEvent { return c.window[(c.wstart+i)%len(c.window)] }
	i := sort.Search(c.wlen, func(i int) bool { return at(i).rev > rev })
	out := make([]*cacheEvent, 0, c.wlen-i)
	for ; i < c.wlen; i++ {
		out = append(out, at(i))
	}
	return out
}

// notifyLocked wakes everyone waiting for a newer revision.
func (c *Cacher) notifyLocked() {
	close(c.revCh)
	c.revCh = make(chan struct{})
}

// takeWatchersLocked removes every watcher; the caller closes their input.
func (c *Cacher) takeWatchersLocked() []*cacheWatcher {
	ws := make([]*cacheWatcher, 0, len(c.watchers))
	for w := range c.watchers {
		ws = append(ws, w)
	}
	clear(c.watchers)
	c.wlist = nil
	return ws
}

// dispatch hands events to the watchers, in order. Only the loop goroutine
// calls it, so it alone closes watchers' inputs (besides relist and
// shutdown, on the same goroutine). A watcher whose buffer stays full is
// closed: its client re-watches from the last resourceVersion it saw.
func (c *Cacher) dispatch(evs []*cacheEvent) {
	c.mu.Lock()
	if c.wlist == nil {
		c.wlist = make([]*cacheWatcher, 0, len(c.watchers))
		for w := range c.watchers {
			c.wlist = append(c.wlist, w)
		}
	}
	ws := c.wlist
	c.mu.Unlock()
	if len(ws) == 0 {
		return
	}
	var budget *time.Timer
	var expired bool
	var blocked []*cacheWatcher
	for _, ev := range evs {
		blocked = blocked[:0]
		for _, w := range ws {
			if w.dropped || ev.rev <= w.startRev || !w.wants(ev) {
				continue
			}
			select {
			case w.input <- ev:
			case <-w.done:
			default:
				blocked = append(blocked, w)
			}
		}
		for _, w := range blocked {
			if !expired {
				if budget == nil {
					budget = time.NewTimer(dispatchBudget)
					defer budget.Stop()
				}
				select {
				case w.input <- ev:
					continue
				case <-w.done:
					continue
				case <-budget.C:
					expired = true
				}
			}
			c.drop(w)
		}
	}
}

// drop closes a watcher that fell behind.
func (c *Cacher) drop(w *cacheWatcher) {
	w.dropped = true
	c.mu.Lock()
	if _, ok := c.watchers[w]; ok {
		delete(c.watchers, w)
		c.wlist = nil
	}
	c.mu.Unlock()
	close(w.input)
}

// waitFresh waits until the cache is ready and at revision rev or newer,
// asking etcd for a progress notification so an idle resource catches up.
func (c *Cacher) waitFresh(ctx context.Context, rev int64) bool {
	timeout := time.NewTimer(freshTimeout)
	defer timeout.Stop()
	asked := false
	for {
		c.mu.RLock()
		ok := c.ready && c.rev >= rev
		ready, ch, wctx := c.ready, c.revCh, c.wctx
		c.mu.RUnlock()
		if ok {
			return true
		}
		if ready && !asked && wctx != nil {
			asked = true
			_ = c.store.client.RequestProgress(wctx)
		}
		select {
		case <-ch:
		case <-time.After(250 * time.Millisecond):
			asked = false // ask again: a progress request can race the watch's start
		case <-timeout.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// Create implements Interface (in etcd).
func (c *Cacher) Create(ctx context.Context, key string, obj, out runtime.Object) error {
	return c.store.Create(ctx, key, obj, out)
}

// GuaranteedUpdate implements Interface (in etcd).
func (c *Cacher) GuaranteedUpdate(ctx context.Context, key string, out runtime.Object, ignoreNotFound bool,
	preconditions *Preconditions, tryUpdate UpdateFunc) error {
	return c.store.GuaranteedUpdate(ctx, key, out, ignoreNotFound, preconditions, tryUpdate)
}

// Delete implements Interface (in etcd).
func (c *Cacher) Delete(ctx context.Context, key string, out runtime.Object, preconditions *Preconditions,
	validateDeletion ValidateObjectFunc) error {
	return c.store.Delete(ctx, key, out, preconditions, validateDeletion)
}

// Get implements Interface: resourceVersion "0" from memory (a private
// copy), anything else from etcd.
func (c *Cacher) Get(ctx context.Context, key string, opts GetOptions, out runtime.Object) error {
	if opts.ResourceVersion != "0" {
		return c.store.Get(ctx, key, opts, out)
	}
	c.mu.RLock()
	ready := c.ready
	co := c.objects[key]
	c.mu.RUnlock()
	if !ready {
		return c.store.Get(ctx, key, opts, out)
	}
	if co == nil {
		if opts.IgnoreNotFound {
			return zero(out)
		}
		return apierrors.NewNotFound(c.cfg.GroupResource, nameOf(key))
	}
	v, err := conversion.EnforcePtr(out)
	if err != nil {
		return err
	}
	src := reflect.ValueOf(co.Object.DeepCopyObject()).Elem()
	if src.Type() != v.Type() {
		return fmt.Errorf("get %s: cannot store %s into %s", c.cfg.GroupResource, src.Type(), v.Type())
	}
	v.Set(src)
	return nil
}

// GetList implements Interface. Served from memory: resourceVersion "0"
// (any limit is ignored, as upstream), "" once the cache has caught up with
// etcd's current revision, and "N" (not older than) once it has reached N.
// Exact reads, continued lists and other paged lists go to etcd, as does
// everything while the cache is not ready or cannot catch up in time.
func (c *Cacher) GetList(ctx context.Context, key string, opts ListOptions, listObj runtime.Object) error {
	cl, err := c.listFromMemory(ctx, key, opts)
	if err != nil {
		return err
	}
	if cl == nil {
		return c.store.GetList(ctx, key, opts, listObj)
	}
	listPtr, err := meta.GetItemsPtr(listObj)
	if err != nil {
		return err
	}
	listVal, err := conversion.EnforcePtr(listPtr)
	if err != nil || listVal.Kind() != reflect.Slice {
		return fmt.Errorf("list %s: need a pointer to a slice, got %T", c.cfg.GroupResource, listPtr)
	}
	items := reflect.MakeSlice(listVal.Type(), 0, len(cl.Items))
	for _, co := range cl.Items {
		items = reflect.Append(items, reflect.ValueOf(co.Object).Elem())
	}
	listVal.Set(items)
	lm, err := meta.ListAccessor(listObj)
	if err != nil {
		return err
	}
	lm.SetResourceVersion(cl.ResourceVersion)
	lm.SetContinue("")
	lm.SetRemainingItemCount(nil)
	return nil
}

// ListCached implements CachedLister.
func (c *Cacher) ListCached(ctx context.Context, key string, opts ListOptions, listObj runtime.Object) (*CachedList, error) {
	cl, err := c.listFromMemory(ctx, key, opts)
	if err != nil || cl != nil {
		return cl, err
	}
	return nil, c.store.GetList(ctx, key, opts, listObj)
}

// listFromMemory is the list GetList serves from memory, or nil when it
// must go to etcd.
func (c *Cacher) listFromMemory(ctx context.Context, key string, opts ListOptions) (*CachedList, error) {
	pred := opts.Predicate
	if pred.Continue != "" || opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact ||
		(pred.Limit > 0 && opts.ResourceVersion != "0") {
		return nil, nil
	}
	minRev, err := ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	if opts.ResourceVersion == "" {
		if minRev, err = c.store.CurrentRevision(ctx); err != nil {
			return nil, err
		}
	}
	if !c.waitFresh(ctx, minRev) {
		return nil, nil
	}
	attrs := c.cfg.attrFunc(&pred)
	everything := pred.Empty()

	c.mu.RLock()
	rev := c.rev
	objs := c.rangeLocked(key)
	c.mu.RUnlock()

	items := objs
	if !everything {
		items = make([]*CachedObject, 0, len(objs))
		for _, co := range objs {
			l, f, err := attrs(co.Object)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", c.cfg.GroupResource, err)
			}
			if pred.matchAttrs(l, f) {
				items = append(items, co)
			}
		}
	}
	return &CachedList{ResourceVersion: strconv.FormatInt(rev, 10), Items: items}, nil
}

// rangeLocked returns the objects at key (an object key) or below it (a
// key ending in "/"), in key order.
func (c *Cacher) rangeLocked(key string) []*CachedObject {
	if !strings.HasSuffix(key, "/") {
		if co := c.objects[key]; co != nil {
			return []*CachedObject{co}
		}
		return nil
	}
	i, _ := slices.BinarySearch(c.keys, key)
	j := i
	for j < len(c.keys) && strings.HasPrefix(c.keys[j], key) {
		j++
	}
	out := make([]*CachedObject, j-i)
	for n, k := range c.keys[i:j] {
		out[n] = c.objects[k]
	}
	return out
}

// Stats implements Interface from memory.
func (c *Cacher) Stats(ctx context.Context) (Stats, error) {
	c.mu.RLock()
	ready, n := c.ready, len(c.objects)
	c.mu.RUnlock()
	if !ready {
		return c.store.Stats(ctx)
	}
	return Stats{ObjectCount: int64(n)}, nil
}
