package apiserver

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// hooks are the rules of one resource beyond the generic store (upstream's
// "strategy"). Every field is optional. Objects are of the storage kind.
type hooks struct {
	// keepStatusOnCreate: the client may set status on create (nodes).
	keepStatusOnCreate bool
	// allowCreateOnUpdate: PUT to a missing name creates it.
	allowCreateOnUpdate bool
	// returnDeletedObject: an immediate delete answers with the object
	// rather than a Status.
	returnDeletedObject bool

	// prepareCreate sets server-computed fields before validation.
	prepareCreate func(ctx context.Context, obj runtime.Object) error
	// prepareUpdate adjusts the new object before validation; sub is ""
	// or the subresource ("status", "finalize").
	prepareUpdate func(ctx context.Context, obj, old runtime.Object, sub string) error
	// beginCreate/beginUpdate run after validation and reserve what the
	// write needs (ClusterIPs, NodePorts); finish(ok) commits or releases
	// the reservation once the write is done.
	beginCreate func(ctx context.Context, obj runtime.Object, dryRun bool) (finish func(ok bool), err error)
	beginUpdate func(ctx context.Context, obj, old runtime.Object, dryRun bool) (finish func(ok bool), err error)

	// gracePeriod decides a delete's grace period; graceful=false deletes
	// at once (unless finalizers keep the object).
	gracePeriod func(obj runtime.Object, opts *metav1.DeleteOptions) (grace int64, graceful bool)
	// validateDelete refuses a delete (system namespaces).
	validateDelete func(obj runtime.Object) error
	// deferDelete keeps the object after deletionTimestamp is set even
	// without finalizers (namespaces with spec.finalizers).
	deferDelete func(obj runtime.Object) bool
	// beginDelete adjusts the object as its deletionTimestamp is set.
	beginDelete func(obj runtime.Object)
	// readyToDelete reports that an object being deleted can now go.
	readyToDelete func(obj runtime.Object) bool
	// afterDelete releases what the object held.
	afterDelete func(ctx context.Context, obj runtime.Object)
}
