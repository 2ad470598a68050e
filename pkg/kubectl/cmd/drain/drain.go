// Package drain is `kubectl drain`: cordon the nodes, then evict (or
// delete) their pods through the eviction API, retrying while a
// PodDisruptionBudget refuses, and wait for the pods to be gone.
package drain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/kstack/kstack/pkg/kubectl/cmd/cordon"
	"github.com/kstack/kstack/pkg/kubectl/util"
)

const (
	daemonSetFatal      = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
	daemonSetWarning    = "ignoring DaemonSet-managed Pods"
	localStorageFatal   = "Pods with local storage (use --delete-emptydir-data to override)"
	localStorageWarning = "deleting Pods with local storage"
	unmanagedFatal      = "Pods that declare no controller (use --force to override)"
	unmanagedWarning    = "deleting Pods that declare no controller"
)

// Options are drain's flags and the nodes it acts on.
type Options struct {
	cordon *cordon.Options
	client kubernetes.Interface

	Force              bool
	IgnoreDaemonSets   bool
	DeleteEmptyDirData bool
	GracePeriodSeconds int
	Timeout            time.Duration
	PodSelector        string
	DisableEviction    bool
	SkipWaitForDeleteS int
	ChunkSize          int64
	EvictionRetryDelay time.Duration
	out, errOut        io.Writer
	ctx                context.Context
}

// New returns the drain command.
func New(f *util.Factory) *cobra.Command {
	o := &Options{cordon: &cordon.Options{F: f}, GracePeriodSeconds: -1, ChunkSize: 500, EvictionRetryDelay: 5 * time.Second}
	cmd := &cobra.Command{
		Use:                   "drain NODE",
		DisableFlagsInUseLine: true,
		Short:                 "Drain node in preparation for maintenance",
		Long: `Drain node in preparation for maintenance.

 The given node will be marked unschedulable to prevent new pods from arriving. 'drain' evicts the pods if the API server supports https://kubernetes.io/docs/concepts/workloads/pods/disruptions/ eviction https://kubernetes.io/docs/concepts/workloads/pods/disruptions/ . Otherwise, it will use normal DELETE to delete the pods. The 'drain' evicts or deletes all pods except mirror pods (which cannot be deleted through the API server).  If there are daemon set-managed pods, drain will not proceed without --ignore-daemonsets, and regardless it will not delete any daemon set-managed pods, because those pods would be immediately replaced by the daemon set controller, which ignores unschedulable markings.  If there are any pods that are neither mirror pods nor managed by a replication controller, replica set, daemon set, stateful set, or job, then drain will not delete any pods unless you use --force.  --force will also allow deletion to proceed if the managing resource of one or more pods is missing.

 'drain' waits for graceful termination. You should not operate on the machine until the command completes.

 When you are ready to put the node back into service, use kubectl uncordon, which will make the node schedulable again.`,
		Example: `  # Drain node "foo", even if there are pods not managed by a replication controller, replica set, job, daemon set, or stateful set on it
  kubectl drain foo --force

  # As above, but abort if there are pods not managed by a replication controller, replica set, job, daemon set, or stateful set, and use a grace period of 15 minutes
  kubectl drain foo --grace-period=900`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.cordon.Complete(cmd, args); err != nil {
				return err
			}
			if o.PodSelector != "" {
				if _, err := labels.Parse(o.PodSelector); err != nil {
					return errors.New("--pod-selector=<pod_selector> must be a valid label selector")
				}
			}
			cs, err := f.Clientset()
			if err != nil {
				return err
			}
			o.client = cs
			// Eviction runs a goroutine per pod: one lock per stream.
			o.out, o.errOut = &syncWriter{w: f.Out}, &syncWriter{w: f.ErrOut}
			o.ctx = cmd.Context()
			if o.ctx == nil {
				o.ctx = context.Background()
			}
			return o.run()
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.Force, "force", false, "Continue even if there are pods that do not declare a controller.")
	fl.BoolVar(&o.IgnoreDaemonSets, "ignore-daemonsets", false, "Ignore DaemonSet-managed pods.")
	fl.BoolVar(&o.DeleteEmptyDirData, "delete-emptydir-data", false, "Continue even if there are pods using emptyDir (local data that will be deleted when the node is drained).")
	fl.IntVar(&o.GracePeriodSeconds, "grace-period", -1, "Period of time in seconds given to each pod to terminate gracefully. If negative, the default value specified in the pod will be used.")
	fl.DurationVar(&o.Timeout, "timeout", 0, "The length of time to wait before giving up, zero means infinite")
	fl.StringVar(&o.PodSelector, "pod-selector", "", "Label selector to filter pods on the node")
	fl.BoolVar(&o.DisableEviction, "disable-eviction", false, "Force drain to use delete, even if eviction is supported. This will bypass checking PodDisruptionBudgets, use with caution.")
	fl.IntVar(&o.SkipWaitForDeleteS, "skip-wait-for-delete-timeout", 0, "If pod DeletionTimestamp older than N seconds, skip waiting for the pod.  Seconds must be greater than 0 to skip.")
	fl.Int64Var(&o.ChunkSize, "chunk-size", 500, "Return large lists in chunks rather than all at once. Pass 0 to disable.")
	cordon.AddFlags(cmd, o.cordon)
	return cmd
}

// printName prints "<kind>/<name> <op>" with the dry-run suffix.
func (o *Options) printName(op string, obj runtime.Object) {
	(&printers.NamePrinter{Operation: o.cordon.Operation(op)}).PrintObj(obj, o.out)
}

func (o *Options) run() error {
	if err := o.cordon.Run(o.ctx, true); err != nil {
		return err
	}
	var fatal []error
	var remaining []string
	for _, info := range o.cordon.Nodes {
		if err := o.drainNode(info); err != nil {
			fmt.Fprintf(o.errOut, "error: unable to drain node %q due to error: %s, continuing command...\n", info.Name, err)
			fatal = append(fatal, err)
			remaining = append(remaining, info.Name)
			continue
		}
		o.printName("drained", info.Object)
	}
	if len(remaining) > 0 {
		fmt.Fprintf(o.errOut, "There are pending nodes to be drained:\n")
		for _, n := range remaining {
			fmt.Fprintf(o.errOut, " %s\n", n)
		}
	}
	return utilerrors.NewAggregate(fatal)
}

// podDelete is a pod on the node and what drain does with it.
type podDelete struct {
	pod     corev1.Pod
	delete  bool
	kind    string // "okay", "skip", "warning", "error"
	message string
}

type podDeleteList []podDelete

func (l podDeleteList) pods() []corev1.Pod {
	var out []corev1.Pod
	for _, p := range l {
		if p.delete {
			out = append(out, p.pod)
		}
	}
	return out
}

// grouped joins the pods of each message of the given kind, messages in
// first-seen order.
func (l podDeleteList) grouped(kind string) ([]string, map[string][]string) {
	var order []string
	byMsg := map[string][]string{}
	for _, p := range l {
		if p.kind != kind {
			continue
		}
		msg := p.message
		if msg == "" && kind == "error" {
			msg = "unexpected error"
		}
		if _, ok := byMsg[msg]; !ok {
			order = append(order, msg)
		}
		byMsg[msg] = append(byMsg[msg], p.pod.Namespace+"/"+p.pod.Name)
	}
	return order, byMsg
}

func (l podDeleteList) warnings() string {
	order, byMsg := l.grouped("warning")
	var msgs []string
	for _, m := range order {
		msgs = append(msgs, fmt.Sprintf("%s: %s", m, strings.Join(byMsg[m], ", ")))
	}
	return strings.Join(msgs, "; ")
}

func (l podDeleteList) errors() []error {
	order, byMsg := l.grouped("error")
	var errs []error
	for _, m := range order {
		errs = append(errs, fmt.Errorf("cannot delete %s: %s", m, strings.Join(byMsg[m], ", ")))
	}
	return errs
}

// podsForDeletion lists the node's pods and decides for each, as
// upstream's filters do in order: skip long-deleted ones, DaemonSet pods,
// mirror pods, pods with emptyDir, pods without a controller.
func (o *Options) podsForDeletion(node string) (podDeleteList, []error) {
	sel, err := labels.Parse(o.PodSelector)
	if err != nil {
		return nil, []error{err}
	}
	opts := metav1.ListOptions{
		LabelSelector: sel.String(),
		FieldSelector: fields.SelectorFromSet(fields.Set{"spec.nodeName": node}).String(),
		Limit:         o.ChunkSize,
	}
	var pods []corev1.Pod
	for {
		list, err := o.client.CoreV1().Pods(metav1.NamespaceAll).List(o.ctx, opts)
		if err != nil {
			return nil, []error{err}
		}
		pods = append(pods, list.Items...)
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	var out podDeleteList
	for _, pod := range pods {
		pod.Kind, pod.APIVersion = "Pod", "v1"
		d := podDelete{pod: pod, delete: true, kind: "okay"}
		for _, filter := range []func(corev1.Pod) podDelete{o.skipDeleted, o.daemonSet, mirror, o.localStorage, o.unreplicated} {
			d = filter(pod)
			d.pod = pod
			if !d.delete {
				break
			}
		}
		out = append(out, d)
	}
	if errs := out.errors(); len(errs) > 0 {
		return out, errs
	}
	return out, nil
}

func okay() podDelete { return podDelete{delete: true, kind: "okay"} }

func finished(pod corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func (o *Options) skipDeleted(pod corev1.Pod) podDelete {
	if o.shouldSkip(pod) {
		return podDelete{kind: "skip"}
	}
	return okay()
}

func (o *Options) shouldSkip(pod corev1.Pod) bool {
	return o.SkipWaitForDeleteS > 0 && pod.DeletionTimestamp != nil &&
		int(time.Since(pod.DeletionTimestamp.Time).Seconds()) > o.SkipWaitForDeleteS
}

func (o *Options) daemonSet(pod corev1.Pod) podDelete {
	ref := metav1.GetControllerOf(&pod)
	if ref == nil || ref.Kind != "DaemonSet" || ref.APIVersion != "apps/v1" || finished(pod) {
		return okay()
	}
	if _, err := o.client.AppsV1().DaemonSets(pod.Namespace).Get(o.ctx, ref.Name, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) && o.Force {
			return podDelete{delete: true, kind: "warning", message: err.Error()}
		}
		return podDelete{kind: "error", message: err.Error()}
	}
	if !o.IgnoreDaemonSets {
		return podDelete{kind: "error", message: daemonSetFatal}
	}
	return podDelete{kind: "warning", message: daemonSetWarning}
}

func mirror(pod corev1.Pod) podDelete {
	if _, ok := pod.Annotations[corev1.MirrorPodAnnotationKey]; ok {
		return podDelete{kind: "skip"}
	}
	return okay()
}

func (o *Options) localStorage(pod corev1.Pod) podDelete {
	local := false
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil {
			local = true
		}
	}
	if !local || finished(pod) {
		return okay()
	}
	if !o.DeleteEmptyDirData {
		return podDelete{kind: "error", message: localStorageFatal}
	}
	return podDelete{delete: true, kind: "warning", message: localStorageWarning}
}

func (o *Options) unreplicated(pod corev1.Pod) podDelete {
	if finished(pod) || metav1.GetControllerOf(&pod) != nil {
		return okay()
	}
	if o.Force {
		return podDelete{delete: true, kind: "warning", message: unmanagedWarning}
	}
	return podDelete{kind: "error", message: unmanagedFatal}
}

func (o *Options) drainNode(info *resource.Info) error {
	list, errs := o.podsForDeletion(info.Name)
	if errs != nil {
		return utilerrors.NewAggregate(errs)
	}
	if w := list.warnings(); w != "" {
		fmt.Fprintf(o.errOut, "Warning: %s\n", w)
	}
	if o.cordon.DryRun == "client" {
		for _, pod := range list.pods() {
			fmt.Fprintf(o.out, "evicting pod %s/%s (dry run)\n", pod.Namespace, pod.Name)
		}
		return nil
	}
	if err := o.deleteOrEvict(list.pods()); err != nil {
		pending, newErrs := o.podsForDeletion(info.Name)
		if pending != nil {
			if pods := pending.pods(); len(pods) != 0 {
				fmt.Fprintf(o.errOut, "There are pending pods in node %q when an error occurred: %v\n", info.Name, err)
				for _, p := range pods {
					fmt.Fprintf(o.errOut, "%s/%s\n", "pod", p.Name)
				}
			}
		}
		if newErrs != nil {
			fmt.Fprintf(o.errOut, "Following errors occurred while getting the list of pods to delete:\n%s", utilerrors.NewAggregate(newErrs))
		}
		return err
	}
	return nil
}

func (o *Options) deleteOptions() metav1.DeleteOptions {
	opts := metav1.DeleteOptions{}
	if o.GracePeriodSeconds >= 0 {
		g := int64(o.GracePeriodSeconds)
		opts.GracePeriodSeconds = &g
	}
	if o.cordon.DryRun == "server" {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return opts
}

// evictionSupported says whether the server lists pods/eviction (policy/v1).
func (o *Options) evictionSupported() (bool, error) {
	list, err := o.client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		return false, err
	}
	for _, r := range list.APIResources {
		if r.Name == "pods/eviction" && r.Kind == "Eviction" && r.Group != "" && r.Version != "" {
			return true, nil
		}
	}
	return false, nil
}

func (o *Options) deleteOrEvict(pods []corev1.Pod) error {
	if len(pods) == 0 {
		return nil
	}
	if !o.DisableEviction {
		ok, err := o.evictionSupported()
		if err != nil {
			return err
		}
		if ok {
			return o.evict(pods)
		}
	}
	return o.deletePods(pods)
}

func (o *Options) globalTimeout() time.Duration {
	if o.Timeout == 0 {
		return time.Duration(math.MaxInt64)
	}
	return o.Timeout
}

// finishedLine prints "pod/<name> evicted" (or deleted, or failed).
func (o *Options) finishedLine(pod *corev1.Pod, eviction bool, err error) {
	verb := map[[2]bool]string{{true, false}: "evicted", {true, true}: "eviction failed", {false, false}: "deleted", {false, true}: "deletion failed"}[[2]bool{eviction, err != nil}]
	o.printName(verb, pod)
}

func (o *Options) startedLine(pod *corev1.Pod, eviction bool) {
	if !klog.V(2).Enabled() {
		return
	}
	verb := "deletion started"
	if eviction {
		verb = "eviction started"
	}
	o.printName(verb, pod)
}

// evict evicts every pod in parallel; a 429 (a disruption budget) is
// retried after EvictionRetryDelay until the global timeout.
func (o *Options) evict(pods []corev1.Pod) error {
	out, errOut := o.out, o.errOut
	timeout := o.globalTimeout()
	ctx, cancel := context.WithTimeout(o.ctx, timeout)
	defer cancel()
	results := make(chan error, len(pods))
	for _, pod := range pods {
		go func(pod corev1.Pod) {
			active := pod
			for {
				if o.cordon.DryRun == "server" {
					fmt.Fprintf(out, "evicting pod %s/%s (server dry run)\n", active.Namespace, active.Name)
				} else {
					o.startedLine(&active, true)
					fmt.Fprintf(out, "evicting pod %s/%s\n", active.Namespace, active.Name)
				}
				select {
				case <-ctx.Done():
					results <- fmt.Errorf("error when evicting pods/%q -n %q: global timeout reached: %v", active.Name, active.Namespace, timeout)
					return
				default:
				}
				delOpts := o.deleteOptions()
				err := o.client.PolicyV1().Evictions(active.Namespace).Evict(ctx, &policyv1.Eviction{
					ObjectMeta:    metav1.ObjectMeta{Name: active.Name, Namespace: active.Namespace},
					DeleteOptions: &delOpts,
				})
				if err == nil {
					break
				}
				switch {
				case apierrors.IsNotFound(err):
					results <- nil
					return
				case apierrors.IsTooManyRequests(err):
					fmt.Fprintf(errOut, "error when evicting pods/%q -n %q (will retry after %v): %v\n", active.Name, active.Namespace, o.EvictionRetryDelay, err)
					sleep(ctx, o.EvictionRetryDelay)
				case active.DeletionTimestamp != nil && apierrors.IsForbidden(err) && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
					err = nil
				case apierrors.IsForbidden(err) && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
					fmt.Fprintf(errOut, "error when evicting pod %q from terminating namespace %q (will retry after %v): %v\n", active.Name, active.Namespace, o.EvictionRetryDelay, err)
					sleep(ctx, o.EvictionRetryDelay)
				default:
					results <- fmt.Errorf("error when evicting pods/%q -n %q: %v", active.Name, active.Namespace, err)
					return
				}
				if err == nil {
					break
				}
				if fresh, err := o.client.CoreV1().Pods(active.Namespace).Get(ctx, active.Name, metav1.GetOptions{}); err == nil {
					active = *fresh
				}
			}
			if o.cordon.DryRun == "server" {
				results <- nil
				return
			}
			if _, err := o.waitForDelete(ctx, []corev1.Pod{active}, time.Duration(math.MaxInt64), true); err != nil {
				results <- fmt.Errorf("error when waiting for pod %q in namespace %q to terminate: %v", pod.Name, pod.Namespace, err)
				return
			}
			results <- nil
		}(pod)
	}
	var errs []error
	for range pods {
		if err := <-results; err != nil {
			errs = append(errs, err)
		}
	}
	return utilerrors.NewAggregate(errs)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (o *Options) deletePods(pods []corev1.Pod) error {
	for i := range pods {
		err := o.client.CoreV1().Pods(pods[i].Namespace).Delete(o.ctx, pods[i].Name, o.deleteOptions())
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if o.cordon.DryRun != "server" {
			o.startedLine(&pods[i], false)
		}
	}
	if o.cordon.DryRun == "server" {
		return nil
	}
	_, err := o.waitForDelete(o.ctx, pods, o.globalTimeout(), false)
	return err
}

// waitForDelete polls every second until each pod is gone (or replaced
// by one with another UID).
func (o *Options) waitForDelete(ctx context.Context, pods []corev1.Pod, timeout time.Duration, eviction bool) ([]corev1.Pod, error) {
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		var pending []corev1.Pod
		for i := range pods {
			pod := pods[i]
			p, err := o.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err) || (err == nil && p.UID != pod.UID):
				o.finishedLine(&pod, eviction, nil)
				continue
			case err != nil:
				o.finishedLine(&pod, eviction, err)
				return false, err
			}
			if o.shouldSkip(*p) {
				fmt.Fprintf(o.out, "pod %q has DeletionTimestamp older than %v seconds, skipping\n", pod.Name, o.SkipWaitForDeleteS)
				continue
			}
			pending = append(pending, pod)
		}
		pods = pending
		return len(pods) == 0, nil
	})
	return pods, err
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
