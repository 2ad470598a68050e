package printers

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	batchv1beta1 "k8s.io/api/batch/v1beta1"
	corev1 "k8s.io/api/core/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
)

func init() {
	register(deploymentColumns, func(l *appsv1.DeploymentList) []appsv1.Deployment { return l.Items }, deploymentCells)
	register(replicaSetColumns, func(l *appsv1.ReplicaSetList) []appsv1.ReplicaSet { return l.Items }, replicaSetCells)
	register(statefulSetColumns, func(l *appsv1.StatefulSetList) []appsv1.StatefulSet { return l.Items }, statefulSetCells)
	register(daemonSetColumns, func(l *appsv1.DaemonSetList) []appsv1.DaemonSet { return l.Items }, daemonSetCells)
	register(controllerRevisionColumns, func(l *appsv1.ControllerRevisionList) []appsv1.ControllerRevision { return l.Items }, controllerRevisionCells)
	register(jobColumns, func(l *batchv1.JobList) []batchv1.Job { return l.Items }, jobCells)
	register(cronJobColumns, func(l *batchv1.CronJobList) []batchv1.CronJob { return l.Items }, cronJobCells)
	register(hpaColumns, func(l *autoscalingv2.HorizontalPodAutoscalerList) []autoscalingv2.HorizontalPodAutoscaler {
		return l.Items
	}, hpaCells)
	register(hpaColumns, func(l *autoscalingv1.HorizontalPodAutoscalerList) []autoscalingv1.HorizontalPodAutoscaler {
		return l.Items
	}, hpaV1Cells)
	registerScale()
}

// Deployments.

var deploymentColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Ready", "string", "Number of the pod with ready state"),
	column("Up-to-date", "string", extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]),
	column("Available", "string", extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]),
	ageColumn(),
	wide("Containers", "string", containersDescription),
	wide("Images", "string", imagesDescription),
	wide("Selector", "string", extensionsv1beta1.DeploymentSpec{}.SwaggerDoc()["selector"]),
}

func deploymentCells(d *appsv1.Deployment, e *env, out []any) ([]any, error) {
	selector := "<invalid>"
	if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
		selector = s.String()
	}
	names, images := containerCells(d.Spec.Template.Spec.Containers)
	return append(out, d.Name, ratio(int64(d.Status.ReadyReplicas), int32Ptr(d.Spec.Replicas)),
		int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas), e.age(d),
		names, images, selector), nil
}

// Replica sets.

var replicaSetColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Desired", "integer", extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]),
	column("Current", "integer", extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]),
	column("Ready", "integer", extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]),
	ageColumn(),
	wide("Containers", "string", containersDescription),
	wide("Images", "string", imagesDescription),
	wide("Selector", "string", extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()["selector"]),
}

func replicaSetCells(rs *appsv1.ReplicaSet, e *env, out []any) ([]any, error) {
	names, images := containerCells(rs.Spec.Template.Spec.Containers)
	return append(out, rs.Name, int32Ptr(rs.Spec.Replicas), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas), e.age(rs),
		names, images, metav1.FormatLabelSelector(rs.Spec.Selector)), nil
}

// Stateful sets.

var statefulSetColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Ready", "string", "Number of the pod with ready state"),
	ageColumn(),
	wide("Containers", "string", containersDescription),
	wide("Images", "string", imagesDescription),
}

func statefulSetCells(s *appsv1.StatefulSet, e *env, out []any) ([]any, error) {
	names, images := containerCells(s.Spec.Template.Spec.Containers)
	return append(out, s.Name, ratio(int64(s.Status.ReadyReplicas), int32Ptr(s.Spec.Replicas)), e.age(s), names, images), nil
}

// Daemon sets.

var daemonSetColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Desired", "integer", extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["desiredNumberScheduled"]),
	column("Current", "integer", extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["currentNumberScheduled"]),
	column("Ready", "integer", extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["numberReady"]),
	column("Up-to-date", "integer", extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["updatedNumberScheduled"]),
	column("Available", "integer", extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["numberAvailable"]),
	column("Node Selector", "string", corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
	ageColumn(),
	wide("Containers", "string", containersDescription),
	wide("Images", "string", imagesDescription),
	wide("Selector", "string", extensionsv1beta1.DaemonSetSpec{}.SwaggerDoc()["selector"]),
}

func daemonSetCells(ds *appsv1.DaemonSet, e *env, out []any) ([]any, error) {
	names, images := containerCells(ds.Spec.Template.Spec.Containers)
	st := &ds.Status
	return append(out, ds.Name, int64(st.DesiredNumberScheduled), int64(st.CurrentNumberScheduled), int64(st.NumberReady),
		int64(st.UpdatedNumberScheduled), int64(st.NumberAvailable), labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector), e.age(ds),
		names, images, metav1.FormatLabelSelector(ds.Spec.Selector)), nil
}

// Controller revisions.

var controllerRevisionColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Controller", "string", "Controller of the object"),
	column("Revision", "string", appsv1beta1.ControllerRevision{}.SwaggerDoc()["revision"]),
	ageColumn(),
}

// controllerRevisionCells names the controller "kind.group/name" in lower
// case ("statefulset.apps/web").
func controllerRevisionCells(cr *appsv1.ControllerRevision, e *env, out []any) ([]any, error) {
	controller := none
	if ref := metav1.GetControllerOfNoCopy(cr); ref != nil {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			return nil, fmt.Errorf("controller reference: %w", err)
		}
		gk := schema.GroupKind{Group: gv.Group, Kind: ref.Kind}
		controller = ref.Name
		if !gk.Empty() {
			controller = strings.ToLower(gk.String()) + "/" + ref.Name
		}
	}
	return append(out, cr.Name, controller, cr.Revision, e.age(cr)), nil
}

// Jobs.

var jobColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Status", "string", "Status of the job."),
	column("Completions", "string", batchv1.JobStatus{}.SwaggerDoc()["succeeded"]),
	column("Duration", "string", "Time required to complete the job."),
	ageColumn(),
	wide("Containers", "string", containersDescription),
	wide("Images", "string", imagesDescription),
	wide("Selector", "string", batchv1.JobSpec{}.SwaggerDoc()["selector"]),
}

// jobCells: COMPLETIONS is "succeeded/completions" ("0/1 of 3" for a work
// queue with parallelism); DURATION runs from start to completion (or now);
// STATUS is Complete, Failed, Terminating, Suspended, FailureTarget or
// Running, in that precedence.
func jobCells(j *batchv1.Job, e *env, out []any) ([]any, error) {
	var completions string
	if j.Spec.Completions != nil {
		completions = ratio(int64(j.Status.Succeeded), int64(*j.Spec.Completions))
	} else if p := int32Ptr(j.Spec.Parallelism); p > 1 {
		completions = ratio(int64(j.Status.Succeeded), 1) + " of " + strconv.FormatInt(p, 10)
	} else {
		completions = ratio(int64(j.Status.Succeeded), 1)
	}

	var jobDuration string
	switch {
	case j.Status.StartTime == nil:
	case j.Status.CompletionTime == nil:
		jobDuration = duration.HumanDuration(e.now.Sub(j.Status.StartTime.Time))
	default:
		jobDuration = duration.HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
	}

	var status string
	switch {
	case jobCondition(j, batchv1.JobComplete):
		status = "Complete"
	case jobCondition(j, batchv1.JobFailed):
		status = "Failed"
	case j.DeletionTimestamp != nil:
		status = "Terminating"
	case jobCondition(j, batchv1.JobSuspended):
		status = "Suspended"
	case jobCondition(j, batchv1.JobFailureTarget):
		status = "FailureTarget"
	default:
		status = "Running"
	}

	names, images := containerCells(j.Spec.Template.Spec.Containers)
	return append(out, j.Name, status, completions, jobDuration, e.age(j),
		names, images, metav1.FormatLabelSelector(j.Spec.Selector)), nil
}

// jobCondition reports whether the job's first condition of type t is True.
func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == t {
			return j.Status.Conditions[i].Status == corev1.ConditionTrue
		}
	}
	return false
}

// Cron jobs.

var cronJobColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Schedule", "string", batchv1beta1.CronJobSpec{}.SwaggerDoc()["schedule"]),
	column("Timezone", "string", batchv1beta1.CronJobSpec{}.SwaggerDoc()["timeZone"]),
	column("Suspend", "boolean", batchv1beta1.CronJobSpec{}.SwaggerDoc()["suspend"]),
	column("Active", "integer", batchv1beta1.CronJobStatus{}.SwaggerDoc()["active"]),
	column("Last Schedule", "string", batchv1beta1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]),
	ageColumn(),
	wide("Containers", "string", containersDescription),
	wide("Images", "string", imagesDescription),
	wide("Selector", "string", batchv1.JobSpec{}.SwaggerDoc()["selector"]),
}

func cronJobCells(cj *batchv1.CronJob, e *env, out []any) ([]any, error) {
	last := none
	if cj.Status.LastScheduleTime != nil {
		last = e.since(*cj.Status.LastScheduleTime)
	}
	tz := none
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	tmpl := &cj.Spec.JobTemplate.Spec
	names, images := containerCells(tmpl.Template.Spec.Containers)
	return append(out, cj.Name, cj.Spec.Schedule, tz, boolPtr(cj.Spec.Suspend), int64(len(cj.Status.Active)), last, e.age(cj),
		names, images, metav1.FormatLabelSelector(tmpl.Selector)), nil
}

// Horizontal pod autoscalers.

var hpaColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Reference", "string", autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["scaleTargetRef"]),
	column("Targets", "string", autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["metrics"]),
	column("MinPods", "string", autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["minReplicas"]),
	column("MaxPods", "string", autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["maxReplicas"]),
	column("Replicas", "string", autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]),
	ageColumn(),
}

func hpaCells(h *autoscalingv2.HorizontalPodAutoscaler, e *env, out []any) ([]any, error) {
	return append(out, h.Name, h.Spec.ScaleTargetRef.Kind+"/"+h.Spec.ScaleTargetRef.Name,
		hpaMetrics(h.Spec.Metrics, h.Status.CurrentMetrics), minPods(h.Spec.MinReplicas),
		int64(h.Spec.MaxReplicas), int64(h.Status.CurrentReplicas), e.age(h)), nil
}

// hpaV1Cells prints an autoscaling/v1 object: its one CPU target is the
// resource metric it converts to.
func hpaV1Cells(h *autoscalingv1.HorizontalPodAutoscaler, e *env, out []any) ([]any, error) {
	targets := none
	if t := h.Spec.TargetCPUUtilizationPercentage; t != nil {
		current := unknown
		if c := h.Status.CurrentCPUUtilizationPercentage; c != nil {
			current = strconv.Itoa(int(*c)) + "%"
		}
		targets = string(corev1.ResourceCPU) + ": " + current + "/" + strconv.Itoa(int(*t)) + "%"
	}
	return append(out, h.Name, h.Spec.ScaleTargetRef.Kind+"/"+h.Spec.ScaleTargetRef.Name,
		targets, minPods(h.Spec.MinReplicas), int64(h.Spec.MaxReplicas), int64(h.Status.CurrentReplicas), e.age(h)), nil
}

func minPods(p *int32) string {
	if p == nil {
		return unset
	}
	return strconv.Itoa(int(*p))
}

// hpaMetrics formats up to two "current/target" pairs and how many more
// metrics there are.
func hpaMetrics(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return none
	}
	const max = 2
	list := make([]string, 0, len(specs))
	for i := range specs {
		list = append(list, hpaMetric(&specs[i], statuses, i))
	}
	count := len(list)
	if count > max {
		return strings.Join(list[:max], ", ") + " + " + strconv.Itoa(count-max) + " more..."
	}
	return strings.Join(list, ", ")
}

// hpaMetric formats spec i against status i, "<unknown>" standing in for
// a missing current value.
func hpaMetric(spec *autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus, i int) string {
	var status *autoscalingv2.MetricStatus
	if len(statuses) > i {
		status = &statuses[i]
	}
	current := unknown
	switch spec.Type {
	case autoscalingv2.ExternalMetricSourceType:
		if spec.External.Target.AverageValue != nil {
			if status != nil && status.External != nil && status.External.Current.AverageValue != nil {
				current = status.External.Current.AverageValue.String()
			}
			return current + "/" + spec.External.Target.AverageValue.String() + " (avg)"
		}
		if status != nil && status.External != nil {
			current = status.External.Current.Value.String()
		}
		return current + "/" + spec.External.Target.Value.String()
	case autoscalingv2.PodsMetricSourceType:
		if status != nil && status.Pods != nil {
			current = status.Pods.Current.AverageValue.String()
		}
		return current + "/" + spec.Pods.Target.AverageValue.String()
	case autoscalingv2.ObjectMetricSourceType:
		if spec.Object.Target.AverageValue != nil {
			if status != nil && status.Object != nil && status.Object.Current.AverageValue != nil {
				current = status.Object.Current.AverageValue.String()
			}
			return current + "/" + spec.Object.Target.AverageValue.String() + " (avg)"
		}
		if status != nil && status.Object != nil {
			current = status.Object.Current.Value.String()
		}
		return current + "/" + spec.Object.Target.Value.String()
	case autoscalingv2.ResourceMetricSourceType:
		name := spec.Resource.Name.String()
		if spec.Resource.Target.AverageValue != nil {
			if status != nil && status.Resource != nil {
				current = status.Resource.Current.AverageValue.String()
			}
			return name + ": " + current + "/" + spec.Resource.Target.AverageValue.String()
		}
		if status != nil && status.Resource != nil && status.Resource.Current.AverageUtilization != nil {
			current = strconv.Itoa(int(*status.Resource.Current.AverageUtilization)) + "%"
		}
		target := "<auto>"
		if spec.Resource.Target.AverageUtilization != nil {
			target = strconv.Itoa(int(*spec.Resource.Target.AverageUtilization)) + "%"
		}
		return name + ": " + current + "/" + target
	case autoscalingv2.ContainerResourceMetricSourceType:
		name := spec.ContainerResource.Name.String()
		if spec.ContainerResource.Target.AverageValue != nil {
			if status != nil && status.ContainerResource != nil {
				current = status.ContainerResource.Current.AverageValue.String()
			}
			return name + ": " + current + "/" + spec.ContainerResource.Target.AverageValue.String()
		}
		if status != nil && status.ContainerResource != nil && status.ContainerResource.Current.AverageUtilization != nil {
			current = strconv.Itoa(int(*status.ContainerResource.Current.AverageUtilization)) + "%"
		}
		target := "<auto>"
		if spec.ContainerResource.Target.AverageUtilization != nil {
			target = strconv.Itoa(int(*spec.ContainerResource.Target.AverageUtilization)) + "%"
		}
		return name + ": " + current + "/" + target
	}
	return "<unknown type>"
}

// Scale subresource (kubectl get --subresource=scale).

var scaleColumns = []metav1.TableColumnDefinition{
	// Upstream gives this Name column no "name" format.
	column("Name", "string", objectMetaDoc["name"]),
	column("Desired", "integer", autoscalingv1.ScaleSpec{}.SwaggerDoc()["replicas"]),
	column("Available", "integer", autoscalingv1.ScaleStatus{}.SwaggerDoc()["replicas"]),
	ageColumn(),
}

// registerScale registers the Scale printer for single objects only:
// Scale has no list kind.
func registerScale() {
	registry[reflect.TypeOf((*autoscalingv1.Scale)(nil))] = &typed[autoscalingv1.Scale, *autoscalingv1.Scale, metav1.List, *metav1.List]{
		cols: scaleColumns,
		cells: func(s *autoscalingv1.Scale, e *env, out []any) ([]any, error) {
			return append(out, s.Name, int64(s.Spec.Replicas), int64(s.Status.Replicas), e.age(s)), nil
		},
	}
}
