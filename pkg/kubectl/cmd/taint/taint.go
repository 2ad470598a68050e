// Package taint is `kubectl taint`: add, change or remove node taints
// (KEY[=VALUE]:EFFECT to add, KEY[:EFFECT]- to remove).
package taint

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

type options struct {
	f         *util.Factory
	selector  string
	all       bool
	overwrite bool
	dryRun    string
	resources []string
	add       []corev1.Taint
	remove    []corev1.Taint
}

// New returns the taint command.
func New(f *util.Factory) *cobra.Command {
	o := &options{f: f}
	cmd := &cobra.Command{
		Use:                   "taint NODE NAME KEY_1=VAL_1:TAINT_EFFECT_1 ... KEY_N=VAL_N:TAINT_EFFECT_N",
		DisableFlagsInUseLine: true,
		Short:                 "Update the taints on one or more nodes",
		Long: `Update the taints on one or more nodes.

  *  A taint consists of a key, value, and effect. As an argument here, it is expressed as key=value:effect.
  *  The key must begin with a letter or number, and may contain letters, numbers, hyphens, dots, and underscores, up to 253 characters.
  *  Optionally, the key can begin with a DNS subdomain prefix and a single '/', like example.com/my-app.
  *  The value is optional. If given, it must begin with a letter or number, and may contain letters, numbers, hyphens, dots, and underscores, up to 63 characters.
  *  The effect must be NoSchedule, PreferNoSchedule or NoExecute.
  *  Currently taint can only apply to node.`,
		Example: `  # Update node 'foo' with a taint with key 'dedicated' and value 'special-user' and effect 'NoSchedule'
  kubectl taint nodes foo dedicated=special-user:NoSchedule`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(cmd, args); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	fl.BoolVar(&o.overwrite, "overwrite", false, "If true, allow taints to be overwritten, otherwise reject taint updates that overwrite existing taints.")
	fl.BoolVar(&o.all, "all", false, "Select all nodes in the cluster")
	fl.StringVar(&o.dryRun, "dry-run", "none", `Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.`)
	fl.Lookup("dry-run").NoOptDefVal = "unchanged"
	fl.String("field-manager", "kubectl-taint", "Name of the manager used to track field ownership.")
	fl.String("validate", "strict", "Must be one of: strict (or true), warn, ignore (or false).")
	fl.Lookup("validate").NoOptDefVal = "strict"
	return cmd
}

func (o *options) complete(cmd *cobra.Command, args []string) error {
	switch o.dryRun {
	case "none", "client", "server":
	case "unchanged":
		o.dryRun = "client"
	default:
		return fmt.Errorf(`Invalid dry-run value (%v). Must be "none", "server", or "client".`, o.dryRun)
	}
	var taintArgs []string
	met := false
	for _, a := range args {
		isTaint := strings.Contains(a, "=") || strings.Contains(a, ":") || strings.HasSuffix(a, "-")
		switch {
		case isTaint:
			met = true
			taintArgs = append(taintArgs, a)
		case met:
			return fmt.Errorf("all resources must be specified before taint changes: %s", a)
		default:
			o.resources = append(o.resources, a)
		}
	}
	if len(o.resources) < 1 {
		return fmt.Errorf("one or more resources must be specified as <resource> <name>")
	}
	if len(taintArgs) < 1 {
		return fmt.Errorf("at least one taint update is required")
	}
	var err error
	if o.add, o.remove, err = parseTaints(taintArgs); err != nil {
		return util.UsageError(cmd, "%s", err.Error())
	}
	return nil
}

func (o *options) validate() error {
	mapper, err := o.f.RESTMapper()
	if err != nil {
		return err
	}
	typ := strings.ToLower(o.resources[0])
	gvr, err := mapper.ResourceFor(resourceArg(typ))
	if err != nil {
		return err
	}
	gvk, err := mapper.KindFor(gvr)
	if err != nil {
		return err
	}
	if gvk.Kind != "Node" {
		return fmt.Errorf("invalid resource type %s, only node types are supported", typ)
	}
	var conflicts []string
	for _, a := range o.add {
		for _, r := range o.remove {
			if a.Key == r.Key && (r.Effect == "" || a.Effect == r.Effect) {
				conflicts = append(conflicts, fmt.Sprintf("%s=%s", r.Key, r.Effect))
			}
		}
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("can not both modify and remove the following taint(s) in the same command: %s", strings.Join(conflicts, ", "))
	}
	if o.all && o.selector != "" {
		return fmt.Errorf("setting 'all' parameter with a non empty selector is prohibited")
	}
	if !o.all && o.selector == "" && len(o.resources) < 2 {
		return fmt.Errorf("at least one resource name must be specified since 'all' parameter is not set")
	}
	return nil
}

func (o *options) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ns, _, err := o.f.Namespace()
	if err != nil {
		return err
	}
	b := o.f.NewBuilder().Unstructured().ContinueOnError().NamespaceParam(ns).DefaultNamespace()
	if o.selector != "" {
		b = b.LabelSelectorParam(o.selector).ResourceTypes("node")
	}
	if o.all {
		b = b.SelectAllParam(true).ResourceTypes("node").Flatten().Latest()
	}
	if !o.all && o.selector == "" && len(o.resources) >= 2 {
		b = b.ResourceNames("node", o.resources[1:]...)
	}
	r := b.LabelSelectorParam(o.selector).Flatten().Latest().Do()
	if err := r.Err(); err != nil {
		return err
	}
	dyn, err := o.f.Dynamic()
	if err != nil {
		return err
	}
	return r.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			return err
		}
		u := info.Object.(*unstructured.Unstructured)
		node := &corev1.Node{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, node); err != nil {
			return err
		}
		before, err := json.Marshal(node)
		if err != nil {
			return err
		}
		op, err := o.update(node)
		if err != nil {
			return err
		}
		after, err := json.Marshal(node)
		if err != nil {
			return err
		}
		patch, err := strategicpatch.CreateTwoWayMergePatch(before, after, node)
		if err != nil {
			return err
		}
		switch o.dryRun {
		case "client":
			op += " (dry run)"
		case "server":
			op += " (server dry run)"
		}
		printer := &printers.NamePrinter{Operation: op}
		if o.dryRun == "client" {
			return printer.PrintObj(u, o.f.Out)
		}
		opts := metav1.PatchOptions{FieldManager: "kubectl-taint"}
		if o.dryRun == "server" {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		out, err := dyn.Resource(info.Mapping.Resource).Patch(ctx, node.Name, types.StrategicMergePatchType, patch, opts)
		if err != nil {
			return err
		}
		return printer.PrintObj(out, o.f.Out)
	})
}

// update changes node's taints and says how: tainted, untainted or
// modified.
func (o *options) update(node *corev1.Node) (string, error) {
	if !o.overwrite {
		var exists []string
		for _, t := range o.add {
			for _, old := range node.Spec.Taints {
				if t.Key == old.Key && t.Effect == old.Effect {
					exists = append(exists, t.Key)
				}
			}
		}
		if len(exists) > 0 {
			return "", fmt.Errorf("node %s already has %v taint(s) with same effect(s) and --overwrite is false", node.Name, strings.Join(exists, ","))
		}
	}
	taints := append([]corev1.Taint{}, o.add...)
	for _, old := range node.Spec.Taints {
		found := false
		for _, t := range taints {
			if t.MatchTaint(&old) {
				found = true
				break
			}
		}
		if !found {
			taints = append(taints, old)
		}
	}
	added := len(node.Spec.Taints) != len(taints)
	var errs []error
	removed := false
	for _, rm := range o.remove {
		kept := []corev1.Taint{}
		for _, t := range taints {
			if (rm.Effect != "" && rm.MatchTaint(&t)) || (rm.Effect == "" && rm.Key == t.Key) {
				continue
			}
			kept = append(kept, t)
		}
		removed = len(kept) != len(taints)
		taints = kept
		if !removed {
			errs = append(errs, fmt.Errorf("taint %q not found", rm.ToString()))
		}
	}
	if err := utilerrors.NewAggregate(errs); err != nil {
		return "", err
	}
	node.Spec.Taints = taints
	switch {
	case (added && removed) || o.overwrite:
		return "modified", nil
	case added:
		return "tainted", nil
	}
	return "untainted", nil
}

func parseTaints(specs []string) (add, remove []corev1.Taint, err error) {
	seen := map[corev1.TaintEffect]map[string]bool{}
	for _, spec := range specs {
		if s, ok := strings.CutSuffix(spec, "-"); ok {
			t, err := parseTaint(s)
			if err != nil {
				return nil, nil, err
			}
			remove = append(remove, corev1.Taint{Key: t.Key, Effect: t.Effect})
			continue
		}
		t, err := parseTaint(spec)
		if err != nil {
			return nil, nil, err
		}
		if t.Effect == "" {
			return nil, nil, fmt.Errorf("invalid taint spec: %v", spec)
		}
		if seen[t.Effect][t.Key] {
			return nil, nil, fmt.Errorf("duplicated taints with the same key and effect: %v", t)
		}
		if seen[t.Effect] == nil {
			seen[t.Effect] = map[string]bool{}
		}
		seen[t.Effect][t.Key] = true
		add = append(add, t)
	}
	return add, remove, nil
}

func parseTaint(s string) (corev1.Taint, error) {
	var t corev1.Taint
	parts := strings.Split(s, ":")
	switch len(parts) {
	case 1:
		t.Key = parts[0]
	case 2:
		t.Effect = corev1.TaintEffect(parts[1])
		switch t.Effect {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return t, fmt.Errorf("invalid taint effect: %v, unsupported taint effect", t.Effect)
		}
		kv := strings.Split(parts[0], "=")
		if len(kv) > 2 {
			return t, fmt.Errorf("invalid taint spec: %v", s)
		}
		t.Key = kv[0]
		if len(kv) == 2 {
			t.Value = kv[1]
			if errs := validation.IsValidLabelValue(t.Value); len(errs) > 0 {
				return t, fmt.Errorf("invalid taint spec: %v, %s", s, strings.Join(errs, "; "))
			}
		}
	default:
		return t, fmt.Errorf("invalid taint spec: %v", s)
	}
	if errs := validation.IsQualifiedName(t.Key); len(errs) > 0 {
		return t, fmt.Errorf("invalid taint spec: %v, %s", s, strings.Join(errs, "; "))
	}
	return t, nil
}

// resourceArg parses "nodes", "node", "no" or "nodes.v1." into a partial
// resource for the mapper.
func resourceArg(s string) schema.GroupVersionResource {
	if gvr, gr := schema.ParseResourceArg(s); gvr != nil {
		return *gvr
	} else {
		return gr.WithVersion("")
	}
}
