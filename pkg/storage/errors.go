package storage

import (
	"errors"
	"fmt"
	"path"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// continueExpiredMessage is upstream's text for a continue token whose
// revision has been compacted.
const continueExpiredMessage = "The provided continue parameter is too old to display a consistent list result. " +
	"You can start a new list without the continue parameter, or use the continue token in this response to " +
	"retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - " +
	"objects that were created, modified, or deleted between the time the first chunk was returned and now may " +
	"show up in the list."

// nameOf is the object name in a key (its last segment).
func nameOf(key string) string { return path.Base(key) }

// NewTooOldResourceVersion is the 410 Expired error for a watch or read
// at revision rv when etcd has compacted up to compacted.
func NewTooOldResourceVersion(rv, compacted int64) *apierrors.StatusError {
	return apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", rv, compacted))
}

// NewTooLargeResourceVersion is upstream's 504 for a read at a revision
// the store has not reached yet.
func NewTooLargeResourceVersion(rv, current int64) *apierrors.StatusError {
	err := apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", rv, current), 1)
	err.ErrStatus.Details.Causes = []metav1.StatusCause{{
		Type:    metav1.CauseTypeResourceVersionTooLarge,
		Message: "Too large resource version",
	}}
	return err
}

// interpretError turns an etcd client error into an API error.
func interpretError(gr schema.GroupResource, key string, rev int64, err error) error {
	if err == nil {
		return nil
	}
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		return err
	}
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d", rev))
	case errors.Is(err, rpctypes.ErrFutureRev):
		return NewTooLargeResourceVersion(rev, 0)
	case errors.Is(err, rpctypes.ErrTooManyRequests):
		return apierrors.NewTooManyRequests("etcd is overloaded: "+err.Error(), 1)
	}
	return apierrors.NewInternalError(fmt.Errorf("etcd %s %s: %w", gr.String(), key, err))
}
