package storage

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
)

// Transformer changes values on their way to and from etcd: encryption at
// rest (package storage/encryption) is one. The Store calls
// TransformToStorage with the encoded object just before every write and
// TransformFromStorage with every value it reads (Get, GetList, updates,
// deletes, watch events, and the Cacher's list and watch through the
// Store's decode path). key is the whole etcd key; an authenticating
// transformer binds the value to it, so a value copied to another key does
// not read back.
//
// TransformFromStorage reports stale when the value was not written the way
// TransformToStorage would write it now (another provider or key): the
// Store then writes it again on the next update even when the object did
// not change, which is how rotation by rewriting works. Errors are returned
// to the client as 500s; they must not contain key material.
type Transformer interface {
	TransformToStorage(ctx context.Context, data []byte, key string) ([]byte, error)
	TransformFromStorage(ctx context.Context, data []byte, key string) (out []byte, stale bool, err error)
}

// StoredValueDescriber is a Transformer that can say which of its
// providers and keys a stored value was written with ("aescbc key
// \"key2\""; "" when none, as for an untransformed value). The Store
// names it when a value it transformed back does not decode: a cipher
// without authentication (aescbc) given another key of the same name
// usually fails its padding check, but about one time in 256 decrypts to
// garbage instead.
type StoredValueDescriber interface {
	DescribeStored(data []byte) string
}

// toStorage applies the store's Transformer (if any) to an encoded object.
func (s *Store) toStorage(ctx context.Context, key string, data []byte) ([]byte, error) {
	if s.cfg.Transformer == nil {
		return data, nil
	}
	out, err := s.cfg.Transformer.TransformToStorage(ctx, data, key)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("transform %s to storage: %w", key, err))
	}
	return out, nil
}

// fromStorage reverses toStorage on a value read from etcd.
func (s *Store) fromStorage(ctx context.Context, key string, data []byte) ([]byte, bool, error) {
	if s.cfg.Transformer == nil {
		return data, false, nil
	}
	out, stale, err := s.cfg.Transformer.TransformFromStorage(ctx, data, key)
	if err != nil {
		return nil, false, apierrors.NewInternalError(fmt.Errorf("transform %s from storage: %w", key, err))
	}
	return out, stale, nil
}

// decodeStored transforms raw, the value stored at key, back from storage
// and decodes it into out with resourceVersion rev. It returns the
// transformed data and whether it is stale (TransformFromStorage).
func (s *Store) decodeStored(ctx context.Context, key string, raw []byte, out runtime.Object, rev int64) ([]byte, bool, error) {
	data, stale, err := s.fromStorage(ctx, key, raw)
	if err != nil {
		return nil, false, err
	}
	if _, _, err := s.cfg.Codec.Decode(data, nil, out); err != nil {
		if d, ok := s.cfg.Transformer.(StoredValueDescriber); ok {
			if how := d.DescribeStored(raw); how != "" {
				return nil, false, apierrors.NewInternalError(fmt.Errorf(
					"decode %s read with %s: %w (was the value written with a different key of that name?)", s.typ, how, err))
			}
		}
		return nil, false, apierrors.NewInternalError(fmt.Errorf("decode %s: %w", s.typ, err))
	}
	return data, stale, setRV(out, rev)
}
