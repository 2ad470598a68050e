// Package describe is `kubectl describe`: a readable report of one or
// more objects, with the related objects and events a person needs, in
// upstream kubectl's layout. Kinds without a describer of their own get
// the generic one, which prints every field of the object.
package describe

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// settings are the describer flags.
type settings struct {
	showEvents bool
	chunkSize  int64
}

// describerFunc describes the named object of one kind.
type describerFunc func(ctx context.Context, cs kubernetes.Interface, ns, name string, s settings) (string, error)

// describers are the kinds with a describer of their own.
var describers = map[schema.GroupKind]describerFunc{
	{Kind: "Pod"}:                        describePod,
	{Kind: "Node"}:                       describeNode,
	{Kind: "Service"}:                    describeService,
	{Kind: "Endpoints"}:                  describeEndpoints,
	{Kind: "Namespace"}:                  describeNamespace,
	{Kind: "ConfigMap"}:                  describeConfigMap,
	{Kind: "Secret"}:                     describeSecret,
	{Kind: "ServiceAccount"}:             describeServiceAccount,
	{Group: "apps", Kind: "Deployment"}:  describeDeployment,
	{Group: "apps", Kind: "ReplicaSet"}:  describeReplicaSet,
	{Group: "apps", Kind: "DaemonSet"}:   describeDaemonSet,
	{Group: "apps", Kind: "StatefulSet"}: describeStatefulSet,
	{Group: "batch", Kind: "Job"}:        describeJob,
}

type options struct {
	f             *util.Factory
	selector      string
	allNamespaces bool
	settings      settings
	eventsSet     bool
	filenames     resource.FilenameOptions
}

// New returns the describe command.
func New(f *util.Factory) *cobra.Command {
	o := &options{f: f, settings: settings{showEvents: true, chunkSize: 500}}
	cmd := &cobra.Command{
		Use:                   "describe (-f FILENAME | TYPE [NAME_PREFIX | -l label] | TYPE/NAME)",
		DisableFlagsInUseLine: true,
		Short:                 "Show details of a specific resource or group of resources",
		Long: `Show details of a specific resource or group of resources.

 Print a detailed description of the selected resources, including related resources such as events or controllers. You may select a single object by name, all objects of that type, provide a name prefix, or label selector. For example:

        $ kubectl describe TYPE NAME_PREFIX

 will first check for an exact match on TYPE and NAME_PREFIX. If no such resource exists, it will output details for every resource that has a name prefixed with NAME_PREFIX.

Use "kubectl api-resources" for a complete list of supported resources.`,
		Example: `  # Describe a node
  kubectl describe nodes kubernetes-node-emt8.c.myproject.internal

  # Describe a pod
  kubectl describe pods/nginx`,
		SuggestFor: []string{"inspect"},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.eventsSet = cmd.Flags().Changed("show-events")
			return o.run(cmd.Context(), args)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&o.filenames.Filenames, "filename", "f", nil, "Filename, directory, or URL to files containing the resource to describe")
	fl.StringVarP(&o.filenames.Kustomize, "kustomize", "k", "", "Process the kustomization directory. This flag can't be used together with -f or -R.")
	fl.BoolVarP(&o.filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	fl.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	fl.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	fl.BoolVar(&o.settings.showEvents, "show-events", true, "If true, display events related to the described object. Defaults to true for a single object, false for multiple objects and prefix matching.")
	fl.Int64Var(&o.settings.chunkSize, "chunk-size", 500, "Return large lists in chunks rather than all at once. Pass 0 to disable.")
	return cmd
}

func (o *options) run(ctx context.Context, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ns, enforce, err := o.f.Namespace()
	if err != nil {
		return err
	}
	if o.allNamespaces {
		enforce = false
	}
	if len(args) == 0 && len(o.filenames.Filenames) == 0 && o.filenames.Kustomize == "" {
		return fmt.Errorf("You must specify the type of resource to describe. Use \"kubectl api-resources\" for a complete list of supported resources.\n")
	}
	r := o.f.NewBuilder().
		Unstructured().
		ContinueOnError().
		NamespaceParam(ns).DefaultNamespace().AllNamespaces(o.allNamespaces).
		FilenameParam(enforce, &o.filenames).
		LabelSelectorParam(o.selector).
		ResourceTypeOrNameArgs(true, args...).
		RequestChunksOf(o.settings.chunkSize).
		Flatten().
		Do()
	if err := r.Err(); err != nil {
		return err
	}
	var errs []error
	infos, err := r.Infos()
	s := o.settings
	if (err != nil || len(infos) > 1) && !o.eventsSet {
		s.showEvents = false
	}
	if err != nil {
		if apierrors.IsNotFound(err) && len(args) == 2 {
			return o.describePrefix(ctx, err, ns, args[0], args[1], s)
		}
		errs = append(errs, err)
	}
	seen := map[string]bool{}
	first := true
	for _, info := range infos {
		out, err := o.describe(ctx, info.Mapping, info.Namespace, info.Name, s)
		if err != nil {
			if !seen[err.Error()] {
				errs = append(errs, err)
				seen[err.Error()] = true
			}
			continue
		}
		if first {
			first = false
			fmt.Fprint(o.f.Out, out)
		} else {
			fmt.Fprintf(o.f.Out, "\n\n%s", out)
		}
	}
	if len(infos) == 0 && len(errs) == 0 {
		if o.allNamespaces {
			fmt.Fprintln(o.f.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(o.f.ErrOut, "No resources found in %s namespace.\n", ns)
		}
	}
	return utilerrors.NewAggregate(errs)
}

// describePrefix describes every object of the type whose name starts
// with prefix; without any it returns the original NotFound.
func (o *options) describePrefix(ctx context.Context, orig error, ns, typ, prefix string, s settings) error {
	r := o.f.NewBuilder().
		Unstructured().
		NamespaceParam(ns).DefaultNamespace().
		ResourceTypeOrNameArgs(true, typ).
		SingleResourceType().
		RequestChunksOf(s.chunkSize).
		Flatten().
		Do()
	mapping, err := r.ResourceMapping()
	if err != nil {
		return err
	}
	infos, err := r.Infos()
	if err != nil {
		return err
	}
	found := false
	for _, info := range infos {
		if !strings.HasPrefix(info.Name, prefix) {
			continue
		}
		found = true
		out, err := o.describe(ctx, mapping, info.Namespace, info.Name, s)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.f.Out, "%s\n", out)
	}
	if !found {
		return orig
	}
	return nil
}

func (o *options) describe(ctx context.Context, mapping *meta.RESTMapping, ns, name string, s settings) (string, error) {
	cs, err := o.f.Clientset()
	if err != nil {
		return "", err
	}
	if fn, ok := describers[mapping.GroupVersionKind.GroupKind()]; ok {
		return fn(ctx, cs, ns, name, s)
	}
	dyn, err := o.f.Dynamic()
	if err != nil {
		return "", err
	}
	return describeGeneric(ctx, cs, dyn, mapping, ns, name, s)
}
