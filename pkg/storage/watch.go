package storage

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// InitialEventsAnnotation marks the bookmark that ends a watch's initial
// events (SendInitialEvents=true).
const InitialEventsAnnotation = metav1.InitialEventsAnnotationKey

// resultBuffer is the size of a watch's result channel.
const resultBuffer = 100

// wantsInitialEvents reports whether a watch starts with the current objects
// as ADDED events.
func wantsInitialEvents(opts ListOptions) bool {
	if opts.SendInitialEvents != nil {
		return *opts.SendInitialEvents
	}
	return opts.ResourceVersion == "" || opts.ResourceVersion == "0"
}

// errorEvent is a watch ERROR event carrying err as a *metav1.Status.
func errorEvent(err error) watch.Event {
	if se, ok := err.(apierrors.APIStatus); ok {
		st := se.Status()
		return watch.Event{Type: watch.Error, Object: &st}
	}
	st := apierrors.NewInternalError(err).Status()
	return watch.Event{Type: watch.Error, Object: &st}
}

// bookmark returns an empty object of the kind carrying only rev (and the
// initial-events-end annotation when end is set).
func (c *Config) bookmark(rev int64, end bool) runtime.Object {
	obj := c.NewFunc()
	_ = setRV(obj, rev)
	if end {
		if m, err := meta.Accessor(obj); err == nil {
			m.SetAnnotations(map[string]string{InitialEventsAnnotation: "true"})
		}
	}
	return obj
}

// etcdWatcher streams one etcd watch as API watch events.
type etcdWatcher struct {
	s      *Store
	key    string
	prefix bool
	opts   ListOptions
	attrs  AttrFunc
	ctx    context.Context
	cancel context.CancelFunc
	result chan watch.Event
	once   sync.Once
}

// Watch implements Interface straight on etcd, one etcd watch per call.
// The Cacher uses it for nothing; it serves clients when there is no cache
// or the cache cannot.
func (s *Store) Watch(ctx context.Context, key string, opts ListOptions) (watch.Interface, error) {
	if _, err := ParseResourceVersion(opts.ResourceVersion); err != nil {
		return nil, err
	}
	// A watch "from now" starts at the revision current when Watch is
	// called, not when its goroutine gets to it: a change made right
	// after Watch returns must be seen.
	if rv, _ := ParseResourceVersion(opts.ResourceVersion); rv == 0 && !wantsInitialEvents(opts) {
		cur, err := s.CurrentRevision(ctx)
		if err != nil {
			return nil, err
		}
		opts.ResourceVersion = strconv.FormatInt(cur, 10)
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	w := &etcdWatcher{
		s: s, key: key, prefix: strings.HasSuffix(key, "/"), opts: opts,
		attrs: s.cfg.attrFunc(&opts.Predicate),
		ctx:   wctx, cancel: cancel, result: make(chan watch.Event, resultBuffer),
	}
	go w.run()
	return w, nil
}

// Stop implements watch.Interface.
func (w *etcdWatcher) Stop() { w.once.Do(w.cancel) }

// ResultChan implements watch.Interface.
func (w *etcdWatcher) ResultChan() <-chan watch.Event { return w.result }

func (w *etcdWatcher) send(ev watch.Event) bool {
	select {
	case w.result <- ev:
		return true
	case <-w.ctx.Done():
		return false
	}
}

func (w *etcdWatcher) matches(obj runtime.Object) bool {
	ok, err := w.opts.Predicate.Matches(obj, w.attrs)
	return err == nil && ok
}

func (w *etcdWatcher) run() {
	defer close(w.result)
	defer w.cancel()
	startRev, err := w.start()
	if err != nil {
		w.send(errorEvent(err))
		return
	}
	ops := []clientv3.OpOption{clientv3.WithRev(startRev + 1), clientv3.WithPrevKV(), clientv3.WithProgressNotify()}
	if w.prefix {
		ops = append(ops, clientv3.WithPrefix())
	}
	for resp := range w.s.client.Watch(w.ctx, w.key, ops...) {
		if resp.CompactRevision != 0 {
			w.send(errorEvent(NewTooOldResourceVersion(startRev, resp.CompactRevision)))
			return
		}
		if err := resp.Err(); err != nil {
			w.send(errorEvent(interpretError(w.s.cfg.GroupResource, w.key, startRev, err)))
			return
		}
		if resp.IsProgressNotify() {
			if w.opts.AllowWatchBookmarks && !w.send(watch.Event{Type: watch.Bookmark,
				Object: w.s.cfg.bookmark(resp.Header.Revision, false)}) {
				return
			}
			continue
		}
		for _, e := range resp.Events {
			ev, ok, err := w.transform(e)
			if err != nil {
				w.send(errorEvent(err))
				return
			}
			if ok && !w.send(ev) {
				return
			}
		}
	}
	if w.ctx.Err() == nil {
		w.send(errorEvent(apierrors.NewInternalError(errWatchClosed)))
	}
}

var errWatchClosed = &watchClosedError{}

type watchClosedError struct{}

func (*watchClosedError) Error() string { return "etcd watch closed" }

// start sends the initial events the options ask for and returns the
// revision the watch continues after.
func (w *etcdWatcher) start() (int64, error) {
	rv, _ := ParseResourceVersion(w.opts.ResourceVersion)
	if !wantsInitialEvents(w.opts) {
		if rv != 0 {
			return rv, nil
		}
		return w.s.CurrentRevision(w.ctx)
	}
	ops := []clientv3.OpOption{}
	if w.prefix {
		ops = append(ops, clientv3.WithPrefix())
	}
	start := time.Now()
	resp, err := w.s.client.Get(w.ctx, w.key, ops...)
	observe("list", w.s.typ, start)
	if err != nil {
		return 0, interpretError(w.s.cfg.GroupResource, w.key, 0, err)
	}
	if rv > resp.Header.Revision {
		return 0, NewTooLargeResourceVersion(rv, resp.Header.Revision)
	}
	for _, kv := range resp.Kvs {
		obj, err := w.s.decode(kv.Key, kv.Value, kv.ModRevision)
		if err != nil {
			return 0, err
		}
		if w.matches(obj) && !w.send(watch.Event{Type: watch.Added, Object: obj}) {
			return 0, w.ctx.Err()
		}
	}
	if w.opts.SendInitialEvents != nil && *w.opts.SendInitialEvents && w.opts.AllowWatchBookmarks {
		if !w.send(watch.Event{Type: watch.Bookmark, Object: w.s.cfg.bookmark(resp.Header.Revision, true)}) {
			return 0, w.ctx.Err()
		}
	}
	return resp.Header.Revision, nil
}

// transform turns an etcd event into the API event this watcher sees
// (ok false: none), applying the predicate as upstream: an object that
// stops matching is DELETED, one that starts matching is ADDED.
func (w *etcdWatcher) transform(e *clientv3.Event) (watch.Event, bool, error) {
	var cur, prev runtime.Object
	var err error
	rev := e.Kv.ModRevision
	if e.Type == clientv3.EventTypePut {
		if cur, err = w.s.decode(e.Kv.Key, e.Kv.Value, rev); err != nil {
			return watch.Event{}, false, err
		}
	}
	needPrev := e.Type == clientv3.EventTypeDelete || (!e.IsCreate() && !w.opts.Predicate.Empty())
	if e.PrevKv != nil && needPrev {
		// The previous state is reported at the revision of this change.
		if prev, err = w.s.decode(e.PrevKv.Key, e.PrevKv.Value, rev); err != nil {
			return watch.Event{}, false, err
		}
	}
	typ := watch.Modified
	switch {
	case e.Type == clientv3.EventTypeDelete:
		typ = watch.Deleted
		if prev == nil {
			return watch.Event{}, false, nil
		}
	case e.IsCreate():
		typ = watch.Added
	}
	ev, ok := convertEvent(typ, cur, prev, w.opts.Predicate.Empty(), w.matches)
	return ev, ok, nil
}

// convertEvent maps a change of type typ (cur: the new state, nil for a
// delete; prev: the state before, at the change's revision, may be nil
// when everything is set) to the event a watcher with the given predicate
// sees.
func convertEvent(typ watch.EventType, cur, prev runtime.Object, everything bool, matches func(runtime.Object) bool) (watch.Event, bool) {
	switch typ {
	case watch.Added:
		if everything || matches(cur) {
			return watch.Event{Type: watch.Added, Object: cur}, true
		}
	case watch.Deleted:
		if everything || matches(prev) {
			return watch.Event{Type: watch.Deleted, Object: prev}, true
		}
	case watch.Modified:
		if everything {
			return watch.Event{Type: watch.Modified, Object: cur}, true
		}
		curOK := matches(cur)
		prevOK := prev != nil && matches(prev)
		switch {
		case curOK && prevOK:
			return watch.Event{Type: watch.Modified, Object: cur}, true
		case curOK:
			return watch.Event{Type: watch.Added, Object: cur}, true
		case prevOK:
			return watch.Event{Type: watch.Deleted, Object: prev}, true
		}
	}
	return watch.Event{}, false
}
