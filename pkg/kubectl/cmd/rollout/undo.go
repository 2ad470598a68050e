package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kstack/kstack/pkg/kubectl/cmd/describe"
	"github.com/kstack/kstack/pkg/kubectl/util"
)

// annotationsKeptOnUndo are the Deployment's own annotations an undo
// keeps; every other annotation comes from the ReplicaSet rolled back to.
var annotationsKeptOnUndo = map[string]bool{
	corev1.LastAppliedConfigAnnotation:          true,
	revisionAnnotation:                          true,
	"deployment.kubernetes.io/revision-history": true,
	"deployment.kubernetes.io/desired-replicas": true,
	"deployment.kubernetes.io/max-replicas":     true,
	appsv1.DeprecatedRollbackTo:                 true,
}

func newUndo(f *util.Factory) *cobra.Command {
	t := &target{f: f}
	var (
		toRevision int64
		dryRun     string
	)
	printFlags := genericclioptions.NewPrintFlags("rolled back").WithTypeSetter(scheme.Scheme)
	cmd := &cobra.Command{
		Use:                   "undo (TYPE NAME | TYPE/NAME) [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Undo a previous rollout",
		Long:                  "Roll back to a previous rollout.",
		Example: `  # Roll back to the previous deployment
  kubectl rollout undo deployment/abc

  # Roll back to daemonset revision 3
  kubectl rollout undo daemonset/abc --to-revision=3

  # Roll back to the previous deployment with dry-run
  kubectl rollout undo --dry-run=server deployment/abc`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch dryRun {
			case "none", "client", "server":
			case "unchanged":
				dryRun = "client"
			default:
				return fmt.Errorf(`Invalid dry-run value (%v). Must be "none", "server", or "client".`, dryRun)
			}
			if len(args) == 0 && len(t.filenames.Filenames) == 0 && t.filenames.Kustomize == "" {
				return fmt.Errorf("required resource not specified")
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
			return r.Visit(func(info *resource.Info, err error) error {
				if err != nil {
					return err
				}
				acc, err := meta.Accessor(info.Object)
				if err != nil {
					return err
				}
				if _, ok := acc.GetAnnotations()[corev1.LastAppliedConfigAnnotation]; ok {
					fmt.Fprintf(f.ErrOut, "Warning: resource %[1]s was previously managed with '%[3]s apply'. "+
						"Rolling back will not update the %[2]s annotation, which may cause unexpected behavior on future '%[3]s apply' operations. "+
						"Consider using '%[3]s apply' with your previous configuration file instead.\n",
						info.ObjectName(), corev1.LastAppliedConfigAnnotation, "kubectl")
				}
				kind := info.Mapping.GroupVersionKind.GroupKind()
				if err := checkKind("rollbacker", kind); err != nil {
					return err
				}
				result, err := rollback(ctx, cs, kind.Kind, info.Namespace, info.Name, toRevision, dryRun)
				if err != nil {
					return err
				}
				printFlags.NamePrintFlags.Operation = result
				switch dryRun {
				case "client":
					printFlags.Complete("%s (dry run)")
				case "server":
					printFlags.Complete("%s (server dry run)")
				}
				printer, err := printFlags.ToPrinter()
				if err != nil {
					return err
				}
				return printer.PrintObj(info.Object, f.Out)
			})
		},
	}
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "The revision to rollback to. Default to 0 (last revision).")
	t.addFlags(cmd)
	cmd.Flags().StringVar(&dryRun, "dry-run", "none", `Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "unchanged"
	printFlags.AddFlags(cmd)
	return cmd
}

func revisionNotFound(r int64) error {
	return fmt.Errorf("unable to find specified revision %v in history", r)
}

// rollback restores the named workload's template from toRevision (0:
// the one before the latest) and says what it did: "rolled back",
// "skipped rollback (...)", or with dryRun "client" the template it
// would restore.
func rollback(ctx context.Context, cs kubernetes.Interface, kind, ns, name string, toRevision int64, dryRun string) (string, error) {
	if toRevision < 0 {
		return "", revisionNotFound(toRevision)
	}
	opts := metav1.PatchOptions{}
	if dryRun == "server" {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if kind == "Deployment" {
		return rollbackDeployment(ctx, cs, ns, name, toRevision, dryRun, opts)
	}
	obj, revs, err := controllerRevisions(ctx, cs, kind, ns, name)
	if err != nil {
		return "", err
	}
	if toRevision == 0 && len(revs) <= 1 {
		return "", fmt.Errorf("no last revision to roll back to")
	}
	var to *appsv1.ControllerRevision
	if toRevision == 0 {
		sort.Slice(revs, func(i, j int) bool { return revs[i].Revision < revs[j].Revision })
		to = revs[len(revs)-2]
	} else {
		for _, cr := range revs {
			if cr.Revision == toRevision {
				to = cr
				break
			}
		}
	}
	if to == nil {
		return "", revisionNotFound(toRevision)
	}
	if dryRun == "client" {
		_, tmpl, err := applyRevision(obj, to)
		if err != nil {
			return "", err
		}
		return "will roll back to " + describe.PodTemplate(tmpl), nil
	}
	current, err := templatePatch(obj)
	if err != nil {
		return "", err
	}
	if bytes.Equal(current, to.Data.Raw) {
		return fmt.Sprintf("skipped rollback (current template already matches revision %d)", toRevision), nil
	}
	if kind == "DaemonSet" {
		_, err = cs.AppsV1().DaemonSets(ns).Patch(ctx, name, types.StrategicMergePatchType, to.Data.Raw, opts)
	} else {
		_, err = cs.AppsV1().StatefulSets(ns).Patch(ctx, name, types.StrategicMergePatchType, to.Data.Raw, opts)
	}
	if err != nil {
		return "", fmt.Errorf("failed restoring revision %d: %v", toRevision, err)
	}
	return "rolled back", nil
}

// templatePatch is the revision data the controller would record for
// obj's current template: {"spec":{"template":{...,"$patch":"replace"}}}.
func templatePatch(obj any) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	spec, _ := raw["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	if tmpl == nil {
		tmpl = map[string]any{}
	}
	tmpl["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": tmpl}})
}

func rollbackDeployment(ctx context.Context, cs kubernetes.Interface, ns, name string, toRevision int64, dryRun string, opts metav1.PatchOptions) (string, error) {
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to retrieve Deployment %s: %v", name, err)
	}
	newRS, _, allOld, err := util.DeploymentReplicaSets(ctx, cs, d, 0)
	if err != nil {
		return "", fmt.Errorf("failed to retrieve replica sets from deployment %s: %v", d.Name, err)
	}
	all := allOld
	if newRS != nil {
		all = append(all, newRS)
	}
	var (
		to                     *appsv1.ReplicaSet
		latest, previous       *appsv1.ReplicaSet
		latestRev, previousRev int64 = -1, -1
	)
	for _, rs := range all {
		v, err := deploymentRevision(rs)
		if err != nil {
			continue
		}
		if toRevision == 0 {
			if latestRev < v {
				previousRev, previous = latestRev, latest
				latestRev, latest = v, rs
			} else if previousRev < v {
				previousRev, previous = v, rs
			}
		} else if toRevision == v {
			to = rs
			break
		}
	}
	if toRevision > 0 && to == nil {
		return "", revisionNotFound(toRevision)
	}
	if toRevision == 0 {
		if previous == nil {
			return "", fmt.Errorf("no rollout history found for deployment %q", d.Name)
		}
		to = previous
	}
	if dryRun == "client" {
		return describe.PodTemplate(&to.Spec.Template), nil
	}
	if d.Spec.Paused {
		return "", fmt.Errorf("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again")
	}
	if util.TemplatesEqualIgnoringHash(&to.Spec.Template, &d.Spec.Template) {
		return fmt.Sprintf("skipped rollback (current template already matches revision %d)", toRevision), nil
	}
	tmpl := to.Spec.Template.DeepCopy()
	delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	annotations := map[string]string{}
	for k := range annotationsKeptOnUndo {
		if v, ok := d.Annotations[k]; ok {
			annotations[k] = v
		}
	}
	for k, v := range to.Annotations {
		if !annotationsKeptOnUndo[k] {
			annotations[k] = v
		}
	}
	patch, err := json.Marshal([]any{
		map[string]any{"op": "replace", "path": "/spec/template", "value": tmpl},
		map[string]any{"op": "replace", "path": "/metadata/annotations", "value": annotations},
	})
	if err != nil {
		return "", fmt.Errorf("failed restoring revision %d: %v", toRevision, err)
	}
	if _, err := cs.AppsV1().Deployments(ns).Patch(ctx, name, types.JSONPatchType, patch, opts); err != nil {
		return "", fmt.Errorf("failed restoring revision %d: %v", toRevision, err)
	}
	return "rolled back", nil
}
