// Package create is `kubectl create`: create objects from files (-f, -R,
// stdin), and the generators (create namespace|deployment|service|
// configmap|secret|serviceaccount|job|cronjob|role|rolebinding|
// clusterrole|clusterrolebinding|token) that build one object from flags.
package create

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

type options struct {
	f            *util.Factory
	print        *genericclioptions.PrintFlags
	filenames    resource.FilenameOptions
	selector     string
	saveConfig   bool
	fieldManager string
	raw          string
}

// New returns the create command with its generator subcommands.
func New(f *util.Factory) *cobra.Command {
	o := &options{f: f, print: util.NewPrintFlags("created")}
	cmd := &cobra.Command{
		Use:                   "create -f FILENAME",
		DisableFlagsInUseLine: true,
		Short:                 "Create a resource from a file or from stdin",
		Long: `Create a resource from a file or from stdin.

 JSON and YAML formats are accepted.`,
		Example: `  # Create a pod using the data in pod.json
  kubectl create -f ./pod.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.raw != "" {
				return o.runRaw(cmd, args)
			}
			if len(o.filenames.Filenames) == 0 && o.filenames.Kustomize == "" {
				fmt.Fprint(f.ErrOut, "Error: must specify one of -f and -k\n\n")
				cmd.SetOut(f.ErrOut)
				cmd.Help()
				return util.ErrExit
			}
			if err := util.RequireNoArgs(cmd, args); err != nil {
				return err
			}
			return o.run(cmd)
		},
	}
	flags := cmd.Flags()
	flags.StringSliceVarP(&o.filenames.Filenames, "filename", "f", nil, "Filename, directory, or URL to files to use to create the resource")
	flags.StringVarP(&o.filenames.Kustomize, "kustomize", "k", "", "Process the kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolVarP(&o.filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	util.AddValidateFlag(cmd)
	flags.Bool("edit", false, "Edit the API resource before creating")
	flags.Bool("windows-line-endings", false, "Only relevant if --edit=true. Defaults to the line ending native to your platform.")
	flags.BoolVar(&o.saveConfig, "save-config", false, "If true, the configuration of current object will be saved in its annotation. Otherwise, the annotation will be unchanged. This flag is useful when you want to perform kubectl apply on this object in the future.")
	util.AddDryRunFlag(cmd)
	flags.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	flags.StringVar(&o.raw, "raw", "", "Raw URI to POST to the server.  Uses the transport specified by the kubeconfig file.")
	util.AddFieldManagerFlag(cmd, &o.fieldManager, "kubectl-create")
	o.print.AddFlags(cmd)

	for _, sub := range generators(f) {
		cmd.AddCommand(sub)
	}
	return cmd
}

// runRaw POSTs the one file (or stdin) to the --raw URI and prints the
// response body, after upstream's checks in upstream's order.
func (o *options) runRaw(cmd *cobra.Command, args []string) error {
	if err := util.RequireNoArgs(cmd, args); err != nil {
		return err
	}
	if _, err := util.GetDryRun(cmd); err != nil {
		return err
	}
	if len(o.filenames.Filenames) == 0 && o.filenames.Kustomize == "" {
		return fmt.Errorf("must specify one of -f and -k")
	}
	if edit, _ := cmd.Flags().GetBool("edit"); edit {
		return fmt.Errorf("--raw and --edit are mutually exclusive")
	}
	if err := util.ValidateRawFiles(o.filenames, true); err != nil {
		return err
	}
	if o.selector != "" {
		return fmt.Errorf("--raw and --selector (-l) are mutually exclusive")
	}
	if *o.print.OutputFormat != "" {
		return fmt.Errorf("--raw and --output are mutually exclusive")
	}
	if err := util.ValidateRawURI(o.raw); err != nil {
		return err
	}
	return o.f.RawRequest(cmd.Context(), "POST", o.raw, o.filenames.Filenames[0])
}

func (o *options) run(cmd *cobra.Command) error {
	dryRun, err := util.GetDryRun(cmd)
	if err != nil {
		return err
	}
	validation, err := util.GetValidation(cmd)
	if err != nil {
		return err
	}
	printer, err := util.Printer(o.print, dryRun)
	if err != nil {
		return err
	}
	ns, enforce, err := o.f.Namespace()
	if err != nil {
		return err
	}
	r := o.f.NewBuilder().
		Unstructured().
		ContinueOnError().
		NamespaceParam(ns).DefaultNamespace().
		FilenameParam(enforce, &o.filenames).
		LabelSelectorParam(o.selector).
		Flatten().
		Do()
	if err := r.Err(); err != nil {
		return err
	}
	count := 0
	err = r.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			return err
		}
		if o.saveConfig {
			if _, err := util.SetLastApplied(info.Object); err != nil {
				return util.AddSourceToErr("creating", info.Source, err)
			}
		}
		if dryRun != util.DryRunClient {
			obj, err := util.NewHelper(info, dryRun, o.fieldManager).
				WithFieldValidation(validation).
				Create(info.Namespace, true, info.Object)
			if err != nil {
				return util.AddSourceToErr("creating", info.Source, err)
			}
			info.Refresh(obj, true)
		}
		count++
		return printer.PrintObj(info.Object, o.f.Out)
	})
	if err != nil {
		return err
	}
	if count == 0 {
		return fmt.Errorf("no objects passed to create")
	}
	return nil
}
