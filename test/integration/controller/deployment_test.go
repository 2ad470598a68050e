package controller

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
)

func deployment(name string, replicas int32, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	surge, unavail := intstr.FromInt32(1), intstr.FromInt32(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: podTemplate(labels, image),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavail}},
		},
	}
}

// waitComplete waits until d's status says every replica is updated and
// available and Progressing is NewReplicaSetAvailable.
func (c *cluster) waitComplete(t *testing.T, ns, name string, replicas int32) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	eventually(t, 60*time.Second, "deployment "+name+" complete", func() (bool, error) {
		var err error
		d, err = c.client.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := d.Status
		prog := condition(d, appsv1.DeploymentProgressing)
		return st.ObservedGeneration == d.Generation && st.Replicas == replicas && st.UpdatedReplicas == replicas &&
			st.AvailableReplicas == replicas && prog != nil && prog.Reason == "NewReplicaSetAvailable", nil
	})
	return d
}

func condition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

func images(pods []corev1.Pod) map[string]int {
	out := map[string]int{}
	for _, p := range pods {
		out[p.Spec.Containers[0].Image]++
	}
	return out
}

func TestDeployment_RollingUpdateKeepsMinAvailableAndRollsBack(t *testing.T) {
	c := startCluster(t, []string{"deployment", "replicaset"})
	ns := c.namespace(t, "roll")
	ctx := t.Context()
	c.autoReady(t, ns)
	d, err := c.client.AppsV1().Deployments(ns).Create(ctx, deployment("web", 4, "web:v1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d = c.waitComplete(t, ns, "web", 4)
	if d.Annotations["deployment.kubernetes.io/revision"] != "1" {
		t.Errorf("revision = %q, want 1", d.Annotations["deployment.kubernetes.io/revision"])
	}
	rsList, _ := c.client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if len(rsList.Items) != 1 || rsList.Items[0].Labels["pod-template-hash"] == "" {
		t.Fatalf("want one ReplicaSet with a pod-template-hash, got %+v", rsList.Items)
	}

	// Watch the rollout: the ReplicaSets the controller sizes never ask
	// for more than replicas+maxSurge pods, and never fewer than
	// replicas-maxUnavailable pods are ready. (The pods themselves may
	// briefly number one more: each ReplicaSet controller acts on its own,
	// so the new one can create a pod before the old one has deleted the
	// pod its scale-down asked for, as upstream.)
	pods, _ := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	w, err := c.client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: pods.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	rss, _ := c.client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	rsw, err := c.client.AppsV1().ReplicaSets(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rss.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]*corev1.Pod{}
	for i := range pods.Items {
		state[pods.Items[i].Name] = &pods.Items[i]
	}
	sizes := map[string]int32{}
	for _, rs := range rss.Items {
		sizes[rs.Name] = *rs.Spec.Replicas
	}
	var mu sync.Mutex
	var violations []string
	wctx, stop := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		defer w.Stop()
		defer rsw.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case ev, ok := <-rsw.ResultChan():
				if !ok {
					return
				}
				rs := ev.Object.(*appsv1.ReplicaSet)
				if ev.Type == watch.Deleted {
					delete(sizes, rs.Name)
				} else {
					sizes[rs.Name] = *rs.Spec.Replicas
				}
				var sum int32
				for _, n := range sizes {
					sum += n
				}
				if sum > 5 {
					mu.Lock()
					violations = append(violations, fmt.Sprintf("%s ReplicaSet %s: %d pods asked for", ev.Type, rs.Name, sum))
					mu.Unlock()
				}
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				p := ev.Object.(*corev1.Pod)
				if ev.Type == watch.Deleted {
					delete(state, p.Name)
				} else {
					state[p.Name] = p
				}
				ready := 0
				for _, p := range state {
					if p.DeletionTimestamp == nil && isReady(p) {
						ready++
					}
				}
				if ready < 3 {
					mu.Lock()
					violations = append(violations, fmt.Sprintf("%s %s: %d ready", ev.Type, p.Name, ready))
					mu.Unlock()
				}
			}
		}
	}()
	patch := []byte(`{"metadata":{"annotations":{"kubernetes.io/change-cause":"to v2"}},"spec":{"template":{"spec":{"containers":[{"name":"app","image":"web:v2"}]}}}}`)
	if _, err := c.client.AppsV1().Deployments(ns).Patch(ctx, "web", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	d = c.waitComplete(t, ns, "web", 4)
	eventually(t, 20*time.Second, "only v2 pods", func() (bool, error) {
		im := images(activePods(c.pods(t, ns, "app=web")))
		return len(im) == 1 && im["web:v2"] == 4, nil
	})
	stop()
	<-watched
	mu.Lock()
	if len(violations) > 0 {
		t.Errorf("rollout broke its bounds: %v", violations)
	}
	mu.Unlock()
	if d.Annotations["deployment.kubernetes.io/revision"] != "2" {
		t.Errorf("revision = %q, want 2", d.Annotations["deployment.kubernetes.io/revision"])
	}
	rsList, _ = c.client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	for _, rs := range rsList.Items {
		if rs.Spec.Template.Spec.Containers[0].Image == "web:v2" && rs.Annotations["kubernetes.io/change-cause"] != "to v2" {
			t.Errorf("new ReplicaSet lacks the change-cause: %v", rs.Annotations)
		}
	}

	// Rollback (what kubectl rollout undo sends: the old template back).
	var v1 *appsv1.ReplicaSet
	for i := range rsList.Items {
		if rsList.Items[i].Spec.Template.Spec.Containers[0].Image == "web:v1" {
			v1 = &rsList.Items[i]
		}
	}
	if v1 == nil {
		t.Fatal("old ReplicaSet was not kept for rollback")
	}
	d.Spec.Template = *v1.Spec.Template.DeepCopy()
	delete(d.Spec.Template.Labels, "pod-template-hash")
	if _, err := c.client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	d = c.waitComplete(t, ns, "web", 4)
	eventually(t, 20*time.Second, "only v1 pods again", func() (bool, error) {
		im := images(activePods(c.pods(t, ns, "app=web")))
		return len(im) == 1 && im["web:v1"] == 4, nil
	})
	rs, err := c.client.AppsV1().ReplicaSets(ns).Get(ctx, v1.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rs.Annotations["deployment.kubernetes.io/revision"] != "3" || d.Annotations["deployment.kubernetes.io/revision"] != "3" {
		t.Errorf("rollback revision: rs %q deployment %q, want 3", rs.Annotations["deployment.kubernetes.io/revision"], d.Annotations["deployment.kubernetes.io/revision"])
	}
	if n := len(rsList.Items); n != 2 {
		t.Errorf("rollback created a ReplicaSet: %d", n)
	}
}

func TestDeployment_ScalePauseAndProgressDeadline(t *testing.T) {
	c := startCluster(t, []string{"deployment", "replicaset"})
	ns := c.namespace(t, "scale")
	ctx := t.Context()
	c.autoReady(t, ns)
	if _, err := c.client.AppsV1().Deployments(ns).Create(ctx, deployment("web", 0, "web:v1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int32{0, 100, 3} {
		sc, err := c.client.AppsV1().Deployments(ns).GetScale(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sc.Spec.Replicas = n
		if _, err := c.client.AppsV1().Deployments(ns).UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.waitComplete(t, ns, "web", n)
		eventually(t, 30*time.Second, fmt.Sprintf("%d pods", n), func() (bool, error) {
			return len(activePods(c.pods(t, ns, "app=web"))) == int(n), nil
		})
	}

	// Paused: a template change does not roll.
	patch := []byte(`{"spec":{"paused":true,"template":{"spec":{"containers":[{"name":"app","image":"web:v2"}]}}}}`)
	if _, err := c.client.AppsV1().Deployments(ns).Patch(ctx, "web", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "Progressing=Unknown DeploymentPaused", func() (bool, error) {
		d, err := c.client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		p := condition(d, appsv1.DeploymentProgressing)
		return d.Status.ObservedGeneration == d.Generation && p != nil && p.Reason == "DeploymentPaused", nil
	})
	if im := images(activePods(c.pods(t, ns, "app=web"))); im["web:v2"] != 0 {
		t.Fatalf("paused deployment rolled: %v", im)
	}
	rsList, _ := c.client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if len(rsList.Items) != 1 {
		t.Fatalf("paused deployment made a ReplicaSet: %d", len(rsList.Items))
	}

	// Resume with pods that never become ready and a 2s deadline.
	c2 := c
	ns2 := c2.namespace(t, "stuck")
	dl := deployment("stuck", 2, "web:v1")
	secs := int32(2)
	dl.Spec.ProgressDeadlineSeconds = &secs
	if _, err := c2.client.AppsV1().Deployments(ns2).Create(ctx, dl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "ProgressDeadlineExceeded", func() (bool, error) {
		d, err := c2.client.AppsV1().Deployments(ns2).Get(ctx, "stuck", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		p := condition(d, appsv1.DeploymentProgressing)
		return p != nil && p.Status == corev1.ConditionFalse && p.Reason == "ProgressDeadlineExceeded", nil
	})
	// Resuming the first one rolls it to v2.
	if _, err := c.client.AppsV1().Deployments(ns).Patch(ctx, "web", types.StrategicMergePatchType, []byte(`{"spec":{"paused":false}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitComplete(t, ns, "web", 3)
	eventually(t, 20*time.Second, "v2 after resume", func() (bool, error) {
		im := images(activePods(c.pods(t, ns, "app=web")))
		return len(im) == 1 && im["web:v2"] == 3, nil
	})
}
