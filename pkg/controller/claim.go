package controller

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Patcher sends a strategic-merge patch to one object (the consumer's
// typed client, e.g. Pods(ns).Patch).
type Patcher func(ctx context.Context, name string, patch []byte) error

// Claimer claims objects for one controller object (the owner): it keeps
// the ones it controls that still match, releases the ones that stop
// matching, and adopts matching orphans, as upstream's
// ControllerRefManager.
type Claimer struct {
	Owner    metav1.Object
	OwnerGVK schema.GroupVersionKind
	Selector labels.Selector
	Patch    Patcher
	// CanAdopt re-checks, once, before the first adoption, that the owner
	// is not being deleted (read fresh, not from the cache).
	CanAdopt func(ctx context.Context) error

	canAdoptErr  error
	canAdoptDone bool
}

// Claim returns the objects owned by the owner after adoption and release.
// Objects controlled by someone else are skipped; failures to patch an
// object that is gone are ignored.
func Claim[T metav1.Object](ctx context.Context, c *Claimer, objs []T) ([]T, error) {
	var claimed []T
	var errs []error
	for _, o := range objs {
		ok, err := c.claimOne(ctx, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			claimed = append(claimed, o)
		}
	}
	if len(errs) > 0 {
		return claimed, fmt.Errorf("claim: %v", errs)
	}
	return claimed, nil
}

func (c *Claimer) claimOne(ctx context.Context, o metav1.Object) (bool, error) {
	match := c.Selector.Matches(labels.Set(o.GetLabels()))
	if ref := metav1.GetControllerOf(o); ref != nil {
		if ref.UID != c.Owner.GetUID() {
			return false, nil
		}
		if match {
			return true, nil
		}
		if c.Owner.GetDeletionTimestamp() != nil || o.GetDeletionTimestamp() != nil {
			return false, nil
		}
		if err := c.release(ctx, o); err != nil {
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return false, fmt.Errorf("release %s: %w", o.GetName(), err)
		}
		return false, nil
	}
	if !match || c.Owner.GetDeletionTimestamp() != nil || o.GetDeletionTimestamp() != nil {
		return false, nil
	}
	if !c.canAdoptDone {
		c.canAdoptDone = true
		if c.CanAdopt != nil {
			c.canAdoptErr = c.CanAdopt(ctx)
		}
	}
	if c.canAdoptErr != nil {
		return false, fmt.Errorf("can't adopt %s: %w", o.GetName(), c.canAdoptErr)
	}
	if err := c.adopt(ctx, o); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("adopt %s: %w", o.GetName(), err)
	}
	return true, nil
}

func (c *Claimer) adopt(ctx context.Context, o metav1.Object) error {
	ref := NewControllerRef(c.Owner, c.OwnerGVK)
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{*ref},
		"uid":             o.GetUID(), // precondition: the same object
	}})
	if err != nil {
		return err
	}
	return c.Patch(ctx, o.GetName(), patch)
}

func (c *Claimer) release(ctx context.Context, o metav1.Object) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": c.Owner.GetUID()}},
		"uid":             o.GetUID(),
	}})
	if err != nil {
		return err
	}
	return c.Patch(ctx, o.GetName(), patch)
}

// RecheckDeletion returns a CanAdopt that reads the owner fresh with get
// and fails if it is gone, replaced (other UID) or being deleted.
func RecheckDeletion(uid types.UID, get func(ctx context.Context) (metav1.Object, error)) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		fresh, err := get(ctx)
		if err != nil {
			return err
		}
		if fresh.GetUID() != uid {
			return fmt.Errorf("original object is gone: got uid %v, wanted %v", fresh.GetUID(), uid)
		}
		if fresh.GetDeletionTimestamp() != nil {
			return fmt.Errorf("object is being deleted")
		}
		return nil
	}
}
