// Package job runs Jobs' pods to completion: up to parallelism active pods
// until completions succeed (or, without completions, until one succeeds
// and the rest finish), Indexed completion mode (one pod per index, its
// index in the job-completion-index annotation, label, hostname and
// JOB_COMPLETION_INDEX), exponential backoff between failures
// (10s·2^(n-1), at most 6 minutes), backoffLimit, activeDeadlineSeconds,
// suspend, and podFailurePolicy (FailJob, Ignore, Count on exit codes and
// pod conditions). Finished Jobs get SuccessCriteriaMet+Complete or
// FailureTarget+Failed, as upstream.
//
// Pods are tracked with the batch.kubernetes.io/job-tracking finalizer
// and status.uncountedTerminatedPods (tracking.go), as upstream, so
// status.succeeded and status.failed stay exact when pods are deleted.
package job

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// Name is the controller's workqueue name.
const Name = "job"

// Backoff bounds between pod failures, as upstream.
const (
	DefaultBackoff = 10 * time.Second
	MaxBackoff     = 6 * time.Minute
)

var controllerKind = batchv1.SchemeGroupVersion.WithKind("Job")

// Controller is the Job controller.
type Controller struct {
	client    kubernetes.Interface
	jobLister batchlisters.JobLister
	podLister corelisters.PodLister
	synced    []cache.InformerSynced
	queue     controller.Queue
	exp       *controller.Expectations
	recorder  record.EventRecorder
	clock     clock.Clock
	// finalizerRemoved holds pods released but not yet seen released.
	finalizerRemoved uidSet
}

// Option adjusts a Controller.
type Option func(*Controller)

// WithClock replaces the wall clock.
func WithClock(c clock.Clock) Option { return func(jc *Controller) { jc.clock = c } }

// WithRecorder replaces the event recorder.
func WithRecorder(r record.EventRecorder) Option { return func(jc *Controller) { jc.recorder = r } }

// New returns a Job controller.
func New(client kubernetes.Interface, jobs batchinformers.JobInformer, pods coreinformers.PodInformer, opts ...Option) *Controller {
	c := &Controller{client: client, jobLister: jobs.Lister(), podLister: pods.Lister(),
		synced: []cache.InformerSynced{jobs.Informer().HasSynced, pods.Informer().HasSynced},
		queue:  controller.NewQueue(Name), exp: controller.NewExpectations(),
		recorder: &record.FakeRecorder{}, clock: clock.RealClock{}}
	for _, o := range opts {
		o(c)
	}
	_, _ = jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { controller.Enqueue(c.queue, obj) },
		UpdateFunc: func(_, obj any) { controller.Enqueue(c.queue, obj) },
		DeleteFunc: func(obj any) {
			if k, ok := controller.Key(obj); ok {
				c.exp.Delete(k)
				c.queue.Add(k) // its pods' finalizers are released
			}
		},
	})
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if k, ok := c.owner(obj); ok {
				c.exp.CreationObserved(k)
				c.queue.Add(k)
			}
		},
		UpdateFunc: func(_, obj any) {
			if p := obj.(*corev1.Pod); !hasFinalizer(p) {
				c.finalizerRemoved.remove(p.UID)
			}
			if k, ok := c.owner(obj); ok {
				if p := obj.(*corev1.Pod); p.DeletionTimestamp != nil {
					c.exp.DeletionObserved(k, controller.PodKey(p))
				}
				c.queue.Add(k)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				c.finalizerRemoved.remove(p.UID)
			}
			if k, ok := c.owner(obj); ok {
				c.exp.DeletionObserved(k, controller.PodKey(obj.(*corev1.Pod)))
				c.queue.Add(k)
			}
		},
	})
	return c
}

// owner is the key of the Job controlling pod obj.
func (c *Controller) owner(obj any) (string, bool) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return "", false
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != controllerKind.Kind {
		return "", false
	}
	if j, err := c.jobLister.Jobs(pod.Namespace).Get(ref.Name); (err != nil || j.UID != ref.UID) && !hasFinalizer(pod) {
		return "", false
	}
	// A pod of a deleted Job still holding the finalizer is the Job key's
	// to release.
	return pod.Namespace + "/" + ref.Name, true
}

// Run syncs Jobs with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

func condition(st *batchv1.JobStatus, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// Finished reports whether j has a true Complete or Failed condition.
func Finished(j *batchv1.Job) bool {
	for _, t := range []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed} {
		if c := condition(&j.Status, t); c != nil && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func setCondition(st *batchv1.JobStatus, t batchv1.JobConditionType, s corev1.ConditionStatus, reason, msg string, now time.Time) {
	if c := condition(st, t); c != nil {
		if c.Status != s {
			c.LastTransitionTime = metav1.NewTime(now)
		}
		c.Status, c.Reason, c.Message, c.LastProbeTime = s, reason, msg, metav1.NewTime(now)
		return
	}
	st.Conditions = append(st.Conditions, batchv1.JobCondition{Type: t, Status: s, Reason: reason, Message: msg,
		LastProbeTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now)})
}

func isIndexed(j *batchv1.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion
}

// podIndex is an Indexed Job pod's completion index, or -1.
func podIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return i
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.jobLister.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Delete(key)
		return c.releaseOrphans(ctx, ns, name, "")
	}
	if err != nil {
		return err
	}
	if err := c.releaseOrphans(ctx, ns, name, cached.UID); err != nil {
		return err
	}
	j := cached.DeepCopy()
	sel, err := metav1.LabelSelectorAsSelector(j.Spec.Selector)
	if err != nil {
		return nil
	}
	satisfied := c.exp.Satisfied(key)
	all, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	claimer := &controller.Claimer{Owner: j, OwnerGVK: controllerKind, Selector: sel,
		Patch: func(ctx context.Context, name string, patch []byte) error {
			_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
		CanAdopt: controller.RecheckDeletion(j.UID, func(ctx context.Context) (metav1.Object, error) {
			return c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		}),
	}
	if Finished(j) || j.DeletionTimestamp != nil {
		// Nothing more is counted: release every pod the Job still holds.
		var owned []*corev1.Pod
		for _, p := range all {
			if metav1.IsControlledBy(p, j) {
				owned = append(owned, p)
			}
		}
		return c.removeFinalizers(ctx, owned)
	}
	pods, err := controller.Claim(ctx, claimer, all)
	if err != nil {
		return err
	}
	now := c.clock.Now()
	st := *j.Status.DeepCopy()
	if st.UncountedTerminatedPods == nil {
		st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	suspended := j.Spec.Suspend != nil && *j.Spec.Suspend
	completions := int32(0)
	if j.Spec.Completions != nil {
		completions = *j.Spec.Completions
	}
	completedIdx := map[int]bool{}
	if isIndexed(j) {
		completedIdx = parseIndexes(st.CompletedIndexes, completions)
	}
	var failReason, failMsg string
	if cond := condition(&st, batchv1.JobFailureTarget); cond != nil && cond.Status == corev1.ConditionTrue {
		failReason, failMsg = cond.Reason, cond.Message
	}

	// Sort pods: active ones, and finished ones still holding the
	// tracking finalizer (to be counted, then released).
	uncounted := map[types.UID]bool{}
	for _, u := range st.UncountedTerminatedPods.Succeeded {
		uncounted[u] = true
	}
	for _, u := range st.UncountedTerminatedPods.Failed {
		uncounted[u] = true
	}
	var active, failedPods, release []*corev1.Pod
	ready := int32(0)
	newlyFinished := false
	byUID := map[types.UID]*corev1.Pod{}
	for _, p := range pods {
		byUID[p.UID] = p
		succ, fail := podFinished(p)
		tracked := hasFinalizer(p) && !c.finalizerRemoved.has(p.UID)
		if !succ && !fail {
			active = append(active, p)
			if controller.IsPodReady(p) {
				ready++
			}
			continue
		}
		if !tracked {
			if p.Status.Phase == corev1.PodFailed {
				failedPods = append(failedPods, p) // counted before: times the backoff
			}
			continue
		}
		release = append(release, p)
		if uncounted[p.UID] {
			continue
		}
		if succ {
			if isIndexed(j) {
				if i := podIndex(p); i >= 0 && i < int(completions) {
					completedIdx[i] = true
				}
			}
			st.UncountedTerminatedPods.Succeeded = append(st.UncountedTerminatedPods.Succeeded, p.UID)
			newlyFinished = true
			continue
		}
		action, msg := matchFailurePolicy(j, p)
		if action == batchv1.PodFailurePolicyActionIgnore {
			continue // released without counting
		}
		if action == batchv1.PodFailurePolicyActionFailJob && failReason == "" {
			failReason, failMsg = batchv1.JobReasonPodFailurePolicy, msg
			setCondition(&st, batchv1.JobFailureTarget, corev1.ConditionTrue, failReason, failMsg, now)
		}
		failedPods = append(failedPods, p)
		st.UncountedTerminatedPods.Failed = append(st.UncountedTerminatedPods.Failed, p.UID)
		newlyFinished = true
	}
	if isIndexed(j) {
		st.CompletedIndexes = formatIndexes(completedIdx)
		st.Succeeded = int32(len(completedIdx))
	}
	if newlyFinished {
		// Write 1: the finished pods are recorded before they are released.
		j.Status = st
		out, err := c.client.BatchV1().Jobs(ns).UpdateStatus(ctx, j, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("record finished pods of job %s: %w", key, err)
		}
		j = out
		st = *j.Status.DeepCopy()
	}
	releaseErr := c.removeFinalizers(ctx, release)
	// Count the recorded pods that no longer hold the finalizer.
	flush := func(uids []types.UID, succeeded bool) []types.UID {
		var keep []types.UID
		for _, u := range uids {
			if p, ok := byUID[u]; ok && hasFinalizer(p) && !c.finalizerRemoved.has(u) {
				keep = append(keep, u)
				continue
			}
			switch {
			case !succeeded:
				st.Failed++
			case !isIndexed(j):
				st.Succeeded++
			}
		}
		return keep
	}
	st.UncountedTerminatedPods.Succeeded = flush(st.UncountedTerminatedPods.Succeeded, true)
	st.UncountedTerminatedPods.Failed = flush(st.UncountedTerminatedPods.Failed, false)
	pending := len(st.UncountedTerminatedPods.Succeeded) + len(st.UncountedTerminatedPods.Failed)
	nSucceeded := st.Succeeded + int32(len(st.UncountedTerminatedPods.Succeeded))
	if isIndexed(j) {
		nSucceeded = int32(len(completedIdx))
	}
	nFailed := st.Failed + int32(len(st.UncountedTerminatedPods.Failed))

	if st.StartTime == nil && !suspended {
		t := metav1.NewTime(now)
		st.StartTime = &t
	}
	if failReason == "" && j.Spec.BackoffLimit != nil && nFailed > *j.Spec.BackoffLimit {
		failReason, failMsg = batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit"
	}
	if failReason == "" && j.Spec.ActiveDeadlineSeconds != nil && st.StartTime != nil && !suspended {
		deadline := st.StartTime.Add(time.Duration(*j.Spec.ActiveDeadlineSeconds) * time.Second)
		if !now.Before(deadline) {
			failReason, failMsg = batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline"
		} else {
			c.queue.AddAfter(key, deadline.Sub(now))
		}
	}
	var complete bool
	switch {
	case j.Spec.Completions == nil:
		complete = nSucceeded > 0 && len(active) == 0
	default:
		complete = nSucceeded >= *j.Spec.Completions
	}

	var manageErr error
	activeCount := int32(len(active))
	switch {
	case failReason != "":
		n, err := c.deletePods(ctx, key, j, active)
		activeCount -= n
		manageErr = err
		setCondition(&st, batchv1.JobFailureTarget, corev1.ConditionTrue, failReason, failMsg, now)
		if pending == 0 && err == nil {
			setCondition(&st, batchv1.JobFailed, corev1.ConditionTrue, failReason, failMsg, now)
			c.recorder.Event(j, corev1.EventTypeWarning, failReason, failMsg)
		}
	case complete:
		n, err := c.deletePods(ctx, key, j, active)
		activeCount -= n
		manageErr = err
		setCondition(&st, batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, batchv1.JobReasonCompletionsReached, "Reached expected number of succeeded pods", now)
		if pending == 0 && err == nil {
			t := metav1.NewTime(now)
			st.CompletionTime = &t
			setCondition(&st, batchv1.JobComplete, corev1.ConditionTrue, batchv1.JobReasonCompletionsReached, "Reached expected number of succeeded pods", now)
			c.recorder.Event(j, corev1.EventTypeNormal, "Completed", "Job completed")
		}
	case suspended:
		n, err := c.deletePods(ctx, key, j, active)
		activeCount -= n
		manageErr = err
		if cond := condition(&st, batchv1.JobSuspended); cond == nil || cond.Status != corev1.ConditionTrue {
			setCondition(&st, batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", now)
			c.recorder.Event(j, corev1.EventTypeNormal, "Suspended", "Job suspended")
		}
	default:
		if cond := condition(&st, batchv1.JobSuspended); cond != nil && cond.Status == corev1.ConditionTrue {
			setCondition(&st, batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed", now)
			t := metav1.NewTime(now)
			st.StartTime = &t
			c.recorder.Event(j, corev1.EventTypeNormal, "Resumed", "Job resumed")
		}
		if satisfied {
			delta, err := c.manage(ctx, key, j, active, failedPods, nFailed, nSucceeded, completedIdx, now)
			activeCount += delta
			manageErr = err
		}
	}
	st.Active = activeCount
	st.Ready = &ready
	if !equality.Semantic.DeepEqual(j.Status, st) {
		j.Status = st
		if _, err := c.client.BatchV1().Jobs(ns).UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status of job %s: %w", key, err)
		}
	}
	if releaseErr != nil {
		return releaseErr
	}
	if manageErr == nil && pending > 0 {
		return fmt.Errorf("job %s: %d finished pods still hold the tracking finalizer", key, pending)
	}
	return manageErr
}

// backoff is the wait after n counted failures.
func backoff(n int32) time.Duration {
	if n <= 0 {
		return 0
	}
	d := DefaultBackoff
	for i := int32(1); i < n && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

// lastFailure is when the latest counted failure happened.
func lastFailure(failed []*corev1.Pod) time.Time {
	var last time.Time
	for _, p := range failed {
		t := p.CreationTimestamp.Time
		for _, cs := range append(append([]corev1.ContainerStatus(nil), p.Status.ContainerStatuses...), p.Status.InitContainerStatuses...) {
			if cs.State.Terminated != nil && cs.State.Terminated.FinishedAt.After(t) {
				t = cs.State.Terminated.FinishedAt.Time
			}
		}
		for _, cond := range p.Status.Conditions {
			if cond.LastTransitionTime.After(t) {
				t = cond.LastTransitionTime.Time
			}
		}
		if t.After(last) {
			last = t
		}
	}
	return last
}

// manage creates or deletes pods toward the wanted active count and
// returns the change in active pods.
func (c *Controller) manage(ctx context.Context, key string, j *batchv1.Job, active, failed []*corev1.Pod, nFailed, succeeded int32, completedIdx map[int]bool, now time.Time) (int32, error) {
	parallelism := int32(1)
	if j.Spec.Parallelism != nil {
		parallelism = *j.Spec.Parallelism
	}
	want := parallelism
	if j.Spec.Completions != nil {
		want = min(parallelism, *j.Spec.Completions-succeeded)
	} else if succeeded > 0 {
		want = min(want, int32(len(active))) // work queue: one success, no new pods
	}
	if want < 0 {
		want = 0
	}
	diff := want - int32(len(active))
	if diff < 0 {
		victims := append([]*corev1.Pod(nil), active...)
		sort.SliceStable(victims, func(a, b int) bool {
			if isIndexed(j) {
				return podIndex(victims[a]) > podIndex(victims[b])
			}
			return controller.LessValuable(victims[a], victims[b])
		})
		n, err := c.deletePods(ctx, key, j, victims[:-diff])
		return -n, err
	}
	if diff == 0 {
		return 0, nil
	}
	if wait := lastFailure(failed).Add(backoff(nFailed)).Sub(now); len(failed) > 0 && wait > 0 {
		c.queue.AddAfter(key, wait)
		return 0, nil
	}
	var indexes []int
	if isIndexed(j) {
		busy := map[int]bool{}
		for _, p := range active {
			busy[podIndex(p)] = true
		}
		for i := 0; i < int(*j.Spec.Completions) && len(indexes) < int(diff); i++ {
			if !completedIdx[i] && !busy[i] {
				indexes = append(indexes, i)
			}
		}
		diff = int32(len(indexes))
	}
	c.exp.ExpectCreations(key, int(diff))
	var mu sync.Mutex
	next := 0
	var calls int32
	created, err := controller.SlowStartBatch(int(diff), 1, func() error {
		mu.Lock()
		calls++
		idx := -1
		if indexes != nil {
			idx = indexes[next]
			next++
		}
		mu.Unlock()
		pod := newPod(j, idx)
		out, err := c.client.CoreV1().Pods(j.Namespace).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			c.exp.CreationObserved(key)
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			c.recorder.Eventf(j, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
			return err
		}
		c.recorder.Eventf(j, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", out.Name)
		return nil
	})
	for i := calls; i < diff; i++ {
		c.exp.CreationObserved(key)
	}
	if err != nil {
		return int32(created), fmt.Errorf("create pods for job %s: %w", key, err)
	}
	return int32(created), nil
}

// newPod is the pod for j (with completion index idx when >= 0).
func newPod(j *batchv1.Job, idx int) *corev1.Pod {
	tmpl := j.Spec.Template.DeepCopy()
	if idx >= 0 {
		s := strconv.Itoa(idx)
		if tmpl.Annotations == nil {
			tmpl.Annotations = map[string]string{}
		}
		tmpl.Annotations[batchv1.JobCompletionIndexAnnotation] = s
		if tmpl.Labels == nil {
			tmpl.Labels = map[string]string{}
		}
		tmpl.Labels[batchv1.JobCompletionIndexAnnotation] = s
		if tmpl.Spec.Hostname == "" {
			tmpl.Spec.Hostname = fmt.Sprintf("%s-%d", j.Name, idx)
		}
		env := corev1.EnvVar{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			FieldPath: fmt.Sprintf("metadata.labels['%s']", batchv1.JobCompletionIndexAnnotation)}}}
		for i := range tmpl.Spec.Containers {
			tmpl.Spec.Containers[i].Env = append(tmpl.Spec.Containers[i].Env, env)
		}
		for i := range tmpl.Spec.InitContainers {
			tmpl.Spec.InitContainers[i].Env = append(tmpl.Spec.InitContainers[i].Env, env)
		}
	}
	owner := metav1.Object(j)
	pod := controller.PodFromTemplate(tmpl, owner, controller.NewControllerRef(j, controllerKind))
	pod.Finalizers = append(pod.Finalizers, batchv1.JobTrackingFinalizer)
	if idx >= 0 {
		pod.GenerateName = fmt.Sprintf("%s-%d-", j.Name, idx)
	}
	return pod
}

// deletePods deletes pods and returns how many went.
func (c *Controller) deletePods(ctx context.Context, key string, j *batchv1.Job, pods []*corev1.Pod) (int32, error) {
	if len(pods) == 0 {
		return 0, nil
	}
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = controller.PodKey(p)
	}
	c.exp.ExpectDeletions(key, keys)
	var n int32
	var firstErr error
	for _, p := range pods {
		// A pod the controller removes is not a failure: release it first.
		if err := c.removeFinalizers(ctx, []*corev1.Pod{p}); err != nil {
			c.exp.DeletionObserved(key, controller.PodKey(p))
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if err != nil {
			c.exp.DeletionObserved(key, controller.PodKey(p))
			if !apierrors.IsNotFound(err) && firstErr == nil {
				firstErr = fmt.Errorf("delete pod %s: %w", p.Name, err)
			}
			continue
		}
		n++
		c.recorder.Eventf(j, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
	}
	return n, firstErr
}

// formatIndexes renders a set of indexes as upstream's compressed
// completedIndexes ("1,3-5").
func formatIndexes(set map[int]bool) string {
	var idx []int
	for i := range set {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, strconv.Itoa(idx[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// matchFailurePolicy returns the action of the first podFailurePolicy rule
// matching the failed pod ("" when none), with upstream's message.
func matchFailurePolicy(j *batchv1.Job, p *corev1.Pod) (batchv1.PodFailurePolicyAction, string) {
	if j.Spec.PodFailurePolicy == nil {
		return "", ""
	}
	for i, r := range j.Spec.PodFailurePolicy.Rules {
		if r.OnExitCodes != nil {
			for _, cs := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
				if cs.State.Terminated == nil || cs.State.Terminated.ExitCode == 0 {
					continue
				}
				if r.OnExitCodes.ContainerName != nil && *r.OnExitCodes.ContainerName != cs.Name {
					continue
				}
				code := cs.State.Terminated.ExitCode
				in := false
				for _, v := range r.OnExitCodes.Values {
					if v == code {
						in = true
					}
				}
				if (r.OnExitCodes.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) == in {
					return r.Action, fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
						cs.Name, p.Namespace, p.Name, code, r.Action, i)
				}
			}
		}
		for _, pat := range r.OnPodConditions {
			for _, cond := range p.Status.Conditions {
				status := pat.Status
				if status == "" {
					status = corev1.ConditionTrue
				}
				if cond.Type == pat.Type && cond.Status == status {
					return r.Action, fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d", p.Namespace, p.Name, cond.Type, r.Action, i)
				}
			}
		}
	}
	return "", ""
}
