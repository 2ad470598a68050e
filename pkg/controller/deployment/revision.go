package deployment

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	"github.com/kstack/kstack/pkg/controller"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/dump"
	"k8s.io/apimachinery/pkg/util/rand"
)

// Annotations the controller keeps on Deployments and ReplicaSets.
const (
	RevisionAnnotation        = "deployment.kubernetes.io/revision"
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	ChangeCauseAnnotation     = "kubernetes.io/change-cause"
	lastAppliedAnnotation     = "kubectl.kubernetes.io/last-applied-configuration"
	rollbackToAnnotation      = "deprecated.deployment.rollback.to"
)

// ComputeHash is the pod-template-hash of template, varied by
// collisionCount after name collisions.
func ComputeHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	fmt.Fprint(h, dump.ForHash(*template))
	if collisionCount != nil {
		fmt.Fprint(h, strconv.Itoa(int(*collisionCount)))
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// EqualIgnoreHash reports whether two templates are equal apart from the
// pod-template-hash label.
func EqualIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	if len(a.Labels) == 0 {
		a.Labels = nil
	}
	if len(b.Labels) == 0 {
		b.Labels = nil
	}
	return equality.Semantic.DeepEqual(a, b)
}

// Revision reads obj's revision annotation (0 when absent).
func Revision(obj metav1.Object) int64 {
	v, err := strconv.ParseInt(obj.GetAnnotations()[RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// findNewReplicaSet returns the oldest ReplicaSet whose template is d's.
func findNewReplicaSet(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	sorted := append([]*appsv1.ReplicaSet(nil), rsList...)
	sort.SliceStable(sorted, func(i, j int) bool { return olderRS(sorted[i], sorted[j]) })
	for _, rs := range sorted {
		if EqualIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
			return rs
		}
	}
	return nil
}

func olderRS(a, b *appsv1.ReplicaSet) bool {
	if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.Name < b.Name
	}
	return a.CreationTimestamp.Before(&b.CreationTimestamp)
}

// split returns the new ReplicaSet (or nil) and the old ones.
func split(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet) {
	newRS := findNewReplicaSet(d, rsList)
	var old []*appsv1.ReplicaSet
	for _, rs := range rsList {
		if newRS == nil || rs.UID != newRS.UID {
			old = append(old, rs)
		}
	}
	return newRS, old
}

// getAllReplicaSetsAndSyncRevision returns the new ReplicaSet (created when
// create is set and there is none) and the old ones, and brings the
// revision annotations of the new ReplicaSet and d up to date.
func (c *Controller) getAllReplicaSetsAndSyncRevision(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	existing, old := split(d, rsList)
	var maxOld int64
	for _, rs := range old {
		if r := Revision(rs); r > maxOld {
			maxOld = r
		}
	}
	newRevision := strconv.FormatInt(maxOld+1, 10)
	newRS, err := c.getNewReplicaSet(ctx, d, existing, rsList, newRevision, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, old, nil
}

// copyDeploymentAnnotations copies d's annotations onto rs, except the ones
// the controller owns; it reports a change.
func copyDeploymentAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	changed := false
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	for k, v := range d.Annotations {
		switch k {
		case lastAppliedAnnotation, RevisionAnnotation, RevisionHistoryAnnotation, DesiredReplicasAnnotation, MaxReplicasAnnotation, rollbackToAnnotation:
			continue
		}
		if cur, ok := rs.Annotations[k]; ok && cur == v {
			continue
		}
		rs.Annotations[k] = v
		changed = true
	}
	return changed
}

// setRevision sets rs's revision to revision when that is newer, keeping
// the old one in the revision history; it reports a change.
func setRevision(rs *appsv1.ReplicaSet, revision string) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	old := rs.Annotations[RevisionAnnotation]
	oldN, err1 := strconv.ParseInt(old, 10, 64)
	newN, err2 := strconv.ParseInt(revision, 10, 64)
	if err2 != nil || (err1 == nil && oldN >= newN) {
		return false
	}
	rs.Annotations[RevisionAnnotation] = revision
	if old != "" {
		if h := rs.Annotations[RevisionHistoryAnnotation]; h != "" {
			rs.Annotations[RevisionHistoryAnnotation] = h + "," + old
		} else {
			rs.Annotations[RevisionHistoryAnnotation] = old
		}
	}
	return true
}

// setReplicasAnnotations records the desired and maximum replica counts the
// ReplicaSet was last scaled for; it reports a change.
func setReplicasAnnotations(rs *appsv1.ReplicaSet, desired, max int32) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	ds, ms := strconv.Itoa(int(desired)), strconv.Itoa(int(max))
	if rs.Annotations[DesiredReplicasAnnotation] == ds && rs.Annotations[MaxReplicasAnnotation] == ms {
		return false
	}
	rs.Annotations[DesiredReplicasAnnotation] = ds
	rs.Annotations[MaxReplicasAnnotation] = ms
	return true
}

func (c *Controller) getNewReplicaSet(ctx context.Context, d *appsv1.Deployment, existing *appsv1.ReplicaSet, all []*appsv1.ReplicaSet, newRevision string, create bool) (*appsv1.ReplicaSet, error) {
	if existing != nil {
		rs := existing.DeepCopy()
		changed := copyDeploymentAnnotations(d, rs)
		changed = setRevision(rs, newRevision) || changed
		minReady := rs.Spec.MinReadySeconds != d.Spec.MinReadySeconds
		if changed || minReady {
			rs.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			out, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, rs, metav1.UpdateOptions{})
			if err != nil {
				return nil, fmt.Errorf("update replicaset %s: %w", rs.Name, err)
			}
			rs = out
		}
		// The Deployment carries its new ReplicaSet's revision.
		needStatus := false
		if d.Annotations[RevisionAnnotation] != rs.Annotations[RevisionAnnotation] {
			if d.Annotations == nil {
				d.Annotations = map[string]string{}
			}
			d.Annotations[RevisionAnnotation] = rs.Annotations[RevisionAnnotation]
			out, err := c.client.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{})
			if err != nil {
				return nil, fmt.Errorf("update revision of deployment %s: %w", d.Name, err)
			}
			*d = *out
		}
		if cond := getCondition(d.Status, appsv1.DeploymentProgressing); hasProgressDeadline(d) && cond == nil {
			setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, FoundNewRSReason,
				fmt.Sprintf("Found new replica set %q", rs.Name), c.clock.Now()))
			needStatus = true
		}
		if needStatus {
			out, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
			if err != nil {
				return nil, fmt.Errorf("update status of deployment %s: %w", d.Name, err)
			}
			*d = *out
		}
		return rs, nil
	}
	if !create {
		return nil, nil
	}
	hash := ComputeHash(&d.Spec.Template, d.Status.CollisionCount)
	tmpl := *d.Spec.Template.DeepCopy()
	if tmpl.Labels == nil {
		tmpl.Labels = map[string]string{}
	}
	tmpl.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	sel := d.Spec.Selector.DeepCopy()
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	lbls := map[string]string{}
	for k, v := range d.Spec.Template.Labels {
		lbls[k] = v
	}
	lbls[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	zero := int32(0)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{*controller.NewControllerRef(d, controllerKind)},
			Labels:          lbls,
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &zero, MinReadySeconds: d.Spec.MinReadySeconds, Selector: sel, Template: tmpl},
	}
	replicas := newRSNewReplicas(d, all, rs)
	rs.Spec.Replicas = &replicas
	copyDeploymentAnnotations(d, rs)
	setRevision(rs, newRevision)
	setReplicasAnnotations(rs, *d.Spec.Replicas, *d.Spec.Replicas+maxSurge(d))
	created, err := c.client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Ours already (a stale cache)? Otherwise a hash collision: bump
		// collisionCount so the next sync computes another name.
		cur, gerr := c.client.AppsV1().ReplicaSets(d.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		if gerr == nil && metav1.IsControlledBy(cur, d) && EqualIgnoreHash(&cur.Spec.Template, &d.Spec.Template) {
			return cur, nil
		}
		if d.Status.CollisionCount == nil {
			d.Status.CollisionCount = new(int32)
		}
		*d.Status.CollisionCount++
		if _, uerr := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{}); uerr != nil {
			return nil, uerr
		}
		return nil, fmt.Errorf("replicaset name %s collides; collisionCount raised", rs.Name)
	}
	if err != nil {
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		c.recorder.Event(d, corev1.EventTypeWarning, FailedRSCreateReason, msg)
		if hasProgressDeadline(d) {
			setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, FailedRSCreateReason, msg, c.clock.Now()))
			_, _ = c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
		}
		return nil, fmt.Errorf("create replicaset %s: %w", rs.Name, err)
	}
	if replicas > 0 {
		c.recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", created.Name, replicas)
	}
	if d.Annotations[RevisionAnnotation] != newRevision {
		if d.Annotations == nil {
			d.Annotations = map[string]string{}
		}
		d.Annotations[RevisionAnnotation] = newRevision
		out, err := c.client.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("update revision of deployment %s: %w", d.Name, err)
		}
		*d = *out
	}
	if hasProgressDeadline(d) {
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, NewReplicaSetReason,
			fmt.Sprintf("Created new replica set %q", created.Name), c.clock.Now()))
		out, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("update status of deployment %s: %w", d.Name, err)
		}
		*d = *out
	}
	return created, nil
}

// cleanup deletes the oldest fully scaled-down old ReplicaSets beyond
// revisionHistoryLimit.
func (c *Controller) cleanup(ctx context.Context, d *appsv1.Deployment, old []*appsv1.ReplicaSet) error {
	if d.Spec.RevisionHistoryLimit == nil {
		return nil
	}
	var cleanable []*appsv1.ReplicaSet
	for _, rs := range old {
		if rs.Spec.Replicas != nil && *rs.Spec.Replicas == 0 && rs.Status.Replicas == 0 &&
			rs.Generation <= rs.Status.ObservedGeneration && rs.DeletionTimestamp == nil {
			cleanable = append(cleanable, rs)
		}
	}
	diff := len(cleanable) - int(*d.Spec.RevisionHistoryLimit)
	if diff <= 0 {
		return nil
	}
	sort.SliceStable(cleanable, func(i, j int) bool {
		ri, rj := Revision(cleanable[i]), Revision(cleanable[j])
		if ri != rj {
			return ri < rj
		}
		return olderRS(cleanable[i], cleanable[j])
	})
	for _, rs := range cleanable[:diff] {
		err := c.client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &rs.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete old replicaset %s: %w", rs.Name, err)
		}
	}
	return nil
}
