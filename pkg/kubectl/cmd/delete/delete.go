// Package delete is `kubectl delete`: delete objects named by file, by
// type and name, by selector or --all, with a cascading strategy and a
// grace period, and wait until they are gone.
package delete

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/klog/v2"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

type options struct {
	f              *util.Factory
	filenames      resource.FilenameOptions
	selector       string
	fieldSelector  string
	all            bool
	allNamespaces  bool
	cascade        string
	gracePeriod    int
	force          bool
	now            bool
	ignoreNotFound bool
	wait           bool
	timeout        time.Duration
	output         string
	interactive    bool
	confirmed      map[location]bool
	raw            string

	dryRun      util.DryRun
	propagation metav1.DeletionPropagation
	warnCluster bool
}

// New returns the delete command.
func New(f *util.Factory) *cobra.Command {
	o := &options{f: f}
	cmd := &cobra.Command{
		Use:                   "delete ([-f FILENAME] | [-k DIRECTORY] | TYPE [(NAME | -l label | --all)])",
		DisableFlagsInUseLine: true,
		Short:                 "Delete resources by file names, stdin, resources and names, or by resources and label selector",
		Long: `Delete resources by file names, stdin, resources and names, or by resources and label selector.

 JSON and YAML formats are accepted. Only one type of argument may be specified: file names, resources and names, or resources and label selector.`,
		Example: `  # Delete a pod with minimal delay
  kubectl delete pod foo --now`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args)
		},
	}
	flags := cmd.Flags()
	flags.StringSliceVarP(&o.filenames.Filenames, "filename", "f", nil, "containing the resource to delete.")
	flags.StringVarP(&o.filenames.Kustomize, "kustomize", "k", "", "Process a kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolVarP(&o.filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	flags.BoolVar(&o.all, "all", false, "Delete all resources, in the namespace of the specified resource types.")
	flags.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	flags.BoolVar(&o.force, "force", false, "If true, immediately remove resources from API and bypass graceful deletion. Note that immediate deletion of some resources may result in inconsistency or data loss and requires confirmation.")
	flags.StringVar(&o.cascade, "cascade", "background", `Must be "background", "orphan", or "foreground". Selects the deletion cascading strategy for the dependents (e.g. Pods created by a ReplicationController). Defaults to background.`)
	flags.Lookup("cascade").NoOptDefVal = "background"
	flags.IntVar(&o.gracePeriod, "grace-period", -1, "Period of time in seconds given to the resource to terminate gracefully. Ignored if negative. Set to 1 for immediate shutdown. Can only be set to 0 when --force is true (force deletion).")
	flags.BoolVar(&o.now, "now", false, "If true, resources are signaled for immediate shutdown (same as --grace-period=1).")
	flags.DurationVar(&o.timeout, "timeout", 0, "The length of time to wait before giving up on a delete, zero means determine a timeout from the size of the object")
	flags.BoolVar(&o.wait, "wait", true, "If true, wait for resources to be gone before returning. This waits for finalizers.")
	flags.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	flags.StringVar(&o.fieldSelector, "field-selector", "", "Selector (field query) to filter on, supports '=', '==', and '!='.(e.g. --field-selector key1=value1,key2=value2). The server only supports a limited number of field queries per type.")
	flags.BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "Treat \"resource not found\" as a successful delete. Defaults to \"true\" when --all is specified.")
	flags.StringVarP(&o.output, "output", "o", "", "Output mode. Use \"-o name\" for shorter output (resource/name).")
	flags.BoolVarP(&o.interactive, "interactive", "i", false, "If true, delete resource only when user confirms.")
	flags.StringVar(&o.raw, "raw", "", "Raw URI to DELETE to the server.  Uses the transport specified by the kubeconfig file.")
	util.AddDryRunFlag(cmd)
	return cmd
}

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

func (o *options) run(cmd *cobra.Command, args []string) error {
	var err error
	if o.propagation, err = parseCascade(o.cascade); err != nil {
		return err
	}
	ns, enforce, err := o.f.Namespace()
	if err != nil {
		return err
	}
	o.warnCluster = enforce && !o.allNamespaces
	if o.all || o.selector != "" || o.fieldSelector != "" {
		if !cmd.Flags().Changed("ignore-not-found") {
			o.ignoreNotFound = true
		}
	}
	if o.now {
		if o.gracePeriod != -1 {
			return fmt.Errorf("--now and --grace-period cannot be specified together")
		}
		o.gracePeriod = 1
	}
	if o.gracePeriod == 0 && !o.force {
		o.gracePeriod = 1
	}
	if o.force && o.gracePeriod < 0 {
		o.gracePeriod = 0
	}
	if o.dryRun, err = util.GetDryRun(cmd); err != nil {
		return err
	}
	build := func() *resource.Result {
		return o.f.NewBuilder().
			Unstructured().
			ContinueOnError().
			NamespaceParam(ns).DefaultNamespace().
			FilenameParam(enforce, &o.filenames).
			LabelSelectorParam(o.selector).
			FieldSelectorParam(o.fieldSelector).
			SelectAllParam(o.all).
			AllNamespaces(o.allNamespaces).
			ResourceTypeOrNameArgs(false, args...).RequireObject(false).
			Flatten().
			Do()
	}
	var r *resource.Result
	if o.raw == "" {
		r = build()
		if err := r.Err(); err != nil {
			return err
		}
	}
	if o.output != "" && o.output != "name" {
		return fmt.Errorf("unexpected -o output mode: %v. We only support '-o name'", o.output)
	}
	if o.all && o.selector != "" {
		return fmt.Errorf("cannot set --all and --selector at the same time")
	}
	if o.all && o.fieldSelector != "" {
		return fmt.Errorf("cannot set --all and --field-selector at the same time")
	}
	switch {
	case o.gracePeriod == 0 && o.force:
		fmt.Fprintln(o.f.ErrOut, "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.")
	case o.gracePeriod > 0 && o.force:
		return fmt.Errorf("--force and --grace-period greater than 0 cannot be specified together")
	}
	if o.raw != "" {
		return o.runRaw(cmd)
	}
	if o.interactive {
		confirmed, err := o.confirm(build())
		if err != nil || !confirmed {
			return err
		}
	}
	return o.deleteResult(r)
}

// runRaw sends a DELETE to the --raw URI, with the one file (or stdin) as
// the body if given, and prints the response body.
func (o *options) runRaw(cmd *cobra.Command) error {
	if o.interactive {
		return fmt.Errorf("--interactive can not be used with --raw")
	}
	if err := util.ValidateRawFiles(o.filenames, false); err != nil {
		return err
	}
	if o.output != "" {
		return fmt.Errorf("--raw and --output are mutually exclusive")
	}
	if err := util.ValidateRawURI(o.raw); err != nil {
		return err
	}
	file := ""
	if len(o.filenames.Filenames) == 1 {
		file = o.filenames.Filenames[0]
	}
	return o.f.RawRequest(cmd.Context(), "DELETE", o.raw, file)
}

// location names one object for -i: only what the user confirmed is
// deleted, even if the second read finds more.
type location struct {
	gr       schema.GroupResource
	ns, name string
}

// confirm lists what preview would delete and asks, as upstream's -i; it
// reports whether the user answered y (a cancelled or empty deletion has
// already been reported).
func (o *options) confirm(preview *resource.Result) (bool, error) {
	if o.ignoreNotFound {
		preview = preview.IgnoreErrors(apierrors.IsNotFound)
	}
	var infos []*resource.Info
	o.confirmed = map[location]bool{}
	err := preview.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			return err
		}
		infos = append(infos, info)
		o.confirmed[location{info.Mapping.Resource.GroupResource(), info.Namespace, info.Name}] = true
		return nil
	})
	if err != nil {
		return false, err
	}
	if len(infos) == 0 {
		fmt.Fprintf(o.f.Out, "No resources found\n")
		return false, nil
	}
	fmt.Fprintf(o.f.Out, "You are about to delete the following %d resource(s):\n", len(infos))
	for _, info := range infos {
		gvk := info.Mapping.GroupVersionKind
		kind := strings.ToLower(gvk.Kind)
		if gvk.Group != "" {
			kind += "." + gvk.Group
		}
		fmt.Fprintf(o.f.Out, "%s/%s\n", kind, info.Name)
	}
	fmt.Fprint(o.f.Out, "Do you want to continue? (y/N): ")
	var answer string
	if _, err := fmt.Fscanln(o.f.In, &answer); err != nil || !strings.EqualFold(answer, "y") {
		fmt.Fprintf(o.f.Out, "deletion is cancelled\n")
		return false, nil
	}
	return true, nil
}

type deleted struct {
	info *resource.Info
	uid  types.UID
}

func (o *options) deleteResult(r *resource.Result) error {
	if o.ignoreNotFound {
		r = r.IgnoreErrors(apierrors.IsNotFound)
	}
	found := 0
	warnCluster := o.warnCluster
	var gone []deleted
	err := r.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			return err
		}
		if o.interactive && !o.confirmed[location{info.Mapping.Resource.GroupResource(), info.Namespace, info.Name}] {
			return nil
		}
		found++
		opts := &metav1.DeleteOptions{}
		if o.gracePeriod >= 0 {
			opts = metav1.NewDeleteOptions(int64(o.gracePeriod))
		}
		opts.PropagationPolicy = &o.propagation
		if warnCluster && info.Mapping.Scope.Name() == meta.RESTScopeNameRoot {
			fmt.Fprintln(o.f.ErrOut, "Warning: deleting cluster-scoped resources, not scoped to the provided namespace")
			warnCluster = false
		}
		if o.dryRun == util.DryRunClient {
			o.printObj(info)
			return nil
		}
		resp, err := resource.NewHelper(info.Client, info.Mapping).
			DryRun(o.dryRun == util.DryRunServer).
			DeleteWithOptions(info.Namespace, info.Name, opts)
		if err != nil {
			return util.AddSourceToErr("deleting", info.Source, err)
		}
		o.printObj(info)
		d := deleted{info: info}
		if status, ok := resp.(*metav1.Status); ok && status.Details != nil {
			d.uid = status.Details.UID
		} else if a, err := meta.Accessor(resp); err == nil {
			d.uid = a.GetUID()
		}
		gone = append(gone, d)
		return nil
	})
	if err != nil {
		return err
	}
	if found == 0 {
		fmt.Fprintf(o.f.Out, "No resources found\n")
		return nil
	}
	if !o.wait || o.dryRun != util.DryRunNone {
		return nil
	}
	timeout := o.timeout
	if timeout == 0 {
		timeout = 168 * time.Hour
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, d := range gone {
		if err := o.waitGone(ctx, d); err != nil {
			if apierrors.IsForbidden(err) || apierrors.IsMethodNotSupported(err) {
				continue
			}
			return err
		}
	}
	return nil
}

// waitGone polls until the object is gone or replaced by another with
// the same name (a different UID).
func (o *options) waitGone(ctx context.Context, d deleted) error {
	dyn, err := o.f.Dynamic()
	if err != nil {
		return err
	}
	ri := dyn.Resource(d.info.Mapping.Resource).Namespace(d.info.Namespace)
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		obj, err := ri.Get(ctx, d.info.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return d.uid != "" && obj.GetUID() != d.uid, nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("timed out waiting for the condition on %s/%s", d.info.Mapping.Resource.Resource, d.info.Name)
	}
	return err
}

func (o *options) printObj(info *resource.Info) {
	kind := util.KindString(info.Mapping.GroupVersionKind)
	op := "deleted"
	if o.gracePeriod == 0 {
		op = "force deleted"
	}
	if info.Namespaced() {
		op = fmt.Sprintf("%s from %s namespace", op, info.Namespace)
	}
	switch o.dryRun {
	case util.DryRunClient:
		op += " (dry run)"
	case util.DryRunServer:
		op += " (server dry run)"
	}
	if o.output == "name" {
		fmt.Fprintf(o.f.Out, "%s/%s\n", kind, info.Name)
		return
	}
	fmt.Fprintf(o.f.Out, "%s \"%s\" %s\n", kind, info.Name, op)
}
