// Package apply is `kubectl apply`: client-side apply (the
// last-applied-configuration annotation and a three-way strategic merge,
// JSON merge for kinds the client does not know), server-side apply
// (--server-side), dry runs and --prune.
package apply

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/jsonmergepatch"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/klog/v2"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

type options struct {
	// pruneCascade and pruneGracePeriod come from the delete flags.
	pruneCascade     metav1.DeletionPropagation
	pruneGracePeriod int
	// force: when the patch fails with a conflict or as invalid (an
	// immutable field), delete the object and create it anew; forceTimeout
	// bounds the wait for the deletion.
	force          bool
	forceTimeout   time.Duration
	f              *util.Factory
	print          *genericclioptions.PrintFlags
	filenames      resource.FilenameOptions
	selector       string
	serverSide     bool
	forceConflicts bool
	fieldManager   string
	prune          bool
	pruneAll       bool
	allowlist      []string
	overwrite      bool

	dryRun     util.DryRun
	validation string
	namespace  string
	enforceNS  bool
	visited    []*resource.Info
	visitedUID sets.Set[types.UID]
	visitedNS  sets.Set[string]
}

const defaultCSAManager = "kubectl-client-side-apply"

// New returns the apply command.
func New(f *util.Factory) *cobra.Command {
	o := &options{f: f, print: util.NewPrintFlags("created"), overwrite: true}
	cmd := &cobra.Command{
		Use:                   "apply (-f FILENAME | -k DIRECTORY)",
		DisableFlagsInUseLine: true,
		Short:                 "Apply a configuration to a resource by file name or stdin",
		Long: `Apply a configuration to a resource by file name or stdin. The resource name must be specified. This resource will be created if it doesn't exist yet. To use 'apply', always create the resource initially with either 'apply' or 'create --save-config'.

 JSON and YAML formats are accepted.`,
		Example: `  # Apply the configuration in pod.json to a pod
  kubectl apply -f ./pod.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(cmd, args); err != nil {
				return err
			}
			return o.run()
		},
	}
	flags := cmd.Flags()
	o.print.AddFlags(cmd)
	flags.StringSliceVarP(&o.filenames.Filenames, "filename", "f", nil, "The files that contain the configurations to apply.")
	flags.StringVarP(&o.filenames.Kustomize, "kustomize", "k", "", "Process a kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolVarP(&o.filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	flags.BoolVar(&o.overwrite, "overwrite", true, "Automatically resolve conflicts between the modified and live configuration by using values from the modified configuration")
	flags.BoolVar(&o.prune, "prune", false, "Automatically delete resource objects, that do not appear in the configs and are created by either apply or create --save-config. Should be used with either -l or --all.")
	flags.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	flags.BoolVar(&o.pruneAll, "all", false, "Select all resources in the namespace of the specified resource types.")
	flags.StringArrayVar(&o.allowlist, "prune-allowlist", nil, "Overwrite the default allowlist with <group/version/kind> for --prune")
	flags.Bool("force", false, "If true, immediately remove resources from API and bypass graceful deletion. Note that immediate deletion of some resources may result in inconsistency or data loss and requires confirmation.")
	flags.String("cascade", "background", `Must be "background", "orphan", or "foreground". Selects the deletion cascading strategy for the dependents (e.g. Pods created by a ReplicationController). Defaults to background.`)
	flags.Int("grace-period", -1, "Period of time in seconds given to the resource to terminate gracefully. Ignored if negative. Set to 1 for immediate shutdown. Can only be set to 0 when --force is true (force deletion).")
	flags.Duration("timeout", 0, "The length of time to wait before giving up on a delete, zero means determine a timeout from the size of the object")
	flags.Bool("wait", false, "If true, wait for resources to be gone before returning. This waits for finalizers.")
	flags.Bool("openapi-patch", true, "If true, use openapi to calculate diff when the openapi presents and the resource can be found in the openapi spec. Otherwise, fall back to use baked-in types.")
	flags.BoolVar(&o.serverSide, "server-side", false, "If true, apply runs in the server instead of the client.")
	flags.BoolVar(&o.forceConflicts, "force-conflicts", false, "If true, server-side apply will force the changes against conflicts.")
	util.AddFieldManagerFlag(cmd, &o.fieldManager, defaultCSAManager)
	flags.String("applyset", "", "[alpha] The name of the ApplySet that tracks which resources are being managed, for the purposes of determining what to prune. Live resources that are part of the ApplySet but have been removed from the provided configs will be deleted. Format: [RESOURCE][.GROUP]/NAME. A Secret will be used if no resource or group is specified.")
	// Upstream shows it only with KUBECTL_APPLYSET=true.
	flags.MarkHidden("applyset")
	util.AddValidateFlag(cmd)
	util.AddDryRunFlag(cmd)
	return cmd
}

func (o *options) complete(cmd *cobra.Command, args []string) error {
	var err error
	if o.dryRun, err = util.GetDryRun(cmd); err != nil {
		return err
	}
	if o.validation, err = util.GetValidation(cmd); err != nil {
		return err
	}
	// The delete flags shape the deletions of --prune, as upstream's.
	fl := cmd.Flags()
	cascade, _ := fl.GetString("cascade")
	if o.pruneCascade, err = parseCascade(cascade); err != nil {
		return err
	}
	o.pruneGracePeriod, _ = fl.GetInt("grace-period")
	force, _ := fl.GetBool("force")
	o.force = force
	o.forceTimeout, _ = fl.GetDuration("timeout")
	if o.serverSide && !cmd.Flags().Changed("field-manager") {
		o.fieldManager = "kubectl"
	}
	if o.forceConflicts && !o.serverSide {
		return fmt.Errorf("--force-conflicts only works with --server-side")
	}
	if o.dryRun == util.DryRunClient && o.serverSide {
		return fmt.Errorf("--dry-run=client doesn't work with --server-side (did you mean --dry-run=server instead?)")
	}
	if o.serverSide && force {
		return fmt.Errorf("--force cannot be used with --server-side")
	}
	if o.dryRun == util.DryRunServer && force {
		return fmt.Errorf("--dry-run=server cannot be used with --force")
	}
	if len(o.filenames.Filenames) == 0 && o.filenames.Kustomize == "" {
		return util.UsageError(cmd, "error: must specify one of -f and -k")
	}
	if len(args) > 0 {
		return util.UsageError(cmd, "Unexpected args: %v", args)
	}
	if o.pruneAll && o.selector != "" {
		return fmt.Errorf("cannot set --all and --selector at the same time")
	}
	if o.prune && force {
		return fmt.Errorf("--force cannot be used with --prune")
	}
	if o.prune && !o.pruneAll && o.selector == "" {
		return fmt.Errorf("all resources selected for prune without explicitly passing --all. To prune all resources, pass the --all flag. If you did not mean to prune all resources, specify a label selector")
	}
	o.namespace, o.enforceNS, err = o.f.Namespace()
	o.visitedUID = sets.New[types.UID]()
	o.visitedNS = sets.New[string]()
	return err
}

func (o *options) shouldPrintObject() bool {
	out := *o.print.OutputFormat
	return out != "" && out != "name"
}

func (o *options) printer(operation string) (interface {
	PrintObj(runtime.Object, io.Writer) error
}, error) {
	return util.PrinterWithOperation(o.print, o.dryRun, operation)
}

func (o *options) run() error {
	r := o.f.NewBuilder().
		Unstructured().
		ContinueOnError().
		NamespaceParam(o.namespace).DefaultNamespace().
		FilenameParam(o.enforceNS, &o.filenames).
		LabelSelectorParam(o.selector).
		Flatten().
		Do()
	infos, err := r.Infos()
	if err != nil && len(infos) == 0 {
		return err
	}
	if len(infos) == 0 {
		return fmt.Errorf("no objects passed to apply")
	}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, info := range infos {
		if err := o.applyOne(info); err != nil {
			errs = append(errs, err)
		}
	}
	if o.shouldPrintObject() && len(o.visited) > 0 {
		p, err := o.printer("")
		if err != nil {
			return err
		}
		var obj runtime.Object = o.visited[0].Object
		if len(o.visited) > 1 {
			list := &corev1.List{TypeMeta: metav1.TypeMeta{Kind: "List", APIVersion: "v1"}}
			var objs []runtime.Object
			for _, i := range o.visited {
				objs = append(objs, i.Object)
			}
			if err := meta.SetList(list, objs); err != nil {
				return err
			}
			obj = list
		}
		if err := p.PrintObj(obj, o.f.Out); err != nil {
			return err
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	if len(errs) > 1 {
		return aggregate(errs)
	}
	if o.prune {
		return o.runPrune()
	}
	return nil
}

func (o *options) markVisited(info *resource.Info) {
	o.visited = append(o.visited, info)
	if info.Namespaced() {
		o.visitedNS.Insert(info.Namespace)
	}
	if a, err := meta.Accessor(info.Object); err == nil {
		o.visitedUID.Insert(a.GetUID())
	}
}

func (o *options) print1(info *resource.Info, operation string) error {
	if o.shouldPrintObject() {
		return nil
	}
	p, err := o.printer(operation)
	if err != nil {
		return err
	}
	return p.PrintObj(info.Object, o.f.Out)
}

func (o *options) applyOne(info *resource.Info) error {
	if info.Name == "" {
		if a, _ := meta.Accessor(info.Object); a != nil && a.GetGenerateName() != "" {
			return fmt.Errorf("from %s: cannot use generate name with apply", a.GetGenerateName())
		}
	}
	helper := util.NewHelper(info, o.dryRun, o.fieldManager).WithFieldValidation(o.validation)
	if o.serverSide {
		data, err := runtime.Encode(unstructured.UnstructuredJSONScheme, info.Object)
		if err != nil {
			return util.AddSourceToErr("serverside-apply", info.Source, err)
		}
		obj, err := helper.Patch(info.Namespace, info.Name, types.ApplyPatchType, data, &metav1.PatchOptions{Force: &o.forceConflicts})
		if err != nil {
			if apierrors.IsConflict(err) {
				err = fmt.Errorf(`%v
Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `+"`--force-conflicts`"+` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts`, err)
			}
			return err
		}
		info.Refresh(obj, true)
		o.markVisited(info)
		return o.print1(info, "serverside-applied")
	}

	modified, err := util.SetLastApplied(info.Object.DeepCopyObject())
	if err != nil {
		return util.AddSourceToErr("retrieving modified configuration from:\n"+info.String()+"\nfor:", info.Source, err)
	}
	if err := info.Get(); err != nil {
		if !apierrors.IsNotFound(err) {
			return util.AddSourceToErr(fmt.Sprintf("retrieving current configuration of:\n%s\nfrom server for:", info.String()), info.Source, err)
		}
		if _, err := util.SetLastApplied(info.Object); err != nil {
			return util.AddSourceToErr("creating", info.Source, err)
		}
		if u, ok := info.Object.(runtime.Unstructured); ok {
			pruneNulls(u.UnstructuredContent())
		}
		if o.dryRun != util.DryRunClient {
			obj, err := helper.Create(info.Namespace, true, info.Object)
			if err != nil {
				return util.AddSourceToErr("creating", info.Source, err)
			}
			info.Refresh(obj, true)
		}
		o.markVisited(info)
		return o.print1(info, "created")
	}
	o.markVisited(info)
	if util.GetLastApplied(info.Object) == nil {
		fmt.Fprintf(o.f.ErrOut, "Warning: resource %[1]s is missing the %[2]s annotation which is required by %[3]s apply. %[3]s apply should only be used on resources created declaratively by either %[3]s create --save-config or %[3]s apply. The missing annotation will be patched automatically.\n",
			info.ObjectName(), util.LastAppliedAnnotation, "kubectl")
	}
	patch, patched, err := o.patch(info, helper, modified)
	if err != nil {
		return util.AddSourceToErr(fmt.Sprintf("applying patch:\n%s\nto:\n%v\nfor:", patch, info), info.Source, err)
	}
	info.Refresh(patched, true)
	if a, _ := meta.Accessor(info.Object); a != nil && a.GetDeletionTimestamp() != nil {
		fmt.Fprintf(o.f.ErrOut, "Warning: Detected changes to resource %[1]s which is currently being deleted.\n", info.ObjectName())
	}
	if string(patch) == "{}" && !o.shouldPrintObject() {
		return o.print1(info, "unchanged")
	}
	return o.print1(info, "configured")
}

// patch computes the three-way patch between the last applied, the new
// and the live configuration and sends it (or applies it locally for
// --dry-run=client), retrying on conflicts with a fresh read.
func (o *options) patch(info *resource.Info, helper *resource.Helper, modified []byte) ([]byte, runtime.Object, error) {
	obj := info.Object
	gvk := info.Mapping.GroupVersionKind
	for attempt := 0; ; attempt++ {
		current, err := runtime.Encode(unstructured.UnstructuredJSONScheme, obj)
		if err != nil {
			return nil, nil, err
		}
		original := util.GetLastApplied(obj)
		var patch []byte
		var patchType types.PatchType
		lookup, versioned, typed := util.TypedPatchMeta(gvk)
		if typed {
			patchType = types.StrategicMergePatchType
			patch, err = strategicpatch.CreateThreeWayMergePatch(original, modified, current, lookup, o.overwrite)
		} else {
			patchType = types.MergePatchType
			patch, err = jsonmergepatch.CreateThreeWayJSONMergePatch(original, modified, current,
				mergepatch.RequireKeyUnchanged("apiVersion"), mergepatch.RequireKeyUnchanged("kind"), mergepatch.RequireMetadataKeyUnchanged("name"))
			if err != nil && mergepatch.IsPreconditionFailed(err) {
				err = fmt.Errorf("%s", "At least one of apiVersion, kind and name was changed")
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("creating patch with:\noriginal:\n%s\nmodified:\n%s\ncurrent:\n%s\nfor: %w", original, modified, current, err)
		}
		if string(patch) == "{}" {
			return patch, obj, nil
		}
		if o.dryRun == util.DryRunClient {
			var out []byte
			if typed {
				out, err = strategicpatch.StrategicMergePatch(current, patch, versioned)
			} else {
				out, err = jsonpatch.MergePatch(current, patch)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("applying patch locally: %w", err)
			}
			patchedObj, _, err := unstructured.UnstructuredJSONScheme.Decode(out, nil, nil)
			return patch, patchedObj, err
		}
		patched, err := helper.Patch(info.Namespace, info.Name, patchType, patch, nil)
		if err != nil && o.force && (apierrors.IsInvalid(err) || (apierrors.IsConflict(err) && attempt >= 4)) {
			return o.deleteAndCreate(info, helper, obj, modified)
		}
		if err == nil || !apierrors.IsConflict(err) || attempt >= 4 {
			return patch, patched, err
		}
		if obj, err = helper.Get(info.Namespace, info.Name); err != nil {
			return nil, nil, err
		}
	}
}

// deleteAndCreate is --force: delete the live object, wait until it is
// gone (one look when --timeout is 0, as upstream), and create the new
// configuration; when that fails, put the old object back.
func (o *options) deleteAndCreate(info *resource.Info, helper *resource.Helper, current runtime.Object, modified []byte) ([]byte, runtime.Object, error) {
	opts := &metav1.DeleteOptions{}
	if o.pruneGracePeriod >= 0 {
		opts = metav1.NewDeleteOptions(int64(o.pruneGracePeriod))
	}
	opts.PropagationPolicy = &o.pruneCascade
	if _, err := helper.DeleteWithOptions(info.Namespace, info.Name, opts); err != nil {
		return modified, nil, err
	}
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, o.forceTimeout, true, func(ctx context.Context) (bool, error) {
		if _, err := helper.Get(info.Namespace, info.Name); !apierrors.IsNotFound(err) {
			return false, err
		}
		return true, nil
	})
	if err != nil {
		return modified, nil, err
	}
	obj, _, err := unstructured.UnstructuredJSONScheme.Decode(modified, nil, nil)
	if err != nil {
		return modified, nil, err
	}
	created, err := helper.Create(info.Namespace, true, obj)
	if err != nil {
		if a, aerr := meta.Accessor(current); aerr == nil {
			a.SetResourceVersion("")
		}
		restored, rerr := helper.Create(info.Namespace, true, current)
		if rerr != nil {
			err = fmt.Errorf("An error occurred force-replacing the existing object with the newly provided one:\n\n%v.\n\nAdditionally, an error occurred attempting to restore the original object:\n\n%v", err, rerr)
		} else {
			created = restored
		}
	}
	return modified, created, err
}

func pruneNulls(m map[string]any) {
	for k, v := range m {
		if v == nil {
			delete(m, k)
			continue
		}
		pruneNullsValue(v)
	}
}

func pruneNullsValue(v any) {
	switch v := v.(type) {
	case map[string]any:
		pruneNulls(v)
	case []any:
		for _, e := range v {
			pruneNullsValue(e)
		}
	}
}

// defaultPruneKinds are upstream's default --prune allowlist.
var defaultPruneKinds = []struct {
	gvk        schema.GroupVersionKind
	namespaced bool
}{
	{schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Endpoints"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, false},
	{schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaim"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolume"}, false},
	{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "ReplicationController"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Service"}, true},
	{schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, true},
	{schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}, true},
	{schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}, true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"}, true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}, true},
}

// runPrune deletes what earlier applies created (it carries the
// last-applied annotation) in the visited namespaces and matches the
// selector, but was not applied this time.
func (o *options) runPrune() error {
	mapper, err := o.f.RESTMapper()
	if err != nil {
		return err
	}
	dyn, err := o.f.Dynamic()
	if err != nil {
		return err
	}
	kinds := defaultPruneKinds
	if len(o.allowlist) > 0 {
		kinds = kinds[:0:0]
		for _, s := range o.allowlist {
			parts := strings.Split(s, "/")
			if len(parts) != 3 {
				return fmt.Errorf("invalid GroupVersionKind format: %v, please follow <group/version/kind>", s)
			}
			if parts[0] == "core" {
				parts[0] = ""
			}
			gvk := schema.GroupVersionKind{Group: parts[0], Version: parts[1], Kind: parts[2]}
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				return err
			}
			kinds = append(kinds, struct {
				gvk        schema.GroupVersionKind
				namespaced bool
			}{gvk, m.Scope.Name() == meta.RESTScopeNameNamespace})
		}
	}
	printer, err := o.printer("pruned")
	if err != nil {
		return err
	}
	list := func(gvk schema.GroupVersionKind, ns string) error {
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return nil
		}
		objs, err := dyn.Resource(m.Resource).Namespace(ns).List(ctx(), metav1.ListOptions{LabelSelector: o.selector})
		if err != nil {
			return err
		}
		for i := range objs.Items {
			obj := &objs.Items[i]
			if _, ok := obj.GetAnnotations()[util.LastAppliedAnnotation]; !ok {
				continue
			}
			if o.visitedUID.Has(obj.GetUID()) {
				continue
			}
			if o.dryRun != util.DryRunClient {
				opts := metav1.DeleteOptions{}
				if o.pruneGracePeriod >= 0 {
					opts = *metav1.NewDeleteOptions(int64(o.pruneGracePeriod))
				}
				policy := o.pruneCascade
				opts.PropagationPolicy = &policy
				if o.dryRun == util.DryRunServer {
					opts.DryRun = []string{metav1.DryRunAll}
				}
				if err := dyn.Resource(m.Resource).Namespace(ns).Delete(ctx(), obj.GetName(), opts); err != nil {
					return err
				}
			}
			if err := printer.PrintObj(obj, o.f.Out); err != nil {
				return err
			}
		}
		return nil
	}
	for _, ns := range sets.List(o.visitedNS) {
		for _, k := range kinds {
			if k.namespaced {
				if err := list(k.gvk, ns); err != nil {
					return err
				}
			}
		}
	}
	for _, k := range kinds {
		if !k.namespaced {
			if err := list(k.gvk, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseCascade reads --cascade as upstream's delete flags do.
func parseCascade(v string) (metav1.DeletionPropagation, error) {
	switch v {
	case "background":
		return metav1.DeletePropagationBackground, nil
	case "foreground":
		return metav1.DeletePropagationForeground, nil
	case "orphan":
		return metav1.DeletePropagationOrphan, nil
	case "true":
		klog.Warning("--cascade=true is deprecated (boolean value) and can be replaced with --cascade=background.")
		return metav1.DeletePropagationBackground, nil
	case "false":
		klog.Warning("--cascade=false is deprecated (boolean value) and can be replaced with --cascade=orphan.")
		return metav1.DeletePropagationOrphan, nil
	}
	return "", fmt.Errorf(`invalid cascade value (%v). Must be "background", "foreground", or "orphan"`, v)
}
