// Package storage keeps API objects in etcd: one Store per resource, each
// object at <prefix>/<namespace>/<name> (or <prefix>/<name> for cluster-scoped
// kinds), encoded as protobuf. metadata.resourceVersion is the etcd
// ModRevision of the key; a list's resourceVersion is the revision it was read
// at. A Cacher in front of a Store keeps the resource in memory, fed by one
// etcd watch, and serves LIST and WATCH from there.
//
// Errors are *apierrors.StatusError values built with the store's
// GroupResource (NotFound, AlreadyExists, Conflict, Gone / Expired for a
// compacted revision, TooManyRequests/Timeout where etcd says so), so the
// REST layer returns them as they are.
package storage

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// Interface is what the REST layer calls. Keys are whole etcd keys below the
// server's --etcd-prefix, as built by Config.ObjectKey and Config.ListKey.
type Interface interface {
	// Create stores obj at key, failing with AlreadyExists when the key
	// exists. out (may be obj) receives the stored object with its
	// resourceVersion set.
	Create(ctx context.Context, key string, obj, out runtime.Object) error

	// Get reads the object at key into out. opts.ResourceVersion "" is a
	// consistent (quorum) read; "0" allows any cached state; "N" means at
	// least as new as N. NotFound unless opts.IgnoreNotFound, which leaves
	// out zero-valued.
	Get(ctx context.Context, key string, opts GetOptions, out runtime.Object) error

	// GetList fills listObj (a *XxxList) with the objects below key (a
	// ListKey) that match opts.Predicate, and sets the list's
	// resourceVersion and, when paging, continue and remainingItemCount.
	GetList(ctx context.Context, key string, opts ListOptions, listObj runtime.Object) error

	// GuaranteedUpdate reads the object at key, calls tryUpdate with a
	// private copy and writes what it returns if the stored revision is
	// still the one read, retrying on a concurrent change. tryUpdate may
	// return an error (returned as is, nothing written). When tryUpdate
	// returns an object that encodes to the same bytes, nothing is written
	// and out gets the existing object (its resourceVersion unchanged).
	// With ignoreNotFound a missing key calls tryUpdate with a zero object
	// (from NewFunc) and creates. preconditions are checked on every try.
	GuaranteedUpdate(ctx context.Context, key string, out runtime.Object, ignoreNotFound bool,
		preconditions *Preconditions, tryUpdate UpdateFunc) error

	// Delete removes the object at key after checking preconditions and
	// validateDeletion (called with the current object, may be called again
	// after a conflict); out receives the last stored state.
	Delete(ctx context.Context, key string, out runtime.Object, preconditions *Preconditions,
		validateDeletion ValidateObjectFunc) error

	// Watch streams changes below key (an ObjectKey watches one object, a
	// ListKey all of them). See ListOptions for the resourceVersion rules.
	// Events carry objects of the resource's kind; an ERROR event carries a
	// *metav1.Status (410 Expired for a compacted revision). BOOKMARK events
	// carry an empty object of the kind with only resourceVersion set (and
	// the annotation "k8s.io/initial-events-end": "true" at the end of
	// initial events).
	Watch(ctx context.Context, key string, opts ListOptions) (watch.Interface, error)

	// Stats reports how many objects the store holds (for
	// apiserver_storage_objects); the Cacher answers from memory.
	Stats(ctx context.Context) (Stats, error)
}

// UpdateFunc computes the new state from a private copy of the current one.
type UpdateFunc func(existing runtime.Object) (runtime.Object, error)

// ValidateObjectFunc checks an object before a write or delete.
type ValidateObjectFunc func(ctx context.Context, obj runtime.Object) error

// GetOptions for Get.
type GetOptions struct {
	ResourceVersion string
	IgnoreNotFound  bool
}

// ListOptions for GetList and Watch.
//
// GetList: ResourceVersion "" (consistent: the newest state), "0" (any:
// the cache may answer), "N" with ResourceVersionMatch NotOlderThan (the
// default) or Exact (the state at exactly N, 410 Expired if compacted).
// Limit>0 pages; Continue resumes from a token this store issued (410
// Expired when its revision has been compacted).
//
// Watch: ResourceVersion "" or "0" without SendInitialEvents starts with
// synthetic ADDED events for every current object (as upstream: "0" from the
// cache, "" from a consistent read), then changes. "N" delivers every change
// after N in order; N older than the oldest revision still held is 410
// Expired ("too old resource version"). SendInitialEvents=true sends the
// current objects as ADDED, then, with AllowWatchBookmarks, a BOOKMARK
// annotated "k8s.io/initial-events-end".
type ListOptions struct {
	ResourceVersion      string
	ResourceVersionMatch metav1.ResourceVersionMatch
	Predicate            Predicate
	SendInitialEvents    *bool
	AllowWatchBookmarks  bool
}

// Predicate selects objects by labels and fields and carries paging.
type Predicate struct {
	Label labels.Selector // nil means everything
	Field fields.Selector // nil means everything
	// GetAttrs returns the object's labels and selectable fields
	// (metadata.name, metadata.namespace and the kind's own, e.g. pods'
	// spec.nodeName). Nil means labels plus metadata.name/namespace.
	GetAttrs AttrFunc
	Limit    int64
	Continue string
}

// AttrFunc returns an object's labels and selectable fields.
type AttrFunc func(obj runtime.Object) (labels.Set, fields.Set, error)

// Empty reports whether the predicate selects everything.
func (p Predicate) Empty() bool {
	return (p.Label == nil || p.Label.Empty()) && (p.Field == nil || p.Field.Empty())
}

// Preconditions must hold for an update or delete to go ahead; a failed
// one is a 409 Conflict.
type Preconditions struct {
	UID             *types.UID
	ResourceVersion *string
}

// Stats about a store.
type Stats struct {
	ObjectCount int64
}

// Config describes one resource's store.
type Config struct {
	// Prefix is the whole key prefix for the resource, e.g. "/registry/pods".
	Prefix        string
	GroupResource schema.GroupResource
	Namespaced    bool
	// Codec encodes objects to the storage version (protobuf) and decodes
	// them back to the served kind.
	Codec       runtime.Codec
	NewFunc     func() runtime.Object
	NewListFunc func() runtime.Object
	GetAttrs    AttrFunc
	// Transformer, when set, transforms values on their way to and from
	// etcd (encryption at rest); nil stores the encoded bytes as they are.
	Transformer Transformer
	// TTL, when positive, makes every create and update write the key with
	// an etcd lease (from the store's LeaseManager) so that etcd deletes
	// it no sooner than TTL after the write (events, as upstream's
	// --event-ttl). A watch sees the expiry as any delete.
	TTL time.Duration
}

// ObjectKey is the key of one object.
func (c *Config) ObjectKey(namespace, name string) string {
	if c.Namespaced {
		return c.Prefix + "/" + namespace + "/" + name
	}
	return c.Prefix + "/" + name
}

// ListKey is the key prefix of a namespace's objects ("" means all
// namespaces) or of all objects of a cluster-scoped kind. It ends in "/".
func (c *Config) ListKey(namespace string) string {
	if c.Namespaced && namespace != "" {
		return c.Prefix + "/" + namespace + "/"
	}
	return c.Prefix + "/"
}
