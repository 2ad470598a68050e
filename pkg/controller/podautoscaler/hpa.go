// Package podautoscaler is the HorizontalPodAutoscaler controller: every
// sync period it reads each HPA's target through the scale subresource,
// clamps its replicas into [minReplicas, maxReplicas], and otherwise
// proposes a count from Resource metrics of the resource metrics API
// (metrics.k8s.io), stabilized (the highest proposal of the scale-down
// window, the lowest of the scale-up window) and clamped, then writes the
// scale and the HPA's status and conditions (AbleToScale, ScalingActive,
// ScalingLimited) with upstream's reasons and events.
//
// When the metrics API is not served (as in a cluster without
// metrics-server) the HPA reports ScalingActive=False reason
// FailedGetResourceMetric with a FailedGetResourceMetric event, as
// upstream, and still enforces minReplicas and maxReplicas.
//
// Not done: Pods, Object and External metrics (reported as
// FailedGetPodsMetric & co.), container resource metrics, the
// conservative treatment of unready and unmeasured pods, and the rate
// policies of spec.behavior (only its stabilization windows).
package podautoscaler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kstack/kstack/pkg/controller"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	autoscalinginformers "k8s.io/client-go/informers/autoscaling/v2"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// Name is the controller's workqueue name.
const Name = "horizontalpodautoscaler"

// Options are the controller's knobs, with upstream's flag names.
type Options struct {
	// SyncPeriod is --horizontal-pod-autoscaler-sync-period (15s).
	SyncPeriod time.Duration
	// DownscaleStabilization is
	// --horizontal-pod-autoscaler-downscale-stabilization (5m), used when
	// spec.behavior does not set the scale-down window.
	DownscaleStabilization time.Duration
	// Tolerance is --horizontal-pod-autoscaler-tolerance (0.1).
	Tolerance float64
	Recorder  record.EventRecorder
	Clock     clock.Clock
}

// Controller is the HPA controller.
type Controller struct {
	client    kubernetes.Interface
	scales    scale.ScalesGetter
	mapper    meta.RESTMapper
	metrics   MetricsClient
	hpaLister autoscalinglisters.HorizontalPodAutoscalerLister
	podLister corelisters.PodLister
	synced    []cache.InformerSynced
	queue     controller.Queue
	opts      Options

	mu   sync.Mutex
	recs map[string][]recommendation // per HPA key: recent proposals
}

type recommendation struct {
	at       time.Time
	replicas int32
}

// New returns the controller; scales and mapper reach any scalable
// target, metrics reads the resource metrics API.
func New(client kubernetes.Interface, scales scale.ScalesGetter, mapper meta.RESTMapper, metrics MetricsClient,
	hpas autoscalinginformers.HorizontalPodAutoscalerInformer, pods coreinformers.PodInformer, opts Options) *Controller {
	if opts.SyncPeriod <= 0 {
		opts.SyncPeriod = 15 * time.Second
	}
	if opts.Recorder == nil {
		opts.Recorder = &record.FakeRecorder{}
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	c := &Controller{client: client, scales: scales, mapper: mapper, metrics: metrics, hpaLister: hpas.Lister(), podLister: pods.Lister(),
		synced: []cache.InformerSynced{hpas.Informer().HasSynced, pods.Informer().HasSynced},
		queue:  controller.NewQueue(Name), opts: opts, recs: map[string][]recommendation{}}
	enqueue := func(obj any) { controller.Enqueue(c.queue, obj) }
	_, _ = hpas.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue,
		UpdateFunc: func(old, cur any) {
			// Our own status writes do not need a sync before the period.
			if o, n := old.(*autoscalingv2.HorizontalPodAutoscaler), cur.(*autoscalingv2.HorizontalPodAutoscaler); o.Generation != n.Generation {
				enqueue(cur)
			}
		},
		DeleteFunc: func(obj any) {
			if k, ok := controller.Key(obj); ok {
				c.mu.Lock()
				delete(c.recs, k)
				c.mu.Unlock()
			}
		}})
	return c
}

// Run syncs HPAs with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, func(ctx context.Context, key string) error {
		err := c.sync(ctx, key)
		if err == nil {
			c.queue.AddAfter(key, c.opts.SyncPeriod) // level-triggered on a period, as upstream
		}
		return err
	})
}

func setCondition(st *autoscalingv2.HorizontalPodAutoscalerStatus, t autoscalingv2.HorizontalPodAutoscalerConditionType, s corev1.ConditionStatus, reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	now := metav1.Now()
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status != s {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason, c.Message = s, reason, msg
		return
	}
	st.Conditions = append(st.Conditions, autoscalingv2.HorizontalPodAutoscalerCondition{Type: t, Status: s, Reason: reason, Message: msg, LastTransitionTime: now})
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.hpaLister.HorizontalPodAutoscalers(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.queue.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	hpa := cached.DeepCopy()
	reconcileErr := c.reconcile(ctx, key, hpa)
	if !equality.Semantic.DeepEqual(cached.Status, hpa.Status) {
		if _, err := c.client.AutoscalingV2().HorizontalPodAutoscalers(ns).UpdateStatus(ctx, hpa, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status of hpa %s: %w", key, err)
		}
	}
	return reconcileErr
}

// reconcile computes and applies hpa's scale; it records the outcome in
// hpa.Status.
func (c *Controller) reconcile(ctx context.Context, key string, hpa *autoscalingv2.HorizontalPodAutoscaler) error {
	rec := c.opts.Recorder
	st := &hpa.Status
	st.ObservedGeneration = &hpa.Generation
	ref := hpa.Spec.ScaleTargetRef
	reference := fmt.Sprintf("%s/%s/%s", ref.Kind, hpa.Namespace, ref.Name)
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		rec.Event(hpa, corev1.EventTypeWarning, "FailedGetScale", err.Error())
		setCondition(st, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale", "the HPA controller was unable to get the target's current scale: %v", err)
		return fmt.Errorf("invalid API version in scale target reference: %w", err)
	}
	mappings, err := c.mapper.RESTMappings(schema.GroupKind{Group: gv.Group, Kind: ref.Kind})
	if err != nil {
		rec.Event(hpa, corev1.EventTypeWarning, "FailedGetScale", err.Error())
		setCondition(st, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale", "the HPA controller was unable to get the target's current scale: %v", err)
		if meta.IsNoMatchError(err) {
			if r, ok := c.mapper.(interface{ Reset() }); ok {
				r.Reset() // a kind added since discovery was read
			}
		}
		return fmt.Errorf("unable to determine resource for scale target reference: %w", err)
	}
	var sc *autoscalingv1.Scale
	var gr schema.GroupResource
	for _, m := range mappings {
		gr = m.Resource.GroupResource()
		sc, err = c.scales.Scales(hpa.Namespace).Get(ctx, gr, ref.Name, metav1.GetOptions{})
		if err == nil {
			break
		}
	}
	if err != nil {
		rec.Event(hpa, corev1.EventTypeWarning, "FailedGetScale", err.Error())
		setCondition(st, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale", "the HPA controller was unable to get the target's current scale: %v", err)
		return fmt.Errorf("failed to query scale subresource for %s: %w", reference, err)
	}
	setCondition(st, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale")
	current := sc.Spec.Replicas
	st.CurrentReplicas = sc.Status.Replicas
	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}
	maxReplicas := hpa.Spec.MaxReplicas

	desired := current
	rescale := true
	var reason string
	switch {
	case current == 0 && minReplicas != 0:
		desired, rescale = 0, false
		setCondition(st, autoscalingv2.ScalingActive, corev1.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
	case current > maxReplicas:
		desired, reason = maxReplicas, "Current number of replicas above Spec.MaxReplicas"
		setCondition(st, autoscalingv2.ScalingLimited, corev1.ConditionTrue, "TooManyReplicas", "the desired replica count is more than the maximum replica count")
	case current < minReplicas:
		desired, reason = minReplicas, "Current number of replicas below Spec.MinReplicas"
		setCondition(st, autoscalingv2.ScalingLimited, corev1.ConditionTrue, "TooFewReplicas", "the desired replica count is less than the minimum replica count")
	default:
		proposed, metricName, statuses, err := c.computeReplicas(ctx, hpa, sc, current)
		st.CurrentMetrics = statuses
		if err != nil {
			rec.Event(hpa, corev1.EventTypeWarning, "FailedComputeMetricsReplicas", err.Error())
			return fmt.Errorf("failed to compute desired number of replicas based on listed metrics for %s: %w", reference, err)
		}
		desired = c.normalize(key, hpa, current, proposed, minReplicas, maxReplicas)
		reason = fmt.Sprintf("%s above target", metricName)
		if desired < current {
			reason = "All metrics below target"
		}
		rescale = desired != current
	}
	if rescale {
		sc.Spec.Replicas = desired
		if _, err := c.scales.Scales(hpa.Namespace).Update(ctx, gr, sc, metav1.UpdateOptions{}); err != nil {
			rec.Eventf(hpa, corev1.EventTypeWarning, "FailedRescale", "New size: %d; reason: %s; error: %v", desired, reason, err)
			setCondition(st, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedUpdateScale", "the HPA controller was unable to update the target scale: %v", err)
			return fmt.Errorf("failed to rescale %s: %w", reference, err)
		}
		setCondition(st, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededRescale", "the HPA controller was able to update the target scale to %d", desired)
		rec.Eventf(hpa, corev1.EventTypeNormal, "SuccessfulRescale", "New size: %d; reason: %s", desired, reason)
		now := metav1.NewTime(c.opts.Clock.Now())
		st.LastScaleTime = &now
	}
	st.DesiredReplicas = desired
	return nil
}

// computeReplicas proposes a count from the HPA's metrics (the highest of
// the valid ones); it fails only when none could be computed, having set
// ScalingActive=False with the failing metric's reason.
func (c *Controller) computeReplicas(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, sc *autoscalingv1.Scale, current int32) (int32, string, []autoscalingv2.MetricStatus, error) {
	rec := c.opts.Recorder
	sel, err := labels.Parse(sc.Status.Selector)
	if err != nil || sc.Status.Selector == "" {
		msg := "selector is required"
		if err != nil {
			msg = err.Error()
		}
		rec.Event(hpa, corev1.EventTypeWarning, "SelectorRequired", msg)
		setCondition(&hpa.Status, autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", "the HPA target's scale is missing a selector")
		return 0, "", nil, fmt.Errorf("%s", msg)
	}
	if len(hpa.Spec.Metrics) == 0 {
		// The v2 default: 80% average CPU utilization.
		u := int32(80)
		hpa = hpa.DeepCopy()
		hpa.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &u}}}}
	}
	var best int32 = -1
	var bestName string
	var statuses []autoscalingv2.MetricStatus
	var lastErr error
	for _, m := range hpa.Spec.Metrics {
		if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource == nil {
			reason := "FailedGet" + string(m.Type) + "Metric"
			lastErr = fmt.Errorf("metric type %s is not supported", m.Type)
			rec.Event(hpa, corev1.EventTypeWarning, reason, lastErr.Error())
			setCondition(&hpa.Status, autoscalingv2.ScalingActive, corev1.ConditionFalse, reason, "the HPA was unable to compute the replica count: %v", lastErr)
			continue
		}
		replicas, status, err := c.resourceReplicas(ctx, hpa, sel, current, m.Resource)
		if err != nil {
			lastErr = err
			rec.Event(hpa, corev1.EventTypeWarning, "FailedGetResourceMetric", err.Error())
			setCondition(&hpa.Status, autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetResourceMetric", "the HPA was unable to compute the replica count: %v", err)
			continue
		}
		statuses = append(statuses, status)
		if replicas > best {
			best, bestName = replicas, fmt.Sprintf("%s resource", m.Resource.Name)
			if m.Resource.Target.Type == autoscalingv2.UtilizationMetricType {
				bestName += " utilization (percentage of request)"
			}
		}
	}
	if best < 0 {
		if lastErr == nil {
			lastErr = fmt.Errorf("no metrics")
		}
		return 0, "", statuses, fmt.Errorf("invalid metrics (%d invalid out of %d), first error is: %w", len(hpa.Spec.Metrics)-len(statuses), len(hpa.Spec.Metrics), lastErr)
	}
	setCondition(&hpa.Status, autoscalingv2.ScalingActive, corev1.ConditionTrue, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from %s", bestName)
	return best, bestName, statuses, nil
}

// resourceReplicas proposes a count from one Resource metric.
func (c *Controller) resourceReplicas(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, sel labels.Selector, current int32, m *autoscalingv2.ResourceMetricSource) (int32, autoscalingv2.MetricStatus, error) {
	usage, err := c.metrics.PodUsage(ctx, hpa.Namespace, sel.String(), m.Name)
	if err != nil {
		return 0, autoscalingv2.MetricStatus{}, fmt.Errorf("failed to get %s utilization: unable to get metrics for resource %s: %w", m.Name, m.Name, err)
	}
	all, err := c.podLister.Pods(hpa.Namespace).List(sel)
	if err != nil {
		return 0, autoscalingv2.MetricStatus{}, err
	}
	var pods []*corev1.Pod
	for _, p := range all {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded {
			pods = append(pods, p)
		}
	}
	if len(pods) == 0 {
		return 0, autoscalingv2.MetricStatus{}, fmt.Errorf("failed to get %s utilization: no pods returned by selector while calculating replica count", m.Name)
	}
	ratio, utilization, average, measured, err := usageRatio(pods, usage, m.Name, m.Target.AverageUtilization, m.Target.AverageValue)
	if err != nil {
		return 0, autoscalingv2.MetricStatus{}, fmt.Errorf("failed to get %s utilization: %w", m.Name, err)
	}
	status := autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
		Name: m.Name, Current: autoscalingv2.MetricValueStatus{AverageValue: resourceMilli(average)}}}
	if m.Target.AverageUtilization != nil {
		status.Resource.Current.AverageUtilization = &utilization
	}
	return proposal(current, ratio, measured, c.opts.Tolerance), status, nil
}

// normalize stabilizes proposed over the behavior's windows and clamps it
// into [min, max], setting ScalingLimited and AbleToScale as upstream.
func (c *Controller) normalize(key string, hpa *autoscalingv2.HorizontalPodAutoscaler, current, proposed, minReplicas, maxReplicas int32) int32 {
	now := c.opts.Clock.Now()
	up, down := time.Duration(0), c.opts.DownscaleStabilization
	if b := hpa.Spec.Behavior; b != nil {
		if b.ScaleUp != nil && b.ScaleUp.StabilizationWindowSeconds != nil {
			up = time.Duration(*b.ScaleUp.StabilizationWindowSeconds) * time.Second
		}
		if b.ScaleDown != nil && b.ScaleDown.StabilizationWindowSeconds != nil {
			down = time.Duration(*b.ScaleDown.StabilizationWindowSeconds) * time.Second
		}
	}
	c.mu.Lock()
	recs := append(c.recs[key], recommendation{at: now, replicas: proposed})
	upRec, downRec := proposed, proposed
	keep := recs[:0]
	longest := max(up, down)
	for _, r := range recs {
		age := now.Sub(r.at)
		if age <= up {
			upRec = min(upRec, r.replicas)
		}
		if age <= down {
			downRec = max(downRec, r.replicas)
		}
		if age <= longest {
			keep = append(keep, r)
		}
	}
	c.recs[key] = keep
	c.mu.Unlock()
	stabilized := current
	if stabilized < upRec {
		stabilized = upRec
	}
	if stabilized > downRec {
		stabilized = downRec
	}
	st := &hpa.Status
	if stabilized != proposed {
		setCondition(st, autoscalingv2.AbleToScale, corev1.ConditionTrue, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation")
	} else {
		setCondition(st, autoscalingv2.AbleToScale, corev1.ConditionTrue, "ReadyForNewScale", "recommended size matches current size")
	}
	switch {
	case stabilized > maxReplicas:
		setCondition(st, autoscalingv2.ScalingLimited, corev1.ConditionTrue, "TooManyReplicas", "the desired replica count is more than the maximum replica count")
		return maxReplicas
	case stabilized < minReplicas:
		setCondition(st, autoscalingv2.ScalingLimited, corev1.ConditionTrue, "TooFewReplicas", "the desired replica count is less than the minimum replica count")
		return minReplicas
	}
	setCondition(st, autoscalingv2.ScalingLimited, corev1.ConditionFalse, "DesiredWithinRange", "the desired count is within the acceptable range")
	return stabilized
}
