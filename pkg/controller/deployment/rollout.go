package deployment

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ResolveFenceposts turns maxSurge and maxUnavailable into numbers for
// desired replicas: surge rounds up, unavailable rounds down, and both
// zero means one may be unavailable (as upstream).
func ResolveFenceposts(surge, unavailable *intstr.IntOrString, desired int32) (int32, int32, error) {
	zero := intstr.FromInt32(0)
	if surge == nil {
		surge = &zero
	}
	if unavailable == nil {
		unavailable = &zero
	}
	s, err := intstr.GetScaledValueFromIntOrPercent(surge, int(desired), true)
	if err != nil {
		return 0, 0, fmt.Errorf("maxSurge: %w", err)
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(unavailable, int(desired), false)
	if err != nil {
		return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u), nil
}

func isRolling(d *appsv1.Deployment) bool {
	return d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType && d.Spec.Strategy.RollingUpdate != nil
}

// maxSurge is d's surge in pods (0 unless RollingUpdate).
func maxSurge(d *appsv1.Deployment) int32 {
	if !isRolling(d) {
		return 0
	}
	s, _, _ := ResolveFenceposts(d.Spec.Strategy.RollingUpdate.MaxSurge, d.Spec.Strategy.RollingUpdate.MaxUnavailable, *d.Spec.Replicas)
	return s
}

// maxUnavailable is d's unavailability budget in pods, at most replicas.
func maxUnavailable(d *appsv1.Deployment) int32 {
	if !isRolling(d) || *d.Spec.Replicas == 0 {
		return 0
	}
	_, u, _ := ResolveFenceposts(d.Spec.Strategy.RollingUpdate.MaxSurge, d.Spec.Strategy.RollingUpdate.MaxUnavailable, *d.Spec.Replicas)
	return min(u, *d.Spec.Replicas)
}

func specReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil && rs.Spec.Replicas != nil {
			n += *rs.Spec.Replicas
		}
	}
	return n
}

func activeRSs(rss []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rss {
		if rs != nil && rs.Spec.Replicas != nil && *rs.Spec.Replicas > 0 {
			out = append(out, rs)
		}
	}
	return out
}

func withNew(old []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	all := append([]*appsv1.ReplicaSet(nil), old...)
	if newRS != nil {
		all = append(all, newRS)
	}
	return all
}

// newRSNewReplicas is how many replicas the new ReplicaSet may have now.
func newRSNewReplicas(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	if !isRolling(d) {
		return *d.Spec.Replicas
	}
	cur := *newRS.Spec.Replicas
	if cur >= *d.Spec.Replicas {
		return cur
	}
	maxTotal := *d.Spec.Replicas + maxSurge(d)
	count := specReplicas(all)
	if !containsRS(all, newRS) {
		count += cur
	}
	if count >= maxTotal {
		return cur
	}
	up := min(maxTotal-count, *d.Spec.Replicas-cur)
	return cur + up
}

func containsRS(all []*appsv1.ReplicaSet, rs *appsv1.ReplicaSet) bool {
	for _, r := range all {
		if r.UID == rs.UID && r.Name == rs.Name {
			return true
		}
	}
	return false
}

// scaleRS sets rs's replicas to n and its replica annotations; it returns
// the updated ReplicaSet.
func (c *Controller) scaleRS(ctx context.Context, rs *appsv1.ReplicaSet, n int32, d *appsv1.Deployment) (bool, *appsv1.ReplicaSet, error) {
	cur := *rs.Spec.Replicas
	cp := rs.DeepCopy()
	annChanged := setReplicasAnnotations(cp, *d.Spec.Replicas, *d.Spec.Replicas+maxSurge(d))
	if cur == n && !annChanged {
		return false, rs, nil
	}
	cp.Spec.Replicas = &n
	out, err := c.client.AppsV1().ReplicaSets(cp.Namespace).Update(ctx, cp, metav1.UpdateOptions{})
	if err != nil {
		return false, nil, fmt.Errorf("scale replicaset %s to %d: %w", rs.Name, n, err)
	}
	if cur != n {
		dir := "up"
		if n < cur {
			dir = "down"
		}
		c.recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", dir, rs.Name, cur, n)
	}
	return cur != n, out, nil
}

// isScalingEvent reports whether d's replicas changed since its active
// ReplicaSets were last scaled for it.
func (c *Controller) isScalingEvent(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (bool, error) {
	newRS, old, err := c.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return false, err
	}
	for _, rs := range activeRSs(withNew(old, newRS)) {
		v, ok := rs.Annotations[DesiredReplicasAnnotation]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		if int32(n) != *d.Spec.Replicas {
			return true, nil
		}
	}
	return false, nil
}

// syncScale scales the ReplicaSets to d's replicas (proportionally while a
// rollout is in flight), cleans up a paused Deployment and writes status.
func (c *Controller) syncScale(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := c.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	newRS, old, err = c.scale(ctx, d, newRS, old)
	if err != nil {
		return err
	}
	if d.Spec.Paused {
		if err := c.cleanup(ctx, d, old); err != nil {
			return err
		}
	}
	return c.syncStatus(ctx, d, withNew(old, newRS), newRS)
}

// syncStatusOnly writes status without touching ReplicaSets.
func (c *Controller) syncStatusOnly(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := c.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	return c.syncStatus(ctx, d, withNew(old, newRS), newRS)
}

// scale brings the total replicas to d's, as upstream: one active
// ReplicaSet takes it all; a saturated new one scales the old to zero;
// otherwise the change is spread in proportion to each ReplicaSet's size.
func (c *Controller) scale(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	all := withNew(old, newRS)
	active := activeRSs(all)
	var target *appsv1.ReplicaSet
	switch {
	case len(active) == 1:
		target = active[0]
	case len(active) == 0:
		if newRS != nil {
			target = newRS
		} else if len(old) > 0 {
			sorted := append([]*appsv1.ReplicaSet(nil), old...)
			sort.SliceStable(sorted, func(i, j int) bool { return olderRS(sorted[j], sorted[i]) })
			target = sorted[0]
		}
	}
	replace := func(rs *appsv1.ReplicaSet) {
		if newRS != nil && rs.UID == newRS.UID {
			newRS = rs
		}
		for i := range old {
			if old[i].UID == rs.UID {
				old[i] = rs
			}
		}
	}
	if len(active) <= 1 {
		if target == nil {
			return newRS, old, nil
		}
		_, rs, err := c.scaleRS(ctx, target, *d.Spec.Replicas, d)
		if err != nil {
			return nil, nil, err
		}
		replace(rs)
		return newRS, old, nil
	}
	if newRS != nil && isSaturated(d, newRS) {
		for _, rs := range activeRSs(old) {
			_, out, err := c.scaleRS(ctx, rs, 0, d)
			if err != nil {
				return nil, nil, err
			}
			replace(out)
		}
		return newRS, old, nil
	}
	if !isRolling(d) {
		return newRS, old, nil
	}
	allowed := int32(0)
	if *d.Spec.Replicas > 0 {
		allowed = *d.Spec.Replicas + maxSurge(d)
	}
	toAdd := allowed - specReplicas(all)
	sorted := append([]*appsv1.ReplicaSet(nil), active...)
	if toAdd > 0 {
		sort.SliceStable(sorted, func(i, j int) bool { return bySizeNewer(sorted[i], sorted[j]) })
	} else {
		sort.SliceStable(sorted, func(i, j int) bool { return bySizeOlder(sorted[i], sorted[j]) })
	}
	sizes := make([]int32, len(sorted))
	added := int32(0)
	for i, rs := range sorted {
		p := proportion(rs, d, toAdd, added)
		sizes[i] = *rs.Spec.Replicas + p
		added += p
	}
	if toAdd != 0 && len(sorted) > 0 {
		sizes[0] += toAdd - added // leftovers go to the largest
		if sizes[0] < 0 {
			sizes[0] = 0
		}
	}
	for i, rs := range sorted {
		_, out, err := c.scaleRS(ctx, rs, sizes[i], d)
		if err != nil {
			return nil, nil, err
		}
		replace(out)
	}
	return newRS, old, nil
}

func bySizeNewer(a, b *appsv1.ReplicaSet) bool {
	if *a.Spec.Replicas == *b.Spec.Replicas {
		return olderRS(b, a)
	}
	return *a.Spec.Replicas > *b.Spec.Replicas
}

func bySizeOlder(a, b *appsv1.ReplicaSet) bool {
	if *a.Spec.Replicas == *b.Spec.Replicas {
		return olderRS(a, b)
	}
	return *a.Spec.Replicas > *b.Spec.Replicas
}

// proportion is rs's share of toAdd (bounded by what is left to add).
func proportion(rs *appsv1.ReplicaSet, d *appsv1.Deployment, toAdd, added int32) int32 {
	if *rs.Spec.Replicas == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	frac := fraction(rs, d)
	left := toAdd - added
	if toAdd > 0 {
		return min(frac, left)
	}
	return max(frac, left)
}

// fraction is how much rs grows or shrinks when the Deployment it was last
// scaled for (max-replicas annotation) becomes d.
func fraction(rs *appsv1.ReplicaSet, d *appsv1.Deployment) int32 {
	if *d.Spec.Replicas == 0 {
		return -*rs.Spec.Replicas
	}
	total := *d.Spec.Replicas + maxSurge(d)
	annotated := d.Status.Replicas
	if v, err := strconv.Atoi(rs.Annotations[MaxReplicasAnnotation]); err == nil {
		annotated = int32(v)
	}
	if annotated == 0 {
		return 0
	}
	size := float64(*rs.Spec.Replicas*total) / float64(annotated)
	return int32(math.Round(size)) - *rs.Spec.Replicas
}

// isSaturated reports whether the new ReplicaSet runs all of d, available.
func isSaturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	desired, err := strconv.Atoi(rs.Annotations[DesiredReplicasAnnotation])
	if err != nil {
		return false
	}
	return *rs.Spec.Replicas == *d.Spec.Replicas && int32(desired) == *d.Spec.Replicas &&
		rs.Status.AvailableReplicas == *d.Spec.Replicas
}

// rolloutRolling moves one step of a rolling update: scale the new
// ReplicaSet up within maxSurge, or the old ones down within
// maxUnavailable.
func (c *Controller) rolloutRolling(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := c.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, true)
	if err != nil {
		return err
	}
	all := withNew(old, newRS)
	// Scale up the new ReplicaSet.
	if n := *newRS.Spec.Replicas; n != *d.Spec.Replicas {
		want := *d.Spec.Replicas
		if n < want {
			want = newRSNewReplicas(d, all, newRS)
		}
		scaled, out, err := c.scaleRS(ctx, newRS, want, d)
		if err != nil {
			return err
		}
		if scaled {
			newRS = out
			return c.syncRolloutStatus(ctx, d, withNew(old, newRS), newRS)
		}
	}
	// Scale down the old ones.
	scaledDown, old, err := c.reconcileOld(ctx, d, old, newRS)
	if err != nil {
		return err
	}
	all = withNew(old, newRS)
	if scaledDown {
		return c.syncRolloutStatus(ctx, d, all, newRS)
	}
	if deploymentComplete(d, &d.Status) {
		if err := c.cleanup(ctx, d, old); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(ctx, d, all, newRS)
}

// reconcileOld scales old ReplicaSets down as far as minAvailable allows:
// unhealthy replicas first, then available ones, oldest ReplicaSet first.
func (c *Controller) reconcileOld(ctx context.Context, d *appsv1.Deployment, old []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, []*appsv1.ReplicaSet, error) {
	old = append([]*appsv1.ReplicaSet(nil), old...)
	if specReplicas(old) == 0 {
		return false, old, nil
	}
	all := withNew(old, newRS)
	allPods := specReplicas(all)
	minAvailable := *d.Spec.Replicas - maxUnavailable(d)
	newUnavailable := *newRS.Spec.Replicas - newRS.Status.AvailableReplicas
	maxScaledDown := allPods - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false, old, nil
	}
	order := make([]int, len(old))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return olderRS(old[order[i]], old[order[j]]) })
	// Unhealthy replicas go first: they do not count toward availability.
	var cleaned int32
	for _, i := range order {
		rs := old[i]
		if cleaned >= maxScaledDown {
			break
		}
		if *rs.Spec.Replicas == 0 {
			continue
		}
		unhealthy := *rs.Spec.Replicas - rs.Status.AvailableReplicas
		if unhealthy <= 0 {
			continue
		}
		n := min(maxScaledDown-cleaned, unhealthy)
		_, out, err := c.scaleRS(ctx, rs, *rs.Spec.Replicas-n, d)
		if err != nil {
			return false, nil, err
		}
		old[i] = out
		cleaned += n
	}
	// Then available ones, down to minAvailable.
	all = withNew(old, newRS)
	var available int32
	for _, rs := range all {
		available += rs.Status.AvailableReplicas
	}
	var scaled int32
	if available > minAvailable {
		total := available - minAvailable
		for _, i := range order {
			rs := old[i]
			if scaled >= total {
				break
			}
			if *rs.Spec.Replicas == 0 {
				continue
			}
			n := min(*rs.Spec.Replicas, total-scaled)
			_, out, err := c.scaleRS(ctx, rs, *rs.Spec.Replicas-n, d)
			if err != nil {
				return false, nil, err
			}
			old[i] = out
			scaled += n
		}
	}
	return cleaned+scaled > 0, old, nil
}

// rolloutRecreate scales every old ReplicaSet to zero, waits for their pods
// to be gone, then scales the new one up.
func (c *Controller) rolloutRecreate(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := c.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	scaledDown := false
	for i, rs := range old {
		if *rs.Spec.Replicas == 0 {
			continue
		}
		s, out, err := c.scaleRS(ctx, rs, 0, d)
		if err != nil {
			return err
		}
		old[i] = out
		scaledDown = scaledDown || s
	}
	if scaledDown {
		return c.syncRolloutStatus(ctx, d, withNew(old, newRS), newRS)
	}
	running, err := c.oldPodsRunning(d, newRS, old)
	if err != nil {
		return err
	}
	if running {
		return c.syncRolloutStatus(ctx, d, withNew(old, newRS), newRS)
	}
	if newRS == nil {
		newRS, old, err = c.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, true)
		if err != nil {
			return err
		}
	}
	if _, out, err := c.scaleRS(ctx, newRS, *d.Spec.Replicas, d); err != nil {
		return err
	} else {
		newRS = out
	}
	if deploymentComplete(d, &d.Status) {
		if err := c.cleanup(ctx, d, old); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(ctx, d, withNew(old, newRS), newRS)
}

// oldPodsRunning reports whether any pod of an old ReplicaSet still runs
// (or may: pending, unknown, or terminating).
func (c *Controller) oldPodsRunning(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) (bool, error) {
	pods, err := c.podLister.Pods(d.Namespace).List(labels.Everything())
	if err != nil {
		return false, err
	}
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			continue
		}
		for _, rs := range old {
			if ref.UID == rs.UID && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				return true, nil
			}
		}
	}
	return false, nil
}
