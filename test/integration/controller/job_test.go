package controller

import (
	"context"
	"sort"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func newJob(name string, parallelism, completions int32) *batchv1.Job {
	return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: batchv1.JobSpec{
		Parallelism: &parallelism, Completions: &completions,
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "c", Image: "x"}}}},
	}}
}

// finishPods plays the kubelet for ns: it marks every running pod with
// phase until stop, and reports the most pods it ever saw active at once.
func (c *cluster) finishPods(t *testing.T, ns string, phase corev1.PodPhase) (maxActive func() int, stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	most := 0
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			l, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				continue
			}
			var active []corev1.Pod
			for _, p := range l.Items {
				if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
					active = append(active, p)
				}
			}
			most = max(most, len(active))
			for _, p := range active {
				p.Status.Phase = phase
				_, _ = c.client.CoreV1().Pods(ns).UpdateStatus(ctx, &p, metav1.UpdateOptions{})
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return func() int { stop(); return most }, stop
}

func jobCondition(j *batchv1.Job, ct batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == ct && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func TestJob_Parallelism3Completes10(t *testing.T) {
	c := startCluster(t, []string{"job"})
	ctx := t.Context()
	ns := c.namespace(t, "job")
	if _, err := c.client.BatchV1().Jobs(ns).Create(ctx, newJob("ten", 3, 10), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	maxActive, _ := c.finishPods(t, ns, corev1.PodSucceeded)
	eventually(t, 60*time.Second, "job complete", func() (bool, error) {
		j, err := c.client.BatchV1().Jobs(ns).Get(ctx, "ten", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return jobCondition(j, batchv1.JobComplete) && j.Status.Succeeded == 10 && j.Status.CompletionTime != nil, nil
	})
	if m := maxActive(); m > 3 || m == 0 {
		t.Errorf("saw %d pods active at once, want 1..3", m)
	}
	if n := len(c.pods(t, ns, "")); n != 10 {
		t.Errorf("%d pods, want exactly 10", n)
	}
}

func TestJob_IndexedAndBackoffLimitAndTTL(t *testing.T) {
	c := startCluster(t, []string{"job", "ttl-after-finished", "garbagecollector"})
	ctx := t.Context()
	ns := c.namespace(t, "indexed")
	j := newJob("idx", 2, 4)
	mode := batchv1.IndexedCompletion
	j.Spec.CompletionMode = &mode
	ttl := int32(0)
	j.Spec.TTLSecondsAfterFinished = &ttl
	if _, err := c.client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Record each pod's index before the job (and its pods) go.
	seen := map[string]bool{}
	w, err := c.client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok {
				seen[p.Annotations[batchv1.JobCompletionIndexAnnotation]+"/"+p.Spec.Hostname] = true
			}
		}
	}()
	_, stop := c.finishPods(t, ns, corev1.PodSucceeded)
	eventually(t, 60*time.Second, "indexed job completed and removed by its TTL", func() (bool, error) {
		_, err := c.client.BatchV1().Jobs(ns).Get(ctx, "idx", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	stop()
	w.Stop()
	<-watched
	var got []string
	for k := range seen {
		got = append(got, k)
	}
	sort.Strings(got)
	want := []string{"0/idx-0", "1/idx-1", "2/idx-2", "3/idx-3"}
	if len(got) != 4 || got[0] != want[0] || got[3] != want[3] {
		t.Errorf("pods by index/hostname = %v, want %v", got, want)
	}

	// backoffLimit 0: the first failure fails the Job.
	ns2 := c.namespace(t, "backoff")
	bj := newJob("fails", 1, 1)
	zero := int32(0)
	bj.Spec.BackoffLimit = &zero
	if _, err := c.client.BatchV1().Jobs(ns2).Create(ctx, bj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.finishPods(t, ns2, corev1.PodFailed)
	eventually(t, 30*time.Second, "job failed with BackoffLimitExceeded", func() (bool, error) {
		j, err := c.client.BatchV1().Jobs(ns2).Get(ctx, "fails", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range j.Status.Conditions {
			if cond.Type == batchv1.JobFailed && cond.Status == corev1.ConditionTrue && cond.Reason == "BackoffLimitExceeded" {
				return j.Status.Failed == 1, nil
			}
		}
		return false, nil
	})
}
