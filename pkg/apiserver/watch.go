package apiserver

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// minRequestTimeout is upstream's default --min-request-timeout: a watch
// without timeoutSeconds lasts a random time between it and twice it, so
// clients spread their re-watches.
const minRequestTimeout = 1800 * time.Second

// watch streams events: newline-delimited JSON WatchEvents, or
// length-prefixed protobuf frames (application/vnd.kubernetes.protobuf;
// stream=watch), each carrying the object in the negotiated form.
func (s *Server) watch(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) {
	choice, err := negotiateOutput(r, true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	opts, err := s.listOptions(r, rs, info)
	if err != nil {
		writeError(w, r, err)
		return
	}
	timeout := minRequestTimeout + time.Duration(rand.Int64N(int64(minRequestTimeout)))
	if v := r.URL.Query().Get("timeoutSeconds"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			timeout = time.Duration(n) * time.Second
		}
	}
	ctx := r.Context()
	wi, err := rs.storage.Watch(ctx, rs.cfg.ListKey(info.Namespace), opts)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer wi.Stop()
	s.metrics.longRunning.WithLabelValues("WATCH", rs.res.Resource).Inc()
	defer s.metrics.longRunning.WithLabelValues("WATCH", rs.res.Resource).Dec()

	stream := choice.info.StreamSerializer
	if stream == nil {
		stream = jsonInfo.StreamSerializer
		choice.info = jsonInfo
	}
	ct := choice.info.MediaType
	if choice.info.MediaType == runtime.ContentTypeProtobuf {
		ct += ";stream=watch"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	frameWriter := stream.Framer.NewFrameWriter(w)
	embedded := choice.info.Serializer
	outer := stream.Serializer

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var buf, ebuf bytes.Buffer
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return
			}
			obj, err := s.watchObject(r, rs, choice, ev, first)
			if err != nil {
				obj = toStatus(err)
				ev.Type = watch.Error
			}
			if ev.Type != watch.Error && ev.Type != watch.Bookmark {
				first = false
			}
			var raw []byte
			cacheable := choice.kind == outputObject && !rs.converts() &&
				(ev.Type == watch.Added || ev.Type == watch.Modified || ev.Type == watch.Deleted)
			key := encodeKey{obj: ev.Object, mediaType: choice.info.MediaType}
			if cacheable {
				raw = s.watchEncodings.get(key)
			}
			if raw == nil {
				ebuf.Reset()
				if err := embedded.Encode(obj, &ebuf); err != nil {
					return
				}
				raw = ebuf.Bytes()
				if cacheable {
					raw = append([]byte(nil), raw...)
					s.watchEncodings.put(key, raw)
				}
			}
			we := &metav1.WatchEvent{Type: string(ev.Type), Object: runtime.RawExtension{Raw: raw}}
			buf.Reset()
			if err := outer.Encode(we, &buf); err != nil {
				return
			}
			if _, err := frameWriter.Write(buf.Bytes()); err != nil {
				return
			}
			if len(wi.ResultChan()) == 0 && flusher != nil {
				flusher.Flush()
			}
		}
	}
}

// watchObject renders one event's object in the negotiated form.
func (s *Server) watchObject(r *http.Request, rs *resourceStore, choice mediaChoice, ev watch.Event, first bool) (runtime.Object, error) {
	if ev.Type == watch.Error {
		if st, ok := ev.Object.(*metav1.Status); ok {
			cp := *st
			cp.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}
			return &cp, nil
		}
		return ev.Object, nil
	}
	obj, err := rs.fromStorage(ev.Object)
	if err != nil {
		return nil, err
	}
	switch choice.kind {
	case outputTable:
		if ev.Type == watch.Bookmark {
			acc, _ := meta.Accessor(obj)
			t := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"}}
			if acc != nil {
				t.ResourceVersion = acc.GetResourceVersion()
			}
			return t, nil
		}
		t, err := s.toTable(r, rs, obj)
		if err != nil {
			return nil, err
		}
		if !first {
			t.ColumnDefinitions = nil
		}
		return t, nil
	case outputPartialObjectMetadata, outputPartialObjectMetadataList:
		return toPartialObjectMetadata(obj, rs.servedGVK)
	}
	return withKind(obj, rs.servedGVK), nil
}

// encodeKey names one object's encoding: watch caches hand every watcher
// the same object pointer for an event, so the first watcher's encoding
// serves the others.
type encodeKey struct {
	obj       runtime.Object
	mediaType string
}

// encodingCache keeps the encodings of the most recent watch events
// (bounded, first in first out), so fan-out to many watchers encodes each
// event once per media type instead of once per watcher.
type encodingCache struct {
	mu      sync.Mutex
	entries map[encodeKey][]byte
	order   []encodeKey
	next    int
}

const encodingCacheSize = 1024

func (c *encodingCache) get(k encodeKey) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[k]
}

func (c *encodingCache) put(k encodeKey, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[encodeKey][]byte, encodingCacheSize)
		c.order = make([]encodeKey, encodingCacheSize)
	}
	if _, ok := c.entries[k]; ok {
		return
	}
	if old := c.order[c.next]; old.obj != nil {
		delete(c.entries, old)
	}
	c.order[c.next] = k
	c.next = (c.next + 1) % encodingCacheSize
	c.entries[k] = b
}
