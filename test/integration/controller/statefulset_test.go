package controller

import (
	"context"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

func TestStatefulSet_OrderedCreationScaleDownAndRollingUpdate(t *testing.T) {
	c := startCluster(t, []string{"statefulset"})
	ctx := t.Context()
	ns := c.namespace(t, "sts")
	// Record pod events: each pod must appear only once its predecessor is
	// ready; deletions go highest first.
	w, err := c.client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var added, deleted []string
	var violations []string
	ready := map[string]bool{}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer w.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				p := ev.Object.(*corev1.Pod)
				mu.Lock()
				switch ev.Type {
				case watch.Added:
					added = append(added, p.Name)
					if p.Name == "db-1" && !ready["db-0"] || p.Name == "db-2" && !ready["db-1"] {
						violations = append(violations, p.Name+" created before its predecessor was ready")
					}
				case watch.Deleted:
					deleted = append(deleted, p.Name)
					delete(ready, p.Name)
				case watch.Modified:
					ready[p.Name] = isReady(p) && p.DeletionTimestamp == nil
				}
				mu.Unlock()
			}
		}
	}()
	c.autoReady(t, ns)
	three := int32(3)
	labels := map[string]string{"app": "db"}
	set := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: appsv1.StatefulSetSpec{
		Replicas: &three, ServiceName: "db", Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: podTemplate(labels, "db:v1"),
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}},
	}}
	if _, err := c.client.AppsV1().StatefulSets(ns).Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitReady := func(n int32, image string) {
		eventually(t, 60*time.Second, "statefulset ready", func() (bool, error) {
			s, err := c.client.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, p := range activePods(c.pods(t, ns, "app=db")) {
				if p.Spec.Containers[0].Image != image {
					return false, nil
				}
			}
			return s.Status.ReadyReplicas == n && s.Status.Replicas == n && s.Status.UpdatedReplicas == n &&
				s.Status.CurrentRevision == s.Status.UpdateRevision && s.Status.ObservedGeneration == s.Generation, nil
		})
	}
	waitReady(3, "db:v1")
	mu.Lock()
	if len(added) != 3 || added[0] != "db-0" || added[1] != "db-1" || added[2] != "db-2" {
		t.Errorf("creation order %v, want db-0, db-1, db-2", added)
	}
	mu.Unlock()
	p, err := c.client.CoreV1().Pods(ns).Get(ctx, "db-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.Hostname != "db-1" || p.Spec.Subdomain != "db" || p.Spec.Volumes[0].PersistentVolumeClaim == nil ||
		p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-db-1" {
		t.Errorf("db-1 identity: hostname %q subdomain %q volumes %+v", p.Spec.Hostname, p.Spec.Subdomain, p.Spec.Volumes)
	}
	if _, err := c.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-db-2", metav1.GetOptions{}); err != nil {
		t.Errorf("claim of db-2: %v", err)
	}

	// Rolling update: highest ordinal first.
	mu.Lock()
	deleted = nil
	mu.Unlock()
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"db:v2"}]}}}}`)
	if _, err := c.client.AppsV1().StatefulSets(ns).Patch(ctx, "db", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitReady(3, "db:v2")
	mu.Lock()
	if len(deleted) != 3 || deleted[0] != "db-2" || deleted[1] != "db-1" || deleted[2] != "db-0" {
		t.Errorf("update order %v, want db-2, db-1, db-0", deleted)
	}
	deleted = nil
	mu.Unlock()

	// Scale down to 1: db-2 then db-1.
	patch = []byte(`{"spec":{"replicas":1}}`)
	if _, err := c.client.AppsV1().StatefulSets(ns).Patch(ctx, "db", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitReady(1, "db:v2")
	stop()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(deleted) != 2 || deleted[0] != "db-2" || deleted[1] != "db-1" {
		t.Errorf("scale-down order %v, want db-2, db-1", deleted)
	}
	if len(violations) > 0 {
		t.Errorf("ordering: %v", violations)
	}
}

func TestStatefulSet_RollbackReusesRevisionAndHistoryIsTrimmed(t *testing.T) {
	c := startCluster(t, []string{"statefulset"})
	ctx := t.Context()
	ns := c.namespace(t, "sts-history")
	c.autoReady(t, ns)
	labels := map[string]string{"app": "web"}
	replicas, limit := int32(2), int32(1)
	set := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.StatefulSetSpec{
		Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels}, ServiceName: "web",
		Template: podTemplate(labels, "web:v1"), RevisionHistoryLimit: &limit, PodManagementPolicy: appsv1.ParallelPodManagement}}
	if _, err := c.client.AppsV1().StatefulSets(ns).Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testRollbackAndHistoryLimit(t, c, ns, historyWorkload{
		image: "web",
		patch: func(data []byte) error {
			_, err := c.client.AppsV1().StatefulSets(ns).Patch(ctx, "web", types.StrategicMergePatchType, data, metav1.PatchOptions{})
			return err
		},
		// Every pod runs image under the revision, with currentRevision ==
		// updateRevision == the revision's name.
		rolledOut: func(cur *appsv1.ControllerRevision, image string) (bool, error) {
			s, err := c.client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if !metav1.IsControlledBy(cur, s) || cur.Labels["app"] != "web" {
				return false, nil
			}
			pods := activePods(c.pods(t, ns, "app=web"))
			if len(pods) != 2 {
				return false, nil
			}
			for _, p := range pods {
				if p.Spec.Containers[0].Image != image || p.Labels[appsv1.ControllerRevisionHashLabelKey] != cur.Name || !isReady(&p) {
					return false, nil
				}
			}
			return s.Status.UpdateRevision == cur.Name && s.Status.CurrentRevision == cur.Name && s.Status.UpdatedReplicas == 2, nil
		},
	})
}
