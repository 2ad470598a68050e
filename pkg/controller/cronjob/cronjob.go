// Package cronjob creates a CronJob's Jobs on its schedule (standard cron
// syntax and @hourly-style macros, in spec.timeZone), honouring
// concurrencyPolicy (Allow, Forbid, Replace), startingDeadlineSeconds and
// suspend, keeping status.active and lastScheduleTime/lastSuccessfulTime,
// and deleting finished Jobs beyond the history limits, as upstream's
// CronJob controller (v2). Job names are deterministic
// (<cronjob>-<minutes since epoch>), so a repeated sync never runs a
// schedule twice.
package cronjob

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/kstack/kstack/pkg/controller"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// Name is the controller's workqueue name.
const Name = "cronjob"

// ScheduledTimestampAnnotation records a Job's scheduled time, as upstream.
const ScheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"

var controllerKind = batchv1.SchemeGroupVersion.WithKind("CronJob")

// Controller is the CronJob controller.
type Controller struct {
	client   kubernetes.Interface
	cjLister batchlisters.CronJobLister
	jLister  batchlisters.JobLister
	synced   []cache.InformerSynced
	queue    controller.Queue
	recorder record.EventRecorder
	clock    clock.PassiveClock
}

// Option adjusts a Controller.
type Option func(*Controller)

// WithClock replaces the clock that decides what is due.
func WithClock(c clock.PassiveClock) Option { return func(cc *Controller) { cc.clock = c } }

// WithRecorder replaces the event recorder.
func WithRecorder(r record.EventRecorder) Option { return func(cc *Controller) { cc.recorder = r } }

// New returns a CronJob controller.
func New(client kubernetes.Interface, cronJobs batchinformers.CronJobInformer, jobs batchinformers.JobInformer, opts ...Option) *Controller {
	c := &Controller{client: client, cjLister: cronJobs.Lister(), jLister: jobs.Lister(),
		synced: []cache.InformerSynced{cronJobs.Informer().HasSynced, jobs.Informer().HasSynced},
		queue:  controller.NewQueue(Name), recorder: &record.FakeRecorder{}, clock: clock.RealClock{}}
	for _, o := range opts {
		o(c)
	}
	enqueue := func(obj any) { controller.Enqueue(c.queue, obj) }
	_, _ = cronJobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }})
	jobChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if j, ok := obj.(*batchv1.Job); ok {
			if ref := metav1.GetControllerOf(j); ref != nil && ref.Kind == controllerKind.Kind {
				c.queue.Add(j.Namespace + "/" + ref.Name)
			}
		}
	}
	_, _ = jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: jobChanged, UpdateFunc: func(_, o any) { jobChanged(o) }, DeleteFunc: jobChanged})
	return c
}

// Run syncs CronJobs with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

func finished(j *batchv1.Job) (bool, batchv1.JobConditionType) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true, c.Type
		}
	}
	return false, ""
}

// JobName is the Job created for the schedule time t.
func JobName(cj *batchv1.CronJob, t time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, t.Unix()/60)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.cjLister.CronJobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	cj := cached.DeepCopy()
	if cj.DeletionTimestamp != nil {
		return nil
	}
	all, err := c.jLister.Jobs(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	var owned []*batchv1.Job
	for _, j := range all {
		if metav1.IsControlledBy(j, cj) {
			owned = append(owned, j)
		}
	}
	st := *cj.Status.DeepCopy()
	st.Active = nil
	var active []*batchv1.Job
	var successful, failed []*batchv1.Job
	wasActive := map[types.UID]bool{}
	for _, ref := range cj.Status.Active {
		wasActive[ref.UID] = true
	}
	for _, j := range owned {
		done, how := finished(j)
		if done && wasActive[j.UID] {
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, how)
		}
		switch {
		case !done:
			if j.DeletionTimestamp == nil {
				active = append(active, j)
				st.Active = append(st.Active, corev1.ObjectReference{Kind: "Job", Namespace: j.Namespace, Name: j.Name, UID: j.UID,
					APIVersion: "batch/v1", ResourceVersion: j.ResourceVersion})
			}
		case how == batchv1.JobComplete:
			successful = append(successful, j)
			if j.Status.CompletionTime != nil && (st.LastSuccessfulTime == nil || st.LastSuccessfulTime.Before(j.Status.CompletionTime)) {
				t := *j.Status.CompletionTime
				st.LastSuccessfulTime = &t
			}
		default:
			failed = append(failed, j)
		}
	}
	sort.Slice(st.Active, func(i, j int) bool { return st.Active[i].Name < st.Active[j].Name })
	var errs []error
	errs = append(errs, c.cleanup(ctx, successful, cj.Spec.SuccessfulJobsHistoryLimit))
	errs = append(errs, c.cleanup(ctx, failed, cj.Spec.FailedJobsHistoryLimit))

	loc := time.UTC
	if cj.Spec.TimeZone != nil {
		if loc, err = time.LoadLocation(*cj.Spec.TimeZone); err != nil {
			c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *cj.Spec.TimeZone, err)
			return c.writeStatus(ctx, cj, st)
		}
	}
	sched, err := ParseSchedule(cj.Spec.Schedule, loc)
	if err != nil {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return c.writeStatus(ctx, cj, st)
	}
	now := c.clock.Now()
	if cj.Spec.Suspend == nil || !*cj.Spec.Suspend {
		if err := c.run(ctx, cj, sched, now, active, &st); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.writeStatus(ctx, cj, st); err != nil {
		return err
	}
	if next := sched.Next(now); !next.IsZero() {
		c.queue.AddAfter(key, next.Sub(now)+100*time.Millisecond)
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// run starts the Job for the most recent missed schedule, if any is due.
func (c *Controller) run(ctx context.Context, cj *batchv1.CronJob, sched *Schedule, now time.Time, active []*batchv1.Job, st *batchv1.CronJobStatus) error {
	since := cj.CreationTimestamp.Time
	if st.LastScheduleTime != nil {
		since = st.LastScheduleTime.Time
	}
	if cj.Spec.StartingDeadlineSeconds != nil {
		if earliest := now.Add(-time.Duration(*cj.Spec.StartingDeadlineSeconds) * time.Second); earliest.After(since) {
			since = earliest
		}
	}
	var due time.Time
	missed := 0
	for t := sched.Next(since); !t.IsZero() && !t.After(now); t = sched.Next(t) {
		due = t
		if missed++; missed > 100 {
			c.recorder.Eventf(cj, corev1.EventTypeWarning, "TooManyMissedTimes",
				"too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew", missed)
			// Jump to the last one before now.
			for n := sched.Next(due); !n.IsZero() && !n.After(now); n = sched.Next(n) {
				due = n
			}
			break
		}
	}
	if due.IsZero() {
		return nil
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(active) > 0 {
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return nil
		}
	case batchv1.ReplaceConcurrent:
		bg := metav1.DeletePropagationBackground
		for _, j := range active {
			err := c.client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("replace job %s: %w", j.Name, err)
			}
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", j.Name)
		}
		st.Active = nil
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            JobName(cj, due),
			Namespace:       cj.Namespace,
			Labels:          copyMap(cj.Spec.JobTemplate.Labels),
			Annotations:     copyMap(cj.Spec.JobTemplate.Annotations),
			OwnerReferences: []metav1.OwnerReference{*controller.NewControllerRef(cj, controllerKind)},
		},
		Spec: *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
	if job.Annotations == nil {
		job.Annotations = map[string]string{}
	}
	job.Annotations[ScheduledTimestampAnnotation] = due.In(sched.loc).Format(time.RFC3339)
	created, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, job, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		// Started by an earlier sync whose status write was lost.
	case err != nil:
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return fmt.Errorf("create job %s: %w", job.Name, err)
	default:
		c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", created.Name)
		st.Active = append(st.Active, corev1.ObjectReference{Kind: "Job", Namespace: created.Namespace, Name: created.Name,
			UID: created.UID, APIVersion: "batch/v1", ResourceVersion: created.ResourceVersion})
	}
	t := metav1.NewTime(due)
	st.LastScheduleTime = &t
	return nil
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// cleanup deletes the oldest finished jobs beyond limit.
func (c *Controller) cleanup(ctx context.Context, jobs []*batchv1.Job, limit *int32) error {
	if limit == nil || len(jobs) <= int(*limit) {
		return nil
	}
	sort.Slice(jobs, func(i, j int) bool {
		ti, tj := jobs[i].Status.StartTime, jobs[j].Status.StartTime
		if ti == nil || tj == nil {
			return jobs[i].CreationTimestamp.Before(&jobs[j].CreationTimestamp)
		}
		return ti.Before(tj)
	})
	bg := metav1.DeletePropagationBackground
	for _, j := range jobs[:len(jobs)-int(*limit)] {
		err := c.client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete old job %s: %w", j.Name, err)
		}
	}
	return nil
}

func (c *Controller) writeStatus(ctx context.Context, cj *batchv1.CronJob, st batchv1.CronJobStatus) error {
	if equality.Semantic.DeepEqual(cj.Status, st) {
		return nil
	}
	cj.Status = st
	if _, err := c.client.BatchV1().CronJobs(cj.Namespace).UpdateStatus(ctx, cj, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of cronjob %s/%s: %w", cj.Namespace, cj.Name, err)
	}
	return nil
}
