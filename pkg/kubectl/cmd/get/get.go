// Package get is `kubectl get`: list or fetch resources by type, name,
// file or selector and print them as the server's Table (the default and
// -o wide), or as json, yaml, name, jsonpath, go-template or custom
// columns; -w streams changes.
package get

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/rest"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/klog/v2"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// options are get's flags and what Complete derives from them.
type options struct {
	f *util.Factory

	print          *genericclioptions.PrintFlags
	filenames      resource.FilenameOptions
	selector       string
	fieldSelector  string
	allNamespaces  bool
	watch          bool
	watchOnly      bool
	watchEvents    bool
	chunkSize      int64
	ignoreNotFound bool
	noHeaders      bool
	showLabels     bool
	showKind       bool
	labelColumns   []string
	sortBy         string
	serverPrint    bool
	subresource    string
	raw            string

	namespace         string
	explicitNamespace bool
	humanReadable     bool
}

// New returns the get command.
func New(f *util.Factory) *cobra.Command {
	o := &options{
		f:           f,
		print:       genericclioptions.NewPrintFlags("").WithTypeSetter(nil),
		chunkSize:   500,
		serverPrint: true,
	}
	o.print.TypeSetterPrinter = nil
	cmd := &cobra.Command{
		Use:                   "get [(-o|--output=)json|yaml|kyaml|name|go-template|go-template-file|template|templatefile|jsonpath|jsonpath-as-json|jsonpath-file|custom-columns|custom-columns-file|wide] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Display one or many resources",
		Long: `Display one or many resources.

 Prints a table of the most important information about the specified resources. You can filter the list using a label selector and the --selector flag. If the desired resource type is namespaced you will only see results in the current namespace if you don't specify any namespace.

 By specifying the output as 'template' and providing a Go template as the value of the --template flag, you can filter the attributes of the fetched resources.

Use "kubectl api-resources" for a complete list of supported resources.`,
		Example: `  # List all pods in ps output format
  kubectl get pods

  # List all pods in ps output format with more information (such as node name)
  kubectl get pods -o wide`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.raw != "" {
				if err := o.validateRaw(args); err != nil {
					return err
				}
				return o.f.RawRequest(cmd.Context(), "GET", o.raw, "")
			}
			if err := o.complete(cmd, args); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd, args)
		},
	}
	flags := cmd.Flags()
	o.print.JSONYamlPrintFlags.AddFlags(cmd)
	o.print.NamePrintFlags.AddFlags(cmd)
	o.print.TemplatePrinterFlags.AddFlags(cmd)
	flags.StringVarP(o.print.OutputFormat, "output", "o", "", "Output format. One of: (json, yaml, kyaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file, custom-columns, custom-columns-file, wide). See custom columns [https://kubernetes.io/docs/reference/kubectl/#custom-columns], golang template [http://golang.org/pkg/text/template/#pkg-overview] and jsonpath template [https://kubernetes.io/docs/reference/kubectl/jsonpath/].")
	flags.BoolVar(&o.noHeaders, "no-headers", false, "When using the default or custom-column output format, don't print headers (default print headers).")
	flags.BoolVar(&o.showLabels, "show-labels", false, "When printing, show all labels as the last column (default hide labels column)")
	flags.StringVar(&o.sortBy, "sort-by", "", "If non-empty, sort list types using this field specification.  The field specification is expressed as a JSONPath expression (e.g. '{.metadata.name}'). The field in the API resource specified by this JSONPath expression must be an integer or a string.")
	flags.StringSliceVarP(&o.labelColumns, "label-columns", "L", nil, "Accepts a comma separated list of labels that are going to be presented as columns. Names are case-sensitive. You can also use multiple flag options like -L label1 -L label2...")
	flags.BoolVar(&o.showKind, "show-kind", false, "If present, list the resource type for the requested object(s).")
	flags.BoolVarP(&o.watch, "watch", "w", false, "After listing/getting the requested object, watch for changes.")
	flags.BoolVar(&o.watchOnly, "watch-only", false, "Watch for changes to the requested object(s), without listing/getting first.")
	flags.BoolVar(&o.watchEvents, "output-watch-events", false, "Output watch event objects when --watch or --watch-only is used. Existing objects are output as initial ADDED events.")
	flags.BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "If set to true, suppresses NotFound error for specific objects that do not exist. Using this flag with commands that query for collections of resources has no effect when no resources are found.")
	flags.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	flags.StringVar(&o.fieldSelector, "field-selector", "", "Selector (field query) to filter on, supports '=', '==', and '!='.(e.g. --field-selector key1=value1,key2=value2). The server only supports a limited number of field queries per type.")
	flags.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	flags.Int64Var(&o.chunkSize, "chunk-size", 500, "Return large lists in chunks rather than all at once. Pass 0 to disable.")
	flags.BoolVar(&o.serverPrint, "server-print", true, "If true, have the server return the appropriate table output. Supports extension APIs and CRDs.")
	flags.StringVar(&o.subresource, "subresource", "", "If specified, gets the subresource of the requested object.")
	flags.StringVar(&o.raw, "raw", "", "Raw URI to request from the server.  Uses the transport specified by the kubeconfig file.")
	flags.StringSliceVarP(&o.filenames.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to get from a server.")
	flags.StringVarP(&o.filenames.Kustomize, "kustomize", "k", "", "Process the kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolVarP(&o.filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	return cmd
}

func (o *options) complete(cmd *cobra.Command, args []string) error {
	var err error
	o.namespace, o.explicitNamespace, err = o.f.Namespace()
	if err != nil {
		return err
	}
	if o.allNamespaces {
		o.explicitNamespace = false
	}
	out := *o.print.OutputFormat
	if strings.Contains(out, "custom-columns") || out == "yaml" || strings.Contains(out, "json") {
		o.serverPrint = false
	}
	tmpl := ""
	if o.print.TemplatePrinterFlags.TemplateArgument != nil {
		tmpl = *o.print.TemplatePrinterFlags.TemplateArgument
	}
	o.humanReadable = (out == "" && tmpl == "") || out == "wide"
	switch {
	case o.watch:
		if o.sortBy != "" {
			fmt.Fprintf(o.f.ErrOut, "warning: --watch requested, --sort-by will be ignored for watch events received\n")
		}
	case o.watchOnly:
		if o.sortBy != "" {
			fmt.Fprintf(o.f.ErrOut, "warning: --watch-only requested, --sort-by will be ignored\n")
		}
	default:
		if len(args) == 0 && len(o.filenames.Filenames) == 0 && o.filenames.Kustomize == "" {
			fmt.Fprintf(o.f.ErrOut, "You must specify the type of resource to get. Use \"%s api-resources\" for a complete list of supported resources.\n\n", cmd.Root().Name())
			parent := cmd.Parent().CommandPath()
			return util.UsageError(cmd, "Required resource not specified.\nUse \"%s explain <resource>\" for a detailed description of that resource (e.g. %[1]s explain pods).", parent)
		}
	}
	return nil
}

// validateRaw rejects what --raw cannot be combined with, in upstream's
// order and words: arguments, flags that shape the request or the output,
// and a value that is not a request URI.
func (o *options) validateRaw(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("arguments may not be passed when --raw is specified")
	}
	if o.watch || o.watchOnly || o.selector != "" {
		return fmt.Errorf("--raw may not be specified with other flags that filter the server request or alter the output")
	}
	if *o.print.OutputFormat != "" {
		return fmt.Errorf("--raw and --output are mutually exclusive")
	}
	if err := util.ValidateRawURI(o.raw); err != nil {
		return err
	}
	return o.validate()
}

func (o *options) validate() error {
	out := *o.print.OutputFormat
	if o.showLabels && out != "" && out != "wide" {
		return fmt.Errorf("--show-labels option cannot be used with %s printer", out)
	}
	if len(o.labelColumns) > 0 && strings.HasPrefix(out, "custom-columns") {
		return fmt.Errorf("--label-columns option cannot be used with %s printer", out)
	}
	if o.watchEvents && !(o.watch || o.watchOnly) {
		return fmt.Errorf("--output-watch-events option can only be used with --watch or --watch-only")
	}
	return nil
}

// allowedFormats are the -o values, listed in errors.
var allowedFormats = "custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,kyaml,name,template,templatefile,wide,yaml"

// printer builds the printer for one resource type. kind names rows
// ("pod/x") when withKind.
func (o *options) printer(kind schema.GroupKind, withNamespace, withKind bool) (printers.ResourcePrinter, error) {
	out := *o.print.OutputFormat
	switch {
	case o.humanReadable:
		return printers.NewTablePrinter(printers.PrintOptions{
			Kind:          kind,
			WithKind:      withKind || o.showKind,
			NoHeaders:     o.noHeaders,
			Wide:          out == "wide",
			WithNamespace: withNamespace,
			ColumnLabels:  o.labelColumns,
			ShowLabels:    o.showLabels,
		}), nil
	case strings.HasPrefix(out, "custom-columns-file="):
		fh, err := os.Open(strings.TrimPrefix(out, "custom-columns-file="))
		if err != nil {
			return nil, fmt.Errorf("error reading template %s, %v\n", strings.TrimPrefix(out, "custom-columns-file="), err)
		}
		defer fh.Close()
		return customColumnsFromFile(fh)
	case out == "custom-columns" || strings.HasPrefix(out, "custom-columns="):
		spec, _ := strings.CutPrefix(out, "custom-columns")
		spec = strings.TrimPrefix(spec, "=")
		return customColumnsFromSpec(spec, o.noHeaders)
	}
	p, err := o.print.ToPrinter()
	if genericclioptions.IsNoCompatiblePrinterError(err) {
		return nil, fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: %s", out, allowedFormats)
	}
	return p, err
}

// transformRequests asks for server-side Tables when printing them.
func (o *options) transformRequests(req *rest.Request) {
	if !o.serverPrint || !o.humanReadable {
		return
	}
	req.SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
	if o.sortBy != "" {
		req.Param("includeObject", "Object")
	}
}

func (o *options) builder(args []string) *resource.Builder {
	return o.f.NewBuilder().
		Unstructured().
		NamespaceParam(o.namespace).DefaultNamespace().AllNamespaces(o.allNamespaces).
		FilenameParam(o.explicitNamespace, &o.filenames).
		LabelSelectorParam(o.selector).
		FieldSelectorParam(o.fieldSelector).
		ResourceTypeOrNameArgs(true, args...).
		Latest().
		TransformRequests(o.transformRequests)
}

func (o *options) run(cmd *cobra.Command, args []string) error {
	if o.watch || o.watchOnly {
		return o.runWatch(args)
	}
	chunk := o.chunkSize
	if o.sortBy != "" {
		chunk = 0
	}
	r := o.builder(args).
		Subresource(o.subresource).
		RequestChunksOf(chunk).
		ContinueOnError().
		Flatten().
		Do()
	if o.ignoreNotFound {
		r.IgnoreErrors(apierrors.IsNotFound)
	}
	if err := r.Err(); err != nil {
		return err
	}
	sortField := ""
	if o.sortBy != "" {
		var err error
		if sortField, err = relaxedJSONPath(o.sortBy); err != nil {
			sortField = o.sortBy
		}
	}
	if !o.humanReadable {
		return o.printGeneric(r, sortField)
	}

	var errs []error
	seen := sets.New[string]()
	infos, err := r.Infos()
	if err != nil {
		errs = append(errs, err)
	}
	withKind := multipleKinds(infos)
	if sortField != "" && len(infos) > 1 {
		// Several responses: upstream sorts the responses themselves (the
		// Tables) by the field before sorting each one's rows, so a field
		// that no Table has fails the command.
		raw := make([]runtime.Object, len(infos))
		pos := map[runtime.Object]*resource.Info{}
		for i, info := range infos {
			raw[i] = info.Object
			pos[info.Object] = info
		}
		sorted, err := sortObjects(raw, sortField)
		if err != nil {
			return err
		}
		reordered := make([]*resource.Info, len(sorted))
		for i, obj := range sorted {
			reordered[i] = pos[obj]
		}
		infos = reordered
	}
	objs := make([]runtime.Object, len(infos))
	// unsortable are tables whose rows could not be sorted: upstream's
	// sorting printer fails on them and its caller ignores the error, so
	// they print nothing (and "No resources found" may follow).
	unsortable := map[int]bool{}
	for i, info := range infos {
		objs[i] = asTable(info.Object)
		if sortField != "" {
			if t, ok := objs[i].(*metav1.Table); ok && len(t.Rows) > 1 {
				if err := sortTable(t, sortField); err != nil {
					klog.V(2).InfoS("Table not printed: its rows cannot be sorted", "err", err)
					unsortable[i] = true
				}
			}
		}
	}

	tracking := &trackingWriter{w: o.f.Out}
	sep := &separatorWriter{w: tracking}
	w := printers.GetNewTabWriter(sep)
	allNamespaced := !o.allNamespaces
	var p printers.ResourcePrinter
	var last *meta.RESTMapping
	for i, info := range infos {
		mapping := info.Mapping
		allNamespaced = allNamespaced && info.Namespaced()
		withNamespace := o.allNamespaces
		if mapping != nil && mapping.Scope.Name() == meta.RESTScopeNameRoot {
			withNamespace = false
		}
		if p == nil || last == nil || mapping == nil || mapping.Resource != last.Resource {
			w.Flush()
			w.SetRememberedWidths(nil)
			if last != nil && !o.noHeaders && tracking.n > 0 {
				sep.ready = true
			}
			var gk schema.GroupKind
			if mapping != nil {
				gk = mapping.GroupVersionKind.GroupKind()
			}
			p, err = o.printer(gk, withNamespace, withKind)
			if err != nil {
				if !seen.Has(err.Error()) {
					seen.Insert(err.Error())
					errs = append(errs, err)
				}
				continue
			}
			last = mapping
		}
		if !unsortable[i] {
			p.PrintObj(objs[i], w)
		}
	}
	w.Flush()
	if tracking.n == 0 && !o.ignoreNotFound && len(errs) == 0 {
		if allNamespaced {
			fmt.Fprintf(o.f.ErrOut, "No resources found in %s namespace.\n", o.namespace)
		} else {
			fmt.Fprintln(o.f.ErrOut, "No resources found")
		}
	}
	return utilerrors.NewAggregate(errs)
}

// printGeneric prints json, yaml, name, templates and custom columns: one
// object when one was named, else a v1 List of everything.
func (o *options) printGeneric(r *resource.Result, sortField string) error {
	var errs []error
	single := false
	infos, err := r.IntoSingleItemImplied(&single).Infos()
	if err != nil {
		if single {
			return err
		}
		errs = append(errs, err)
	}
	if len(infos) == 0 && o.ignoreNotFound {
		return utilerrors.Reduce(utilerrors.Flatten(utilerrors.NewAggregate(errs)))
	}
	p, err := o.printer(schema.GroupKind{}, false, false)
	if err != nil {
		return err
	}
	if single && len(infos) == 1 {
		if err := p.PrintObj(infos[0].Object, o.f.Out); err != nil {
			errs = append(errs, err)
		}
		return utilerrors.Reduce(utilerrors.Flatten(utilerrors.NewAggregate(errs)))
	}
	items := make([]runtime.Object, 0, len(infos))
	for _, info := range infos {
		items = append(items, info.Object)
	}
	if sortField != "" {
		if items, err = sortObjects(items, sortField); err != nil {
			return err
		}
	}
	list := &unstructured.UnstructuredList{Object: map[string]any{
		"kind":       "List",
		"apiVersion": "v1",
		"metadata":   map[string]any{"resourceVersion": ""},
	}}
	for _, it := range items {
		u, ok := it.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		list.Items = append(list.Items, *u)
	}
	if err := p.PrintObj(list, o.f.Out); err != nil {
		errs = append(errs, err)
	}
	return utilerrors.Reduce(utilerrors.Flatten(utilerrors.NewAggregate(errs)))
}

// runWatch lists (unless --watch-only), then prints every change until
// interrupted.
func (o *options) runWatch(args []string) error {
	r := o.builder(args).
		RequestChunksOf(o.chunkSize).
		SingleResourceType().
		Do()
	if err := r.Err(); err != nil {
		return err
	}
	infos, err := r.Infos()
	if err != nil {
		if apierrors.IsNotFound(err) && o.ignoreNotFound {
			return nil
		}
		return err
	}
	mapping := infos[0].ResourceMapping()
	p, err := o.printer(mapping.GroupVersionKind.GroupKind(), o.allNamespaces, false)
	if err != nil {
		return err
	}
	obj, err := r.Object()
	if err != nil {
		return err
	}
	rv := "0"
	isList := meta.IsListType(obj)
	if isList {
		if rv, err = meta.NewAccessor().ResourceVersion(obj); err != nil {
			return err
		}
	}
	w := printers.GetNewTabWriter(o.f.Out)
	output := !o.watchOnly
	print := func(eventType watch.EventType, obj runtime.Object) error {
		if !output {
			return nil
		}
		obj = asTable(obj)
		if o.watchEvents {
			obj = &metav1.WatchEvent{Type: string(eventType), Object: runtime.RawExtension{Object: obj}}
		}
		if err := p.PrintObj(obj, w); err != nil {
			return fmt.Errorf("unable to output the provided object: %v", err)
		}
		return w.Flush()
	}
	var initial []runtime.Object
	if isList {
		initial, _ = meta.ExtractList(obj)
	} else {
		initial = []runtime.Object{obj}
	}
	for _, it := range initial {
		if err := print(watch.Added, it); err != nil {
			return err
		}
	}
	// A list's events are all news; a single object's first event repeats
	// what was just printed.
	output = isList
	wi, err := r.Watch(rv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	_, err = watchtools.UntilWithoutRetry(ctx, wi, func(e watch.Event) (bool, error) {
		if e.Type == watch.Error {
			return false, apierrors.FromObject(e.Object)
		}
		if err := print(e.Type, e.Object); err != nil {
			return false, err
		}
		output = true
		return false, nil
	})
	if err == nil || ctx.Err() != nil || err == watchtools.ErrWatchClosed {
		return nil
	}
	return err
}

// asTable decodes an unstructured meta.k8s.io Table (and its rows'
// objects); anything else is returned as is.
func asTable(obj runtime.Object) runtime.Object {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj
	}
	gvk := u.GroupVersionKind()
	if gvk.Kind != "Table" || gvk.Group != metav1.GroupName {
		return obj
	}
	t := &metav1.Table{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, t); err != nil {
		return obj
	}
	for i := range t.Rows {
		row := &t.Rows[i]
		if row.Object.Raw == nil || row.Object.Object != nil {
			continue
		}
		converted, err := runtime.Decode(unstructured.UnstructuredJSONScheme, row.Object.Raw)
		if err != nil {
			return obj
		}
		row.Object.Object = converted
	}
	return t
}

func multipleKinds(infos []*resource.Info) bool {
	if len(infos) < 2 {
		return false
	}
	gvk := infos[0].Mapping.GroupVersionKind
	for _, info := range infos {
		if info.Mapping.GroupVersionKind != gvk {
			return true
		}
	}
	return false
}

// trackingWriter counts what was written.
type trackingWriter struct {
	w io.Writer
	n int
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	t.n += len(p)
	return t.w.Write(p)
}

// separatorWriter puts a blank line between the tables of two types.
type separatorWriter struct {
	w     io.Writer
	ready bool
}

func (s *separatorWriter) Write(p []byte) (int, error) {
	if len(p) != 0 && s.ready {
		fmt.Fprintln(s.w)
		s.ready = false
	}
	return s.w.Write(p)
}
