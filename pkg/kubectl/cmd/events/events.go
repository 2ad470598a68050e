// Package events is `kubectl events`: the events of a namespace (or all,
// or of one object), oldest first, as a table or any -o format, and with
// -w the ones that follow.
package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes/scheme"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

type options struct {
	f             *util.Factory
	printFlags    *genericclioptions.PrintFlags
	allNamespaces bool
	watch         bool
	noHeaders     bool
	forObject     string
	types         []string
	chunkSize     int64
}

// New returns the events command.
func New(f *util.Factory) *cobra.Command {
	o := &options{f: f, printFlags: genericclioptions.NewPrintFlags("events").WithTypeSetter(scheme.Scheme), chunkSize: 500}
	cmd := &cobra.Command{
		Use:                   fmt.Sprintf("events [(-o|--output=)%s] [--for TYPE/NAME] [--watch] [--types=Normal,Warning]", strings.Join(o.printFlags.AllowedFormats(), "|")),
		DisableFlagsInUseLine: true,
		Short:                 "List events",
		Long: `Display events.

 Prints a table of the most important information about events. You can request events for a namespace, for all namespace, or filtered to only those pertaining to a specified resource.`,
		Example: `  # List recent events in the default namespace
  kubectl events

  # List recent events in all namespaces
  kubectl events --all-namespaces

  # List recent events for the specified pod, then wait for more events and list them as they arrive
  kubectl events --for pod/web-pod-13je7 --watch

  # List recent events in YAML format
  kubectl events -oyaml

  # List recent only events of type 'Warning' or 'Normal'
  kubectl events --types=Warning,Normal`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.watch, "watch", "w", false, "After listing the requested events, watch for more events.")
	fl.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	fl.StringVar(&o.forObject, "for", "", "Filter events to only those pertaining to the specified resource.")
	fl.StringSliceVar(&o.types, "types", nil, "Output only events of given types.")
	fl.BoolVar(&o.noHeaders, "no-headers", false, "When using the default output format, don't print headers.")
	fl.Int64Var(&o.chunkSize, "chunk-size", 500, "Return large lists in chunks rather than all at once. Pass 0 to disable.")
	o.printFlags.AddFlags(cmd)
	return cmd
}

func (o *options) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ns, _, err := o.f.Namespace()
	if err != nil {
		return err
	}
	var forGVK schema.GroupVersionKind
	var forName string
	if o.forObject != "" {
		var found bool
		forGVK, forName, found, err = o.decodeTypeName(o.forObject)
		if err != nil {
			return err
		}
		if !found {
			return errors.New("--for must be in resource/name form")
		}
	}
	cs, err := o.f.Clientset()
	if err != nil {
		return err
	}
	if len(o.types) > 0 {
		o.types = sets.List(sets.New(o.types...))
	}
	var printer printers.ResourcePrinter
	if o.printFlags.OutputFormat != nil && *o.printFlags.OutputFormat != "" {
		if printer, err = o.printFlags.ToPrinter(); err != nil {
			return err
		}
	} else {
		printer = &tablePrinter{noHeaders: o.noHeaders, allNamespaces: o.allNamespaces}
	}
	for _, t := range o.types {
		if !strings.EqualFold(t, "Normal") && !strings.EqualFold(t, "Warning") {
			return errors.New("valid --types are Normal or Warning")
		}
	}

	if o.allNamespaces {
		ns = ""
	}
	// Upstream lists in chunks of its default size whatever --chunk-size says.
	listOpts := metav1.ListOptions{Limit: 500}
	if forName != "" {
		listOpts.FieldSelector = fields.AndSelectors(
			fields.OneTermEqualSelector("involvedObject.kind", forGVK.Kind),
			fields.OneTermEqualSelector("involvedObject.apiVersion", forGVK.GroupVersion().String()),
			fields.OneTermEqualSelector("involvedObject.name", forName)).String()
	}
	if o.watch {
		w, err := cs.CoreV1().Events(ns).Watch(ctx, listOpts)
		if err != nil {
			return err
		}
		tw := printers.GetNewTabWriter(o.f.Out)
		watchtools.UntilWithoutRetry(ctx, w, func(e watch.Event) (bool, error) {
			if e.Type == watch.Deleted {
				return false, nil
			}
			ev, ok := e.Object.(*corev1.Event)
			if !ok || !o.wanted(ev.Type) {
				return false, nil
			}
			if ev.GetObjectKind().GroupVersionKind().Empty() {
				ev.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Event"))
			}
			printer.PrintObj(ev, tw)
			tw.Flush()
			return false, nil
		})
		return nil
	}

	list := &corev1.EventList{TypeMeta: metav1.TypeMeta{Kind: "EventList", APIVersion: "v1"}}
	var items []corev1.Event
	for {
		page, err := cs.CoreV1().Events(ns).List(ctx, listOpts)
		if err != nil {
			return err
		}
		items = append(items, page.Items...)
		if page.Continue == "" {
			break
		}
		listOpts.Continue = page.Continue
	}
	for _, e := range items {
		if !o.wanted(e.Type) {
			continue
		}
		if e.GetObjectKind().GroupVersionKind().Empty() {
			e.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Event"))
		}
		list.Items = append(list.Items, e)
	}
	if len(list.Items) == 0 {
		if o.allNamespaces {
			fmt.Fprintln(o.f.ErrOut, "No events found.")
		} else {
			fmt.Fprintf(o.f.ErrOut, "No events found in %s namespace.\n", ns)
		}
		return nil
	}
	tw := printers.GetNewTabWriter(o.f.Out)
	sort.Sort(byTime(list.Items))
	printer.PrintObj(list, tw)
	return tw.Flush()
}

func (o *options) wanted(typ string) bool {
	if len(o.types) == 0 {
		return true
	}
	for _, t := range o.types {
		if strings.EqualFold(t, typ) {
			return true
		}
	}
	return false
}

// decodeTypeName resolves "type/name" (type may be a short name or
// resource.version.group) to a kind.
func (o *options) decodeTypeName(s string) (gvk schema.GroupVersionKind, name string, found bool, err error) {
	if !strings.Contains(s, "/") {
		return
	}
	seg := strings.Split(s, "/")
	if len(seg) != 2 {
		err = errors.New("arguments in resource/name form may not have more than one slash")
		return
	}
	mapper, err := o.f.RESTMapper()
	if err != nil {
		return
	}
	res, name := seg[0], seg[1]
	full, gr := schema.ParseResourceArg(strings.ToLower(res))
	gvr := schema.GroupVersionResource{}
	if full != nil {
		gvr, _ = mapper.ResourceFor(*full)
	}
	if gvr.Empty() {
		if gvr, err = mapper.ResourceFor(gr.WithVersion("")); err != nil {
			return
		}
	}
	if gvk, err = mapper.KindFor(gvr); err != nil {
		return
	}
	return gvk, name, true, nil
}

// byTime orders events by when they last happened.
type byTime []corev1.Event

func (l byTime) Len() int           { return len(l) }
func (l byTime) Swap(i, j int)      { l[i], l[j] = l[j], l[i] }
func (l byTime) Less(i, j int) bool { return eventTime(l[i]).Before(eventTime(l[j])) }

func eventTime(e corev1.Event) time.Time {
	if e.Series != nil {
		return e.Series.LastObservedTime.Time
	}
	if !e.LastTimestamp.Time.IsZero() {
		return e.LastTimestamp.Time
	}
	return e.EventTime.Time
}

// tablePrinter prints LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (with
// NAMESPACE first for -A), headers once.
type tablePrinter struct {
	noHeaders, allNamespaces, headersPrinted bool
}

func (p *tablePrinter) PrintObj(obj runtime.Object, w io.Writer) error {
	if !p.noHeaders && !p.headersPrinted {
		if p.allNamespaces {
			fmt.Fprintf(w, "NAMESPACE\t")
		}
		fmt.Fprintf(w, "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE\n")
		p.headersPrinted = true
	}
	switch t := obj.(type) {
	case *corev1.EventList:
		for _, e := range t.Items {
			p.printOne(w, e)
		}
	case *corev1.Event:
		p.printOne(w, *t)
	default:
		return fmt.Errorf("unknown event type %t", t)
	}
	return nil
}

func (p *tablePrinter) printOne(w io.Writer, e corev1.Event) {
	if p.allNamespaces {
		fmt.Fprintf(w, "%v\t", e.Namespace)
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s/%s\t%v\n", interval(e),
		printers.EscapeTerminal(e.Type), printers.EscapeTerminal(e.Reason),
		printers.EscapeTerminal(e.InvolvedObject.Kind), printers.EscapeTerminal(e.InvolvedObject.Name),
		printers.EscapeTerminal(strings.TrimSpace(e.Message)))
}

func interval(e corev1.Event) string {
	first := since(e.EventTime.Time)
	if e.EventTime.IsZero() {
		first = since(e.FirstTimestamp.Time)
	}
	switch {
	case e.Series != nil:
		return fmt.Sprintf("%s (x%d over %s)", since(e.Series.LastObservedTime.Time), e.Series.Count, first)
	case e.Count > 1:
		return fmt.Sprintf("%s (x%d over %s)", since(e.LastTimestamp.Time), e.Count, first)
	}
	return first
}

func since(t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t))
}
