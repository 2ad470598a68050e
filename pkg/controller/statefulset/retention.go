package statefulset

import (
	"context"
	"fmt"

	"github.com/kstack/kstack/pkg/controller"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var podKind = corev1.SchemeGroupVersion.WithKind("Pod")

// retentionPolicy is the set's persistentVolumeClaimRetentionPolicy with
// upstream's defaults (Retain, Retain).
func retentionPolicy(set *appsv1.StatefulSet) appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	p := appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	if r := set.Spec.PersistentVolumeClaimRetentionPolicy; r != nil {
		if r.WhenDeleted != "" {
			p.WhenDeleted = r.WhenDeleted
		}
		if r.WhenScaled != "" {
			p.WhenScaled = r.WhenScaled
		}
	}
	return p
}

// claimOwners returns claim's owner references as the retention policy
// wants them, as upstream: whenDeleted=Delete makes the set the claim's
// controller (the garbage collector deletes the claim with the set);
// whenScaled=Delete makes the pod of a scaled-down ordinal its controller
// instead (the claim goes with the pod, and no longer with the set). References to the set and pod
// are replaced; a claim some other controller owns is left to it.
func claimOwners(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod, scaledDown bool) []metav1.OwnerReference {
	ours := func(ref metav1.OwnerReference) bool {
		return refMatches(ref, set, controllerKind) || refMatches(ref, pod, podKind)
	}
	var refs []metav1.OwnerReference
	foreignController := false
	for _, ref := range claim.OwnerReferences {
		if ours(ref) {
			continue
		}
		if ref.Controller != nil && *ref.Controller {
			foreignController = true
		}
		refs = append(refs, ref)
	}
	if foreignController {
		return refs
	}
	p := retentionPolicy(set)
	const del = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	switch {
	case scaledDown && p.WhenScaled == del:
		refs = append(refs, *controller.NewControllerRef(pod, podKind))
	case p.WhenDeleted == del:
		refs = append(refs, *controller.NewControllerRef(set, controllerKind))
	}
	return refs
}

// refMatches reports whether ref names obj of kind gvk (by name, so a
// stale reference to an earlier object of the same name is replaced).
func refMatches(ref metav1.OwnerReference, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == gvk.Group && ref.Kind == gvk.Kind && ref.Name == obj.GetName()
}

// applyRetentionPolicy brings the owner references of pod's claims in
// line with the set's retention policy. scaledDown: pod's ordinal is
// outside the set's range.
func (c *Controller) applyRetentionPolicy(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod, o int, scaledDown bool) error {
	if pod.UID == "" {
		return nil
	}
	for i := range set.Spec.VolumeClaimTemplates {
		cn := claimName(set, &set.Spec.VolumeClaimTemplates[i], o)
		claim, err := c.pvcLister.PersistentVolumeClaims(set.Namespace).Get(cn)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		want := claimOwners(claim, set, pod, scaledDown)
		if equality.Semantic.DeepEqual(normalizeRefs(want), normalizeRefs(claim.OwnerReferences)) {
			continue
		}
		update := claim.DeepCopy()
		update.OwnerReferences = want
		if _, err := c.client.CoreV1().PersistentVolumeClaims(set.Namespace).Update(ctx, update, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("update owners of claim %s/%s: %w", set.Namespace, cn, err)
		}
	}
	return nil
}

// normalizeRefs treats an empty list as none.
func normalizeRefs(refs []metav1.OwnerReference) []metav1.OwnerReference {
	if len(refs) == 0 {
		return nil
	}
	return refs
}
