package validation

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateCreate_Job(t *testing.T) {
	runCreate(t, newJob, []createCase[*batchv1.Job]{
		{"valid", func(*batchv1.Job) {}, nil},
		{"restartPolicy Always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			[]string{"spec.template.spec.restartPolicy NotSupported"}},
		{"negative counts", func(j *batchv1.Job) {
			j.Spec.Completions, j.Spec.Parallelism, j.Spec.BackoffLimit = ptr(int32(-1)), ptr(int32(-1)), ptr(int32(-1))
		}, []string{"spec.completions Invalid", "spec.parallelism Invalid", "spec.backoffLimit Invalid"}},
		{"selector required", func(j *batchv1.Job) { j.Spec.Selector = nil }, []string{"spec.selector Required"}},
		{"selector mismatch", func(j *batchv1.Job) { j.Spec.Template.Labels = nil }, []string{"spec.template.metadata.labels Invalid"}},
		{"indexed needs completions", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Completions = nil
		}, []string{"spec.completions Required"}},
		{"bad completion mode", func(j *batchv1.Job) { j.Spec.CompletionMode = ptr(batchv1.CompletionMode("Sharded")) }, []string{"spec.completionMode NotSupported"}},
		{"activeDeadlineSeconds zero", func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr(int64(0)) }, []string{"spec.activeDeadlineSeconds Invalid"}},
	})
}

func TestValidateUpdate_Job(t *testing.T) {
	runUpdate(t, newJob, []updateCase[*batchv1.Job]{
		{"parallelism change", func(j, _ *batchv1.Job) { j.Spec.Parallelism = ptr(int32(4)) }, nil},
		{"suspend", func(j, _ *batchv1.Job) { j.Spec.Suspend = ptr(true) }, nil},
		{"completions immutable", func(j, _ *batchv1.Job) { j.Spec.Completions = ptr(int32(6)) }, []string{"spec.completions Invalid"}},
		{"template immutable", func(j, _ *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "perl:5" }, []string{"spec.template Invalid"}},
		{"template mutable while suspended and not started", func(j, old *batchv1.Job) {
			old.Spec.Suspend, j.Spec.Suspend = ptr(true), ptr(true)
			j.Spec.Template.Spec.Containers[0].Image = "perl:5"
		}, nil},
		{"selector immutable", func(j, _ *batchv1.Job) {
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"job-name": "pi"}}
		}, []string{"spec.selector Invalid"}},
	})
}

func TestValidateCreate_CronJob(t *testing.T) {
	runCreate(t, newCronJob, []createCase[*batchv1.CronJob]{
		{"valid", func(*batchv1.CronJob) {}, nil},
		{"descriptor", func(c *batchv1.CronJob) { c.Spec.Schedule = "@hourly" }, nil},
		{"every", func(c *batchv1.CronJob) { c.Spec.Schedule = "@every 1h30m" }, nil},
		{"schedule required", func(c *batchv1.CronJob) { c.Spec.Schedule = "" }, []string{"spec.schedule Required"}},
		{"schedule garbage", func(c *batchv1.CronJob) { c.Spec.Schedule = "every minute" }, []string{"spec.schedule Invalid"}},
		{"minute out of range", func(c *batchv1.CronJob) { c.Spec.Schedule = "60 * * * *" }, []string{"spec.schedule Invalid"}},
		{"TZ in schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "CRON_TZ=UTC 0 * * * *" }, []string{"spec.schedule Invalid"}},
		{"bad time zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("Mars/Olympus") }, []string{"spec.timeZone Invalid"}},
		{"bad concurrencyPolicy", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Queue" }, []string{"spec.concurrencyPolicy NotSupported"}},
		{"name too long", func(c *batchv1.CronJob) { c.Name = strings.Repeat("a", 53) }, []string{"metadata.name Invalid"}},
		{"job template restartPolicy", func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		},
			[]string{"spec.jobTemplate.spec.template.spec.restartPolicy NotSupported"}},
		{"history limits", func(c *batchv1.CronJob) { c.Spec.SuccessfulJobsHistoryLimit = ptr(int32(-1)) }, []string{"spec.successfulJobsHistoryLimit Invalid"}},
	})
}

func TestParseCronSchedule(t *testing.T) {
	for _, s := range []string{"* * * * *", "0 0 1 1 *", "*/5 * * * *", "0 9-17/2 * * 1-5", "0 0 ? * SUN", "5,10,15 * * jan,jul *", "@yearly", "@midnight", "0 12 15 * 0"} {
		if err := parseCronSchedule(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for s, want := range map[string]string{
		"* * * *":       "expected exactly 5 fields, found 4",
		"* * 0 * *":     "below minimum",
		"* 24 * * *":    "above maximum",
		"* * * * 7":     "above maximum",
		"5-1 * * * *":   "beyond end of range",
		"*/0 * * * *":   "should be a positive number",
		"a * * * *":     "failed to parse int from a",
		"1-2-3 * * * *": "too many hyphens",
		"@sometimes":    "unrecognized descriptor",
	} {
		err := parseCronSchedule(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want error containing %q", s, err, want)
		}
	}
}
