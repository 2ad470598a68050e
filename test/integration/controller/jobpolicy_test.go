package controller

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// failPod marks pod Failed as a kubelet would, its container "c" exited
// with code, with a DisruptionTarget condition when disrupted.
func (c *cluster) failPod(t *testing.T, pod corev1.Pod, code int32, disrupted bool) {
	t.Helper()
	now := metav1.Now()
	pod.Status.Phase = corev1.PodFailed
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", Image: "x", ImageID: "x",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Error", StartedAt: now, FinishedAt: now}}}}
	if disrupted {
		pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget,
			Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI", LastTransitionTime: now})
	}
	if _, err := c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(t.Context(), &pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("fail pod %s: %v", pod.Name, err)
	}
}

// TestJob_PodFailurePolicy: a failure matching an Ignore rule (the
// DisruptionTarget condition) is replaced without counting against
// backoffLimit; one matching a Count rule counts; one matching a FailJob
// rule (exit code 42) fails the Job at once with reason PodFailurePolicy,
// although backoffLimit would allow more failures.
func TestJob_PodFailurePolicy(t *testing.T) {
	c := startCluster(t, []string{"job"})
	ctx := t.Context()
	ns := c.namespace(t, "job-pfp")
	j := newJob("pfp", 1, 1)
	backoffLimit := int32(2)
	j.Spec.BackoffLimit = &backoffLimit
	j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
			{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
		{Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1}}},
	}}
	if _, err := c.client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	// nextPod waits for a new running pod of the Job.
	nextPod := func() corev1.Pod {
		t.Helper()
		var pod corev1.Pod
		eventually(t, 40*time.Second, "a new pod of the job", func() (bool, error) {
			for _, p := range c.pods(t, ns, "") {
				if !seen[p.Name] && p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodFailed {
					pod = p
					seen[p.Name] = true
					return true, nil
				}
			}
			return false, nil
		})
		return pod
	}
	job := func() *batchv1.Job {
		t.Helper()
		j, err := c.client.BatchV1().Jobs(ns).Get(ctx, "pfp", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	// Three disruptions (more than backoffLimit) are ignored.
	for i := 0; i < 3; i++ {
		c.failPod(t, nextPod(), 137, true)
	}
	p := nextPod() // the fourth pod exists: the job did not fail
	if j := job(); j.Status.Failed != 0 || jobCondition(j, batchv1.JobFailed) {
		t.Fatalf("after ignored failures: failed=%d conditions %v; want 0 and not failed", j.Status.Failed, j.Status.Conditions)
	}
	// Exit code 1 counts.
	c.failPod(t, p, 1, false)
	eventually(t, 20*time.Second, "the counted failure", func() (bool, error) {
		return job().Status.Failed == 1, nil
	})
	// Exit code 42 fails the job (after the 10 s backoff brings a new pod).
	c.failPod(t, nextPod(), 42, false)
	eventually(t, 20*time.Second, "the job failed by its pod failure policy", func() (bool, error) {
		j := job()
		var failed, target *batchv1.JobCondition
		for i, cond := range j.Status.Conditions {
			switch cond.Type {
			case batchv1.JobFailed:
				failed = &j.Status.Conditions[i]
			case batchv1.JobFailureTarget:
				target = &j.Status.Conditions[i]
			}
		}
		if failed == nil || failed.Status != corev1.ConditionTrue {
			return false, nil
		}
		if failed.Reason != batchv1.JobReasonPodFailurePolicy || !strings.Contains(failed.Message, "exit code 42") {
			t.Fatalf("Failed condition %+v, want reason PodFailurePolicy naming exit code 42", failed)
		}
		if target == nil || target.Reason != batchv1.JobReasonPodFailurePolicy {
			t.Fatalf("FailureTarget condition %+v, want reason PodFailurePolicy", target)
		}
		return j.Status.Failed == 2 && j.Status.Active == 0, nil
	})
	if n := len(seen); n != 5 {
		t.Errorf("%d pods ran, want 5", n)
	}
}

// TestTTLAfterFinished_DeletesOnlyExpiredJobs: a finished Job with a
// 1-second TTL is deleted with its pods; one without a TTL and one with a
// long TTL stay.
func TestTTLAfterFinished_DeletesOnlyExpiredJobs(t *testing.T) {
	c := startCluster(t, []string{"job", "ttl-after-finished", "garbagecollector"})
	ctx := t.Context()
	ns := c.namespace(t, "ttl")
	mk := func(name string, ttl *int32) {
		j := newJob(name, 1, 1)
		j.Spec.TTLSecondsAfterFinished = ttl
		if _, err := c.client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	one, hour := int32(1), int32(3600)
	mk("short", &one)
	mk("none", nil)
	mk("long", &hour)
	c.finishPods(t, ns, corev1.PodSucceeded)
	complete := func(name string) bool {
		j, err := c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && jobCondition(j, batchv1.JobComplete)
	}
	eventually(t, 30*time.Second, "the jobs without a short TTL complete", func() (bool, error) {
		return complete("none") && complete("long"), nil
	})
	eventually(t, 30*time.Second, "the job with a 1s TTL deleted", func() (bool, error) {
		_, err := c.client.BatchV1().Jobs(ns).Get(ctx, "short", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	eventually(t, 30*time.Second, "its pod deleted with it", func() (bool, error) {
		return len(c.pods(t, ns, "job-name=short")) == 0, nil
	})
	// The short job was deleted at least a second after it finished, so
	// the others have had as long as it had.
	for _, name := range []string{"none", "long"} {
		if !complete(name) {
			t.Errorf("job %s was deleted or changed", name)
		}
		if len(c.pods(t, ns, "job-name="+name)) != 1 {
			t.Errorf("job %s lost its pod", name)
		}
	}
}
