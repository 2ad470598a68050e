// Package apiresources is `kubectl api-resources` and `kubectl
// api-versions`: what the server's discovery documents offer.
package apiresources

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

type options struct {
	output     string
	noHeaders  bool
	apiGroup   string
	namespaced bool
	verbs      []string
	categories []string
	sortBy     string
	cached     bool
}

// New returns the api-resources command.
func New(f *util.Factory) *cobra.Command {
	o := &options{namespaced: true}
	cmd := &cobra.Command{
		Use:   "api-resources",
		Short: "Print the supported API resources on the server",
		Long:  "Print the supported API resources on the server.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return util.UsageError(cmd, "unexpected arguments: %v", args)
			}
			switch o.output {
			case "", "wide", "name", "json", "yaml", "kyaml":
			default:
				return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,yaml,kyaml,name,wide", o.output)
			}
			if o.sortBy != "" && o.sortBy != "name" && o.sortBy != "kind" {
				return fmt.Errorf("--sort-by accepts only name or kind")
			}
			return o.run(f, cmd.Flags().Changed("api-group"), cmd.Flags().Changed("namespaced"))
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, kyaml, name, wide).")
	cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "When using the default or custom-column output format, don't print headers (default print headers).")
	cmd.Flags().StringVar(&o.apiGroup, "api-group", "", "Limit to resources in the specified API group.")
	cmd.Flags().BoolVar(&o.namespaced, "namespaced", true, "If false, non-namespaced resources will be returned, otherwise returning namespaced resources by default.")
	cmd.Flags().StringSliceVar(&o.verbs, "verbs", nil, "Limit to resources that support the specified verbs.")
	cmd.Flags().StringVar(&o.sortBy, "sort-by", "", "If non-empty, sort list of resources using specified field. The field can be either 'name' or 'kind'.")
	cmd.Flags().BoolVar(&o.cached, "cached", false, "Use the cached list of resources if available.")
	cmd.Flags().StringSliceVar(&o.categories, "categories", nil, "Limit to resources that belong to the specified categories.")
	return cmd
}

func (o *options) run(f *util.Factory, groupChanged, nsChanged bool) error {
	dc, err := f.Discovery()
	if err != nil {
		return err
	}
	if !o.cached {
		dc.Invalidate()
	}
	var errs []error
	lists, err := dc.ServerPreferredResources()
	if err != nil {
		errs = append(errs, err)
	}
	var all []metav1.APIResource
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			switch {
			case len(r.Verbs) == 0,
				groupChanged && o.apiGroup != gv.Group,
				nsChanged && o.namespaced != r.Namespaced,
				len(o.verbs) > 0 && !sets.New(r.Verbs...).HasAll(o.verbs...),
				len(o.categories) > 0 && !sets.New(r.Categories...).HasAll(o.categories...):
				continue
			}
			r.Group, r.Version = gv.Group, gv.Version
			all = append(all, r)
		}
	}
	if len(all) == 0 {
		return utilerrors.NewAggregate(errs)
	}
	key := func(r metav1.APIResource) string {
		switch o.sortBy {
		case "name":
			return r.Name
		case "kind":
			return r.Kind
		}
		return r.Group
	}
	sort.SliceStable(all, func(i, j int) bool {
		if c := strings.Compare(key(all[i]), key(all[j])); c != 0 {
			return c < 0
		}
		return all[i].Name < all[j].Name
	})
	w := printers.GetNewTabWriter(f.Out)
	defer w.Flush()
	if err := o.print(all, w); err != nil {
		errs = append(errs, err)
	}
	return utilerrors.NewAggregate(errs)
}

func (o *options) print(all []metav1.APIResource, w io.Writer) error {
	switch o.output {
	case "json", "yaml", "kyaml":
		p, err := genericclioptions.NewJSONYamlPrintFlags().ToPrinter(o.output)
		if err != nil {
			return err
		}
		return p.PrintObj(&metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			APIResources: all,
		}, w)
	case "name":
		for _, r := range all {
			name := r.Name
			if r.Group != "" {
				name += "." + r.Group
			}
			fmt.Fprintf(w, "%s\n", name)
		}
		return nil
	}
	wide := o.output == "wide"
	if !o.noHeaders {
		cols := "NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND"
		if wide {
			cols += "\tVERBS\tCATEGORIES"
		}
		fmt.Fprintln(w, cols)
	}
	for _, r := range all {
		gv := schema.GroupVersion{Group: r.Group, Version: r.Version}.String()
		fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s", r.Name, strings.Join(r.ShortNames, ","), gv, r.Namespaced, r.Kind)
		if wide {
			fmt.Fprintf(w, "\t%v\t%v", strings.Join(r.Verbs, ","), strings.Join(r.Categories, ","))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// NewVersions returns the api-versions command.
func NewVersions(f *util.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "api-versions",
		Short: "Print the supported API versions on the server, in the form of \"group/version\"",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return util.UsageError(cmd, "unexpected arguments: %v", args)
			}
			dc, err := f.Discovery()
			if err != nil {
				return err
			}
			dc.Invalidate()
			groups, err := dc.ServerGroups()
			if err != nil {
				return fmt.Errorf("couldn't get available api versions from server: %v", err)
			}
			versions := metav1.ExtractGroupVersions(groups)
			sort.Strings(versions)
			for _, v := range versions {
				fmt.Fprintln(f.Out, v)
			}
			return nil
		},
	}
}
