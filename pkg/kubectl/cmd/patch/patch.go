// Package patch is `kubectl patch`: apply a strategic merge, JSON merge
// or JSON patch to objects on the server (or locally with --local).
package patch

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes/scheme"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

var patchTypes = map[string]types.PatchType{
	"json":      types.JSONPatchType,
	"merge":     types.MergePatchType,
	"strategic": types.StrategicMergePatchType,
}

// New returns the patch command.
func New(f *util.Factory) *cobra.Command {
	print := util.NewPrintFlags("patched")
	var (
		filenames    resource.FilenameOptions
		patch        string
		patchFile    string
		patchType    string
		local        bool
		subresource  string
		fieldManager string
	)
	cmd := &cobra.Command{
		Use:                   "patch (-f FILENAME | TYPE NAME) [-p PATCH|--patch-file FILE]",
		DisableFlagsInUseLine: true,
		Short:                 "Update fields of a resource",
		Long: `Update fields of a resource using strategic merge patch, a JSON merge patch, or a JSON patch.

 JSON and YAML formats are accepted.`,
		Example: `  # Partially update a node using a strategic merge patch, specifying the patch as JSON
  kubectl patch node k8s-node-1 -p '{"spec":{"unschedulable":true}}'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dryRun, err := util.GetDryRun(cmd)
			if err != nil {
				return err
			}
			if patch != "" && patchFile != "" {
				return fmt.Errorf("cannot specify --patch and --patch-file together")
			}
			if patch == "" && patchFile == "" {
				return fmt.Errorf("must specify --patch or --patch-file containing the contents of the patch")
			}
			if local && len(args) != 0 {
				return fmt.Errorf("cannot specify --local and server resources")
			}
			if local && dryRun == util.DryRunServer {
				return fmt.Errorf("cannot specify --local and --dry-run=server - did you mean --dry-run=client?")
			}
			pt := types.StrategicMergePatchType
			if patchType != "" {
				var ok bool
				if pt, ok = patchTypes[strings.ToLower(patchType)]; !ok {
					names := make([]string, 0, len(patchTypes))
					for k := range patchTypes {
						names = append(names, k)
					}
					sort.Strings(names)
					return fmt.Errorf("--type must be one of %v, not %q", names, patchType)
				}
			}
			data := []byte(patch)
			if patchFile != "" {
				if data, err = os.ReadFile(patchFile); err != nil {
					return fmt.Errorf("unable to read patch file: %v", err)
				}
			}
			data, err = yaml.ToJSON(data)
			if err != nil {
				return fmt.Errorf("unable to parse %q: %v", patch, err)
			}
			ns, enforce, err := f.Namespace()
			if err != nil {
				return err
			}
			r := f.NewBuilder().Unstructured().ContinueOnError().LocalParam(local).
				NamespaceParam(ns).DefaultNamespace().
				FilenameParam(enforce, &filenames).
				Subresource(subresource).
				ResourceTypeOrNameArgs(false, args...).
				Flatten().Do()
			if err := r.Err(); err != nil {
				return err
			}
			op := func(did bool) string {
				if did {
					return "patched"
				}
				return "patched (no change)"
			}
			count := 0
			err = r.Visit(func(info *resource.Info, err error) error {
				if err != nil {
					return err
				}
				count++
				if !local && dryRun != util.DryRunClient {
					patched, err := util.NewHelper(info, dryRun, fieldManager).
						WithSubresource(subresource).
						Patch(info.Namespace, info.Name, pt, data, nil)
					if err != nil {
						if apierrors.IsUnsupportedMediaType(err) {
							return fmt.Errorf("%s is not supported by %s: %w", pt, info.Mapping.GroupVersionKind, err)
						}
						return err
					}
					p, err := util.PrinterWithOperation(print, util.DryRunNone, op(!reflect.DeepEqual(info.Object, patched)))
					if err != nil {
						return err
					}
					return p.PrintObj(patched, f.Out)
				}
				orig, err := runtime.Encode(unstructured.UnstructuredJSONScheme, info.Object)
				if err != nil {
					return err
				}
				var out []byte
				switch pt {
				case types.JSONPatchType:
					jp, err := jsonpatch.DecodePatch(data)
					if err != nil {
						return err
					}
					out, err = jp.Apply(orig)
					if err != nil {
						return err
					}
				case types.MergePatchType:
					if out, err = jsonpatch.MergePatch(orig, data); err != nil {
						return err
					}
				default:
					obj, err := scheme.Scheme.New(info.Object.GetObjectKind().GroupVersionKind())
					if err != nil {
						return err
					}
					if out, err = strategicpatch.StrategicMergePatch(orig, data, obj); err != nil {
						return err
					}
				}
				target, err := runtime.Decode(unstructured.UnstructuredJSONScheme, out)
				if err != nil {
					return err
				}
				p, err := util.PrinterWithOperation(print, util.DryRunNone, op(!reflect.DeepEqual(info.Object, target)))
				if err != nil {
					return err
				}
				return p.PrintObj(target, f.Out)
			})
			if err != nil {
				return err
			}
			if count == 0 {
				return fmt.Errorf("no objects passed to patch")
			}
			return nil
		},
	}
	flags := cmd.Flags()
	print.AddFlags(cmd)
	flags.StringVarP(&patch, "patch", "p", "", "The patch to be applied to the resource JSON file.")
	flags.StringVar(&patchFile, "patch-file", "", "A file containing a patch to be applied to the resource.")
	flags.StringVar(&patchType, "type", "strategic", "The type of patch being provided; one of [json merge strategic]")
	flags.StringSliceVarP(&filenames.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to update")
	flags.StringVarP(&filenames.Kustomize, "kustomize", "k", "", "Process the kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolVarP(&filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	flags.BoolVar(&local, "local", false, "If true, patch will operate on the content of the file, not the server-side resource.")
	flags.StringVar(&subresource, "subresource", "", "If specified, patch will operate on the subresource of the requested object.")
	util.AddDryRunFlag(cmd)
	util.AddFieldManagerFlag(cmd, &fieldManager, "kubectl-patch")
	return cmd
}
