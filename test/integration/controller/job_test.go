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

// TestJob_TrackingFinalizerKeepsCountsExactWhenPodsAreDeleted deletes
// every pod as soon as it succeeds: the job-tracking finalizer holds each
// one until it is counted, so the Job still completes with exactly its
// completions and no pod keeps the finalizer.
func TestJob_TrackingFinalizerKeepsCountsExactWhenPodsAreDeleted(t *testing.T) {
	c := startCluster(t, []string{"job"})
	ctx := t.Context()
	ns := c.namespace(t, "job-tracking")
	if _, err := c.client.BatchV1().Jobs(ns).Create(ctx, newJob("count", 2, 5), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Play a kubelet that finishes each pod and a user who deletes it.
	finished := map[string]bool{}
	sawFinalizer := false
	eventually(t, 60*time.Second, "the job to complete", func() (bool, error) {
		j, err := c.client.BatchV1().Jobs(ns).Get(ctx, "count", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if jobCondition(j, batchv1.JobComplete) {
			return true, nil
		}
		for _, p := range c.pods(t, ns, "") {
			for _, f := range p.Finalizers {
				sawFinalizer = sawFinalizer || f == batchv1.JobTrackingFinalizer
			}
			if p.DeletionTimestamp != nil || finished[p.Name] {
				continue
			}
			p.Status.Phase = corev1.PodSucceeded
			if _, err := c.client.CoreV1().Pods(ns).UpdateStatus(ctx, &p, metav1.UpdateOptions{}); err != nil {
				continue
			}
			finished[p.Name] = true
			if err := c.client.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return false, err
			}
		}
		return false, nil
	})
	if !sawFinalizer {
		t.Fatalf("no pod carried %s", batchv1.JobTrackingFinalizer)
	}
	j, err := c.client.BatchV1().Jobs(ns).Get(ctx, "count", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u := j.Status.UncountedTerminatedPods
	if j.Status.Succeeded != 5 || j.Status.Failed != 0 || (u != nil && len(u.Succeeded)+len(u.Failed) > 0) {
		t.Fatalf("status succeeded=%d failed=%d uncounted=%v; want 5, 0, none", j.Status.Succeeded, j.Status.Failed, u)
	}
	if len(finished) != 5 {
		t.Fatalf("%d pods ran, want 5 (a deleted pod must not be replaced once it succeeded)", len(finished))
	}
	eventually(t, 20*time.Second, "every pod released and gone", func() (bool, error) {
		return len(c.pods(t, ns, "")) == 0, nil
	})
}

// TestJob_DeletedRunningPodCountsAsFailed: a running pod deleted before
// it finishes is a failure (upstream's rule), counted once.
func TestJob_DeletedRunningPodCountsAsFailed(t *testing.T) {
	c := startCluster(t, []string{"job"})
	ctx := t.Context()
	ns := c.namespace(t, "job-deleted")
	backoffLimit := int32(0)
	j := newJob("fragile", 1, 1)
	j.Spec.BackoffLimit = &backoffLimit
	if _, err := c.client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	eventually(t, 20*time.Second, "the job's pod", func() (bool, error) {
		pods := c.pods(t, ns, "")
		if len(pods) != 1 {
			return false, nil
		}
		pod = pods[0]
		return true, nil
	})
	if err := c.client.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the job to fail on its backoff limit", func() (bool, error) {
		j, err := c.client.BatchV1().Jobs(ns).Get(ctx, "fragile", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range j.Status.Conditions {
			if cond.Type == batchv1.JobFailed && cond.Status == corev1.ConditionTrue {
				return cond.Reason == batchv1.JobReasonBackoffLimitExceeded && j.Status.Failed == 1, nil
			}
		}
		return false, nil
	})
	eventually(t, 20*time.Second, "the pod released and gone", func() (bool, error) {
		return len(c.pods(t, ns, "")) == 0, nil
	})
}
