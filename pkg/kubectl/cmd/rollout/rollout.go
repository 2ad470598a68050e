// Package rollout is `kubectl rollout`: status (watching a Deployment,
// DaemonSet or StatefulSet until its rollout finishes), pause, resume and
// restart.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the rollout command.
func New(f *util.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "rollout SUBCOMMAND",
		DisableFlagsInUseLine: true,
		Short:                 "Manage the rollout of a resource",
		Long: `Manage the rollout of one or many resources.

 Valid resource types include:

  *  deployments
  *  daemonsets
  *  statefulsets`,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newHistory(f), newPatcher(f, "pause"), newPatcher(f, "restart"), newPatcher(f, "resume"), newStatus(f), newUndo(f))
	return cmd
}

// target is the resources a subcommand acts on.
type target struct {
	f         *util.Factory
	selector  string
	filenames resource.FilenameOptions
}

func (t *target) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&t.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	cmd.Flags().StringSliceVarP(&t.filenames.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to get from a server.")
	cmd.Flags().StringVarP(&t.filenames.Kustomize, "kustomize", "k", "", "Process the kustomization directory. This flag can't be used together with -f or -R.")
	cmd.Flags().BoolVarP(&t.filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
}

func (t *target) result(args []string) (*resource.Result, string, error) {
	ns, enforce, err := t.f.Namespace()
	if err != nil {
		return nil, "", err
	}
	r := t.f.NewBuilder().Unstructured().
		NamespaceParam(ns).DefaultNamespace().
		LabelSelectorParam(t.selector).
		FilenameParam(enforce, &t.filenames).
		ResourceTypeOrNameArgs(true, args...).
		ContinueOnError().Latest().Flatten().Do()
	return r, ns, r.Err()
}

func newStatus(f *util.Factory) *cobra.Command {
	t := &target{f: f}
	var (
		watchFlag = true
		revision  int64
		timeout   time.Duration
	)
	cmd := &cobra.Command{
		Use:                   "status (TYPE NAME | TYPE/NAME) [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Show the status of the rollout",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(t.filenames.Filenames) == 0 && t.filenames.Kustomize == "" {
				return errors.New("required resource not specified")
			}
			if revision < 0 {
				return fmt.Errorf("revision must be a positive integer: %v", revision)
			}
			r, ns, err := t.result(args)
			if err != nil {
				return err
			}
			dyn, err := f.Dynamic()
			if err != nil {
				return err
			}
			found := false
			err = r.Visit(func(info *resource.Info, _ error) error {
				found = true
				kind := info.Mapping.GroupVersionKind.GroupKind()
				if kind.Group != "apps" || (kind.Kind != "Deployment" && kind.Kind != "DaemonSet" && kind.Kind != "StatefulSet") {
					return fmt.Errorf("no status viewer has been implemented for %v", kind.Kind)
				}
				sel := fields.OneTermEqualSelector("metadata.name", info.Name).String()
				client := dyn.Resource(info.Mapping.Resource).Namespace(info.Namespace)
				lw := &cache.ListWatch{
					ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
						o.FieldSelector = sel
						return client.List(context.Background(), o)
					},
					WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
						o.FieldSelector = sel
						return client.Watch(context.Background(), o)
					},
				}
				ctx, cancel := watchtools.ContextWithOptionalTimeout(context.Background(), timeout)
				defer cancel()
				_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, nil, func(e watch.Event) (bool, error) {
					switch e.Type {
					case watch.Added, watch.Modified:
						msg, done, err := rolloutStatus(e.Object.(*unstructured.Unstructured), revision)
						if err != nil {
							return false, err
						}
						fmt.Fprint(f.Out, msg)
						return done || !watchFlag, nil
					case watch.Deleted:
						return true, errors.New("object has been deleted")
					}
					return true, fmt.Errorf("internal error: unexpected event %#v", e)
				})
				if errors.Is(err, context.DeadlineExceeded) || wait.Interrupted(err) {
					return errors.New("timed out waiting for the condition")
				}
				return err
			})
			if err != nil {
				return err
			}
			if !found {
				fmt.Fprintf(f.ErrOut, "No resources found in %s namespace.\n", ns)
			}
			return nil
		},
	}
	t.addFlags(cmd)
	cmd.Flags().BoolVarP(&watchFlag, "watch", "w", true, "Watch the status of the rollout until it's done.")
	cmd.Flags().Int64Var(&revision, "revision", 0, "Pin to a specific revision for showing its status. Defaults to 0 (last revision).")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "The length of time to wait before ending watch, zero means never. Any other values should contain a corresponding time unit (e.g. 1s, 2m, 3h).")
	return cmd
}

// rolloutStatus is the line upstream prints for the object's state and
// whether the rollout is done.
func rolloutStatus(u *unstructured.Unstructured, revision int64) (string, bool, error) {
	switch u.GetKind() {
	case "Deployment":
		d := &appsv1.Deployment{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d); err != nil {
			return "", false, err
		}
		if revision > 0 {
			var rev int64
			fmt.Sscan(d.Annotations["deployment.kubernetes.io/revision"], &rev)
			if rev != revision {
				return "", false, fmt.Errorf("desired revision (%d) is different from the running revision (%d)", revision, rev)
			}
		}
		if d.Generation > d.Status.ObservedGeneration {
			return "Waiting for deployment spec update to be observed...\n", false, nil
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
				return "", false, fmt.Errorf("deployment %q exceeded its progress deadline", d.Name)
			}
		}
		st := d.Status
		switch {
		case d.Spec.Replicas != nil && st.UpdatedReplicas < *d.Spec.Replicas:
			return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...\n", d.Name, st.UpdatedReplicas, *d.Spec.Replicas), false, nil
		case st.Replicas > st.UpdatedReplicas:
			return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...\n", d.Name, st.Replicas-st.UpdatedReplicas), false, nil
		case st.AvailableReplicas < st.UpdatedReplicas:
			return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...\n", d.Name, st.AvailableReplicas, st.UpdatedReplicas), false, nil
		}
		return fmt.Sprintf("deployment %q successfully rolled out\n", d.Name), true, nil
	case "DaemonSet":
		ds := &appsv1.DaemonSet{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ds); err != nil {
			return "", false, err
		}
		if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType {
			return "", true, fmt.Errorf("rollout status is only available for %s strategy type", appsv1.RollingUpdateStatefulSetStrategyType)
		}
		if ds.Generation > ds.Status.ObservedGeneration {
			return "Waiting for daemon set spec update to be observed...\n", false, nil
		}
		st := ds.Status
		switch {
		case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
			return fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d out of %d new pods have been updated...\n", ds.Name, st.UpdatedNumberScheduled, st.DesiredNumberScheduled), false, nil
		case st.NumberAvailable < st.DesiredNumberScheduled:
			return fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d of %d updated pods are available...\n", ds.Name, st.NumberAvailable, st.DesiredNumberScheduled), false, nil
		}
		return fmt.Sprintf("daemon set %q successfully rolled out\n", ds.Name), true, nil
	default:
		ss := &appsv1.StatefulSet{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ss); err != nil {
			return "", false, err
		}
		if ss.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
			return "", true, fmt.Errorf("rollout status is only available for %s strategy type", appsv1.RollingUpdateStatefulSetStrategyType)
		}
		st := ss.Status
		if st.ObservedGeneration == 0 || ss.Generation > st.ObservedGeneration {
			return "Waiting for statefulset spec update to be observed...\n", false, nil
		}
		if ss.Spec.Replicas != nil && st.ReadyReplicas < *ss.Spec.Replicas {
			return fmt.Sprintf("Waiting for %d pods to be ready...\n", *ss.Spec.Replicas-st.ReadyReplicas), false, nil
		}
		if ru := ss.Spec.UpdateStrategy.RollingUpdate; ru != nil {
			if ss.Spec.Replicas != nil && ru.Partition != nil && st.UpdatedReplicas < *ss.Spec.Replicas-*ru.Partition {
				return fmt.Sprintf("Waiting for partitioned roll out to finish: %d out of %d new pods have been updated...\n", st.UpdatedReplicas, *ss.Spec.Replicas-*ru.Partition), false, nil
			}
			return fmt.Sprintf("partitioned roll out complete: %d new pods have been updated...\n", st.UpdatedReplicas), true, nil
		}
		if st.UpdateRevision != st.CurrentRevision {
			return fmt.Sprintf("waiting for statefulset rolling update to complete %d pods at revision %s...\n", st.UpdatedReplicas, st.UpdateRevision), false, nil
		}
		return fmt.Sprintf("statefulset rolling update complete %d pods at revision %s...\n", st.CurrentReplicas, st.CurrentRevision), true, nil
	}
}

// newPatcher builds pause, resume and restart: each computes a patch per
// object and prints "<kind>/<name> <verb>ed".
func newPatcher(f *util.Factory, verb string) *cobra.Command {
	t := &target{f: f}
	short := map[string]string{"pause": "Mark the provided resource as paused", "resume": "Resume a paused resource", "restart": "Restart a resource"}[verb]
	done := map[string]string{"pause": "paused", "resume": "resumed", "restart": "restarted"}[verb]
	cmd := &cobra.Command{
		Use:                   verb + " RESOURCE",
		DisableFlagsInUseLine: true,
		Short:                 short,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(t.filenames.Filenames) == 0 && t.filenames.Kustomize == "" {
				return fmt.Errorf("required resource not specified")
			}
			r, ns, err := t.result(args)
			if err != nil {
				return err
			}
			var errs []error
			infos, err := r.Infos()
			if err != nil {
				errs = append(errs, err)
			}
			if len(infos) == 0 && len(errs) == 0 {
				fmt.Fprintf(f.ErrOut, "No resources found in %s namespace.\n", ns)
				return nil
			}
			dyn, err := f.Dynamic()
			if err != nil {
				return err
			}
			for _, info := range infos {
				patch, err := patchFor(verb, info)
				if err != nil {
					rs := info.Mapping.Resource.Resource
					if g := info.Mapping.Resource.Group; g != "" {
						rs += "." + g
					}
					errs = append(errs, fmt.Errorf("error: %s %q %v", rs, info.Name, err))
					continue
				}
				out, err := dyn.Resource(info.Mapping.Resource).Namespace(info.Namespace).Patch(context.Background(), info.Name,
					types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-rollout"})
				if err != nil {
					errs = append(errs, fmt.Errorf("failed to patch: %v", err))
					continue
				}
				if err := (&printers.NamePrinter{Operation: done}).PrintObj(out, f.Out); err != nil {
					errs = append(errs, err)
				}
			}
			return utilerrors.NewAggregate(errs)
		},
	}
	t.addFlags(cmd)
	cmd.Flags().String("field-manager", "kubectl-rollout", "Name of the manager used to track field ownership.")
	return cmd
}

// patchFor is the strategic merge patch that pauses, resumes or restarts
// the object, or why it cannot.
func patchFor(verb string, info *resource.Info) ([]byte, error) {
	u := info.Object.(*unstructured.Unstructured)
	kind := info.Mapping.GroupVersionKind.GroupKind()
	paused, _, _ := unstructured.NestedBool(u.Object, "spec", "paused")
	isDeployment := kind.Group == "apps" && kind.Kind == "Deployment"
	switch verb {
	case "pause":
		if !isDeployment {
			return nil, errors.New("pausing is not supported")
		}
		if paused {
			return nil, errors.New("is already paused")
		}
		return []byte(`{"spec":{"paused":true}}`), nil
	case "resume":
		if !isDeployment {
			return nil, errors.New("resuming is not supported")
		}
		if !paused {
			return nil, errors.New("is not paused")
		}
		return []byte(`{"spec":{"paused":null}}`), nil
	}
	if kind.Group != "apps" || (kind.Kind != "Deployment" && kind.Kind != "DaemonSet" && kind.Kind != "StatefulSet") {
		return nil, errors.New("restarting is not supported")
	}
	if paused {
		return nil, errors.New("can't restart paused deployment (run rollout resume first)")
	}
	return []byte(fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339))), nil
}
