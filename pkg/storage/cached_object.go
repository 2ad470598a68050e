package storage

import (
	"context"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/runtime"
)

// Encoding names one serialization of a cached object (see
// CachedObject.Encoded). The values are indexes, not media types: the
// storage layer does not know how the API encodes.
type Encoding int

// The encodings a CachedObject can keep.
const (
	EncodingJSON Encoding = iota
	EncodingProtobuf
	numEncodings
)

// CachedObject is an object in the watch cache together with its
// serializations, each made the first time it is asked for and kept as long
// as the cache holds this object. Cached objects are never mutated (a change
// replaces the object, and with it the encodings), so an encoding stays
// valid for the object's life. Upstream's watch cache does the same
// ("cachingObject"): a LIST or a watch fan-out encodes each object once.
type CachedObject struct {
	Object runtime.Object
	enc    [numEncodings]atomic.Pointer[[]byte]
}

// Encoded returns the object's encoding e, made with encode on first use.
// encode must be deterministic (two racing callers may both run it and
// either result is kept) and must not modify the object. The returned
// bytes are shared: callers must not modify them.
func (o *CachedObject) Encoded(e Encoding, encode func(runtime.Object) ([]byte, error)) ([]byte, error) {
	if p := o.enc[e].Load(); p != nil {
		return *p, nil
	}
	b, err := encode(o.Object)
	if err != nil {
		return nil, err
	}
	o.enc[e].Store(&b)
	return b, nil
}

// CachedList is a list served from the watch cache: the matching objects in
// key order and the revision the cache was at.
type CachedList struct {
	ResourceVersion string
	Items           []*CachedObject
}

// CachedLister is implemented by storage that can serve a LIST from memory
// with the items' cached encodings (the Cacher).
type CachedLister interface {
	// ListCached answers the list GetList would serve from memory. When
	// the request needs etcd instead (a paged or exact list, a cache that
	// is not ready or behind), it fills listObj as GetList does and
	// returns nil.
	ListCached(ctx context.Context, key string, opts ListOptions, listObj runtime.Object) (*CachedList, error)
}
