package util

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
)

// MetadataMapEdit is `kubectl label` or `kubectl annotate`: set and
// remove keys of an object's labels or annotations with a JSON merge
// patch.
type MetadataMapEdit struct {
	F *Factory
	// Labels edits labels; otherwise annotations.
	Labels bool

	Print           *genericclioptions.PrintFlags
	Filenames       resource.FilenameOptions
	Selector        string
	FieldSelector   string
	All             bool
	AllNamespaces   bool
	Overwrite       bool
	List            bool
	Local           bool
	ResourceVersion string
	FieldManager    string
}

// AddFlags adds the flags label and annotate share.
func (o *MetadataMapEdit) AddFlags(cmd *cobra.Command, manager string) {
	noun := "annotation"
	if o.Labels {
		noun = "label"
	}
	flags := cmd.Flags()
	o.Print.AddFlags(cmd)
	flags.BoolVar(&o.Overwrite, "overwrite", false, fmt.Sprintf("If true, allow %ss to be overwritten, otherwise reject %s updates that overwrite existing %ss.", noun, noun, noun))
	flags.BoolVar(&o.List, "list", false, fmt.Sprintf("If true, display the %ss for a given resource.", noun))
	flags.BoolVar(&o.Local, "local", false, fmt.Sprintf("If true, %s will NOT contact api-server but run locally.", noun))
	selector := "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints."
	all := "Select all resources, in the namespace of the specified resource types"
	allNamespaces := "If true, check the specified action in all namespaces."
	resourceVersion := fmt.Sprintf("If non-empty, the %s update will only succeed if this is the current resource-version for the object. Only valid when specifying a single resource.", noun)
	filename := "Filename, directory, or URL to files identifying the resource to update the labels"
	kustomize := "Process the kustomization directory. This flag can't be used together with -f or -R."
	recursive := false
	if !o.Labels {
		// annotate's flags read differently upstream (and -R is on).
		selector = "Selector (label query) to filter on, supports '=', '==', and '!='.(e.g. -l key1=value1,key2=value2)"
		all = "Select all resources in the namespace of the specified resource types"
		allNamespaces = "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace."
		filename = "identifying the resource."
		kustomize = "Process a kustomization directory. This flag can't be used together with -f or -R."
		recursive = true
	} else {
		resourceVersion = "If non-empty, the labels update will only succeed if this is the current resource-version for the object. Only valid when specifying a single resource."
	}
	flags.StringVarP(&o.Selector, "selector", "l", "", selector)
	flags.StringVar(&o.FieldSelector, "field-selector", "", "Selector (field query) to filter on, supports '=', '==', and '!='.(e.g. --field-selector key1=value1,key2=value2). The server only supports a limited number of field queries per type.")
	flags.BoolVar(&o.All, "all", false, all)
	flags.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, allNamespaces)
	flags.StringVar(&o.ResourceVersion, "resource-version", "", resourceVersion)
	flags.StringSliceVarP(&o.Filenames.Filenames, "filename", "f", nil, filename)
	flags.StringVarP(&o.Filenames.Kustomize, "kustomize", "k", "", kustomize)
	flags.BoolVarP(&o.Filenames.Recursive, "recursive", "R", recursive, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	AddDryRunFlag(cmd)
	AddFieldManagerFlag(cmd, &o.FieldManager, manager)
}

// splitResourcesAndPairs splits args into resources and KEY=VALUE/KEY-
// pairs, which must come last.
func splitResourcesAndPairs(args []string, pairType string) (resources, pairs []string, err error) {
	found := false
	for _, s := range args {
		pair := (strings.Contains(s, "=") && s[0] != '=') || (strings.HasSuffix(s, "-") && s != "-")
		switch {
		case pair:
			found = true
			pairs = append(pairs, s)
		case found:
			return nil, nil, fmt.Errorf("all resources must be specified before %s changes: %s", pairType, s)
		default:
			resources = append(resources, s)
		}
	}
	return resources, pairs, nil
}

// Run edits the objects named by args.
func (o *MetadataMapEdit) Run(cmd *cobra.Command, args []string) error {
	noun := "annotation"
	if o.Labels {
		noun = "label"
	}
	resources, pairArgs, err := splitResourcesAndPairs(args, noun)
	if err != nil {
		return err
	}
	if o.List && *o.Print.OutputFormat != "" {
		return fmt.Errorf("--list and --output may not be specified together")
	}
	dryRun, err := GetDryRun(cmd)
	if err != nil {
		return err
	}
	add, remove, err := o.parsePairs(pairArgs)
	if err != nil {
		return err
	}
	if o.All && o.Selector != "" {
		return fmt.Errorf("cannot set --all and --selector at the same time")
	}
	if o.All && o.FieldSelector != "" {
		return fmt.Errorf("cannot set --all and --field-selector at the same time")
	}
	rsrcEx := "<resource> <name> or <resource>/<name>"
	if o.Local {
		if dryRun == DryRunServer {
			return fmt.Errorf("cannot specify --local and --dry-run=server - did you mean --dry-run=client?")
		}
	} else if len(resources) < 1 && len(o.Filenames.Filenames) == 0 && o.Filenames.Kustomize == "" {
		return fmt.Errorf("one or more resources must be specified as %s", rsrcEx)
	}
	if len(add) < 1 && len(remove) < 1 && !o.List {
		return fmt.Errorf("at least one %s update is required", noun)
	}
	printer, err := Printer(o.Print, dryRun)
	_ = printer
	if err != nil {
		return err
	}
	ns, enforce, err := o.F.Namespace()
	if err != nil {
		return err
	}
	b := o.F.NewBuilder().Unstructured().LocalParam(o.Local).ContinueOnError().
		NamespaceParam(ns).DefaultNamespace().
		FilenameParam(enforce, &o.Filenames).Flatten()
	if !o.Local {
		b = b.LabelSelectorParam(o.Selector).FieldSelectorParam(o.FieldSelector).
			AllNamespaces(o.AllNamespaces).ResourceTypeOrNameArgs(o.All, resources...).Latest()
	}
	one := false
	r := b.Do().IntoSingleItemImplied(&one)
	if err := r.Err(); err != nil {
		return err
	}
	if !one && o.ResourceVersion != "" {
		return fmt.Errorf("--resource-version may only be used with a single resource")
	}
	return r.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			return err
		}
		obj := info.Object
		accessor, err := meta.Accessor(obj)
		if err != nil {
			return err
		}
		if o.ResourceVersion != "" {
			accessor.SetResourceVersion("")
		}
		oldData, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		out := obj
		remote := !(dryRun == DryRunClient || o.Local || o.List)
		if remote && o.Labels {
			for _, k := range remove {
				if _, ok := accessor.GetLabels()[k]; !ok {
					fmt.Fprintf(o.F.Out, "label %q not found.\n", k)
				}
			}
		}
		added, removed, err := o.edit(accessor, add, remove)
		if err != nil {
			return err
		}
		if remote && (!o.Labels || added.Len() > 0 || removed.Len() > 0) {
			newData, err := json.Marshal(obj)
			if err != nil {
				return err
			}
			patch, err := jsonpatch.CreateMergePatch(oldData, newData)
			if err != nil {
				return err
			}
			helper := NewHelper(info, dryRun, o.FieldManager)
			out, err = helper.Patch(info.Namespace, info.Name, types.MergePatchType, patch, nil)
			if err != nil {
				return err
			}
		}
		if o.List {
			a, err := meta.Accessor(out)
			if err != nil {
				return err
			}
			indent := ""
			if !one {
				indent = " "
				gvk := info.Object.GetObjectKind().GroupVersionKind()
				what := "annotations"
				if o.Labels {
					what = "labels"
				}
				fmt.Fprintf(o.F.Out, "Listing %s for %s.%s/%s:\n", what, gvk.Kind, gvk.Group, info.Name)
			}
			m := a.GetAnnotations()
			if o.Labels {
				m = a.GetLabels()
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(o.F.Out, "%s%s=%s\n", indent, k, m[k])
			}
			return nil
		}
		msg := "annotated"
		if o.Labels {
			switch {
			case added.Len() > 0 && removed.Len() > 0:
				msg = "modified"
			case added.Len() > 0:
				msg = "labeled"
			case removed.Len() > 0:
				msg = "unlabeled"
			default:
				msg = "not labeled"
			}
		}
		p, err := PrinterWithOperation(o.Print, dryRun, msg)
		if err != nil {
			return err
		}
		var toPrint runtime.Object = info.Object
		if !o.Labels {
			toPrint = out
		}
		return p.PrintObj(toPrint, o.F.Out)
	})
}

func (o *MetadataMapEdit) parsePairs(pairArgs []string) (map[string]string, []string, error) {
	if o.Labels {
		add := map[string]string{}
		var remove []string
		for _, spec := range pairArgs {
			switch {
			case strings.Contains(spec, "="):
				parts := strings.Split(spec, "=")
				if len(parts) != 2 {
					return nil, nil, fmt.Errorf("invalid label spec: %v", spec)
				}
				if errs := validation.IsValidLabelValue(parts[1]); len(errs) != 0 {
					return nil, nil, fmt.Errorf("invalid label value: %q: %s", spec, strings.Join(errs, ";"))
				}
				add[parts[0]] = parts[1]
			case strings.HasSuffix(spec, "-"):
				remove = append(remove, spec[:len(spec)-1])
			default:
				return nil, nil, fmt.Errorf("unknown label spec: %v", spec)
			}
		}
		for _, k := range remove {
			if _, ok := add[k]; ok {
				return nil, nil, fmt.Errorf("can not both modify and remove a label in the same command")
			}
		}
		return add, remove, nil
	}
	add := map[string]string{}
	remove := []string{}
	var invalid []string
	for _, p := range pairArgs {
		if strings.Contains(p, "=") && p[0] != '=' {
			k, v, _ := strings.Cut(p, "=")
			add[k] = v
		} else if strings.HasSuffix(p, "-") && p != "-" {
			remove = append(remove, p[:len(p)-1])
		} else {
			invalid = append(invalid, p)
		}
	}
	if len(invalid) > 0 {
		return nil, nil, fmt.Errorf("invalid annotation format: %s", strings.Join(invalid, ", "))
	}
	var both []string
	for _, k := range remove {
		if _, ok := add[k]; ok {
			both = append(both, k)
		}
	}
	if len(both) > 0 {
		return nil, nil, fmt.Errorf("can not both modify and remove the following annotation(s) in the same command: %s", strings.Join(both, ", "))
	}
	return add, remove, nil
}

type metaObject interface {
	GetLabels() map[string]string
	SetLabels(map[string]string)
	GetAnnotations() map[string]string
	SetAnnotations(map[string]string)
	SetResourceVersion(string)
}

func (o *MetadataMapEdit) edit(accessor metaObject, add map[string]string, remove []string) (sets.Set[string], sets.Set[string], error) {
	get, set := accessor.GetAnnotations, accessor.SetAnnotations
	if o.Labels {
		get, set = accessor.GetLabels, accessor.SetLabels
	}
	cur := get()
	if !o.Overwrite {
		keys := make([]string, 0, len(add))
		for k := range add {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var errs []string
		for _, k := range keys {
			if v, ok := cur[k]; ok && v != add[k] {
				if !o.Labels && k == "kubernetes.io/change-cause" {
					continue
				}
				errs = append(errs, fmt.Sprintf("'%s' already has a value (%s)", k, v))
			}
		}
		if len(errs) > 0 {
			if o.Labels {
				if len(errs) == 1 {
					return nil, nil, fmt.Errorf("%s, and --overwrite is false", errs[0])
				}
				var b strings.Builder
				b.WriteString("[")
				for i, e := range errs {
					if i > 0 {
						b.WriteString(", ")
					}
					b.WriteString(e + ", and --overwrite is false")
				}
				b.WriteString("]")
				return nil, nil, fmt.Errorf("%s", b.String())
			}
			return nil, nil, fmt.Errorf("--overwrite is false but found the following declared annotation(s): %s", strings.Join(errs, "; "))
		}
	}
	if cur == nil {
		cur = map[string]string{}
	}
	added, removed := sets.New[string](), sets.New[string]()
	for k, v := range add {
		if c, ok := cur[k]; !ok || c != v {
			cur[k] = v
			added.Insert(k)
		}
	}
	for _, k := range remove {
		if _, ok := cur[k]; ok {
			delete(cur, k)
			removed.Insert(k)
		}
	}
	set(cur)
	if o.ResourceVersion != "" {
		accessor.SetResourceVersion(o.ResourceVersion)
	}
	return added, removed, nil
}
