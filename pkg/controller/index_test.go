package controller

import (
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

func TestOwnedOrOrphaned(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{ControllerUIDIndex: controllerUIDIndexFunc})
	yes := true
	mk := func(ns, name string, owner types.UID) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if owner != "" {
			p.OwnerReferences = []metav1.OwnerReference{{UID: owner, Controller: &yes, Kind: "ReplicaSet", Name: "x"}}
		}
		return p
	}
	for _, p := range []*corev1.Pod{mk("a", "mine", "u1"), mk("a", "other", "u2"), mk("a", "orphan", ""), mk("b", "orphan-b", ""), mk("b", "mine-b", "u1")} {
		if err := idx.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := OwnedOrOrphaned[*corev1.Pod](idx, "a", "u1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	// UIDs are unique cluster-wide, so u1's pods are the owner's; orphans
	// come from the owner's namespace only.
	if want := []string{"mine", "mine-b", "orphan"}; len(names) != 3 || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Fatalf("got %v, want %v", names, want)
	}
}
