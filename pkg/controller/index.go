package controller

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// ControllerUIDIndex is the informer index of objects by the UID of their
// controller ownerReference; objects without one are indexed as the
// orphans of their namespace. A controller syncing one owner reads its
// objects and the adoptable orphans from it instead of listing (and
// selector-matching) the whole namespace on every sync, which is
// quadratic with thousands of owners in one namespace, as upstream's
// PodControllerUIDIndex avoids.
const ControllerUIDIndex = "controllerUID"

func orphanIndexKey(ns string) string { return "\x00orphan/" + ns }

func controllerUIDIndexFunc(obj any) ([]string, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	if ref := metav1.GetControllerOfNoCopy(m); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return []string{orphanIndexKey(m.GetNamespace())}, nil
}

// AddControllerUIDIndex adds ControllerUIDIndex to informer unless it has
// it already; call it before the informer starts.
func AddControllerUIDIndex(informer cache.SharedIndexInformer) error {
	if _, ok := informer.GetIndexer().GetIndexers()[ControllerUIDIndex]; ok {
		return nil
	}
	if err := informer.AddIndexers(cache.Indexers{ControllerUIDIndex: controllerUIDIndexFunc}); err != nil {
		return fmt.Errorf("add %s index: %w", ControllerUIDIndex, err)
	}
	return nil
}

// OwnedOrOrphaned returns the objects of indexer (which has
// ControllerUIDIndex) controlled by uid, plus the orphans of ns: every
// object a Claim for that owner can keep, release or adopt.
func OwnedOrOrphaned[T any](indexer cache.Indexer, ns string, uid types.UID) ([]T, error) {
	owned, err := indexer.ByIndex(ControllerUIDIndex, string(uid))
	if err != nil {
		return nil, err
	}
	orphans, err := indexer.ByIndex(ControllerUIDIndex, orphanIndexKey(ns))
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(owned)+len(orphans))
	for _, list := range [][]any{owned, orphans} {
		for _, o := range list {
			if t, ok := o.(T); ok {
				out = append(out, t)
			}
		}
	}
	return out, nil
}
