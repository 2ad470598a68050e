package controller

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestReplicaSet_CreatesScalesAdoptsAndReleases(t *testing.T) {
	c := startCluster(t, []string{"replicaset"})
	ns := c.namespace(t, "rs")
	ctx := t.Context()
	labels := map[string]string{"app": "web"}

	// An orphan that matches is adopted rather than a new pod created.
	orphan := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: labels},
		Spec: podTemplate(labels, "busybox:1").Spec}
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs, err := c.client.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet("web", 3, labels), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "3 pods owned by the ReplicaSet", func() (bool, error) {
		pods := activePods(c.pods(t, ns, "app=web"))
		if len(pods) != 3 {
			return false, nil
		}
		for _, p := range pods {
			ref := metav1.GetControllerOf(&p)
			if ref == nil || ref.UID != rs.UID {
				return false, nil
			}
		}
		return true, nil
	})
	got, err := c.client.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
	if err != nil || metav1.GetControllerOf(got) == nil {
		t.Fatalf("orphan not adopted: %v %v", err, got.OwnerReferences)
	}

	// Status counts ready pods.
	for _, p := range c.pods(t, ns, "app=web") {
		if err := c.markReady(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, "status ready=available=3", func() (bool, error) {
		cur, err := c.client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := cur.Status
		return st.Replicas == 3 && st.ReadyReplicas == 3 && st.AvailableReplicas == 3 && st.FullyLabeledReplicas == 3 &&
			st.ObservedGeneration == cur.Generation, nil
	})

	// A pod whose labels stop matching is released and replaced.
	patch := []byte(`{"metadata":{"labels":{"app":"debug"}}}`)
	if _, err := c.client.CoreV1().Pods(ns).Patch(ctx, "orphan", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "released pod and a replacement", func() (bool, error) {
		p, err := c.client.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return metav1.GetControllerOf(p) == nil && len(activePods(c.pods(t, ns, "app=web"))) == 3, nil
	})

	// Scale 3 -> 10 -> 1.
	for _, n := range []int32{10, 1} {
		sc, err := c.client.AppsV1().ReplicaSets(ns).GetScale(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sc.Spec.Replicas = n
		if _, err := c.client.AppsV1().ReplicaSets(ns).UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "scaled pods", func() (bool, error) {
			return len(activePods(c.pods(t, ns, "app=web"))) == int(n), nil
		})
	}
	// Scaling down kept a ready pod (not-ready ones go first).
	left := activePods(c.pods(t, ns, "app=web"))
	if len(left) != 1 || left[0].Status.Phase != corev1.PodRunning {
		t.Errorf("scale down kept %v, want one of the ready pods", left)
	}
}
