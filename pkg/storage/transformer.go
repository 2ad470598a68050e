package storage

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
