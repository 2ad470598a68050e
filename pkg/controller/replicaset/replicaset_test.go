package replicaset

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func newRS(replicas int32) *appsv1.ReplicaSet {
	labels := map[string]string{"app": "web"}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "rs-uid", Generation: 2},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}},
	}
}

func ownedPod(rs *appsv1.ReplicaSet, name string, ready bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: rs.Spec.Template.Labels,
		OwnerReferences: []metav1.OwnerReference{*newControllerRef(rs)}}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	if ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	return p
}

func newControllerRef(rs *appsv1.ReplicaSet) *metav1.OwnerReference {
	t := true
	return &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &t}
}

// fixture builds a controller whose informer caches hold objs.
func fixture(t *testing.T, objs ...runtime.Object) (*Controller, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(objs...)
	// The fake does not generate names; do it as the apiserver would.
	n := 0
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Name == "" {
			n++
			pod.Name = fmt.Sprintf("%s%d", pod.GenerateName, n)
		}
		return false, nil, nil
	})
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(client, f.Apps().V1().ReplicaSets(), f.Core().V1().Pods())
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.ReplicaSet:
			_ = f.Apps().V1().ReplicaSets().Informer().GetIndexer().Add(o)
		case *corev1.Pod:
			_ = f.Core().V1().Pods().Informer().GetIndexer().Add(o)
		}
	}
	return c, client
}

func count(client *fake.Clientset, verb, resource string) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource && a.GetSubresource() == "" {
			n++
		}
	}
	return n
}

func TestSync_CreatesMissingPodsOnceWhileExpectationsPending(t *testing.T) {
	rs := newRS(3)
	c, client := fixture(t, rs, ownedPod(rs, "a", true))
	if err := c.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	if n := count(client, "create", "pods"); n != 2 {
		t.Fatalf("created %d pods, want 2", n)
	}
	// The informer has not seen the creations: a second sync must not
	// create again.
	if err := c.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	if n := count(client, "create", "pods"); n != 2 {
		t.Fatalf("second sync created again: %d creates", n)
	}
	for _, a := range client.Actions() {
		if ca, ok := a.(k8stesting.CreateAction); ok && a.GetResource().Resource == "pods" {
			pod := ca.GetObject().(*corev1.Pod)
			if ref := metav1.GetControllerOf(pod); ref == nil || ref.UID != rs.UID || pod.GenerateName != "web-" {
				t.Errorf("created pod %+v lacks the controller ref or name", pod.ObjectMeta)
			}
		}
	}
}

func TestSync_DeletesLeastValuableAndWritesStatus(t *testing.T) {
	rs := newRS(1)
	rs.Spec.MinReadySeconds = 0
	pods := []runtime.Object{rs}
	for i, ready := range []bool{true, false, true} {
		pods = append(pods, ownedPod(rs, fmt.Sprintf("p%d", i), ready))
	}
	c, client := fixture(t, pods...)
	if err := c.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, a := range client.Actions() {
		if da, ok := a.(k8stesting.DeleteAction); ok && a.GetResource().Resource == "pods" {
			deleted = append(deleted, da.GetName())
		}
	}
	if len(deleted) != 2 {
		t.Fatalf("deleted %v, want 2 pods", deleted)
	}
	if !contains(deleted, "p1") {
		t.Errorf("the not-ready pod must go first: %v", deleted)
	}
	got, err := client.AppsV1().ReplicaSets("ns").Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := got.Status; st.Replicas != 3 || st.ReadyReplicas != 2 || st.AvailableReplicas != 2 || st.FullyLabeledReplicas != 3 || st.ObservedGeneration != 2 {
		t.Errorf("status = %+v (pods are counted before their deletion is observed)", st)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func TestCalculateStatus_MinReadySeconds(t *testing.T) {
	rs := newRS(2)
	rs.Spec.MinReadySeconds = 10
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	long, recent := ownedPod(rs, "a", true), ownedPod(rs, "b", true)
	long.Status.Conditions[0].LastTransitionTime = metav1.NewTime(now.Add(-time.Minute))
	recent.Status.Conditions[0].LastTransitionTime = metav1.NewTime(now.Add(-time.Second))
	st := CalculateStatus(rs, []*corev1.Pod{long, recent}, nil, now)
	if st.ReadyReplicas != 2 || st.AvailableReplicas != 1 {
		t.Errorf("ready=%d available=%d, want 2 and 1", st.ReadyReplicas, st.AvailableReplicas)
	}
	st = CalculateStatus(rs, nil, fmt.Errorf("quota exceeded"), now)
	if len(st.Conditions) != 1 || st.Conditions[0].Type != appsv1.ReplicaSetReplicaFailure || st.Conditions[0].Reason != "FailedCreate" {
		t.Errorf("conditions = %+v, want ReplicaFailure FailedCreate", st.Conditions)
	}
}
