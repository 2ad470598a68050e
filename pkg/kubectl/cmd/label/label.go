// Package label is `kubectl label`: add, change or remove labels of
// objects.
package label

import (
	"github.com/spf13/cobra"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the label command.
func New(f *util.Factory) *cobra.Command {
	o := &util.MetadataMapEdit{F: f, Labels: true, Print: util.NewPrintFlags("")}
	cmd := &cobra.Command{
		Use:                   "label [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version]",
		DisableFlagsInUseLine: true,
		Short:                 "Update the labels on a resource",
		Long: `Update the labels on a resource.

  *  A label key and value must begin with a letter or number, and may contain letters, numbers, hyphens, dots, and underscores, up to 63 characters each.
  *  Optionally, the key can begin with a DNS subdomain prefix and a single '/', like example.com/my-app.
  *  If --overwrite is true, then existing labels can be overwritten, otherwise attempting to overwrite a label will result in an error.
  *  If --resource-version is specified, then updates will use this resource version, otherwise the existing resource-version will be used.`,
		Example: `  # Update pod 'foo' with the label 'unhealthy' and the value 'true'
  kubectl label pods foo unhealthy=true`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.Run(cmd, args) },
	}
	o.AddFlags(cmd, "kubectl-label")
	return cmd
}
