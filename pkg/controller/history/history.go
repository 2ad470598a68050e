// Package history keeps the ControllerRevisions of a workload that rolls
// pods out by template (DaemonSet, StatefulSet), as upstream: each distinct
// pod template is one ControllerRevision owned by the workload, named
// "<owner>-<hash>", labelled with the template's labels plus
// controller-revision-hash, numbered by .revision (the newest is the
// highest); returning to an earlier template reuses its revision and
// renumbers it as the newest; at most revisionHistoryLimit old revisions
// that no live pod uses are kept. kubectl rollout history/undo read and
// apply these revisions' data (a strategic-merge patch replacing
// spec.template).
//
//	workload template ─► Patch ─► data ─► Hash ─► name, label
//	                                         │
//	Sync: find the revision with equal data (or create it, renumbered
//	to max+1), adopt orphans matching the selector, drop duplicates
//	CleanUp: delete the oldest unused revisions beyond the limit
package history

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	"github.com/kstack/kstack/pkg/controller"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
)

// DefaultRevisionHistoryLimit is revisionHistoryLimit when unset.
const DefaultRevisionHistoryLimit = 10

// Patch is the revision data of template: a strategic-merge patch that
// replaces spec.template, which is what kubectl rollout undo sends back.
func Patch(template *corev1.PodTemplateSpec) ([]byte, error) {
	b, err := json.Marshal(template)
	if err != nil {
		return nil, err
	}
	var t map[string]any
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	t["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": t}})
}

// Hash is the hash of revision data, perturbed by collisionCount when set.
func Hash(data []byte, collisionCount *int32) string {
	h := fnv.New32()
	h.Write(data)
	if collisionCount != nil {
		h.Write([]byte(strconv.FormatInt(int64(*collisionCount), 10)))
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// Name is the name of owner's revision with hash.
func Name(owner, hash string) string {
	if len(owner) > 223 {
		owner = owner[:223]
	}
	return owner + "-" + hash
}

// Owner is the workload whose history is kept.
type Owner struct {
	Object         metav1.Object
	GVK            schema.GroupVersionKind
	Selector       labels.Selector
	Template       *corev1.PodTemplateSpec
	CollisionCount *int32
}

// ErrCollision is returned (wrapped) by Sync when the current template's
// name is taken by a revision with other data: the caller bumps
// status.collisionCount and retries.
var ErrCollision = fmt.Errorf("controller revision hash collision")

// History reads revisions from an informer's lister and writes through a
// client.
type History struct {
	Client kubernetes.Interface
	Lister appslisters.ControllerRevisionLister
}

// Sync returns the owner's current revision (created or renumbered as
// needed) and its other revisions, oldest first. Orphan revisions matching
// the selector are adopted, and revisions with the current data other
// than the one kept are deleted.
func (h *History) Sync(ctx context.Context, o Owner) (*appsv1.ControllerRevision, []*appsv1.ControllerRevision, error) {
	ns := o.Object.GetNamespace()
	all, err := h.Lister.ControllerRevisions(ns).List(labels.Everything())
	if err != nil {
		return nil, nil, err
	}
	claimer := &controller.Claimer{Owner: o.Object, OwnerGVK: o.GVK, Selector: o.Selector,
		Patch: func(ctx context.Context, name string, patch []byte) error {
			_, err := h.Client.AppsV1().ControllerRevisions(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		}}
	revs, err := controller.Claim(ctx, claimer, all)
	if err != nil {
		return nil, nil, err
	}
	data, err := Patch(o.Template)
	if err != nil {
		return nil, nil, err
	}
	sort.SliceStable(revs, func(i, j int) bool { return revs[i].Revision < revs[j].Revision })
	var maxOld int64 // the highest revision of another template
	var equal []*appsv1.ControllerRevision
	var old []*appsv1.ControllerRevision
	for _, r := range revs {
		if bytes.Equal(r.Data.Raw, data) {
			equal = append(equal, r)
			continue
		}
		old = append(old, r)
		if r.Revision > maxOld {
			maxOld = r.Revision
		}
	}
	var cur *appsv1.ControllerRevision
	if n := len(equal); n > 0 {
		cur = equal[n-1]
		for _, dup := range equal[:n-1] {
			if err := h.delete(ctx, dup); err != nil {
				return nil, nil, err
			}
		}
		if cur.Revision <= maxOld {
			// An earlier template is back (a rollback): it is the newest again.
			c := cur.DeepCopy()
			c.Revision = maxOld + 1
			cur, err = h.Client.AppsV1().ControllerRevisions(ns).Update(ctx, c, metav1.UpdateOptions{})
			if err != nil {
				return nil, nil, fmt.Errorf("renumber controller revision %s: %w", c.Name, err)
			}
		}
		return cur, old, nil
	}
	var maxRev int64
	if n := len(revs); n > 0 {
		maxRev = revs[n-1].Revision
	}
	cur, err = h.create(ctx, o, data, maxRev+1)
	if err != nil {
		return nil, nil, err
	}
	return cur, old, nil
}

func (h *History) create(ctx context.Context, o Owner, data []byte, revision int64) (*appsv1.ControllerRevision, error) {
	hash := Hash(data, o.CollisionCount)
	lbls := map[string]string{}
	for k, v := range o.Template.Labels {
		lbls[k] = v
	}
	lbls[appsv1.ControllerRevisionHashLabelKey] = hash
	rev := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: Name(o.Object.GetName(), hash), Namespace: o.Object.GetNamespace(), Labels: lbls,
			OwnerReferences: []metav1.OwnerReference{*controller.NewControllerRef(o.Object, o.GVK)}},
		Data:     runtime.RawExtension{Raw: data},
		Revision: revision,
	}
	out, err := h.Client.AppsV1().ControllerRevisions(rev.Namespace).Create(ctx, rev, metav1.CreateOptions{})
	if err == nil {
		return out, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create controller revision %s: %w", rev.Name, err)
	}
	// The informer may lag: the existing one is ours if it holds our data.
	got, gerr := h.Client.AppsV1().ControllerRevisions(rev.Namespace).Get(ctx, rev.Name, metav1.GetOptions{})
	if gerr != nil {
		return nil, fmt.Errorf("get controller revision %s: %w", rev.Name, gerr)
	}
	if metav1.IsControlledBy(got, o.Object) && bytes.Equal(got.Data.Raw, data) {
		return got, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrCollision, rev.Name)
}

func (h *History) delete(ctx context.Context, r *appsv1.ControllerRevision) error {
	err := h.Client.AppsV1().ControllerRevisions(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &r.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete controller revision %s: %w", r.Name, err)
	}
	return nil
}

// CleanUp deletes the oldest of old beyond limit that no live pod uses
// (inUse reports whether a revision is still some pod's).
func (h *History) CleanUp(ctx context.Context, old []*appsv1.ControllerRevision, limit int32, inUse func(*appsv1.ControllerRevision) bool) error {
	excess := len(old) - int(limit)
	if excess <= 0 {
		return nil
	}
	for _, r := range old { // oldest first
		if excess <= 0 {
			break
		}
		if inUse(r) {
			continue
		}
		if err := h.delete(ctx, r); err != nil {
			return err
		}
		excess--
	}
	return nil
}
