// Package replace is `kubectl replace`: replace objects with the content
// of files (PUT), or delete and re-create them with --force.
package replace

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the replace command.
func New(f *util.Factory) *cobra.Command {
	print := util.NewPrintFlags("replaced")
	var (
		filenames    resource.FilenameOptions
		force        bool
		saveConfig   bool
		fieldManager string
		raw          string
	)
	cmd := &cobra.Command{
		Use:                   "replace -f FILENAME",
		DisableFlagsInUseLine: true,
		Short:                 "Replace a resource by file name or stdin",
		Long: `Replace a resource by file name or stdin.

 JSON and YAML formats are accepted. If replacing an existing resource, the complete resource spec must be provided. This can be obtained by

    $ kubectl get TYPE NAME -o yaml`,
		Example: `  # Replace a pod using the data in pod.json
  kubectl replace -f ./pod.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dryRun, err := util.GetDryRun(cmd)
			if err != nil {
				return err
			}
			validation, err := util.GetValidation(cmd)
			if err != nil {
				return err
			}
			if len(filenames.Filenames) == 0 && filenames.Kustomize == "" {
				return fmt.Errorf("must specify one of -f and -k")
			}
			if raw != "" {
				if err := util.ValidateRawFiles(filenames, true); err != nil {
					return err
				}
				if *print.OutputFormat != "" {
					return fmt.Errorf("--raw and --output are mutually exclusive")
				}
				if err := util.ValidateRawURI(raw); err != nil {
					return err
				}
				return f.RawRequest(cmd.Context(), "PUT", raw, filenames.Filenames[0])
			}
			if force && dryRun != util.DryRunNone {
				return fmt.Errorf("--dry-run can not be used when --force is set")
			}
			printer, err := util.Printer(print, dryRun)
			if err != nil {
				return err
			}
			ns, enforce, err := f.Namespace()
			if err != nil {
				return err
			}
			r := f.NewBuilder().Unstructured().ContinueOnError().
				NamespaceParam(ns).DefaultNamespace().
				FilenameParam(enforce, &filenames).Flatten().Do()
			if err := r.Err(); err != nil {
				return err
			}
			if force {
				return forceReplace(f, r, printer, fieldManager, validation)
			}
			return r.Visit(func(info *resource.Info, err error) error {
				if err != nil {
					return err
				}
				if saveConfig {
					if _, err := util.SetLastApplied(info.Object); err != nil {
						return util.AddSourceToErr("replacing", info.Source, err)
					}
				}
				if dryRun == util.DryRunClient {
					return printer.PrintObj(info.Object, f.Out)
				}
				obj, err := util.NewHelper(info, dryRun, fieldManager).WithFieldValidation(validation).
					Replace(info.Namespace, info.Name, true, info.Object)
				if err != nil {
					return util.AddSourceToErr("replacing", info.Source, err)
				}
				info.Refresh(obj, true)
				return printer.PrintObj(info.Object, f.Out)
			})
		},
	}
	flags := cmd.Flags()
	print.AddFlags(cmd)
	flags.StringSliceVarP(&filenames.Filenames, "filename", "f", nil, "The files that contain the configurations to replace.")
	flags.StringVarP(&filenames.Kustomize, "kustomize", "k", "", "Process a kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolVarP(&filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	flags.BoolVar(&force, "force", false, "If true, immediately remove resources from API and bypass graceful deletion. Note that immediate deletion of some resources may result in inconsistency or data loss and requires confirmation.")
	flags.String("cascade", "background", `Must be "background", "orphan", or "foreground". Selects the deletion cascading strategy for the dependents (e.g. Pods created by a ReplicationController). Defaults to background.`)
	flags.Int("grace-period", -1, "Period of time in seconds given to the resource to terminate gracefully. Ignored if negative. Set to 1 for immediate shutdown. Can only be set to 0 when --force is true (force deletion).")
	flags.Duration("timeout", 0, "The length of time to wait before giving up on a delete, zero means determine a timeout from the size of the object")
	flags.Bool("wait", false, "If true, wait for resources to be gone before returning. This waits for finalizers.")
	flags.String("subresource", "", "If specified, replace will operate on the subresource of the requested object.")
	flags.StringVar(&raw, "raw", "", "Raw URI to PUT to the server.  Uses the transport specified by the kubeconfig file.")
	flags.BoolVar(&saveConfig, "save-config", false, "If true, the configuration of current object will be saved in its annotation. Otherwise, the annotation will be unchanged. This flag is useful when you want to perform kubectl apply on this object in the future.")
	util.AddValidateFlag(cmd)
	util.AddDryRunFlag(cmd)
	util.AddFieldManagerFlag(cmd, &fieldManager, "kubectl-replace")
	return cmd
}

// forceReplace deletes every object (printing delete's lines), waits
// until it is gone, and creates it again from the file.
func forceReplace(f *util.Factory, r *resource.Result, printer printers.ResourcePrinter, fieldManager, validation string) error {
	infos, err := r.Infos()
	if err != nil {
		return err
	}
	policy := metav1.DeletePropagationBackground
	for _, info := range infos {
		helper := resource.NewHelper(info.Client, info.Mapping)
		if _, err := helper.DeleteWithOptions(info.Namespace, info.Name, &metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
			if !apierrors.IsNotFound(err) {
				return util.AddSourceToErr("deleting", info.Source, err)
			}
			continue
		}
		op := "deleted"
		if info.Namespaced() {
			op += " from " + info.Namespace + " namespace"
		}
		fmt.Fprintf(f.Out, "%s \"%s\" %s\n", util.KindString(info.Mapping.GroupVersionKind), info.Name, op)
		err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := helper.Get(info.Namespace, info.Name)
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		})
		if err != nil {
			return err
		}
	}
	for _, info := range infos {
		if a, err := meta.Accessor(info.Object); err == nil {
			a.SetResourceVersion("")
		}
		obj, err := resource.NewHelper(info.Client, info.Mapping).WithFieldManager(fieldManager).WithFieldValidation(validation).
			Create(info.Namespace, true, info.Object)
		if err != nil {
			return util.AddSourceToErr("creating", info.Source, err)
		}
		info.Refresh(obj, true)
		if err := printer.PrintObj(info.Object, f.Out); err != nil {
			return err
		}
	}
	return nil
}
