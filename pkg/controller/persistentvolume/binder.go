// Package persistentvolume is the PersistentVolume binder: it binds each
// unbound PersistentVolumeClaim to the smallest Available PersistentVolume
// that satisfies it (storageClassName, accessModes, volumeMode, requested
// storage, selector; a volume pre-bound to the claim by claimRef first),
// writes the binding on both sides with upstream's annotations
// (pv.kubernetes.io/bind-completed, pv.kubernetes.io/bound-by-controller)
// and phases (Available, Bound, Released, Failed; claims Pending, Bound,
// Lost), and reclaims a volume whose claim is gone: Retain keeps it
// Released; Delete deletes the PersistentVolume object (there is no
// volume plugin to delete storage with); Recycle is not supported and
// marks it Failed.
//
//	claim events ──► claim queue ──► syncClaim: find/bind a volume, claim status
//	volume events ─► volume queue ─► syncVolume: phase; claim gone → reclaim
//
// Binding is three writes in upstream's order (volume claimRef, volume
// status, then claim volumeName + annotations, then claim status); each
// sync re-derives what is left from the objects, so a crash between
// writes is finished by the next sync.
package persistentvolume

import (
	"context"
	"fmt"
	"sort"

	"github.com/kstack/kstack/pkg/controller"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	storageinformers "k8s.io/client-go/informers/storage/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// Annotations and event reasons, as upstream.
const (
	AnnBindCompleted     = "pv.kubernetes.io/bind-completed"
	AnnBoundByController = "pv.kubernetes.io/bound-by-controller"
	AnnSelectedNode      = "volume.kubernetes.io/selected-node"

	EventFailedBinding        = "FailedBinding"
	EventWaitForFirstConsumer = "WaitForFirstConsumer"
	EventClaimLost            = "ClaimLost"
	EventClaimMisbound        = "ClaimMisbound"
	EventVolumeFailedRecycle  = "VolumeFailedRecycle"
	EventVolumeFailedDelete   = "VolumeFailedDelete"
)

// Name is the controller's name (workqueue prefix).
const Name = "persistentvolume-binder"

// Controller binds claims and volumes.
type Controller struct {
	client      kubernetes.Interface
	pvLister    corelisters.PersistentVolumeLister
	pvcLister   corelisters.PersistentVolumeClaimLister
	classLister storagelisters.StorageClassLister
	synced      []cache.InformerSynced
	claims      controller.Queue
	volumes     controller.Queue
	recorder    record.EventRecorder
}

// New returns the binder.
func New(client kubernetes.Interface, pvs coreinformers.PersistentVolumeInformer, pvcs coreinformers.PersistentVolumeClaimInformer,
	classes storageinformers.StorageClassInformer, recorder record.EventRecorder) *Controller {
	if recorder == nil {
		recorder = &record.FakeRecorder{}
	}
	c := &Controller{client: client, pvLister: pvs.Lister(), pvcLister: pvcs.Lister(), classLister: classes.Lister(),
		synced:  []cache.InformerSynced{pvs.Informer().HasSynced, pvcs.Informer().HasSynced, classes.Informer().HasSynced},
		claims:  controller.NewQueue(Name + "-claims"),
		volumes: controller.NewQueue(Name + "-volumes"), recorder: recorder}
	onClaim := func(obj any) {
		controller.Enqueue(c.claims, obj)
		// A claim's change may release or complete its volume.
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok && pvc.Spec.VolumeName != "" {
			c.volumes.Add(pvc.Spec.VolumeName)
		}
	}
	_, _ = pvcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: onClaim, UpdateFunc: func(_, o any) { onClaim(o) }, DeleteFunc: onClaim})
	onVolume := func(obj any) {
		controller.Enqueue(c.volumes, obj)
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if pv, ok := obj.(*corev1.PersistentVolume); ok {
			if ref := pv.Spec.ClaimRef; ref != nil {
				c.claims.Add(ref.Namespace + "/" + ref.Name)
			} else {
				c.enqueueUnboundClaims() // a new Available volume may fit a waiting claim
			}
		}
	}
	_, _ = pvs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: onVolume, UpdateFunc: func(_, o any) { onVolume(o) }, DeleteFunc: onVolume})
	return c
}

func (c *Controller) enqueueUnboundClaims() {
	all, err := c.pvcLister.List(labels.Everything())
	if err != nil {
		return
	}
	for _, pvc := range all {
		if pvc.Spec.VolumeName == "" {
			controller.Enqueue(c.claims, pvc)
		}
	}
}

// Run syncs claims and volumes with workers goroutines each until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		controller.RunWorkers(ctx, Name+"-volumes", c.volumes, workers, c.syncVolume)
	}()
	controller.RunWorkers(ctx, Name+"-claims", c.claims, workers, c.syncClaim)
	<-done
}

// className is the claim's storage class ("" when none).
func claimClass(pvc *corev1.PersistentVolumeClaim) string {
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return ""
}

func volumeMode(m *corev1.PersistentVolumeMode) corev1.PersistentVolumeMode {
	if m == nil {
		return corev1.PersistentVolumeFilesystem
	}
	return *m
}

// boundTo reports whether pv's claimRef names pvc (with its UID, or with
// none: pre-bound by the user).
func boundTo(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) bool {
	ref := pv.Spec.ClaimRef
	return ref != nil && ref.Name == pvc.Name && ref.Namespace == pvc.Namespace && (ref.UID == "" || ref.UID == pvc.UID)
}

// satisfies reports whether pv can serve pvc: class, modes, size, selector.
func satisfies(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) bool {
	if pv.Spec.StorageClassName != claimClass(pvc) || volumeMode(pv.Spec.VolumeMode) != volumeMode(pvc.Spec.VolumeMode) {
		return false
	}
	for _, want := range pvc.Spec.AccessModes {
		found := false
		for _, m := range pv.Spec.AccessModes {
			found = found || m == want
		}
		if !found {
			return false
		}
	}
	req := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	capacity := pv.Spec.Capacity[corev1.ResourceStorage]
	if capacity.Cmp(req) < 0 {
		return false
	}
	if pvc.Spec.Selector != nil {
		sel, err := metav1.LabelSelectorAsSelector(pvc.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pv.Labels)) {
			return false
		}
	}
	return true
}

// findVolume picks pvc's volume: one pre-bound to it, else the smallest
// Available one that satisfies it.
func (c *Controller) findVolume(pvc *corev1.PersistentVolumeClaim) (*corev1.PersistentVolume, error) {
	pvs, err := c.pvLister.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var candidates []*corev1.PersistentVolume
	for _, pv := range pvs {
		if pv.DeletionTimestamp != nil || !satisfies(pv, pvc) {
			continue
		}
		if boundTo(pv, pvc) {
			return pv, nil
		}
		if pv.Spec.ClaimRef != nil || pv.Status.Phase == corev1.VolumeReleased || pv.Status.Phase == corev1.VolumeFailed {
			continue
		}
		candidates = append(candidates, pv)
	}
	sort.Slice(candidates, func(i, j int) bool {
		a, b := candidates[i].Spec.Capacity[corev1.ResourceStorage], candidates[j].Spec.Capacity[corev1.ResourceStorage]
		if d := a.Cmp(b); d != 0 {
			return d < 0
		}
		return candidates[i].Name < candidates[j].Name
	})
	if len(candidates) == 0 {
		return nil, nil
	}
	return candidates[0], nil
}

func (c *Controller) syncClaim(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.pvcLister.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	pvc := cached.DeepCopy()
	if pvc.Spec.VolumeName == "" {
		return c.syncUnboundClaim(ctx, pvc)
	}
	pv, err := c.pvLister.Get(pvc.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		if pvc.Annotations[AnnBindCompleted] == "" {
			return c.setClaimPhase(ctx, pvc, corev1.ClaimPending, nil) // the user's volume is yet to come
		}
		if pvc.Status.Phase != corev1.ClaimLost {
			c.recorder.Event(pvc, corev1.EventTypeWarning, EventClaimLost, "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
		}
		return c.setClaimPhase(ctx, pvc, corev1.ClaimLost, nil)
	}
	if err != nil {
		return err
	}
	switch {
	case pv.Spec.ClaimRef == nil || boundTo(pv, pvc):
		// Pre-bound by the user (volumeName set), or half-bound: finish.
		return c.bind(ctx, pv.DeepCopy(), pvc)
	case pvc.Annotations[AnnBindCompleted] == "":
		return c.setClaimPhase(ctx, pvc, corev1.ClaimPending, nil) // the volume is someone else's: wait
	default:
		if pvc.Status.Phase != corev1.ClaimLost {
			c.recorder.Event(pvc, corev1.EventTypeWarning, EventClaimMisbound, "Two claims are bound to the same volume, this one is bound incorrectly")
		}
		return c.setClaimPhase(ctx, pvc, corev1.ClaimLost, nil)
	}
}

func (c *Controller) syncUnboundClaim(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if cls := claimClass(pvc); cls != "" {
		if sc, err := c.classLister.Get(cls); err == nil && sc.VolumeBindingMode != nil &&
			*sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer && pvc.Annotations[AnnSelectedNode] == "" {
			c.recorder.Event(pvc, corev1.EventTypeNormal, EventWaitForFirstConsumer, "waiting for first consumer to be created before binding")
			return c.setClaimPhase(ctx, pvc, corev1.ClaimPending, nil)
		}
	}
	pv, err := c.findVolume(pvc)
	if err != nil {
		return err
	}
	if pv == nil {
		msg := "no persistent volumes available for this claim and no storage class is set"
		if claimClass(pvc) != "" {
			msg = fmt.Sprintf("storageclass.storage.k8s.io %q not found", claimClass(pvc))
			if _, err := c.classLister.Get(claimClass(pvc)); err == nil {
				msg = fmt.Sprintf("no persistent volumes available for this claim in storage class %q and no provisioner can create one", claimClass(pvc))
			}
		}
		c.recorder.Event(pvc, corev1.EventTypeNormal, EventFailedBinding, msg) // the recorder aggregates repeats
		return c.setClaimPhase(ctx, pvc, corev1.ClaimPending, nil)
	}
	return c.bind(ctx, pv.DeepCopy(), pvc)
}

// bind writes pv ↔ pvc: the volume's claimRef and Bound phase, then the
// claim's volumeName and annotations, then its Bound status. Each step is
// skipped when already done.
func (c *Controller) bind(ctx context.Context, pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) error {
	if ref := pv.Spec.ClaimRef; ref == nil || ref.UID != pvc.UID || ref.Name != pvc.Name || ref.Namespace != pvc.Namespace {
		if ref == nil {
			setAnnotation(&pv.ObjectMeta, AnnBoundByController, "yes")
		}
		pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: pvc.Namespace,
			Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion}
		out, err := c.client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("bind volume %s to claim %s/%s: %w", pv.Name, pvc.Namespace, pvc.Name, err)
		}
		pv = out
	}
	if pv.Status.Phase != corev1.VolumeBound {
		pv.Status.Phase = corev1.VolumeBound
		pv.Status.Message, pv.Status.Reason = "", ""
		out, err := c.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("set volume %s Bound: %w", pv.Name, err)
		}
		pv = out
	}
	if pvc.Spec.VolumeName != pv.Name || pvc.Annotations[AnnBindCompleted] != "yes" {
		if pvc.Spec.VolumeName == "" {
			setAnnotation(&pvc.ObjectMeta, AnnBoundByController, "yes")
		}
		pvc.Spec.VolumeName = pv.Name
		setAnnotation(&pvc.ObjectMeta, AnnBindCompleted, "yes")
		out, err := c.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, pvc, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("bind claim %s/%s to volume %s: %w", pvc.Namespace, pvc.Name, pv.Name, err)
		}
		pvc = out
	}
	return c.setClaimPhase(ctx, pvc, corev1.ClaimBound, pv)
}

func setAnnotation(m *metav1.ObjectMeta, k, v string) {
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[k] = v
}

// setClaimPhase writes pvc's phase (with pv's modes and capacity when
// Bound) if it differs.
func (c *Controller) setClaimPhase(ctx context.Context, pvc *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, pv *corev1.PersistentVolume) error {
	st := pvc.Status.DeepCopy()
	st.Phase = phase
	if pv != nil && phase == corev1.ClaimBound {
		st.AccessModes = append([]corev1.PersistentVolumeAccessMode(nil), pv.Spec.AccessModes...)
		st.Capacity = corev1.ResourceList{}
		for k, v := range pv.Spec.Capacity {
			st.Capacity[k] = v
		}
	}
	if phase != corev1.ClaimBound && phase != corev1.ClaimLost {
		st.AccessModes, st.Capacity = nil, nil
	}
	if equalClaimStatus(&pvc.Status, st) {
		return nil
	}
	pvc.Status = *st
	if _, err := c.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).UpdateStatus(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set claim %s/%s %s: %w", pvc.Namespace, pvc.Name, phase, err)
	}
	return nil
}

func equalClaimStatus(a, b *corev1.PersistentVolumeClaimStatus) bool {
	if a.Phase != b.Phase || len(a.AccessModes) != len(b.AccessModes) || len(a.Capacity) != len(b.Capacity) {
		return false
	}
	for i := range a.AccessModes {
		if a.AccessModes[i] != b.AccessModes[i] {
			return false
		}
	}
	for k, v := range a.Capacity {
		w, ok := b.Capacity[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func (c *Controller) syncVolume(ctx context.Context, key string) error {
	cached, err := c.pvLister.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	pv := cached.DeepCopy()
	ref := pv.Spec.ClaimRef
	if ref == nil || ref.UID == "" {
		// Unbound (an administrator may have cleared a Released volume's
		// claimRef), or pre-bound to a claim the claim sync will bind.
		return c.setVolumePhase(ctx, pv, corev1.VolumeAvailable, "", "")
	}
	pvc, err := c.pvcLister.PersistentVolumeClaims(ref.Namespace).Get(ref.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if pvc == nil || pvc.UID != ref.UID {
		// The cache may lag behind a new claim: ask the apiserver.
		pvc, err = c.client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if err != nil || pvc.UID != ref.UID {
			return c.reclaim(ctx, pv)
		}
	}
	if pvc.Spec.VolumeName == "" {
		c.claims.Add(ref.Namespace + "/" + ref.Name) // binding in progress
		return nil
	}
	if pvc.Spec.VolumeName != pv.Name {
		// The claim went to another volume: this one is free again if the
		// controller bound it (a user's pre-binding is kept).
		if pv.Annotations[AnnBoundByController] != "" {
			pv.Spec.ClaimRef = nil
			out, err := c.client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{})
			if err != nil {
				return fmt.Errorf("unbind volume %s: %w", pv.Name, err)
			}
			return c.setVolumePhase(ctx, out, corev1.VolumeAvailable, "", "")
		}
		return c.setVolumePhase(ctx, pv, corev1.VolumeAvailable, "", "")
	}
	return c.setVolumePhase(ctx, pv, corev1.VolumeBound, "", "")
}

// reclaim handles pv whose claim is gone, by its reclaim policy.
func (c *Controller) reclaim(ctx context.Context, pv *corev1.PersistentVolume) error {
	if pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed {
		out, err := c.setVolumePhaseOut(ctx, pv, corev1.VolumeReleased, "", "")
		if err != nil {
			return err
		}
		pv = out
	}
	switch pv.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimDelete:
		if pv.DeletionTimestamp != nil {
			return nil
		}
		err := c.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pv.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			c.recorder.Event(pv, corev1.EventTypeWarning, EventVolumeFailedDelete, err.Error())
			return fmt.Errorf("delete released volume %s: %w", pv.Name, err)
		}
		return nil
	case corev1.PersistentVolumeReclaimRecycle:
		if pv.Status.Phase != corev1.VolumeFailed {
			msg := "No recycler plugin found for the volume!"
			c.recorder.Event(pv, corev1.EventTypeWarning, EventVolumeFailedRecycle, msg)
			return c.setVolumePhase(ctx, pv, corev1.VolumeFailed, "VolumeFailedRecycle", msg)
		}
	}
	return nil // Retain: Released until an administrator acts
}

func (c *Controller) setVolumePhase(ctx context.Context, pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, reason, msg string) error {
	_, err := c.setVolumePhaseOut(ctx, pv, phase, reason, msg)
	return err
}

func (c *Controller) setVolumePhaseOut(ctx context.Context, pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, reason, msg string) (*corev1.PersistentVolume, error) {
	if pv.Status.Phase == phase && pv.Status.Reason == reason && pv.Status.Message == msg {
		return pv, nil
	}
	pv.Status.Phase, pv.Status.Reason, pv.Status.Message = phase, reason, msg
	now := metav1.Now()
	pv.Status.LastPhaseTransitionTime = &now
	out, err := c.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("set volume %s %s: %w", pv.Name, phase, err)
	}
	return out, nil
}
