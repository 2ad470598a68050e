// Package diff is `kubectl diff -f`: show what apply would change. Each
// object's live version and its server dry-run "merged" version (a
// three-way patch as client-side apply sends it, a server-side apply
// patch with --server-side, or a dry-run create for a new object) are
// written as YAML to two temporary directories, which are compared with
// `diff -u -N` (or $KUBECTL_EXTERNAL_DIFF). Exit 0: no differences, 1:
// differences, >1: kubectl or diff failed.
package diff

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/jsonmergepatch"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/resource"
	"sigs.k8s.io/yaml"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// Masks for Secret data, as upstream.
const (
	maskDefault = "***"
	maskBefore  = "*** (before)"
	maskAfter   = "*** (after)"
)

// maxRetries is how often an object that keeps changing is diffed
// before giving up on the resourceVersion precondition.
const maxRetries = 4

type options struct {
	f                 *util.Factory
	filenames         resource.FilenameOptions
	selector          string
	serverSide        bool
	forceConflicts    bool
	fieldManager      string
	showManagedFields bool
}

// New returns the diff command.
func New(f *util.Factory) *cobra.Command {
	o := &options{f: f}
	cmd := &cobra.Command{
		Use:                   "diff -f FILENAME",
		DisableFlagsInUseLine: true,
		Short:                 "Diff the live version against a would-be applied version",
		Long: `Diff configurations specified by file name or stdin between the current online configuration, and the configuration as it would be if applied.

 The output is always YAML.

 KUBECTL_EXTERNAL_DIFF environment variable can be used to select your own diff command. Users can use external commands with params too, example: KUBECTL_EXTERNAL_DIFF="colordiff -N -u"

 By default, the "diff" command available in your path will be run with the "-u" (unified diff) and "-N" (treat absent files as empty) options.

 Exit status: 0 No differences were found. 1 Differences were found. >1 Kubectl or diff failed with an error.

 Note: KUBECTL_EXTERNAL_DIFF, if used, is expected to follow that convention.`,
		Example: `  # Diff resources included in pod.json
  kubectl diff -f pod.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.run(cmd, args); err != nil {
				var ec *util.ExitCodeError
				if errors.As(err, &ec) {
					return err
				}
				// kubectl's own failures exit 2: 1 means "differences".
				return &util.ExitCodeError{Code: 2, Err: err}
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &util.ExitCodeError{Code: 2, Err: util.UsageError(c, "%s", err.Error())}
	})
	flags := cmd.Flags()
	flags.StringArray("prune-allowlist", []string{}, "Overwrite the default allowlist with <group/version/kind> for --prune")
	flags.Bool("prune", false, "Include resources that would be deleted by pruning. Can be used with -l and default shows all resources would be pruned")
	flags.BoolVar(&o.showManagedFields, "show-managed-fields", false, "If true, include managed fields in the diff.")
	flags.Int("concurrency", 1, "Number of objects to process in parallel when diffing against the live version. Larger number = faster, but more memory, I/O and CPU over that shorter period of time.")
	flags.StringSliceVarP(&o.filenames.Filenames, "filename", "f", nil, "Filename, directory, or URL to files contains the configuration to diff")
	flags.StringVarP(&o.filenames.Kustomize, "kustomize", "k", "", "Process the kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolVarP(&o.filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	flags.BoolVar(&o.serverSide, "server-side", false, "If true, apply runs in the server instead of the client.")
	flags.BoolVar(&o.forceConflicts, "force-conflicts", false, "If true, server-side apply will force the changes against conflicts.")
	flags.StringVar(&o.fieldManager, "field-manager", "kubectl-client-side-apply", "Name of the manager used to track field ownership.")
	flags.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	return cmd
}

func (o *options) run(cmd *cobra.Command, args []string) error {
	if len(args) != 0 {
		return util.UsageError(cmd, "Unexpected args: %v", args)
	}
	if len(o.filenames.Filenames) == 0 && o.filenames.Kustomize == "" {
		return fmt.Errorf("must specify one of -f and -k")
	}
	if o.serverSide && !cmd.Flags().Changed("field-manager") {
		o.fieldManager = "kubectl"
	}
	if o.forceConflicts && !o.serverSide {
		return fmt.Errorf("--force-conflicts only works with --server-side")
	}
	ns, enforce, err := o.f.Namespace()
	if err != nil {
		return err
	}
	live, err := os.MkdirTemp("", "LIVE-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(live)
	merged, err := os.MkdirTemp("", "MERGED-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(merged)

	r := o.f.NewBuilder().
		Unstructured().
		NamespaceParam(ns).DefaultNamespace().
		FilenameParam(enforce, &o.filenames).
		LabelSelectorParam(o.selector).
		Flatten().
		Do()
	if err := r.Err(); err != nil {
		return err
	}
	err = r.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			return err
		}
		local := info.Object.DeepCopyObject()
		for i := 1; i <= maxRetries; i++ {
			if err = info.Get(); err != nil {
				if !apierrors.IsNotFound(err) {
					return err
				}
				info.Object = nil
			}
			err = o.diffOne(info, local, i == maxRetries, live, merged)
			if !apierrors.IsConflict(err) {
				break
			}
		}
		if info.Object != nil {
			if a, aerr := meta.Accessor(info.Object); aerr == nil && a.GetDeletionTimestamp() != nil {
				fmt.Fprintf(o.f.ErrOut, "Warning: Detected changes to resource %s which is currently being deleted.\n", a.GetName())
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	return o.runDiff(live, merged)
}

// fileName is upstream's per-object file name: [group.]version.kind.namespace.name.
func fileName(info *resource.Info) string {
	gvk := info.Mapping.GroupVersionKind
	group := ""
	if gvk.Group != "" {
		group = gvk.Group + "."
	}
	return group + fmt.Sprintf("%v.%v.%v.%v", gvk.Version, gvk.Kind, info.Namespace, info.Name)
}

// diffOne writes info's live and merged versions.
func (o *options) diffOne(info *resource.Info, local runtime.Object, force bool, liveDir, mergedDir string) error {
	var from runtime.Object
	if info.Object != nil {
		from = info.Object
	}
	to, err := o.merged(info, local, force)
	if err != nil {
		return err
	}
	if !o.showManagedFields {
		for _, obj := range []runtime.Object{from, to} {
			if obj == nil {
				continue
			}
			if a, err := meta.Accessor(obj); err == nil {
				a.SetManagedFields(nil)
			}
		}
	}
	fromU, err := toUnstructured(from)
	if err != nil {
		return err
	}
	toU, err := toUnstructured(to)
	if err != nil {
		return err
	}
	if gvk := to.GetObjectKind().GroupVersionKind(); gvk.Version == "v1" && gvk.Kind == "Secret" {
		if err := maskSecrets(fromU, toU); err != nil {
			return err
		}
	}
	name := fileName(info)
	if err := writeYAML(filepath.Join(liveDir, name), fromU); err != nil {
		return err
	}
	return writeYAML(filepath.Join(mergedDir, name), toU)
}

func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if obj == nil {
		return nil, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj.DeepCopyObject())
	if err != nil {
		return nil, fmt.Errorf("convert to unstructured: %w", err)
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// writeYAML writes obj as YAML (an empty file for a missing object).
func writeYAML(path string, obj *unstructured.Unstructured) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o700)
	if err != nil {
		return err
	}
	defer f.Close()
	if obj == nil {
		return nil
	}
	data, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return err
}

// maskSecrets hides Secret data, keeping changed values visible as
// before/after.
func maskSecrets(from, to *unstructured.Unstructured) error {
	data := func(u *unstructured.Unstructured) (map[string]any, error) {
		if u == nil {
			return nil, nil
		}
		d, found, err := unstructured.NestedMap(u.Object, "data")
		if err != nil || !found {
			return nil, err
		}
		return d, nil
	}
	f, err := data(from)
	if err != nil {
		return err
	}
	t, err := data(to)
	if err != nil {
		return err
	}
	for k := range f {
		if _, ok := t[k]; ok {
			if f[k] != t[k] {
				f[k], t[k] = maskBefore, maskAfter
				continue
			}
			t[k] = maskDefault
		}
		f[k] = maskDefault
	}
	for k := range t {
		if _, ok := f[k]; !ok {
			t[k] = maskDefault
		}
	}
	if from != nil && f != nil {
		if err := unstructured.SetNestedMap(from.Object, f, "data"); err != nil {
			return err
		}
	}
	if to != nil && t != nil {
		if err := unstructured.SetNestedMap(to.Object, t, "data"); err != nil {
			return err
		}
	}
	return nil
}

// merged is the object as the server would store it after apply, from a
// dry run.
func (o *options) merged(info *resource.Info, local runtime.Object, force bool) (runtime.Object, error) {
	helper := resource.NewHelper(info.Client, info.Mapping).DryRun(true).WithFieldManager(o.fieldManager)
	if o.serverSide {
		data, err := runtime.Encode(unstructured.UnstructuredJSONScheme, local)
		if err != nil {
			return nil, err
		}
		return helper.Patch(info.Namespace, info.Name, types.ApplyPatchType, data,
			&metav1.PatchOptions{Force: &o.forceConflicts, FieldManager: o.fieldManager})
	}
	if info.Object == nil {
		return helper.CreateWithOptions(info.Namespace, true, local, &metav1.CreateOptions{})
	}
	modified, err := modifiedConfiguration(local)
	if err != nil {
		return nil, err
	}
	current, err := runtime.Encode(unstructured.UnstructuredJSONScheme, info.Object)
	if err != nil {
		return nil, err
	}
	original := util.GetLastApplied(info.Object)
	gvk := info.Mapping.GroupVersionKind
	var patch []byte
	var patchType types.PatchType
	if lookup, _, typed := util.TypedPatchMeta(gvk); typed {
		patchType = types.StrategicMergePatchType
		patch, err = strategicpatch.CreateThreeWayMergePatch(original, modified, current, lookup, true)
	} else {
		patchType = types.MergePatchType
		patch, err = jsonmergepatch.CreateThreeWayJSONMergePatch(original, modified, current,
			mergepatch.RequireKeyUnchanged("apiVersion"), mergepatch.RequireKeyUnchanged("kind"), mergepatch.RequireMetadataKeyUnchanged("name"))
	}
	if err != nil {
		return nil, err
	}
	if string(patch) == "{}" {
		return info.Object, nil
	}
	if !force {
		a, err := meta.Accessor(info.Object)
		if err != nil {
			return nil, err
		}
		if patch, err = withResourceVersion(patch, a.GetResourceVersion()); err != nil {
			return nil, err
		}
	}
	return helper.Patch(info.Namespace, info.Name, patchType, patch, nil)
}

// modifiedConfiguration is the local object's JSON without its
// last-applied annotation (and "annotations": {} when it has none).
func modifiedConfiguration(obj runtime.Object) ([]byte, error) {
	cp := obj.DeepCopyObject()
	a, err := meta.Accessor(cp)
	if err != nil {
		return nil, err
	}
	annots := a.GetAnnotations()
	if annots == nil {
		annots = map[string]string{}
	}
	delete(annots, util.LastAppliedAnnotation)
	a.SetAnnotations(annots)
	return runtime.Encode(unstructured.UnstructuredJSONScheme, cp)
}

// withResourceVersion makes patch conditional on the object's version.
func withResourceVersion(patch []byte, rv string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(patch, &m); err != nil {
		return nil, err
	}
	md, _ := m["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		m["metadata"] = md
	}
	md["resourceVersion"] = rv
	return json.Marshal(m)
}

var argRE = regexp.MustCompile(`^[a-zA-Z0-9-=]+$`)

// runDiff compares the directories with diff -u -N or
// $KUBECTL_EXTERNAL_DIFF (whose extra arguments are kept only when they
// are plain flags, as upstream).
func (o *options) runDiff(from, to string) error {
	name := "diff"
	args := []string{"-u", "-N", from, to}
	if env := os.Getenv("KUBECTL_EXTERNAL_DIFF"); env != "" {
		parts := strings.Split(env, " ")
		name = parts[0]
		args = []string{from, to}
		for _, a := range parts[1:] {
			if argRE.MatchString(a) {
				args = append(args, a)
			}
		}
	}
	c := exec.Command(name, args...)
	c.Stdout, c.Stderr = o.f.Out, o.f.ErrOut
	err := c.Run()
	if err == nil {
		return nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code := exitErr.ExitCode()
		if code <= 1 {
			return &util.ExitCodeError{Code: 1}
		}
		fmt.Fprintln(o.f.ErrOut, exitErr.Error())
		return &util.ExitCodeError{Code: code + 1}
	}
	return fmt.Errorf("failed to run %q: %v", name, err)
}
