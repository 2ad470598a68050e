package controller

import (
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/controllermanager"
	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// TestPodGC_TerminatedThresholdAndOrphans: with
// --terminated-pod-gc-threshold=2 the oldest of three finished pods goes;
// a pod bound to a node that does not exist goes after the quarantine
// (40 s, as upstream); running pods on live nodes and pods within the
// threshold stay.
func TestPodGC_TerminatedThresholdAndOrphans(t *testing.T) {
	s := framework.Start(t, framework.Options{})
	c := &cluster{s: s, client: s.Client}
	ctx := t.Context()
	ns := c.namespace(t, "podgc")
	if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "live"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mk := func(name, node string, phase corev1.PodPhase) {
		t.Helper()
		p, err := c.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Phase = phase
		if _, err := c.client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("done-oldest", "live", corev1.PodSucceeded)
	time.Sleep(1100 * time.Millisecond) // creation timestamps have one-second resolution
	mk("done-a", "live", corev1.PodFailed)
	mk("done-b", "live", corev1.PodSucceeded)
	mk("running", "live", corev1.PodRunning)
	mk("orphan", "gone", corev1.PodRunning)
	// The orphan's last state, as its deletion reports it.
	w, err := c.client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=orphan"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	lastState := make(chan *corev1.Pod, 1)
	go func() {
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Deleted {
				lastState <- p
				return
			}
		}
	}()
	stop := runManager(t, s, []string{"podgc"}, func(cfg *controllermanager.Config) { cfg.TerminatedPodGCThreshold = 2 })
	t.Cleanup(stop)

	exists := func(name string) bool {
		_, err := c.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	eventually(t, 20*time.Second, "the oldest finished pod collected", func() (bool, error) {
		return !exists("done-oldest"), nil
	})
	eventually(t, 90*time.Second, "the pod on the missing node collected", func() (bool, error) {
		return !exists("orphan"), nil
	})
	select {
	case p := <-lastState:
		var cond *corev1.PodCondition
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == corev1.DisruptionTarget {
				cond = &p.Status.Conditions[i]
			}
		}
		if p.Status.Phase != corev1.PodFailed || cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != "DeletionByPodGC" {
			t.Errorf("orphan deleted as phase %s with DisruptionTarget %+v; want Failed and DeletionByPodGC", p.Status.Phase, cond)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("no deletion event for the orphan")
	}
	for _, name := range []string{"done-a", "done-b", "running"} {
		if !exists(name) {
			t.Errorf("pod %s was collected", name)
		}
	}
}
