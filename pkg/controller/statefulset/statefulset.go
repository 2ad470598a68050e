// Package statefulset runs StatefulSets' pods with stable identities:
// pod <set>-<ordinal> (hostname the pod name, subdomain spec.serviceName),
// created in order with OrderedReady (each waits for the previous to be
// Running and Ready; scale-down removes the highest ordinal first, one at
// a time) or all at once with Parallel; a PersistentVolumeClaim per
// volumeClaimTemplate and ordinal (<template>-<set>-<ordinal>) created
// before its pod, kept or deleted with the set or on scale-down as
// persistentVolumeClaimRetentionPolicy says (owner references the garbage
// collector acts on); RollingUpdate from the highest ordinal down to
// the partition, one pod at a time, or OnDelete; revisions as
// ControllerRevisions (currentRevision/updateRevision); failed pods
// recreated.
package statefulset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kstack/kstack/pkg/controller"
	"github.com/kstack/kstack/pkg/controller/history"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// Name is the controller's workqueue name.
const Name = "statefulset"

var controllerKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

// Controller is the StatefulSet controller.
type Controller struct {
	client    kubernetes.Interface
	setLister appslisters.StatefulSetLister
	podLister corelisters.PodLister
	pvcLister corelisters.PersistentVolumeClaimLister
	history   *history.History
	synced    []cache.InformerSynced
	queue     controller.Queue
	recorder  record.EventRecorder
	clock     clock.Clock
}

// New returns a StatefulSet controller.
func New(client kubernetes.Interface, sets appsinformers.StatefulSetInformer, pods coreinformers.PodInformer,
	pvcs coreinformers.PersistentVolumeClaimInformer, revs appsinformers.ControllerRevisionInformer, recorder record.EventRecorder) *Controller {
	if recorder == nil {
		recorder = &record.FakeRecorder{}
	}
	c := &Controller{client: client, setLister: sets.Lister(), podLister: pods.Lister(), pvcLister: pvcs.Lister(), history: &history.History{Client: client, Lister: revs.Lister()},
		synced: []cache.InformerSynced{sets.Informer().HasSynced, pods.Informer().HasSynced, pvcs.Informer().HasSynced, revs.Informer().HasSynced},
		queue:  controller.NewQueue(Name), recorder: recorder, clock: clock.RealClock{}}
	enqueue := func(obj any) { controller.Enqueue(c.queue, obj) }
	_, _ = sets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue})
	podChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		if ref := metav1.GetControllerOf(pod); ref != nil {
			if ref.Kind == controllerKind.Kind {
				c.queue.Add(pod.Namespace + "/" + ref.Name)
			}
			return
		}
		sets, _ := c.setLister.StatefulSets(pod.Namespace).List(labels.Everything())
		for _, s := range sets {
			if sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector); err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
				c.queue.Add(s.Namespace + "/" + s.Name)
			}
		}
	}
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: podChanged, UpdateFunc: func(_, o any) { podChanged(o) }, DeleteFunc: podChanged})
	revChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if r, ok := obj.(*appsv1.ControllerRevision); ok {
			if ref := metav1.GetControllerOf(r); ref != nil && ref.Kind == controllerKind.Kind {
				c.queue.Add(r.Namespace + "/" + ref.Name)
			}
		}
	}
	_, _ = revs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: revChanged, UpdateFunc: func(_, o any) { revChanged(o) }, DeleteFunc: revChanged})
	return c
}

// Run syncs StatefulSets with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

// ordinal parses the ordinal of a pod named <set>-<n>, or -1.
func ordinal(set *appsv1.StatefulSet, pod *corev1.Pod) int {
	s, ok := strings.CutPrefix(pod.Name, set.Name+"-")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func podReady(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && controller.IsPodReady(p) && p.DeletionTimestamp == nil
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.setLister.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	set := cached.DeepCopy()
	sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil || sel.Empty() {
		return nil
	}
	all, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	claimer := &controller.Claimer{Owner: set, OwnerGVK: controllerKind, Selector: sel,
		Patch: func(ctx context.Context, n string, patch []byte) error {
			_, err := c.client.CoreV1().Pods(ns).Patch(ctx, n, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
		CanAdopt: controller.RecheckDeletion(set.UID, func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		}),
	}
	pods, err := controller.Claim(ctx, claimer, all)
	if err != nil {
		return err
	}
	if set.DeletionTimestamp != nil {
		return nil // the garbage collector removes the pods
	}
	updateRev, old, err := c.ensureRevision(ctx, set, sel)
	if err != nil {
		return err
	}
	actErr := c.reconcile(ctx, set, pods, updateRev)
	statusErr := c.updateStatus(ctx, set, pods, updateRev)
	var cleanupErr error
	if actErr == nil && statusErr == nil {
		cleanupErr = c.cleanupHistory(ctx, set, pods, old)
	}
	return errorsJoin(actErr, statusErr, cleanupErr)
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// ensureRevision makes the ControllerRevision of the current template
// (package history) and returns its name (the controller-revision-hash of
// updated pods, status.updateRevision) and the older revisions. A hash
// collision bumps status.collisionCount.
func (c *Controller) ensureRevision(ctx context.Context, set *appsv1.StatefulSet, sel labels.Selector) (string, []*appsv1.ControllerRevision, error) {
	cur, old, err := c.history.Sync(ctx, history.Owner{Object: set, GVK: controllerKind, Selector: sel,
		Template: &set.Spec.Template, CollisionCount: set.Status.CollisionCount})
	if errors.Is(err, history.ErrCollision) {
		n := int32(0)
		if set.Status.CollisionCount != nil {
			n = *set.Status.CollisionCount
		}
		n++
		set.Status.CollisionCount = &n
		if _, uerr := c.client.AppsV1().StatefulSets(set.Namespace).UpdateStatus(ctx, set, metav1.UpdateOptions{}); uerr != nil {
			return "", nil, fmt.Errorf("bump collision count of statefulset %s/%s: %w", set.Namespace, set.Name, uerr)
		}
		return "", nil, err
	}
	if err != nil {
		return "", nil, fmt.Errorf("history of statefulset %s/%s: %w", set.Namespace, set.Name, err)
	}
	return cur.Name, old, nil
}

// cleanupHistory deletes old revisions beyond revisionHistoryLimit that
// are neither a pod's nor the current or update revision.
func (c *Controller) cleanupHistory(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, old []*appsv1.ControllerRevision) error {
	limit := int32(history.DefaultRevisionHistoryLimit)
	if set.Spec.RevisionHistoryLimit != nil {
		limit = *set.Spec.RevisionHistoryLimit
	}
	live := map[string]bool{set.Status.CurrentRevision: true, set.Status.UpdateRevision: true}
	for _, p := range pods {
		live[p.Labels[appsv1.ControllerRevisionHashLabelKey]] = true
	}
	return c.history.CleanUp(ctx, old, limit, func(r *appsv1.ControllerRevision) bool { return live[r.Name] })
}

// reconcile creates, replaces, deletes and updates pods, one step at a
// time for OrderedReady.
func (c *Controller) reconcile(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, updateRev string) error {
	start := 0
	if set.Spec.Ordinals != nil {
		start = int(set.Spec.Ordinals.Start)
	}
	replicas := 1
	if set.Spec.Replicas != nil {
		replicas = int(*set.Spec.Replicas)
	}
	parallel := set.Spec.PodManagementPolicy == appsv1.ParallelPodManagement
	byOrdinal := map[int]*corev1.Pod{}
	var condemned []*corev1.Pod
	for _, p := range pods {
		o := ordinal(set, p)
		if o >= start && o < start+replicas {
			byOrdinal[o] = p
		} else {
			condemned = append(condemned, p)
		}
	}
	// Claims follow the retention policy, before any condemned pod goes.
	for o, p := range byOrdinal {
		if err := c.applyRetentionPolicy(ctx, set, p, o, false); err != nil {
			return err
		}
	}
	for _, p := range condemned {
		if o := ordinal(set, p); o >= 0 && p.DeletionTimestamp == nil {
			if err := c.applyRetentionPolicy(ctx, set, p, o, true); err != nil {
				return err
			}
		}
	}
	// Create missing pods (and their claims) in ordinal order.
	for o := start; o < start+replicas; o++ {
		p, ok := byOrdinal[o]
		if ok && (p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded) && p.DeletionTimestamp == nil {
			// A finished pod is replaced.
			if err := c.deletePod(ctx, set, p, "RecreatingFailedPod"); err != nil {
				return err
			}
			return nil
		}
		if !ok {
			if err := c.createPod(ctx, set, o, updateRev); err != nil {
				return err
			}
			if !parallel {
				return nil // wait for it to be Running and Ready
			}
			continue
		}
		if !parallel && !podReady(p) {
			return nil // OrderedReady: the next waits for this one
		}
	}
	// Scale down: highest ordinal first.
	sort.Slice(condemned, func(i, j int) bool { return ordinal(set, condemned[i]) > ordinal(set, condemned[j]) })
	for _, p := range condemned {
		if p.DeletionTimestamp != nil {
			if !parallel {
				return nil
			}
			continue
		}
		if err := c.deletePod(ctx, set, p, "SuccessfulDelete"); err != nil {
			return err
		}
		if !parallel {
			return nil
		}
	}
	// Rolling update from the highest ordinal down to the partition.
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return nil
	}
	partition := 0
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		partition = int(*ru.Partition)
	}
	for o := start + replicas - 1; o >= start && o >= partition; o-- {
		p := byOrdinal[o]
		if p == nil || p.DeletionTimestamp != nil {
			return nil // wait for the replacement
		}
		if p.Labels[appsv1.ControllerRevisionHashLabelKey] == updateRev {
			if !podReady(p) {
				return nil // the updated pod must be ready before the next
			}
			continue
		}
		return c.deletePod(ctx, set, p, "SuccessfulDelete")
	}
	return nil
}

// claimName is the PVC of template for ordinal o.
func claimName(set *appsv1.StatefulSet, tmpl *corev1.PersistentVolumeClaim, o int) string {
	return fmt.Sprintf("%s-%s-%d", tmpl.Name, set.Name, o)
}

func (c *Controller) createPod(ctx context.Context, set *appsv1.StatefulSet, o int, updateRev string) error {
	podName := fmt.Sprintf("%s-%d", set.Name, o)
	// Claims first: the pod's volumes need them.
	for i := range set.Spec.VolumeClaimTemplates {
		tmpl := &set.Spec.VolumeClaimTemplates[i]
		cn := claimName(set, tmpl, o)
		if _, err := c.pvcLister.PersistentVolumeClaims(set.Namespace).Get(cn); err == nil {
			continue
		}
		pvc := tmpl.DeepCopy()
		pvc.ObjectMeta = metav1.ObjectMeta{Name: cn, Namespace: set.Namespace, Labels: map[string]string{}, Annotations: tmpl.Annotations}
		for k, v := range tmpl.Labels {
			pvc.Labels[k] = v
		}
		for k, v := range set.Spec.Selector.MatchLabels {
			pvc.Labels[k] = v
		}
		pvc.Status = corev1.PersistentVolumeClaimStatus{}
		if _, err := c.client.CoreV1().PersistentVolumeClaims(set.Namespace).Create(ctx, pvc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			c.recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Claim %s for Pod %s in StatefulSet %s failed error: %v", cn, podName, set.Name, err)
			return fmt.Errorf("create claim %s: %w", cn, err)
		}
		c.recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulCreate", "create Claim %s Pod %s in StatefulSet %s success", cn, podName, set.Name)
	}
	pod := controller.PodFromTemplate(&set.Spec.Template, set, controller.NewControllerRef(set, controllerKind))
	pod.GenerateName = ""
	pod.Name = podName
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.StatefulSetPodNameLabel] = podName
	pod.Labels[appsv1.PodIndexLabel] = strconv.Itoa(o)
	pod.Labels[appsv1.ControllerRevisionHashLabelKey] = updateRev
	pod.Spec.Hostname = podName
	pod.Spec.Subdomain = set.Spec.ServiceName
	for i := range set.Spec.VolumeClaimTemplates {
		tmpl := &set.Spec.VolumeClaimTemplates[i]
		vol := corev1.Volume{Name: tmpl.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName(set, tmpl, o)}}}
		replaced := false
		for j := range pod.Spec.Volumes {
			if pod.Spec.Volumes[j].Name == tmpl.Name {
				pod.Spec.Volumes[j] = vol
				replaced = true
			}
		}
		if !replaced {
			pod.Spec.Volumes = append(pod.Spec.Volumes, vol)
		}
	}
	_, err := c.client.CoreV1().Pods(set.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil // the cache had not seen it yet
	}
	if err != nil {
		c.recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Pod %s in StatefulSet %s failed error: %v", podName, set.Name, err)
		return fmt.Errorf("create pod %s: %w", podName, err)
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulCreate", "create Pod %s in StatefulSet %s successful", podName, set.Name)
	return nil
}

func (c *Controller) deletePod(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod, reason string) error {
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s: %w", p.Name, err)
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, reason, "delete Pod %s in StatefulSet %s successful", p.Name, set.Name)
	return nil
}

func (c *Controller) updateStatus(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, updateRev string) error {
	st := *set.Status.DeepCopy()
	st.ObservedGeneration = set.Generation
	st.UpdateRevision = updateRev
	var replicas, ready, available, current, updated int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		replicas++
		if podReady(p) {
			ready++
			if controller.IsPodAvailable(p, set.Spec.MinReadySeconds, c.clock.Now()) {
				available++
			}
		}
		rev := p.Labels[appsv1.ControllerRevisionHashLabelKey]
		if rev == updateRev {
			updated++
		}
		if rev == st.CurrentRevision {
			current++
		}
	}
	if st.CurrentRevision == "" {
		st.CurrentRevision = updateRev
		current = updated
	}
	want := int32(1)
	if set.Spec.Replicas != nil {
		want = *set.Spec.Replicas
	}
	if updated == want && replicas == want && ready == want {
		st.CurrentRevision = updateRev // the rollout is done
		current = updated
	}
	st.Replicas, st.ReadyReplicas, st.AvailableReplicas, st.CurrentReplicas, st.UpdatedReplicas = replicas, ready, available, current, updated
	if equality.Semantic.DeepEqual(set.Status, st) {
		return nil
	}
	set.Status = st
	if _, err := c.client.AppsV1().StatefulSets(set.Namespace).UpdateStatus(ctx, set, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of statefulset %s/%s: %w", set.Namespace, set.Name, err)
	}
	return nil
}
