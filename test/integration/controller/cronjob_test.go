package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/controllermanager"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
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

// timeZone moves the schedule into that zone; startingDeadlineSeconds
// skips runs missed by more than the deadline.
func TestCronJob_TimeZoneAndStartingDeadline(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Now())
	c := startCluster(t, []string{"cronjob"}, func(cfg *controllermanager.Config) { cfg.Clock = clk })
	ctx := t.Context()
	ns := c.namespace(t, "crontz")
	tokyo := "Asia/Tokyo" // UTC+9, no daylight saving
	deadline := int64(60)
	tmpl := batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}}}
	tz, err := c.client.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "tz"},
		Spec: batchv1.CronJobSpec{Schedule: "0 9 * * *", TimeZone: &tokyo, JobTemplate: tmpl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.client.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "late"},
		Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *", StartingDeadlineSeconds: &deadline, JobTemplate: tmpl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jobNames := func() map[string]bool {
		l, err := c.client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, j := range l.Items {
			out[j.Name] = true
		}
		return out
	}
	poke := func(name string) {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := c.client.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if cur.Labels == nil {
				cur.Labels = map[string]string{}
			}
			cur.Labels["poke"] = clk.Now().Format("150405")
			_, err = c.client.BatchV1().CronJobs(ns).Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// 09:00 in Tokyo is 00:00 UTC: due at the next UTC midnight.
	midnight := tz.CreationTimestamp.Time.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	clk.SetTime(midnight.Add(30 * time.Second))
	poke("tz")
	eventually(t, 20*time.Second, "the Tokyo 09:00 job at 00:00 UTC", func() (bool, error) {
		return jobNames()[fmt.Sprintf("tz-%d", midnight.Unix()/60)], nil
	})

	// late: a run 30s past due starts; one 2 minutes past due (deadline
	// 60s) is skipped; the following one, on time, starts.
	// The clock is already 30s past midnight, a */5 time.
	next := midnight
	name := func(at time.Time) string { return fmt.Sprintf("late-%d", at.Unix()/60) }
	poke("late")
	eventually(t, 20*time.Second, "the job started within its deadline", func() (bool, error) { return jobNames()[name(next)], nil })
	missed := next.Add(5 * time.Minute)
	clk.SetTime(missed.Add(2 * time.Minute))
	poke("late")
	// The controller reads the clock when the poke reaches it; a run
	// started now would be the missed one.
	time.Sleep(time.Second)
	third := missed.Add(5 * time.Minute)
	clk.SetTime(third.Add(10 * time.Second))
	poke("late")
	eventually(t, 20*time.Second, "the next run on time", func() (bool, error) { return jobNames()[name(third)], nil })
	if jobNames()[name(missed)] {
		t.Errorf("job %s started 2 minutes late despite startingDeadlineSeconds=60", name(missed))
	}
}
