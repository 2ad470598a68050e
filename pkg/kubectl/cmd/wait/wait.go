// Package wait is `kubectl wait`: block until resources are created,
// deleted, have a status condition, or a jsonpath value, and print
// "<kind>/<name> condition met" for each.
package wait

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/client-go/util/jsonpath"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// errTimeout is what an expired --timeout reports (upstream's wording).
var errTimeout = errors.New("timed out waiting for the condition")

// condition waits for one --for on one object and returns the object
// to print.
type condition func(ctx context.Context, info *resource.Info) (runtime.Object, error)

type options struct {
	f          *util.Factory
	builder    *genericclioptions.ResourceBuilderFlags
	printFlags *genericclioptions.PrintFlags
	timeout    time.Duration
	forConds   []string
	dyn        dynamic.Interface
}

// New returns the wait command.
func New(f *util.Factory) *cobra.Command {
	o := &options{
		f:          f,
		printFlags: genericclioptions.NewPrintFlags("condition met"),
		builder: genericclioptions.NewResourceBuilderFlags().
			WithLabelSelector("").
			WithFieldSelector("").
			WithAll(false).
			WithAllNamespaces(false).
			WithLocal(false).
			WithLatest(),
		timeout: 30 * time.Second,
	}
	cmd := &cobra.Command{
		Use:   "wait ([-f FILENAME] | resource.group/resource.name | resource.group [(-l label | --all)]) [--for=create|--for=delete|--for condition=available|--for=jsonpath='{}'[=value]]",
		Short: "Wait for a specific condition on one or many resources",
		Long: `Experimental: Wait for a specific condition on one or many resources.

 The command takes multiple resources and waits until the specified condition is seen in the Status field of every given resource.

 Alternatively, the command can wait for the given set of resources to be created or deleted by providing the "create" or "delete" keyword as the value to the --for flag.

 A successful message will be printed to stdout indicating when the specified condition has been met. You can use -o option to change to output destination.`,
		Example: `  # Wait for the pod "busybox1" to contain the status condition of type "Ready"
  kubectl wait --for=condition=Ready pod/busybox1

  # Wait for the pod "busybox1" to contain the status phase to be "Running"
  kubectl wait --for=jsonpath='{.status.phase}'=Running pod/busybox1

  # Wait for the pod "busybox1" to be deleted, with a timeout of 60s, after having issued the "delete" command
  kubectl delete pod/busybox1
  kubectl wait --for=delete pod/busybox1 --timeout=60s`,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args)
		},
	}
	o.printFlags.AddFlags(cmd)
	o.builder.AddFlags(cmd.Flags())
	cmd.Flags().DurationVar(&o.timeout, "timeout", o.timeout, "The length of time to wait before giving up. Zero means check once and don't wait, negative means wait for a week.")
	cmd.Flags().StringArrayVar(&o.forConds, "for", nil, "The condition to wait on: [create|delete|condition=condition-name[=condition-value]|jsonpath='{JSONPath expression}'=[JSONPath value]]. The default condition-value is true. Condition values are compared after Unicode simple case folding, which is a more general form of case-insensitivity. Multiple conditions are supported and AND'ed to each other in a sequential order. If --for=create is passed, it is always waited first.")
	return cmd
}

func (o *options) run(ctx context.Context, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	printer, err := o.printFlags.ToPrinter()
	if err != nil {
		return err
	}
	finder := o.builder.ToBuilder(o.f.Flags, args)
	if o.dyn, err = o.f.Dynamic(); err != nil {
		return err
	}
	conds, err := o.conditions()
	if err != nil {
		return err
	}
	if o.timeout < 0 {
		o.timeout = 168 * time.Hour
	}
	ctx, cancel := watchtools.ContextWithOptionalTimeout(ctx, o.timeout)
	defer cancel()

	if has(o.forConds, "create") {
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, o.timeout, true, func(context.Context) (bool, error) {
			found := false
			err := finder.Do().Visit(func(*resource.Info, error) error {
				found = true
				return nil
			})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			return found, nil
		})
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || wait.Interrupted(err) {
				return errTimeout
			}
			return err
		}
	}

	forDelete := has(o.forConds, "delete")
	visited := 0
	visitor := finder.Do()
	if r, ok := visitor.(*resource.Result); ok && forDelete {
		r.IgnoreErrors(apierrors.IsNotFound)
	}
	err = visitor.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			return err
		}
		visited++
		for _, c := range conds {
			obj, err := c(ctx, info)
			if err != nil {
				return err
			}
			printer.PrintObj(obj, o.f.Out)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if visited == 0 && !forDelete {
		return errors.New("no matching resources found")
	}
	return nil
}

func has(conds []string, want string) bool {
	return slices.ContainsFunc(conds, func(c string) bool { return strings.ToLower(c) == want })
}

// conditions parses every --for.
func (o *options) conditions() ([]condition, error) {
	var out []condition
	for _, c := range o.forConds {
		lower := strings.ToLower(c)
		switch {
		case lower == "delete":
			out = append(out, o.deleted)
		case lower == "create":
			out = append(out, func(_ context.Context, info *resource.Info) (runtime.Object, error) {
				if info.Name == "" || info.Object == nil {
					return nil, errors.New("resource name must be provided")
				}
				return info.Object, nil
			})
		case strings.HasPrefix(c, "condition="):
			name := strings.TrimPrefix(c, "condition=")
			value := "true"
			if i := strings.Index(name, "="); i != -1 {
				name, value = name[:i], name[i+1:]
			}
			out = append(out, o.until(conditionCheck(name, value), "condition", o.f.ErrOut))
		case strings.HasPrefix(c, "jsonpath="):
			check, err := jsonPathCheck(strings.TrimPrefix(c, "jsonpath="))
			if err != nil {
				return nil, err
			}
			out = append(out, o.until(check, "condition", o.f.ErrOut))
		default:
			return nil, fmt.Errorf("unrecognized condition: %q", c)
		}
	}
	if out == nil {
		return nil, fmt.Errorf("unrecognized condition: %q", o.forConds)
	}
	return out, nil
}

// conditionCheck is true when status.conditions has name (any case) with
// status value (any case), observed at the object's generation.
func conditionCheck(name, value string) func(*unstructured.Unstructured) (bool, error) {
	return func(obj *unstructured.Unstructured) (bool, error) {
		conds, found, err := unstructured.NestedSlice(obj.Object, "status", "conditions")
		if err != nil || !found {
			return false, err
		}
		for _, raw := range conds {
			c, ok := raw.(map[string]any)
			if !ok {
				continue
			}
			typ, found, err := unstructured.NestedString(c, "type")
			if !found || err != nil || !strings.EqualFold(typ, name) {
				continue
			}
			status, found, err := unstructured.NestedString(c, "status")
			if !found || err != nil {
				continue
			}
			if gen, found, _ := unstructured.NestedInt64(obj.Object, "metadata", "generation"); found {
				observed, found, _ := unstructured.NestedInt64(c, "observedGeneration")
				if !found {
					observed, found, _ = unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
				}
				if found && observed < gen {
					return false, nil
				}
			}
			return strings.EqualFold(status, value), nil
		}
		return false, nil
	}
}

var fieldPathRE = regexp.MustCompile(`^\{\.?([^{}]+)\}$|^\.?([^{}]+)$`)

// jsonPathCheck parses "{.path}" or "{.path}=value": without a value any
// non-empty result matches.
func jsonPathCheck(input string) (func(*unstructured.Unstructured) (bool, error), error) {
	parts := splitJSONPath(input)
	if len(parts) < 1 || len(parts) > 2 {
		return nil, errors.New("jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3 or --for=jsonpath='{.status.readyReplicas}'")
	}
	expr := parts[0]
	if expr != "" {
		m := fieldPathRE.FindStringSubmatch(expr)
		if m == nil {
			return nil, errors.New("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'")
		}
		field := m[1]
		if field == "" {
			field = m[2]
		}
		expr = "{." + field + "}"
	}
	value, anyValue := "", true
	if len(parts) == 2 {
		value, anyValue = strings.Trim(parts[1], `'"`), false
		if value == "" {
			return nil, errors.New("jsonpath wait has to have a value after equal sign, like --for=jsonpath='{.status.readyReplicas}'=3")
		}
	}
	if expr == "" {
		return nil, errors.New("jsonpath expression cannot be empty")
	}
	j := jsonpath.New("wait").AllowMissingKeys(true)
	if err := j.Parse(expr); err != nil {
		return nil, err
	}
	return func(obj *unstructured.Unstructured) (bool, error) {
		results, err := j.FindResults(obj.UnstructuredContent())
		if err != nil {
			return false, err
		}
		if len(results) == 0 || len(results[0]) == 0 {
			return false, nil
		}
		if len(results) > 1 {
			return false, errors.New("given jsonpath expression matches more than one list")
		}
		if len(results[0]) > 1 {
			return false, errors.New("given jsonpath expression matches more than one value")
		}
		if anyValue {
			return true, nil
		}
		return compare(results[0][0], value)
	}, nil
}

func compare(r reflect.Value, want string) (bool, error) {
	switch r.Interface().(type) {
	case map[string]any, []any:
		return false, errors.New("jsonpath leads to a nested object or list which is not supported")
	}
	return strings.TrimSpace(fmt.Sprintf("%v", r.Interface())) == strings.TrimSpace(want), nil
}

// splitJSONPath splits on "=" but keeps "==" (a filter's comparison).
func splitJSONPath(input string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(input); i++ {
		if input[i] == '=' {
			if i < len(input)-1 && input[i+1] == '=' {
				b.WriteString("==")
				i++
				continue
			}
			out = append(out, b.String())
			b.Reset()
			continue
		}
		b.WriteByte(input[i])
	}
	return append(out, b.String())
}

// listWatch lists and watches the one named object.
func (o *options) listWatch(info *resource.Info) cache.ListerWatcher {
	sel := fields.OneTermEqualSelector("metadata.name", info.Name).String()
	client := o.dyn.Resource(info.Mapping.Resource).Namespace(info.Namespace)
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = sel
			return client.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = sel
			return client.Watch(ctx, opts)
		},
	}
}

func timeoutOn(info *resource.Info) error {
	return fmt.Errorf("%w on %s/%s", errTimeout, info.Mapping.Resource.Resource, info.Name)
}

// until waits for check to hold on the object, or checks once with
// --timeout=0.
func (o *options) until(check func(*unstructured.Unstructured) (bool, error), what string, errOut io.Writer) condition {
	return func(ctx context.Context, info *resource.Info) (runtime.Object, error) {
		if info.Name == "" {
			return nil, errors.New("resource name must be provided")
		}
		if o.timeout == 0 {
			obj, err := o.dyn.Resource(info.Mapping.Resource).Namespace(info.Namespace).Get(ctx, info.Name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			ok, err := check(obj)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("condition not met for %s", info.ObjectName())
			}
			return obj, nil
		}
		pre := func(store cache.Store) (bool, error) {
			_, exists, err := store.Get(&metav1.ObjectMeta{Namespace: info.Namespace, Name: info.Name})
			if err != nil {
				return true, err
			}
			if !exists {
				return true, apierrors.NewNotFound(info.Mapping.Resource.GroupResource(), info.Name)
			}
			return false, nil
		}
		ev, err := watchtools.UntilWithSync(ctx, o.listWatch(info), &unstructured.Unstructured{}, pre, func(e watch.Event) (bool, error) {
			switch e.Type {
			case watch.Error:
				fmt.Fprintf(errOut, "error: An error occurred while waiting for the %s to be satisfied: %v", what, apierrors.FromObject(e.Object))
				return false, nil
			case watch.Deleted:
				return false, nil
			}
			return check(e.Object.(*unstructured.Unstructured))
		})
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || wait.Interrupted(err) {
				return nil, timeoutOn(info)
			}
			return nil, err
		}
		return ev.Object, nil
	}
}

// deleted waits for the object to be gone.
func (o *options) deleted(ctx context.Context, info *resource.Info) (runtime.Object, error) {
	if info.Name == "" {
		return nil, errors.New("resource name must be provided")
	}
	obj, err := o.dyn.Resource(info.Mapping.Resource).Namespace(info.Namespace).Get(ctx, info.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return info.Object, nil
	}
	if err != nil {
		return nil, err
	}
	if o.timeout == 0 {
		return nil, fmt.Errorf("condition not met for %s", info.ObjectName())
	}
	pre := func(store cache.Store) (bool, error) {
		_, exists, err := store.Get(&metav1.ObjectMeta{Namespace: info.Namespace, Name: info.Name})
		if err != nil {
			return true, err
		}
		return !exists, nil
	}
	_, err = watchtools.UntilWithSync(ctx, o.listWatch(info), &unstructured.Unstructured{}, pre, func(e watch.Event) (bool, error) {
		switch e.Type {
		case watch.Error:
			fmt.Fprintf(o.f.ErrOut, "error: An error occurred while waiting for the object to be deleted: %v", apierrors.FromObject(e.Object))
			return false, nil
		case watch.Deleted:
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || wait.Interrupted(err) {
			return nil, timeoutOn(info)
		}
		return nil, err
	}
	return obj, nil
}
