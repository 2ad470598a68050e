package controller

import (
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestStatefulSet_ClaimsAndRetentionPolicy: volumeClaimTemplates give each
// ordinal a claim <template>-<set>-<ordinal>. With the default policy
// (Retain) claims outlive scale-down and the set; with whenScaled=Delete
// and whenDeleted=Delete the claims of scaled-down ordinals go with their
// pods and the rest go with the set, through the garbage collector.
func TestStatefulSet_ClaimsAndRetentionPolicy(t *testing.T) {
	c := startCluster(t, []string{"statefulset", "garbagecollector"})
	ctx := t.Context()
	ns := c.namespace(t, "sts-pvc")
	c.autoReady(t, ns)
	mk := func(name string, policy *appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy) {
		t.Helper()
		three := int32(3)
		labels := map[string]string{"app": name}
		set := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.StatefulSetSpec{
			Replicas: &three, ServiceName: name, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: podTemplate(labels, "db:v1"), PodManagementPolicy: appsv1.ParallelPodManagement,
			PersistentVolumeClaimRetentionPolicy: policy,
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}},
		}}
		if _, err := c.client.AppsV1().StatefulSets(ns).Create(ctx, set, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("kept", nil)
	mk("gone", &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.DeletePersistentVolumeClaimRetentionPolicyType})
	// claims maps each claim of set to its controller's kind/name ("" for none).
	claims := func(set string) map[string]string {
		l, err := c.client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + set})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, pvc := range l.Items {
			if pvc.DeletionTimestamp != nil {
				continue
			}
			out[pvc.Name] = ""
			if ref := metav1.GetControllerOf(&pvc); ref != nil {
				out[pvc.Name] = ref.Kind + "/" + ref.Name
			}
		}
		return out
	}
	same := func(got, want map[string]string) bool {
		if len(got) != len(want) {
			return false
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				return false
			}
		}
		return true
	}
	waitClaims := func(set, what string, want map[string]string) {
		t.Helper()
		eventually(t, 30*time.Second, what, func() (bool, error) { return same(claims(set), want), nil })
	}
	waitClaims("kept", "default-policy claims, unowned", map[string]string{"data-kept-0": "", "data-kept-1": "", "data-kept-2": ""})
	waitClaims("gone", "Delete-policy claims, owned by the set",
		map[string]string{"data-gone-0": "StatefulSet/gone", "data-gone-1": "StatefulSet/gone", "data-gone-2": "StatefulSet/gone"})
	// Every pod mounts its own claim.
	for _, name := range []string{"kept-1", "gone-2"} {
		p, err := c.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Spec.Volumes) == 0 || p.Spec.Volumes[0].PersistentVolumeClaim == nil || p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-"+name {
			t.Errorf("pod %s volumes %+v, want claim data-%s", name, p.Spec.Volumes, name)
		}
	}

	// Scale both to 1.
	for _, set := range []string{"kept", "gone"} {
		if _, err := c.client.AppsV1().StatefulSets(ns).Patch(ctx, set, types.MergePatchType, []byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 30*time.Second, "scaled down to one pod each", func() (bool, error) {
		var names []string
		for _, p := range activePods(c.pods(t, ns, "")) {
			names = append(names, p.Name)
		}
		sort.Strings(names)
		return len(names) == 2 && names[0] == "gone-0" && names[1] == "kept-0", nil
	})
	waitClaims("gone", "the scaled-down ordinals' claims deleted with their pods", map[string]string{"data-gone-0": "StatefulSet/gone"})
	if got := claims("kept"); len(got) != 3 {
		t.Errorf("default policy lost claims on scale-down: %v", got)
	}

	// Delete both sets.
	for _, set := range []string{"kept", "gone"} {
		if err := c.client.AppsV1().StatefulSets(ns).Delete(ctx, set, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitClaims("gone", "the remaining claim deleted with the set", map[string]string{})
	eventually(t, 30*time.Second, "the pods gone with their sets", func() (bool, error) {
		return len(activePods(c.pods(t, ns, ""))) == 0, nil
	})
	if got := claims("kept"); len(got) != 3 {
		t.Errorf("default policy lost claims with the set: %v", got)
	}
}
