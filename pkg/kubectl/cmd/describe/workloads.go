package describe

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/kubernetes"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// searchEvents lists the events about one object (kind "" matches any
// kind, as for pods); errors leave the list empty, as upstream.
func searchEvents(ctx context.Context, cs kubernetes.Interface, ns, name, kind, uid string, chunk int64) *corev1.EventList {
	ev := cs.CoreV1().Events(ns)
	var kp, up *string
	if kind != "" {
		kp = &kind
	}
	if uid != "" {
		up = &uid
	}
	sel := ev.GetFieldSelector(&name, &ns, kp, up)
	items, _ := listAll(metav1.ListOptions{FieldSelector: sel.String(), Limit: chunk}, func(opts metav1.ListOptions) ([]corev1.Event, string, error) {
		l, err := ev.List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	return &corev1.EventList{Items: items}
}

// searchEventsOrNil is searchEvents when s shows events, else nil (which
// printEvents leaves out).
func searchEventsOrNil(ctx context.Context, cs kubernetes.Interface, s settings, ns, name, kind, uid string) *corev1.EventList {
	if !s.showEvents {
		return nil
	}
	return searchEvents(ctx, cs, ns, name, kind, uid, s.chunkSize)
}

// listAll follows a chunked list's continue tokens from opts; list
// returns one chunk's items and its continue token. On an error it
// returns the items of the chunks before it, with the error.
func listAll[T any](opts metav1.ListOptions, list func(metav1.ListOptions) ([]T, string, error)) ([]T, error) {
	var out []T
	for {
		items, next, err := list(opts)
		if err != nil {
			return out, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		opts.Continue = next
	}
}

func listPods(ctx context.Context, cs kubernetes.Interface, ns string, opts metav1.ListOptions) (*corev1.PodList, error) {
	items, err := listAll(opts, func(opts metav1.ListOptions) ([]corev1.Pod, string, error) {
		l, err := cs.CoreV1().Pods(ns).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		return nil, err
	}
	return &corev1.PodList{Items: items}, nil
}

// phaseCounts counts a controller's pods by phase.
type phaseCounts struct {
	running, waiting, succeeded, failed int
}

// String is the "Pods Status:" value.
func (c phaseCounts) String() string {
	return fmt.Sprintf("%d Running / %d Waiting / %d Succeeded / %d Failed", c.running, c.waiting, c.succeeded, c.failed)
}

// podCounts counts the phases of the pods sel matches that uid controls.
func podCounts(ctx context.Context, cs kubernetes.Interface, ns string, sel labels.Selector, uid types.UID, chunk int64) (phaseCounts, error) {
	var c phaseCounts
	pods, err := listPods(ctx, cs, ns, metav1.ListOptions{LabelSelector: sel.String(), Limit: chunk})
	if err != nil {
		return c, err
	}
	for i := range pods.Items {
		ref := metav1.GetControllerOf(&pods.Items[i])
		if ref == nil || ref.UID != uid {
			continue
		}
		switch pods.Items[i].Status.Phase {
		case corev1.PodRunning:
			c.running++
		case corev1.PodPending:
			c.waiting++
		case corev1.PodSucceeded:
			c.succeeded++
		case corev1.PodFailed:
			c.failed++
		}
	}
	return c, nil
}

// printReasonConditions prints a Deployment's or ReplicaSet's conditions
// table; row gives a condition's type, status and reason.
func printReasonConditions[C any](w *writer, conds []C, row func(C) []any) {
	if len(conds) == 0 {
		return
	}
	w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
	w.write(1, "----\t------\t------\n")
	for _, c := range conds {
		w.write(1, "%v \t%v\t%v\n", row(c)...)
	}
}

func describeDeployment(ctx context.Context, cs kubernetes.Interface, ns, name string, s settings) (string, error) {
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	events := searchEventsOrNil(ctx, cs, s, d.Namespace, d.Name, "Deployment", string(d.UID))
	var oldRSs, newRSs []*appsv1.ReplicaSet
	if newRS, old, _, err := util.DeploymentReplicaSets(ctx, cs, d, s.chunkSize); err == nil {
		oldRSs = old
		if newRS != nil {
			newRSs = append(newRSs, newRS)
		}
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return "", err
	}
	return tabbed(func(w *writer) error {
		w.write(0, "Name:\t%s\n", d.Name)
		w.write(0, "Namespace:\t%s\n", d.Namespace)
		w.write(0, "CreationTimestamp:\t%s\n", rfc1123(d.CreationTimestamp))
		printLabels(w, "Labels", d.Labels)
		printAnnotations(w, "Annotations", d.Annotations)
		w.write(0, "Selector:\t%s\n", sel)
		w.write(0, "Replicas:\t%d desired | %d updated | %d total | %d available | %d unavailable\n",
			deref(d.Spec.Replicas), d.Status.UpdatedReplicas, d.Status.Replicas, d.Status.AvailableReplicas, d.Status.UnavailableReplicas)
		w.write(0, "StrategyType:\t%s\n", d.Spec.Strategy.Type)
		w.write(0, "MinReadySeconds:\t%d\n", d.Spec.MinReadySeconds)
		if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
			w.write(0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n", ru.MaxUnavailable.String(), ru.MaxSurge.String())
		}
		podTemplate(w, &d.Spec.Template)
		printReasonConditions(w, d.Status.Conditions, func(c appsv1.DeploymentCondition) []any { return []any{c.Type, c.Status, c.Reason} })
		if len(oldRSs) > 0 || len(newRSs) > 0 {
			w.write(0, "OldReplicaSets:\t%s\n", replicaSetList(oldRSs))
			w.write(0, "NewReplicaSet:\t%s\n", replicaSetList(newRSs))
		}
		printEvents(w, events)
		return nil
	})
}

func replicaSetList(rss []*appsv1.ReplicaSet) string {
	var out []string
	for _, rs := range rss {
		out = append(out, fmt.Sprintf("%s (%d/%d replicas created)", rs.Name, rs.Status.Replicas, deref(rs.Spec.Replicas)))
	}
	if len(out) == 0 {
		return "<none>"
	}
	return strings.Join(out, ", ")
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func describeReplicaSet(ctx context.Context, cs kubernetes.Interface, ns, name string, s settings) (string, error) {
	rs, err := cs.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return "", err
	}
	counts, podErr := podCounts(ctx, cs, rs.Namespace, sel, rs.UID, s.chunkSize)
	events := searchEventsOrNil(ctx, cs, s, rs.Namespace, rs.Name, "ReplicaSet", string(rs.UID))
	return tabbed(func(w *writer) error {
		w.write(0, "Name:\t%s\n", rs.Name)
		w.write(0, "Namespace:\t%s\n", rs.Namespace)
		w.write(0, "Selector:\t%s\n", metav1.FormatLabelSelector(rs.Spec.Selector))
		printLabels(w, "Labels", rs.Labels)
		printAnnotations(w, "Annotations", rs.Annotations)
		if c := controllerOf(rs); c != "" {
			w.write(0, "Controlled By:\t%s\n", c)
		}
		w.write(0, "Replicas:\t%d current / %d desired\n", rs.Status.Replicas, deref(rs.Spec.Replicas))
		w.write(0, "Pods Status:\t")
		if podErr != nil {
			w.write(0, "error in fetching pods: %s\n", podErr)
		} else {
			w.write(0, "%s\n", counts)
		}
		podTemplate(w, &rs.Spec.Template)
		printReasonConditions(w, rs.Status.Conditions, func(c appsv1.ReplicaSetCondition) []any { return []any{c.Type, c.Status, c.Reason} })
		printEvents(w, events)
		return nil
	})
}

func describeDaemonSet(ctx context.Context, cs kubernetes.Interface, ns, name string, s settings) (string, error) {
	ds, err := cs.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return "", err
	}
	counts, err := podCounts(ctx, cs, ds.Namespace, sel, ds.UID, s.chunkSize)
	if err != nil {
		return "", err
	}
	events := searchEventsOrNil(ctx, cs, s, ds.Namespace, ds.Name, "DaemonSet", string(ds.UID))
	return tabbed(func(w *writer) error {
		w.write(0, "Name:\t%s\n", ds.Name)
		w.write(0, "Namespace:\t%s\n", ds.Namespace)
		w.write(0, "Selector:\t%s\n", sel)
		w.write(0, "Node-Selector:\t%s\n", labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector))
		printLabels(w, "Labels", ds.Labels)
		printAnnotations(w, "Annotations", ds.Annotations)
		st := ds.Status
		w.write(0, "Desired Number of Nodes Scheduled: %d\n", st.DesiredNumberScheduled)
		w.write(0, "Current Number of Nodes Scheduled: %d\n", st.CurrentNumberScheduled)
		w.write(0, "Number of Nodes Scheduled with Up-to-date Pods: %d\n", st.UpdatedNumberScheduled)
		w.write(0, "Number of Nodes Scheduled with Available Pods: %d\n", st.NumberAvailable)
		w.write(0, "Number of Nodes Misscheduled: %d\n", st.NumberMisscheduled)
		w.write(0, "Pods Status:\t%s\n", counts)
		podTemplate(w, &ds.Spec.Template)
		printEvents(w, events)
		return nil
	})
}

func describeStatefulSet(ctx context.Context, cs kubernetes.Interface, ns, name string, s settings) (string, error) {
	ss, err := cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	sel, err := metav1.LabelSelectorAsSelector(ss.Spec.Selector)
	if err != nil {
		return "", err
	}
	counts, err := podCounts(ctx, cs, ss.Namespace, sel, ss.UID, s.chunkSize)
	if err != nil {
		return "", err
	}
	events := searchEventsOrNil(ctx, cs, s, ss.Namespace, ss.Name, "StatefulSet", string(ss.UID))
	return tabbed(func(w *writer) error {
		w.write(0, "Name:\t%s\n", ss.Name)
		w.write(0, "Namespace:\t%s\n", ss.Namespace)
		w.write(0, "CreationTimestamp:\t%s\n", rfc1123(ss.CreationTimestamp))
		w.write(0, "Selector:\t%s\n", sel)
		printLabels(w, "Labels", ss.Labels)
		printAnnotations(w, "Annotations", ss.Annotations)
		if ss.Spec.ServiceName != "" {
			w.write(0, "Service Name:\t%s\n", ss.Spec.ServiceName)
		}
		if ss.Spec.PodManagementPolicy != "" {
			w.write(0, "Pod Management Policy:\t%s\n", ss.Spec.PodManagementPolicy)
		}
		w.write(0, "Replicas:\t%d desired | %d total\n", deref(ss.Spec.Replicas), ss.Status.Replicas)
		w.write(0, "Update Strategy:\t%s\n", ss.Spec.UpdateStrategy.Type)
		if ru := ss.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
			w.write(1, "Partition:\t%d\n", *ru.Partition)
			if ru.MaxUnavailable != nil {
				w.write(1, "MaxUnavailable:\t%s\n", ru.MaxUnavailable.String())
			}
		}
		if p := ss.Spec.PersistentVolumeClaimRetentionPolicy; p != nil {
			w.write(0, "Persistent Volume Claim Retention Policy:\n")
			w.write(1, "WhenDeleted:\t%s\n", p.WhenDeleted)
			w.write(1, "WhenScaled:\t%s\n", p.WhenScaled)
		}
		w.write(0, "Pods Status:\t%s\n", counts)
		podTemplate(w, &ss.Spec.Template)
		if len(ss.Spec.VolumeClaimTemplates) == 0 {
			w.write(0, "Volume Claims:\t<none>\n")
		} else {
			w.write(0, "Volume Claims:\n")
			for _, pvc := range ss.Spec.VolumeClaimTemplates {
				w.write(1, "Name:\t%s\n", pvc.Name)
				class := ""
				if pvc.Spec.StorageClassName != nil {
					class = *pvc.Spec.StorageClassName
				} else if c, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
					class = c
				}
				w.write(1, "StorageClass:\t%s\n", class)
				labelsBlock(w, "  ", "Labels", "\t", pvc.Labels)
				labelsBlock(w, "  ", "Annotations", "\t", pvc.Annotations)
				if c, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
					w.write(1, "Capacity:\t%s\n", c.String())
				} else {
					w.write(1, "Capacity:\t%s\n", "<default>")
				}
				w.write(1, "Access Modes:\t%s\n", pvc.Spec.AccessModes)
			}
		}
		printEvents(w, events)
		return nil
	})
}

func describeJob(ctx context.Context, cs kubernetes.Interface, ns, name string, s settings) (string, error) {
	job, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	events := searchEventsOrNil(ctx, cs, s, job.Namespace, job.Name, "Job", string(job.UID))
	return tabbed(func(w *writer) error {
		w.write(0, "Name:\t%s\n", job.Name)
		w.write(0, "Namespace:\t%s\n", job.Namespace)
		if sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil {
			w.write(0, "Selector:\t%s\n", sel)
		} else {
			w.write(0, "Selector:\tFailed to get selector: %s\n", err)
		}
		printLabels(w, "Labels", job.Labels)
		printAnnotations(w, "Annotations", job.Annotations)
		if c := controllerOf(job); c != "" {
			w.write(0, "Controlled By:\t%s\n", c)
		}
		if job.Spec.Parallelism != nil {
			w.write(0, "Parallelism:\t%d\n", *job.Spec.Parallelism)
		}
		if job.Spec.Completions != nil {
			w.write(0, "Completions:\t%d\n", *job.Spec.Completions)
		} else {
			w.write(0, "Completions:\t<unset>\n")
		}
		if job.Spec.CompletionMode != nil {
			w.write(0, "Completion Mode:\t%s\n", *job.Spec.CompletionMode)
		}
		if job.Spec.Suspend != nil {
			w.write(0, "Suspend:\t%v\n", *job.Spec.Suspend)
		}
		if job.Spec.BackoffLimit != nil {
			w.write(0, "Backoff Limit:\t%v\n", *job.Spec.BackoffLimit)
		}
		if job.Spec.TTLSecondsAfterFinished != nil {
			w.write(0, "TTL Seconds After Finished:\t%v\n", *job.Spec.TTLSecondsAfterFinished)
		}
		st := job.Status
		if st.StartTime != nil {
			w.write(0, "Start Time:\t%s\n", rfc1123(*st.StartTime))
		}
		if st.CompletionTime != nil {
			w.write(0, "Completed At:\t%s\n", rfc1123(*st.CompletionTime))
		}
		if st.StartTime != nil && st.CompletionTime != nil {
			w.write(0, "Duration:\t%s\n", duration.HumanDuration(st.CompletionTime.Sub(st.StartTime.Time)))
		}
		if job.Spec.ActiveDeadlineSeconds != nil {
			w.write(0, "Active Deadline Seconds:\t%ds\n", *job.Spec.ActiveDeadlineSeconds)
		}
		if st.Ready == nil {
			w.write(0, "Pods Statuses:\t%d Active / %d Succeeded / %d Failed\n", st.Active, st.Succeeded, st.Failed)
		} else {
			w.write(0, "Pods Statuses:\t%d Active (%d Ready) / %d Succeeded / %d Failed\n", st.Active, *st.Ready, st.Succeeded, st.Failed)
		}
		if job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion {
			w.write(0, "Completed Indexes:\t%s\n", capIndexes(st.CompletedIndexes, 50))
		}
		podTemplate(w, &job.Spec.Template)
		printEvents(w, events)
		return nil
	})
}

// capIndexes shortens a completed-indexes list to about limit characters.
func capIndexes(indexes string, limit int) string {
	if indexes == "" {
		return "<none>"
	}
	if len(indexes) <= limit {
		return indexes
	}
	i := strings.IndexByte(indexes[limit:], ',')
	if i == -1 {
		return indexes
	}
	return indexes[:limit+i+1] + "..."
}
