package controller

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func persistentVolume(name, class, size string, policy corev1.PersistentVolumeReclaimPolicy, lbls map[string]string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}, Spec: corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: mustQuantity(size)},
		AccessModes:                   modes,
		StorageClassName:              class,
		PersistentVolumeReclaimPolicy: policy,
		PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + name}},
	}}
}

func volumeClaim(name, class, size string, sel *metav1.LabelSelector, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: modes, StorageClassName: &class, Selector: sel,
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: mustQuantity(size)}},
	}}
}

func TestPersistentVolume_BindingPhasesReclaimAndProtection(t *testing.T) {
	c := startCluster(t, []string{"persistentvolume-binder", "pvc-protection", "pv-protection"})
	ctx := t.Context()
	ns := c.namespace(t, "volumes")
	rwo, rwx := corev1.ReadWriteOnce, corev1.ReadWriteMany
	fast := map[string]string{"speed": "fast"}
	pvs := []*corev1.PersistentVolume{
		persistentVolume("small", "local", "1Gi", corev1.PersistentVolumeReclaimRetain, fast, rwo),
		persistentVolume("big", "local", "10Gi", corev1.PersistentVolumeReclaimDelete, fast, rwo),
		persistentVolume("medium-slow", "local", "5Gi", corev1.PersistentVolumeReclaimRetain, nil, rwo),
		persistentVolume("medium-other-class", "other", "5Gi", corev1.PersistentVolumeReclaimRetain, fast, rwo),
		persistentVolume("medium-rwx", "local", "5Gi", corev1.PersistentVolumeReclaimRetain, fast, rwx),
	}
	for _, pv := range pvs {
		if _, err := c.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx := context.Background()
			if cur, err := c.client.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{}); err == nil && len(cur.Finalizers) > 0 {
				cur.Finalizers = nil
				_, _ = c.client.CoreV1().PersistentVolumes().Update(ctx, cur, metav1.UpdateOptions{})
			}
			_ = c.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{})
		})
	}
	phase := func(name string) corev1.PersistentVolumePhase {
		pv, err := c.client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "<" + corev1.PersistentVolumePhase(err.Error()) + ">"
		}
		return pv.Status.Phase
	}
	eventually(t, 20*time.Second, "every volume Available with pv-protection", func() (bool, error) {
		for _, pv := range pvs {
			cur, err := c.client.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if cur.Status.Phase != corev1.VolumeAvailable || !slices.Contains(cur.Finalizers, "kubernetes.io/pv-protection") {
				return false, nil
			}
		}
		return true, nil
	})

	// A 2Gi fast RWO claim of class local: only "big" fits (small is too
	// small, medium-slow lacks the label, the others differ in class or
	// modes).
	claim := volumeClaim("data", "local", "2Gi", &metav1.LabelSelector{MatchLabels: fast}, rwo)
	if _, err := c.client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "claim bound to big", func() (bool, error) {
		pvc, err := c.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		capacity := pvc.Status.Capacity[corev1.ResourceStorage]
		return pvc.Spec.VolumeName == "big" && pvc.Status.Phase == corev1.ClaimBound && capacity.String() == "10Gi" &&
			pvc.Annotations["pv.kubernetes.io/bind-completed"] == "yes" && pvc.Annotations["pv.kubernetes.io/bound-by-controller"] == "yes" &&
			slices.Contains(pvc.Finalizers, "kubernetes.io/pvc-protection") && phase("big") == corev1.VolumeBound, nil
	})
	big, err := c.client.CoreV1().PersistentVolumes().Get(ctx, "big", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := big.Spec.ClaimRef; ref == nil || ref.Name != "data" || ref.Namespace != ns || big.Annotations["pv.kubernetes.io/bound-by-controller"] != "yes" {
		t.Fatalf("big's claimRef %+v annotations %v", big.Spec.ClaimRef, big.Annotations)
	}
	// A claim nothing fits stays Pending with a FailedBinding event.
	if _, err := c.client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, volumeClaim("huge", "local", "100Gi", nil, rwo), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "huge Pending with FailedBinding", func() (bool, error) {
		pvc, err := c.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "huge", metav1.GetOptions{})
		if err != nil || pvc.Status.Phase != corev1.ClaimPending || pvc.Spec.VolumeName != "" {
			return false, err
		}
		evs, err := c.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=huge"})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == "FailedBinding" {
				return true, nil
			}
		}
		return false, nil
	})
	// A claim bound to a Retain volume: small (1Gi) fits a 1Gi claim.
	if _, err := c.client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, volumeClaim("keep", "local", "1Gi", nil, rwo), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "keep bound to small", func() (bool, error) {
		pvc, err := c.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "keep", metav1.GetOptions{})
		return err == nil && pvc.Spec.VolumeName == "small" && pvc.Status.Phase == corev1.ClaimBound && phase("small") == corev1.VolumeBound, err
	})

	// pvc-protection: a running pod uses "data"; deleting the claim waits.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "user"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "busybox:1"}},
		Volumes: []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}}}
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Make sure the controller had the chance to see the pod: a claim
	// created after it is protected by it as well.
	for _, name := range []string{"data", "keep"} {
		if err := c.client.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, "unused claim keep gone, small Released (Retain)", func() (bool, error) {
		_, err := c.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "keep", metav1.GetOptions{})
		return apierrors.IsNotFound(err) && phase("small") == corev1.VolumeReleased, nil
	})
	pvc, err := c.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
	if err != nil || pvc.DeletionTimestamp == nil {
		t.Fatalf("claim used by a pod must stay (terminating): %v", err)
	}
	if phase("big") != corev1.VolumeBound {
		t.Fatalf("big is %s while its claim still exists", phase("big"))
	}
	// The pod finishes: the claim goes, big is Released and, with Delete,
	// removed (pv-protection lets it go once not Bound).
	p, err := c.client.CoreV1().Pods(ns).Get(ctx, "user", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodSucceeded
	if _, err := c.client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "claim data gone and volume big deleted", func() (bool, error) {
		_, err1 := c.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		_, err2 := c.client.CoreV1().PersistentVolumes().Get(ctx, "big", metav1.GetOptions{})
		return apierrors.IsNotFound(err1) && apierrors.IsNotFound(err2), nil
	})
	// small (Retain) stays Released; the others stay Available.
	if phase("small") != corev1.VolumeReleased || phase("medium-slow") != corev1.VolumeAvailable {
		t.Fatalf("small %s, medium-slow %s; want Released, Available", phase("small"), phase("medium-slow"))
	}
	// A Bound volume is protected: deleting small (Released) goes through,
	// as pv-protection only holds Bound volumes.
	if err := c.client.CoreV1().PersistentVolumes().Delete(ctx, "small", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "released small deleted", func() (bool, error) {
		_, err := c.client.CoreV1().PersistentVolumes().Get(ctx, "small", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	// A Bound volume being deleted waits for its claim to go.
	if _, err := c.client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, volumeClaim("hold", "local", "5Gi", nil, rwo), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "hold bound to medium-slow", func() (bool, error) {
		pvc, err := c.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "hold", metav1.GetOptions{})
		return err == nil && pvc.Spec.VolumeName == "medium-slow" && phase("medium-slow") == corev1.VolumeBound, err
	})
	if err := c.client.CoreV1().PersistentVolumes().Delete(ctx, "medium-slow", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	held, err := c.client.CoreV1().PersistentVolumes().Get(ctx, "medium-slow", metav1.GetOptions{})
	if err != nil || held.DeletionTimestamp == nil {
		t.Fatalf("bound volume must stay, terminating: %v", err)
	}
	if err := c.client.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "hold", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "medium-slow gone once its claim is", func() (bool, error) {
		_, err := c.client.CoreV1().PersistentVolumes().Get(ctx, "medium-slow", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}
