package statefulset

import (
	"fmt"
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClaimOwners(t *testing.T) {
	const retain, del = appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	set := func(whenDeleted, whenScaled appsv1.PersistentVolumeClaimRetentionPolicyType) *appsv1.StatefulSet {
		s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", UID: "set-uid"}}
		if whenDeleted != "" || whenScaled != "" {
			s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: whenDeleted, WhenScaled: whenScaled}
		}
		return s
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-2", UID: "pod-uid"}}
	yes := true
	staleSetRef := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: "old-set-uid", Controller: &yes}
	otherRef := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "keep", UID: "cm-uid"}
	foreign := metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Backup", Name: "b", UID: "b-uid", Controller: &yes}
	// owners renders refs as kind/uid(+c for controller), sorted.
	owners := func(refs []metav1.OwnerReference) string {
		var out []string
		for _, r := range refs {
			s := r.Kind + "/" + string(r.UID)
			if r.Controller != nil && *r.Controller {
				s += "+c"
			}
			out = append(out, s)
		}
		sort.Strings(out)
		return fmt.Sprint(out)
	}
	tests := []struct {
		name       string
		set        *appsv1.StatefulSet
		existing   []metav1.OwnerReference
		scaledDown bool
		want       string
	}{
		{"default policy: none", set("", ""), nil, false, "[]"},
		{"default policy scrubs our stale refs", set("", ""), []metav1.OwnerReference{staleSetRef, otherRef}, true, "[ConfigMap/cm-uid]"},
		{"whenDeleted Delete: the set", set(del, retain), nil, false, "[StatefulSet/set-uid+c]"},
		{"whenDeleted Delete, scaled down with Retain: still the set", set(del, retain), nil, true, "[StatefulSet/set-uid+c]"},
		{"whenScaled Delete, in range: none", set(retain, del), nil, false, "[]"},
		{"whenScaled Delete, scaled down: the pod", set(retain, del), nil, true, "[Pod/pod-uid+c]"},
		{"both Delete, in range: the set", set(del, del), []metav1.OwnerReference{otherRef}, false, "[ConfigMap/cm-uid StatefulSet/set-uid+c]"},
		{"both Delete, scaled down: the pod instead of the set", set(del, del), []metav1.OwnerReference{staleSetRef}, true, "[Pod/pod-uid+c]"},
		{"another controller keeps the claim", set(del, del), []metav1.OwnerReference{foreign, staleSetRef}, true, "[Backup/b-uid+c]"},
	}
	for _, tc := range tests {
		claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-db-2", OwnerReferences: tc.existing}}
		if got := owners(claimOwners(claim, tc.set, pod, tc.scaledDown)); got != tc.want {
			t.Errorf("%s: owners %s, want %s", tc.name, got, tc.want)
		}
	}
}
