// Package annotate is `kubectl annotate`: add, change or remove
// annotations of objects.
package annotate

import (
	"github.com/spf13/cobra"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the annotate command.
func New(f *util.Factory) *cobra.Command {
	o := &util.MetadataMapEdit{F: f, Print: util.NewPrintFlags("annotated")}
	cmd := &cobra.Command{
		Use:                   "annotate [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version]",
		DisableFlagsInUseLine: true,
		Short:                 "Update the annotations on a resource",
		Long: `Update the annotations on one or more resources.

 All Kubernetes objects support the ability to store additional data with the object as annotations. Annotations are key/value pairs that can be larger than labels and include arbitrary string values such as structured JSON. Tools and system extensions may use annotations to store their own data.

 Attempting to set an annotation that already exists will fail unless --overwrite is set. If --resource-version is specified and does not match the current resource version on the server the command will fail.`,
		Example: `  # Update pod 'foo' with the annotation 'description' and the value 'my frontend'
  kubectl annotate pods foo description='my frontend'`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.Run(cmd, args) },
	}
	o.AddFlags(cmd, "kubectl-annotate")
	return cmd
}
