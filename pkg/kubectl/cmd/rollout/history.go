package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"

	"github.com/kstack/kstack/pkg/kubectl/cmd/describe"
	"github.com/kstack/kstack/pkg/kubectl/util"
)

const (
	changeCauseAnnotation = "kubernetes.io/change-cause"
	revisionAnnotation    = "deployment.kubernetes.io/revision"
)

// history is one workload's revisions: the object each revision stands
// for (a ReplicaSet for a Deployment, the workload with the revision
// applied for a DaemonSet or StatefulSet), its pod template and its
// change cause.
type history map[int64]revision

type revision struct {
	obj         runtime.Object
	template    *corev1.PodTemplateSpec
	changeCause string
}

func newHistory(f *util.Factory) *cobra.Command {
	t := &target{f: f}
	var rev int64
	printFlags := genericclioptions.NewPrintFlags("").WithTypeSetter(scheme.Scheme)
	cmd := &cobra.Command{
		Use:                   "history (TYPE NAME | TYPE/NAME) [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "View rollout history",
		Long:                  "View previous rollout revisions and configurations.",
		Example: `  # View the rollout history of a deployment
  kubectl rollout history deployment/abc

  # View the details of daemonset revision 3
  kubectl rollout history daemonset/abc --revision=3`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(t.filenames.Filenames) == 0 && t.filenames.Kustomize == "" {
				return fmt.Errorf("required resource not specified")
			}
			if rev < 0 {
				return fmt.Errorf("revision must be a positive integer: %v", rev)
			}
			r, _, err := t.result(args)
			if err != nil {
				return err
			}
			cs, err := f.Clientset()
			if err != nil {
				return err
			}
			ctx := context.Background()
			structured := printFlags.OutputFlagSpecified != nil && printFlags.OutputFlagSpecified()
			var printer printers.ResourcePrinter
			if structured {
				if printer, err = printFlags.ToPrinter(); err != nil {
					return err
				}
			}
			return r.Visit(func(info *resource.Info, err error) error {
				if err != nil {
					return err
				}
				kind := info.Mapping.GroupVersionKind.GroupKind()
				if err := checkKind("history viewer", kind); err != nil {
					return err
				}
				h, err := loadHistory(ctx, cs, kind.Kind, info.Namespace, info.Name)
				if err != nil {
					return err
				}
				if structured {
					if rev > 0 {
						one, ok := h[rev]
						if !ok {
							return fmt.Errorf("unable to find the specified revision")
						}
						return printer.PrintObj(one.obj, f.Out)
					}
					for _, k := range h.revisions() {
						printer.PrintObj(h[k].obj, f.Out)
					}
					return nil
				}
				text, err := h.view(rev)
				if err != nil {
					return err
				}
				with := ""
				if rev > 0 {
					with = fmt.Sprintf("with revision #%d", rev)
				}
				op := fmt.Sprintf("%s\n%s", with, text)
				return (&printers.NamePrinter{Operation: op}).PrintObj(info.Object, f.Out)
			})
		},
	}
	cmd.Flags().Int64Var(&rev, "revision", 0, "See the details, including podTemplate of the revision specified")
	t.addFlags(cmd)
	printFlags.AddFlags(cmd)
	return cmd
}

// checkKind says whether verb works on kind, with upstream's message
// when it does not ("no history viewer has been implemented for ...").
func checkKind(what string, kind schema.GroupKind) error {
	switch {
	case (kind.Group == "apps" || kind.Group == "extensions") && (kind.Kind == "Deployment" || kind.Kind == "DaemonSet"),
		kind.Group == "apps" && kind.Kind == "StatefulSet":
		return nil
	case (kind.Group == "batch" && (kind.Kind == "Job" || kind.Kind == "CronJob")),
		((kind.Group == "" || kind.Group == "core") && (kind.Kind == "Pod" || kind.Kind == "ReplicationController")),
		((kind.Group == "apps" || kind.Group == "extensions") && kind.Kind == "ReplicaSet"):
		return fmt.Errorf("no %s has been implemented for %q", what, kind.String())
	}
	noun := "history"
	if what == "rollbacker" {
		noun = "rollbacker"
	}
	return fmt.Errorf("error retrieving %s for %q, no visitor method exists for {%s %s}", noun, kind.String(), kind.Group, kind.Kind)
}

// revisions are h's revision numbers in order.
func (h history) revisions() []int64 {
	out := make([]int64, 0, len(h))
	for r := range h {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// view is the REVISION/CHANGE-CAUSE table, or one revision's template.
func (h history) view(rev int64) (string, error) {
	if len(h) == 0 {
		return "No rollout history found.", nil
	}
	if rev > 0 {
		one, ok := h[rev]
		if !ok {
			return "", fmt.Errorf("unable to find the specified revision")
		}
		return describe.PodTemplate(one.template), nil
	}
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	fmt.Fprintf(w, "REVISION\tCHANGE-CAUSE\n")
	for _, r := range h.revisions() {
		cause := h[r].changeCause
		if cause == "" {
			cause = "<none>"
		}
		fmt.Fprintf(w, "%d\t%s\n", r, cause)
	}
	w.Flush()
	return buf.String(), nil
}

// loadHistory reads the revisions of the named Deployment, DaemonSet or
// StatefulSet.
func loadHistory(ctx context.Context, cs kubernetes.Interface, kind, ns, name string) (history, error) {
	h := history{}
	switch kind {
	case "Deployment":
		rss, err := deploymentReplicaSets(ctx, cs, ns, name)
		if err != nil {
			return nil, err
		}
		for _, rs := range rss {
			v, err := deploymentRevision(rs)
			if err != nil {
				klog.Warningf("unable to get revision from replicaset %s for deployment %s in namespace %s: %v", rs.Name, name, ns, err)
				continue
			}
			tmpl := rs.Spec.Template.DeepCopy()
			cause := rs.Annotations[changeCauseAnnotation]
			if tmpl.Annotations == nil {
				tmpl.Annotations = map[string]string{}
			}
			if cause != "" {
				tmpl.Annotations[changeCauseAnnotation] = cause
			}
			h[v] = revision{obj: rs, template: tmpl, changeCause: cause}
		}
		return h, nil
	case "DaemonSet", "StatefulSet":
		obj, revs, err := controllerRevisions(ctx, cs, kind, ns, name)
		if err != nil {
			return nil, err
		}
		for _, cr := range revs {
			applied, tmpl, err := applyRevision(obj, cr)
			if err != nil {
				return nil, fmt.Errorf("unable to parse history %s", cr.Name)
			}
			h[cr.Revision] = revision{obj: applied, template: tmpl, changeCause: cr.Annotations[changeCauseAnnotation]}
		}
		return h, nil
	}
	return nil, fmt.Errorf("no history viewer has been implemented for %q", kind)
}

// deploymentRevision is the revision annotation of a ReplicaSet (0
// without one).
func deploymentRevision(rs *appsv1.ReplicaSet) (int64, error) {
	v, ok := rs.Annotations[revisionAnnotation]
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

// deploymentReplicaSets are all ReplicaSets the Deployment controls, old
// ones first.
func deploymentReplicaSets(ctx context.Context, cs kubernetes.Interface, ns, name string) ([]*appsv1.ReplicaSet, error) {
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to retrieve deployment %s: %v", name, err)
	}
	newRS, _, allOld, err := util.DeploymentReplicaSets(ctx, cs, d, 0)
	if err != nil {
		return nil, fmt.Errorf("failed to retrieve replica sets from deployment %s: %v", name, err)
	}
	if newRS == nil {
		return allOld, nil
	}
	return append(allOld, newRS), nil
}

// controllerRevisions reads a DaemonSet or StatefulSet and the
// ControllerRevisions it controls.
func controllerRevisions(ctx context.Context, cs kubernetes.Interface, kind, ns, name string) (metav1.Object, []*appsv1.ControllerRevision, error) {
	var (
		obj metav1.Object
		sel *metav1.LabelSelector
	)
	if kind == "DaemonSet" {
		ds, err := cs.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("failed to retrieve DaemonSet %s: %v", name, err)
		}
		obj, sel = ds, ds.Spec.Selector
	} else {
		sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("failed to retrieve StatefulSet %s: %w", name, err)
		}
		obj, sel = sts, sts.Spec.Selector
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create selector for %s %s: %v", kind, name, err)
	}
	list, err := cs.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, nil, fmt.Errorf("unable to find history controlled by %s %s: %v", kind, name, err)
	}
	var out []*appsv1.ControllerRevision
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], obj) {
			out = append(out, &list.Items[i])
		}
	}
	return obj, out, nil
}

// applyRevision is the DaemonSet or StatefulSet with the revision's data
// (a strategic merge patch of its template) applied, and its template.
func applyRevision(obj metav1.Object, cr *appsv1.ControllerRevision) (runtime.Object, *corev1.PodTemplateSpec, error) {
	current, err := json.Marshal(obj)
	if err != nil {
		return nil, nil, err
	}
	switch o := obj.(type) {
	case *appsv1.DaemonSet:
		patched, err := strategicpatch.StrategicMergePatch(current, cr.Data.Raw, o)
		if err != nil {
			return nil, nil, err
		}
		out := &appsv1.DaemonSet{}
		if err := json.Unmarshal(patched, out); err != nil {
			return nil, nil, err
		}
		return out, &out.Spec.Template, nil
	case *appsv1.StatefulSet:
		patched, err := strategicpatch.StrategicMergePatch(current, cr.Data.Raw, o)
		if err != nil {
			return nil, nil, err
		}
		out := &appsv1.StatefulSet{}
		if err := json.Unmarshal(patched, out); err != nil {
			return nil, nil, err
		}
		return out, &out.Spec.Template, nil
	}
	return nil, nil, fmt.Errorf("unexpected object %T", obj)
}
