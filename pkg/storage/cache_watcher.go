package storage

import (
	"context"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/watch"
)

// Watch implements Interface from the cache. It waits (up to ~3 s) for the
// cache to reach the revision the request needs and falls back to a
// direct etcd watch when the cache is not ready or cannot catch up, or
// when the resourceVersion predates the cache's start. A resourceVersion
// older than what the event window still holds gets a 410 ERROR event.
func (c *Cacher) Watch(ctx context.Context, key string, opts ListOptions) (watch.Interface, error) {
	rv, err := ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	initial := wantsInitialEvents(opts)
	need := rv
	if opts.ResourceVersion == "" {
		// Consistent: start from at least etcd's current revision.
		if need, err = c.store.CurrentRevision(ctx); err != nil {
			return nil, err
		}
	}
	if !c.waitFresh(ctx, need) {
		return c.store.Watch(ctx, key, opts)
	}
	w := &cacheWatcher{
		c: c, key: key, prefix: strings.HasSuffix(key, "/"),
		pred: opts.Predicate, everything: opts.Predicate.Empty(), bookmarks: opts.AllowWatchBookmarks,
		input:  make(chan *cacheEvent, c.bufSize),
		result: make(chan watch.Event, resultBuffer),
		done:   make(chan struct{}),
	}
	w.custom = opts.Predicate.GetAttrs != nil
	w.attrs = c.cfg.attrFunc(&w.pred)

	c.mu.Lock()
	if !c.ready {
		c.mu.Unlock()
		return c.store.Watch(ctx, key, opts)
	}
	switch {
	case initial:
		w.initialObjs = c.rangeLocked(key)
		w.endBookmark = opts.SendInitialEvents != nil && *opts.SendInitialEvents && opts.AllowWatchBookmarks
	case rv != 0:
		if rv < c.oldest && !c.evicted {
			// The cache started (an apiserver restart, a relist) after rv:
			// etcd still has that history unless it was compacted, so a
			// client resuming across a restart misses nothing.
			c.mu.Unlock()
			return c.store.Watch(ctx, key, opts)
		}
		if rv < c.oldest {
			oldest := c.oldest
			c.mu.Unlock()
			return newErrWatcher(NewTooOldResourceVersion(rv, oldest)), nil
		}
		w.initialEvents = c.eventsAfterLocked(rv)
	}
	w.startRev = c.rev
	c.watchers[w] = struct{}{}
	c.wlist = nil
	c.mu.Unlock()
	go w.run(ctx)
	return w, nil
}

// cacheWatcher is one client's watch on the cache. The dispatcher puts
// shared events into input; the watcher's goroutine filters them with its
// predicate and hands them to the client through result.
type cacheWatcher struct {
	c          *Cacher
	key        string
	prefix     bool
	pred       Predicate
	attrs      AttrFunc
	custom     bool // the predicate brings its own GetAttrs
	everything bool
	bookmarks  bool

	startRev      int64
	initialObjs   []*CachedObject
	initialEvents []*cacheEvent
	endBookmark   bool

	input    chan *cacheEvent
	result   chan watch.Event
	done     chan struct{}
	stopOnce sync.Once
	dropped  bool // dispatcher goroutine only
}

// ResultChan implements watch.Interface.
func (w *cacheWatcher) ResultChan() <-chan watch.Event { return w.result }

// Stop implements watch.Interface.
func (w *cacheWatcher) Stop() {
	w.stopOnce.Do(func() {
		close(w.done)
		w.c.mu.Lock()
		if _, ok := w.c.watchers[w]; ok {
			delete(w.c.watchers, w)
			w.c.wlist = nil
		}
		w.c.mu.Unlock()
	})
}

func (w *cacheWatcher) keyMatches(key string) bool {
	if w.prefix {
		return strings.HasPrefix(key, w.key)
	}
	return key == w.key
}

// wants reports whether ev concerns this watcher at all (before the
// predicate).
func (w *cacheWatcher) wants(ev *cacheEvent) bool {
	if ev.typ == watch.Bookmark {
		return w.bookmarks
	}
	return w.keyMatches(ev.key)
}

func (w *cacheWatcher) send(ctx context.Context, ev watch.Event) bool {
	select {
	case w.result <- ev:
		return true
	case <-w.done:
	case <-ctx.Done():
	}
	return false
}

func (w *cacheWatcher) run(ctx context.Context) {
	defer close(w.result)
	defer w.Stop()
	for _, co := range w.initialObjs {
		obj := co.Object
		if ok, err := w.pred.Matches(obj, w.attrs); err == nil && ok {
			if !w.send(ctx, watch.Event{Type: watch.Added, Object: obj}) {
				return
			}
		}
	}
	w.initialObjs = nil
	for _, ev := range w.initialEvents {
		if !w.deliver(ctx, ev) {
			return
		}
	}
	w.initialEvents = nil
	if w.endBookmark && !w.send(ctx, watch.Event{Type: watch.Bookmark, Object: w.c.cfg.bookmark(w.startRev, true)}) {
		return
	}
	for {
		select {
		case ev, ok := <-w.input:
			if !ok {
				return
			}
			if !w.deliver(ctx, ev) {
				return
			}
		case <-w.done:
			return
		case <-ctx.Done():
			return
		}
	}
}

// deliver sends what ev means to this watcher; false when the watch ended.
func (w *cacheWatcher) deliver(ctx context.Context, ev *cacheEvent) bool {
	if !w.wants(ev) {
		return true
	}
	if ev.typ == watch.Bookmark {
		return w.send(ctx, watch.Event{Type: watch.Bookmark, Object: ev.obj})
	}
	var out watch.Event
	var ok bool
	if ev.typ == watch.Modified && !w.everything {
		curOK, prevOK := w.matchCur(ev), w.matchPrev(ev)
		switch {
		case curOK && prevOK:
			out, ok = watch.Event{Type: watch.Modified, Object: ev.obj}, true
		case curOK:
			out, ok = watch.Event{Type: watch.Added, Object: ev.obj}, true
		case prevOK:
			out, ok = watch.Event{Type: watch.Deleted, Object: ev.previous()}, true
		}
	} else if w.everything || w.matchCur(ev) {
		out, ok = watch.Event{Type: ev.typ, Object: ev.obj}, true
	}
	if !ok {
		return true
	}
	return w.send(ctx, out)
}

// matchCur matches ev.obj, sharing its attributes among watchers that
// use the resource's attribute function.
func (w *cacheWatcher) matchCur(ev *cacheEvent) bool {
	if w.custom {
		ok, err := w.pred.Matches(ev.obj, w.attrs)
		return err == nil && ok
	}
	ev.attrOnce.Do(func() { ev.l, ev.f, ev.aerr = w.c.attrs(ev.obj) })
	return ev.aerr == nil && w.pred.matchAttrs(ev.l, ev.f)
}

func (w *cacheWatcher) matchPrev(ev *cacheEvent) bool {
	if ev.prevRaw == nil {
		return false
	}
	if w.custom {
		ok, err := w.pred.Matches(ev.prevRaw, w.attrs)
		return err == nil && ok
	}
	ev.prevAttrOnce.Do(func() { ev.pl, ev.pf, ev.paerr = w.c.attrs(ev.prevRaw) })
	return ev.paerr == nil && w.pred.matchAttrs(ev.pl, ev.pf)
}

// errWatcher delivers one ERROR event and closes.
type errWatcher struct{ ch chan watch.Event }

func newErrWatcher(err error) *errWatcher {
	ch := make(chan watch.Event, 1)
	ch <- errorEvent(err)
	close(ch)
	return &errWatcher{ch: ch}
}

// ResultChan implements watch.Interface.
func (w *errWatcher) ResultChan() <-chan watch.Event { return w.ch }

// Stop implements watch.Interface.
func (w *errWatcher) Stop() {}
