// Package scale is `kubectl scale`: set the replicas of deployments,
// replica sets, replication controllers and stateful sets through their
// scale subresource.
package scale

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the scale command.
func New(f *util.Factory) *cobra.Command {
	print := util.NewPrintFlags("scaled")
	var (
		filenames       resource.FilenameOptions
		selector        string
		all             bool
		replicas        int
		current         int
		resourceVersion string
	)
	cmd := &cobra.Command{
		Use:                   "scale [--resource-version=version] [--current-replicas=count] --replicas=COUNT (-f FILENAME | TYPE NAME)",
		DisableFlagsInUseLine: true,
		Short:                 "Set a new size for a deployment, replica set, or replication controller",
		Long: `Set a new size for a deployment, replica set, replication controller, or stateful set.

 Scale also allows users to specify one or more preconditions for the scale action.

 If --current-replicas or --resource-version is specified, it is validated before the scale is attempted, and it is guaranteed that the precondition holds true when the scale is sent to the server.`,
		Example: `  # Scale a replica set named 'foo' to 3
  kubectl scale --replicas=3 rs/foo`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dryRun, err := util.GetDryRun(cmd)
			if err != nil {
				return err
			}
			if replicas < 0 {
				return fmt.Errorf("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
			}
			if current < -1 {
				return fmt.Errorf("The --current-replicas must specify an integer of -1 or greater")
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
				FilenameParam(enforce, &filenames).
				ResourceTypeOrNameArgs(all, args...).
				Flatten().LabelSelectorParam(selector).Do()
			if err := r.Err(); err != nil {
				return err
			}
			infos, infoErr := r.Infos()
			if resourceVersion != "" && len(infos) > 1 {
				return fmt.Errorf("cannot use --resource-version with multiple resources")
			}
			if len(infos) == 0 {
				if infoErr != nil {
					return infoErr
				}
				return fmt.Errorf("no objects passed to scale")
			}
			dyn, err := f.Dynamic()
			if err != nil {
				return err
			}
			ctx := context.Background()
			for _, info := range infos {
				if dryRun != util.DryRunClient {
					ri := dyn.Resource(info.Mapping.Resource).Namespace(info.Namespace)
					var dry []string
					if dryRun == util.DryRunServer {
						dry = []string{metav1.DryRunAll}
					}
					var out *unstructured.Unstructured
					for attempt := 0; ; attempt++ {
						if current != -1 || resourceVersion != "" {
							sc, err := ri.Get(ctx, info.Name, metav1.GetOptions{}, "scale")
							if err != nil {
								return err
							}
							have, _, _ := unstructured.NestedInt64(sc.Object, "spec", "replicas")
							if current != -1 && int(have) != current {
								return fmt.Errorf("Expected %s to be %s, was %s", "replicas", strconv.Itoa(current), strconv.Itoa(int(have)))
							}
							if resourceVersion != "" && sc.GetResourceVersion() != resourceVersion {
								return fmt.Errorf("Expected %s to be %s, was %s", "resource version", resourceVersion, sc.GetResourceVersion())
							}
							unstructured.SetNestedField(sc.Object, int64(replicas), "spec", "replicas")
							out, err = ri.Update(ctx, sc, metav1.UpdateOptions{DryRun: dry}, "scale")
						} else {
							patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
							out, err = ri.Patch(ctx, info.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{DryRun: dry}, "scale")
						}
						if err == nil {
							break
						}
						if !apierrors.IsConflict(err) || attempt > 5 {
							if apierrors.IsNotFound(err) {
								return fmt.Errorf("%v", err)
							}
							return err
						}
					}
					if n, ok, _ := unstructured.NestedInt64(out.Object, "spec", "replicas"); ok {
						setReplicas(info, n)
					}
				} else {
					setReplicas(info, int64(replicas))
				}
				if err := printer.PrintObj(info.Object, f.Out); err != nil {
					return err
				}
			}
			return infoErr
		},
	}
	flags := cmd.Flags()
	print.AddFlags(cmd)
	flags.StringVarP(&selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	flags.BoolVar(&all, "all", false, "Select all resources in the namespace of the specified resource types")
	flags.StringVar(&resourceVersion, "resource-version", "", "Precondition for resource version. Requires that the current resource version match this value in order to scale.")
	flags.IntVar(&current, "current-replicas", -1, "Precondition for current size. Requires that the current size of the resource match this value in order to scale. -1 (default) for no condition.")
	flags.IntVar(&replicas, "replicas", 0, "The new desired number of replicas. Required.")
	flags.Duration("timeout", 0, "The length of time to wait before giving up on a scale operation, zero means don't wait. Any other values should contain a corresponding time unit (e.g. 1s, 2m, 3h).")
	flags.StringSliceVarP(&filenames.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to set a new size")
	flags.StringVarP(&filenames.Kustomize, "kustomize", "k", "", "Process the kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolVarP(&filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	cmd.MarkFlagRequired("replicas")
	util.AddDryRunFlag(cmd)
	return cmd
}

func setReplicas(info *resource.Info, n int64) {
	if u, ok := info.Object.(*unstructured.Unstructured); ok {
		unstructured.SetNestedField(u.Object, n, "spec", "replicas")
	}
}
