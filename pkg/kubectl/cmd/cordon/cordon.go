// Package cordon is `kubectl cordon` and `kubectl uncordon`: mark nodes
// unschedulable or schedulable again. Drain reuses Run.
package cordon

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// Options select the nodes and how to change them.
type Options struct {
	F        *util.Factory
	Selector string
	// DryRun is "none", "client" or "server".
	DryRun string
	Nodes  []*resource.Info
}

// New returns the cordon command.
func New(f *util.Factory) *cobra.Command { return newCmd(f, true) }

// NewUncordon returns the uncordon command.
func NewUncordon(f *util.Factory) *cobra.Command { return newCmd(f, false) }

func newCmd(f *util.Factory, desired bool) *cobra.Command {
	o := &Options{F: f}
	use, short, long, example := "cordon NODE", "Mark node as unschedulable", "Mark node as unschedulable.", `  # Mark node "foo" as unschedulable
  kubectl cordon foo`
	if !desired {
		use, short, long, example = "uncordon NODE", "Mark node as schedulable", "Mark node as schedulable.", `  # Mark node "foo" as schedulable
  kubectl uncordon foo`
	}
	cmd := &cobra.Command{
		Use: use, DisableFlagsInUseLine: true, Short: short, Long: long, Example: example,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			return o.Run(cmd.Context(), desired)
		},
	}
	AddFlags(cmd, o)
	return cmd
}

// AddFlags adds --selector and --dry-run.
func AddFlags(cmd *cobra.Command, o *Options) {
	cmd.Flags().StringVarP(&o.Selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	cmd.Flags().StringVar(&o.DryRun, "dry-run", "none", `Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "unchanged"
}

// Complete checks the arguments and looks the nodes up.
func (o *Options) Complete(cmd *cobra.Command, args []string) error {
	if len(args) == 0 && !cmd.Flags().Changed("selector") {
		return util.UsageError(cmd, "USAGE: %s [flags]", cmd.Use)
	}
	if len(args) > 0 && o.Selector != "" {
		return util.UsageError(cmd, "error: cannot specify both a node name and a --selector option")
	}
	switch o.DryRun {
	case "none", "client", "server":
	case "unchanged":
		o.DryRun = "client"
	default:
		return fmt.Errorf(`Invalid dry-run value (%v). Must be "none", "server", or "client".`, o.DryRun)
	}
	ns, _, err := o.F.Namespace()
	if err != nil {
		return err
	}
	b := o.F.NewBuilder().Unstructured().
		NamespaceParam(ns).DefaultNamespace().
		ResourceNames("nodes", args...).
		SingleResourceType().
		Flatten()
	if o.Selector != "" {
		b = b.LabelSelectorParam(o.Selector).ResourceTypes("nodes")
	}
	r := b.Do()
	if err := r.Err(); err != nil {
		return err
	}
	o.Nodes = nil
	return r.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			return err
		}
		if info.Mapping.Resource.GroupResource() != (schema.GroupResource{Resource: "nodes"}) {
			return fmt.Errorf("error: expected resource of type node, got %q", info.Mapping.Resource)
		}
		o.Nodes = append(o.Nodes, info)
		return nil
	})
}

// Operation is what the name printer says, with the dry-run suffix.
func (o *Options) Operation(op string) string {
	switch o.DryRun {
	case "client":
		return op + " (dry run)"
	case "server":
		return op + " (server dry run)"
	}
	return op
}

// Run sets spec.unschedulable on every node to desired and prints
// "node/<name> cordoned" (or "already cordoned").
func (o *Options) Run(ctx context.Context, desired bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	verb := "cordon"
	if !desired {
		verb = "uncordon"
	}
	dyn, err := o.F.Dynamic()
	if err != nil {
		return err
	}
	for _, info := range o.Nodes {
		u, _ := info.Object.(*unstructured.Unstructured)
		current, _, _ := unstructured.NestedBool(u.Object, "spec", "unschedulable")
		if current == desired {
			op := "already cordoned"
			if !desired {
				op = "already uncordoned"
			}
			(&printers.NamePrinter{Operation: o.Operation(op)}).PrintObj(u, o.F.Out)
			continue
		}
		if o.DryRun != "client" {
			patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, desired)
			if !desired {
				patch = `{"spec":{"unschedulable":null}}`
			}
			opts := metav1.PatchOptions{}
			if o.DryRun == "server" {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			if _, err := dyn.Resource(info.Mapping.Resource).Patch(ctx, u.GetName(), types.StrategicMergePatchType, []byte(patch), opts); err != nil {
				fmt.Fprintf(o.F.ErrOut, "error: unable to %s node %q: %v\n", verb, u.GetName(), err)
				continue
			}
		}
		op := "cordoned"
		if !desired {
			op = "uncordoned"
		}
		(&printers.NamePrinter{Operation: o.Operation(op)}).PrintObj(u, o.F.Out)
	}
	return nil
}
