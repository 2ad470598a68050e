package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/controllermanager"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestCronJob_FiresOnScheduleWithInjectedClock(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Now())
	c := startCluster(t, []string{"cronjob"}, func(cfg *controllermanager.Config) { cfg.Clock = clk })
	ctx := t.Context()
	ns := c.namespace(t, "cron")
	forbid := batchv1.ForbidConcurrent
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "tick"}, Spec: batchv1.CronJobSpec{
		Schedule: "*/5 * * * *", ConcurrencyPolicy: forbid,
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}}},
	}}
	created, err := c.client.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jobs := func() []batchv1.Job {
		l, err := c.client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	// Nothing is due before the next */5 minute.
	time.Sleep(time.Second)
	if n := len(jobs()); n != 0 {
		t.Fatalf("%d jobs before the schedule", n)
	}
	// Move the clock past the next run and poke the CronJob.
	next := created.CreationTimestamp.Time.Truncate(5 * time.Minute).Add(5 * time.Minute)
	clk.SetTime(next.Add(30 * time.Second))
	poke := func() {
		cur, err := c.client.BatchV1().CronJobs(ns).Get(ctx, "tick", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cur.Labels == nil {
			cur.Labels = map[string]string{}
		}
		cur.Labels["poke"] = clk.Now().Format("150405")
		if _, err := c.client.BatchV1().CronJobs(ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	poke()
	eventually(t, 20*time.Second, "the scheduled job", func() (bool, error) {
		js := jobs()
		return len(js) == 1 && js[0].Name == fmt.Sprintf("tick-%d", next.Unix()/60) &&
			js[0].Annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] == next.UTC().Format(time.RFC3339), nil
	})
	eventually(t, 20*time.Second, "status active and lastScheduleTime", func() (bool, error) {
		cur, err := c.client.BatchV1().CronJobs(ns).Get(ctx, "tick", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(cur.Status.Active) == 1 && cur.Status.LastScheduleTime != nil && cur.Status.LastScheduleTime.Time.Equal(next), nil
	})
	// Forbid: the next run is skipped while the first job is active.
	clk.SetTime(next.Add(5*time.Minute + 30*time.Second))
	poke()
	time.Sleep(time.Second)
	if n := len(jobs()); n != 1 {
		t.Fatalf("Forbid started a second job: %d jobs", n)
	}
}
