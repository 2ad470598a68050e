package controller

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReplicationController_KeepsReplicasAndReportsStatus(t *testing.T) {
	c := startCluster(t, []string{"replicationcontroller"})
	ns := c.namespace(t, "rc")
	ctx := t.Context()
	c.autoReady(t, ns)
	labels := map[string]string{"app": "legacy"}
	// An orphan that matches is adopted.
	orphan := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: labels}, Spec: podTemplate(labels, "busybox:1").Spec}
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	replicas := int32(3)
	tmpl := podTemplate(labels, "busybox:1")
	rc, err := c.client.CoreV1().ReplicationControllers(ns).Create(ctx, &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy"},
		Spec:       corev1.ReplicationControllerSpec{Replicas: &replicas, Selector: labels, Template: &tmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned := func(n int) func() (bool, error) {
		return func() (bool, error) {
			pods := activePods(c.pods(t, ns, "app=legacy"))
			if len(pods) != n {
				return false, nil
			}
			for _, p := range pods {
				ref := metav1.GetControllerOf(&p)
				if ref == nil || ref.UID != rc.UID || ref.Kind != "ReplicationController" || ref.APIVersion != "v1" {
					return false, nil
				}
			}
			cur, err := c.client.CoreV1().ReplicationControllers(ns).Get(ctx, "legacy", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			st := cur.Status
			return st.Replicas == int32(n) && st.ReadyReplicas == int32(n) && st.AvailableReplicas == int32(n) &&
				st.FullyLabeledReplicas == int32(n) && st.ObservedGeneration == cur.Generation, nil
		}
	}
	eventually(t, 20*time.Second, "3 ready pods owned by the RC", owned(3))
	// Scale through the scale subresource, as kubectl scale does.
	for _, n := range []int32{5, 1} {
		sc, err := c.client.CoreV1().ReplicationControllers(ns).GetScale(ctx, "legacy", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sc.Spec.Replicas = n
		if _, err := c.client.CoreV1().ReplicationControllers(ns).UpdateScale(ctx, "legacy", sc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "scaled", owned(int(n)))
	}
	// Events name the ReplicationController.
	eventually(t, 10*time.Second, "SuccessfulCreate and SuccessfulDelete events on the RC", func() (bool, error) {
		evs, err := c.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		seen := map[string]bool{}
		for _, e := range evs.Items {
			if e.InvolvedObject.Kind == "ReplicationController" && e.InvolvedObject.Name == "legacy" && e.InvolvedObject.UID == rc.UID {
				seen[e.Reason] = true
			}
		}
		return seen["SuccessfulCreate"] && seen["SuccessfulDelete"], nil
	})
}
