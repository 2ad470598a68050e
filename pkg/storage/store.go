package storage

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// maxPageSize caps how many keys one etcd range read asks for while a
// filtered, limited list searches for matches.
const maxPageSize = 10000

// Store is the etcd3 implementation of Interface for one resource.
type Store struct {
	client *clientv3.Client
	cfg    Config
	typ    string        // metric label
	leases *LeaseManager // when cfg.TTL > 0
}

var _ Interface = (*Store)(nil)

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithLeaseManager has the store take leases for Config.TTL from m (shared
// by stores, or configured with --lease-reuse-duration-seconds) rather
// than from a LeaseManager of its own with the defaults.
func WithLeaseManager(m *LeaseManager) StoreOption { return func(s *Store) { s.leases = m } }

// NewStore returns a Store keeping cfg's resource in etcd through client.
func NewStore(client *clientv3.Client, cfg Config, opts ...StoreOption) *Store {
	s := &Store{client: client, cfg: cfg, typ: cfg.GroupResource.String()}
	for _, o := range opts {
		o(s)
	}
	if cfg.TTL > 0 && s.leases == nil {
		s.leases = NewLeaseManager(client, LeaseManagerConfig{})
	}
	return s
}

// Config returns the store's configuration.
func (s *Store) Config() Config { return s.cfg }

// Client returns the etcd client the store uses.
func (s *Store) Client() *clientv3.Client { return s.client }

// putTxn writes stored at key if the key's mod revision is still rev (0:
// the key does not exist), else (with elseGet) reads it. When the store's
// objects expire the put carries a lease; a lease etcd no longer has is
// forgotten and the write tried once more with a new one.
func (s *Store) putTxn(ctx context.Context, op, key string, rev int64, stored []byte, elseGet bool) (*clientv3.TxnResponse, error) {
	var forgotten bool
	for {
		var opts []clientv3.OpOption
		var lease clientv3.LeaseID
		if s.cfg.TTL > 0 {
			var err error
			if lease, err = s.leases.Lease(ctx, s.cfg.TTL); err != nil {
				return nil, interpretError(s.cfg.GroupResource, key, 0, err)
			}
			opts = append(opts, clientv3.WithLease(lease))
		}
		txn := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(clientv3.OpPut(key, string(stored), opts...))
		if elseGet {
			txn = txn.Else(clientv3.OpGet(key))
		}
		start := time.Now()
		resp, err := txn.Commit()
		observe(op, s.typ, start)
		if err != nil && lease != 0 && !forgotten && isLeaseNotFound(err) {
			forgotten = true
			s.leases.Forget(lease)
			continue
		}
		if err != nil {
			return nil, interpretError(s.cfg.GroupResource, key, 0, err)
		}
		return resp, nil
	}
}

// ParseResourceVersion parses a metadata.resourceVersion; "" is 0.
func ParseResourceVersion(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv))
	}
	return n, nil
}

// setRV sets obj's resourceVersion to rev ("" for 0).
func setRV(obj runtime.Object, rev int64) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if rev == 0 {
		m.SetResourceVersion("")
	} else {
		m.SetResourceVersion(strconv.FormatInt(rev, 10))
	}
	return nil
}

// objectRV reads obj's resourceVersion.
func objectRV(obj runtime.Object) (int64, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return 0, err
	}
	return ParseResourceVersion(m.GetResourceVersion())
}

// encode serializes obj for storage: without resourceVersion and selfLink.
func (s *Store) encode(obj runtime.Object) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion("")
	m.SetSelfLink("")
	var buf bytes.Buffer
	if err := s.cfg.Codec.Encode(obj, &buf); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("encode %s: %w", s.typ, err))
	}
	return buf.Bytes(), nil
}

// decodeInto decodes data into out and sets its resourceVersion to rev.
func (s *Store) decodeInto(data []byte, out runtime.Object, rev int64) error {
	if _, _, err := s.cfg.Codec.Decode(data, nil, out); err != nil {
		return apierrors.NewInternalError(fmt.Errorf("decode %s: %w", s.typ, err))
	}
	return setRV(out, rev)
}

// decode decodes the value stored at key (transformed back from storage)
// into a new object of the kind with resourceVersion rev.
func (s *Store) decode(key, data []byte, rev int64) (runtime.Object, error) {
	obj := s.cfg.NewFunc()
	// Local transformers do not block: no request context needed.
	if _, _, err := s.decodeStored(context.Background(), string(key), data, obj, rev); err != nil {
		return nil, err
	}
	return obj, nil
}

// Create implements Interface.
func (s *Store) Create(ctx context.Context, key string, obj, out runtime.Object) error {
	if rv, err := objectRV(obj); err != nil || rv != 0 {
		return apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	data, err := s.encode(obj)
	if err != nil {
		return err
	}
	stored, err := s.toStorage(ctx, key, data)
	if err != nil {
		return err
	}
	resp, err := s.putTxn(ctx, "create", key, 0, stored, false)
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return apierrors.NewAlreadyExists(s.cfg.GroupResource, nameOf(key))
	}
	return s.decodeInto(data, out, resp.Header.Revision)
}

// Get implements Interface.
func (s *Store) Get(ctx context.Context, key string, opts GetOptions, out runtime.Object) error {
	minRV, err := ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return err
	}
	var ops []clientv3.OpOption
	if opts.ResourceVersion == "0" {
		ops = append(ops, clientv3.WithSerializable())
	}
	start := time.Now()
	resp, err := s.client.Get(ctx, key, ops...)
	observe("get", s.typ, start)
	if err != nil {
		return interpretError(s.cfg.GroupResource, key, 0, err)
	}
	if minRV > resp.Header.Revision {
		return NewTooLargeResourceVersion(minRV, resp.Header.Revision)
	}
	if len(resp.Kvs) == 0 {
		if opts.IgnoreNotFound {
			return zero(out)
		}
		return apierrors.NewNotFound(s.cfg.GroupResource, nameOf(key))
	}
	_, _, err = s.decodeStored(ctx, key, resp.Kvs[0].Value, out, resp.Kvs[0].ModRevision)
	return err
}

// zero sets *out to its zero value.
func zero(out runtime.Object) error {
	v, err := conversion.EnforcePtr(out)
	if err != nil {
		return err
	}
	v.Set(reflect.Zero(v.Type()))
	return nil
}

// GetList implements Interface.
func (s *Store) GetList(ctx context.Context, key string, opts ListOptions, listObj runtime.Object) error {
	pred := opts.Predicate
	if !strings.HasSuffix(key, "/") {
		key += "/"
	}
	listPtr, err := meta.GetItemsPtr(listObj)
	if err != nil {
		return err
	}
	listVal, err := conversion.EnforcePtr(listPtr)
	if err != nil || listVal.Kind() != reflect.Slice {
		return fmt.Errorf("list %s: need a pointer to a slice, got %T", s.typ, listPtr)
	}
	reqRV, err := ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return err
	}

	var (
		startKey = key
		withRev  int64 // 0: latest
		rangeEnd = clientv3.GetPrefixRangeEnd(key)
	)
	switch {
	case pred.Continue != "":
		if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
			return apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
		}
		startKey, withRev, err = decodeContinue(pred.Continue, key)
		if err != nil {
			return apierrors.NewBadRequest(err.Error())
		}
	case opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact:
		if reqRV == 0 {
			return apierrors.NewBadRequest("resourceVersionMatch=Exact requires a non-zero resourceVersion")
		}
		withRev = reqRV
	}

	limit := pred.Limit
	pageSize := limit
	filter := !pred.Empty()
	attrs := s.cfg.attrFunc(&pred)
	var (
		readRev   int64
		lastKey   string
		hasMore   bool
		remaining int64 = -1
		count     int64
	)
	for {
		ops := []clientv3.OpOption{clientv3.WithRange(rangeEnd)}
		if withRev != 0 {
			ops = append(ops, clientv3.WithRev(withRev))
		} else if opts.ResourceVersion == "0" {
			ops = append(ops, clientv3.WithSerializable())
		}
		if pageSize > 0 {
			ops = append(ops, clientv3.WithLimit(pageSize))
		}
		start := time.Now()
		resp, err := s.client.Get(ctx, startKey, ops...)
		observe("list", s.typ, start)
		if err != nil {
			if pred.Continue != "" && isCompacted(err) {
				return apierrors.NewResourceExpired(continueExpiredMessage)
			}
			return interpretError(s.cfg.GroupResource, key, withRev, err)
		}
		if withRev == 0 {
			// Every further page reads the same revision.
			withRev = resp.Header.Revision
			if reqRV > withRev {
				return NewTooLargeResourceVersion(reqRV, withRev)
			}
		}
		readRev = withRev
		for i, kv := range resp.Kvs {
			if limit > 0 && count >= limit {
				hasMore = true
				break
			}
			lastKey = string(kv.Key)
			obj, err := s.decode(kv.Key, kv.Value, kv.ModRevision)
			if err != nil {
				return err
			}
			if filter {
				l, f, err := attrs(obj)
				if err != nil {
					return fmt.Errorf("list %s: %w", s.typ, err)
				}
				if !pred.matchAttrs(l, f) {
					continue
				}
			}
			listVal.Set(reflect.Append(listVal, reflect.ValueOf(obj).Elem()))
			count++
			if limit > 0 && count >= limit {
				hasMore = i < len(resp.Kvs)-1 || resp.More
				if !filter {
					remaining = resp.Count - int64(i+1)
				}
				break
			}
		}
		if (limit > 0 && count >= limit) || !resp.More || len(resp.Kvs) == 0 {
			break
		}
		// Filtering left the page short: read on, in growing pages.
		startKey = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		if pageSize < maxPageSize {
			pageSize *= 2
			if pageSize > maxPageSize {
				pageSize = maxPageSize
			}
		}
	}

	var cont string
	if hasMore {
		cont, err = encodeContinue(lastKey+"\x00", key, readRev)
		if err != nil {
			return err
		}
	}
	lm, err := meta.ListAccessor(listObj)
	if err != nil {
		return err
	}
	lm.SetResourceVersion(strconv.FormatInt(readRev, 10))
	lm.SetContinue(cont)
	if hasMore && remaining > 0 {
		lm.SetRemainingItemCount(&remaining)
	} else {
		lm.SetRemainingItemCount(nil)
	}
	if listVal.IsNil() {
		listVal.Set(reflect.MakeSlice(listVal.Type(), 0, 0))
	}
	return nil
}

// isCompacted reports an etcd "required revision has been compacted".
func isCompacted(err error) bool {
	return err != nil && strings.Contains(err.Error(), "required revision has been compacted")
}

// state is an object as read from etcd.
type state struct {
	obj  runtime.Object
	data []byte // encoded, transformed back from storage
	rev  int64
	// stale: the stored value is not what the Transformer writes now (an
	// old key or provider), so an update must write even if unchanged.
	stale bool
}

func (s *Store) readState(ctx context.Context, key string, ignoreNotFound bool) (*state, error) {
	start := time.Now()
	resp, err := s.client.Get(ctx, key)
	observe("get", s.typ, start)
	if err != nil {
		return nil, interpretError(s.cfg.GroupResource, key, 0, err)
	}
	return s.stateFrom(ctx, key, resp, ignoreNotFound)
}

func (s *Store) stateFrom(ctx context.Context, key string, resp *clientv3.GetResponse, ignoreNotFound bool) (*state, error) {
	if len(resp.Kvs) == 0 {
		if !ignoreNotFound {
			return nil, apierrors.NewNotFound(s.cfg.GroupResource, nameOf(key))
		}
		return &state{obj: s.cfg.NewFunc()}, nil
	}
	kv := resp.Kvs[0]
	obj := s.cfg.NewFunc()
	data, stale, err := s.decodeStored(ctx, key, kv.Value, obj, kv.ModRevision)
	if err != nil {
		return nil, err
	}
	return &state{obj: obj, data: data, rev: kv.ModRevision, stale: stale}, nil
}

// Check returns a 409 Conflict when obj does not satisfy p.
func (p *Preconditions) Check(key string, gr schema.GroupResource, obj runtime.Object) error {
	if p == nil {
		return nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if p.UID != nil && *p.UID != m.GetUID() {
		return apierrors.NewConflict(gr, nameOf(key), fmt.Errorf(
			"Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, m.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
		return apierrors.NewConflict(gr, nameOf(key), fmt.Errorf(
			"Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v",
			*p.ResourceVersion, m.GetResourceVersion()))
	}
	return nil
}

// GuaranteedUpdate implements Interface.
func (s *Store) GuaranteedUpdate(ctx context.Context, key string, out runtime.Object, ignoreNotFound bool,
	preconditions *Preconditions, tryUpdate UpdateFunc) error {
	cur, err := s.readState(ctx, key, ignoreNotFound)
	if err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return apierrors.NewTimeoutError(fmt.Sprintf("update %s: %v", nameOf(key), err), 1)
		}
		if err := preconditions.Check(key, s.cfg.GroupResource, cur.obj); err != nil {
			return err
		}
		// cur.obj was decoded for this call alone: it is the private copy.
		ret, err := tryUpdate(cur.obj)
		if err != nil {
			return err
		}
		data, err := s.encode(ret)
		if err != nil {
			return err
		}
		// A no-op update writes nothing, unless the stored value is stale:
		// rewriting it re-encrypts with the current key.
		if cur.rev != 0 && !cur.stale && bytes.Equal(data, cur.data) {
			return s.decodeInto(cur.data, out, cur.rev)
		}
		stored, err := s.toStorage(ctx, key, data)
		if err != nil {
			return err
		}
		resp, err := s.putTxn(ctx, "update", key, cur.rev, stored, true)
		if err != nil {
			return err
		}
		if resp.Succeeded {
			return s.decodeInto(data, out, resp.Header.Revision)
		}
		// Someone else wrote first: try again on their state.
		cur, err = s.stateFrom(ctx, key, (*clientv3.GetResponse)(resp.Responses[0].GetResponseRange()), ignoreNotFound)
		if err != nil {
			return err
		}
	}
}

// Delete implements Interface.
func (s *Store) Delete(ctx context.Context, key string, out runtime.Object, preconditions *Preconditions,
	validateDeletion ValidateObjectFunc) error {
	cur, err := s.readState(ctx, key, false)
	if err != nil {
		return err
	}
	for {
		if err := preconditions.Check(key, s.cfg.GroupResource, cur.obj); err != nil {
			return err
		}
		if validateDeletion != nil {
			if err := validateDeletion(ctx, cur.obj); err != nil {
				return err
			}
		}
		start := time.Now()
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", cur.rev)).
			Then(clientv3.OpDelete(key)).
			Else(clientv3.OpGet(key)).
			Commit()
		observe("delete", s.typ, start)
		if err != nil {
			return interpretError(s.cfg.GroupResource, key, 0, err)
		}
		if resp.Succeeded {
			return s.decodeInto(cur.data, out, resp.Header.Revision)
		}
		cur, err = s.stateFrom(ctx, key, (*clientv3.GetResponse)(resp.Responses[0].GetResponseRange()), false)
		if err != nil {
			return err
		}
	}
}

// Stats implements Interface with a count-only read.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	start := time.Now()
	resp, err := s.client.Get(ctx, s.cfg.Prefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	observe("count", s.typ, start)
	if err != nil {
		return Stats{}, interpretError(s.cfg.GroupResource, s.cfg.Prefix, 0, err)
	}
	return Stats{ObjectCount: resp.Count}, nil
}

// CurrentRevision returns etcd's current revision with a cheap quorum read.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	start := time.Now()
	resp, err := s.client.Get(ctx, s.cfg.Prefix, clientv3.WithCountOnly())
	observe("get", s.typ, start)
	if err != nil {
		return 0, interpretError(s.cfg.GroupResource, s.cfg.Prefix, 0, err)
	}
	return resp.Header.Revision, nil
}
