package describe

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
)

// writer writes indented, tab-separated lines; a level is two spaces.
// Terminal escape sequences in values are escaped, as upstream.
type writer struct {
	out io.Writer
	// indent is added to every level (nested sections).
	indent int
}

func (w *writer) write(level int, format string, a ...any) {
	prefix := strings.Repeat("  ", level+w.indent)
	printers.WriteEscaped(w.out, fmt.Sprintf(prefix+format, a...))
}

// line writes its arguments and a newline, without indentation.
func (w *writer) line(a ...any) {
	if w.indent > 0 {
		w.write(0, "%s", fmt.Sprintln(a...))
		return
	}
	printers.WriteEscaped(w.out, fmt.Sprintln(a...))
}

// tabbed runs fn on a tabwriter aligned as upstream's describers and
// returns what it wrote.
func tabbed(fn func(w *writer) error) (string, error) {
	buf := &bytes.Buffer{}
	tw := tabwriter.NewWriter(buf, 0, 8, 2, ' ', 0)
	if err := fn(&writer{out: tw}); err != nil {
		return "", err
	}
	tw.Flush()
	return buf.String(), nil
}

const lastAppliedAnnotation = corev1.LastAppliedConfigAnnotation

// labelsBlock prints "Title:\tk=v" with one key per line.
func labelsBlock(w *writer, indent, title, inner string, labels map[string]string) {
	w.write(0, "%s%s:%s", indent, title, inner)
	keys := sortedKeys(labels)
	if len(keys) == 0 {
		w.line("<none>")
		return
	}
	for i, k := range keys {
		if i > 0 {
			w.write(0, "%s", indent)
			w.write(0, "%s", inner)
		}
		w.write(0, "%s=%s\n", k, labels[k])
	}
}

// printObjectMeta prints the header most describers start with: name,
// namespace, labels and annotations.
func printObjectMeta(w *writer, obj metav1.Object) {
	w.write(0, "Name:\t%s\n", obj.GetName())
	w.write(0, "Namespace:\t%s\n", obj.GetNamespace())
	printLabels(w, "Labels", obj.GetLabels())
	printAnnotations(w, "Annotations", obj.GetAnnotations())
}

func printLabels(w *writer, title string, labels map[string]string) {
	labelsBlock(w, "", title, "\t", labels)
}

const maxAnnotationLen = 140

// printAnnotations prints annotations sorted, long or multi-line values on
// their own indented lines, the last-applied configuration left out.
func printAnnotations(w *writer, title string, annotations map[string]string) {
	w.write(0, "%s:\t", title)
	var keys []string
	for _, k := range sortedKeys(annotations) {
		if k != lastAppliedAnnotation {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		w.line("<none>")
		return
	}
	for i, k := range keys {
		if i > 0 {
			w.write(0, "\t")
		}
		v := strings.TrimSuffix(annotations[k], "\n")
		if len(v)+len(k)+2 > maxAnnotationLen || strings.Contains(v, "\n") {
			w.write(0, "%s:\n", k)
			for _, s := range strings.Split(v, "\n") {
				if len(s) > maxAnnotationLen-2 {
					s = s[:maxAnnotationLen-2] + "..."
				}
				w.write(0, "\t  %s\n", s)
			}
			continue
		}
		w.write(0, "%s: %s\n", k, v)
	}
}

func printTaints(w *writer, indent, title, inner string, taints []corev1.Taint) {
	w.write(0, "%s%s:%s", indent, title, inner)
	if len(taints) == 0 {
		w.line("<none>")
		return
	}
	sorted := append([]corev1.Taint(nil), taints...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return string(sorted[i].Effect)+","+sorted[i].Key < string(sorted[j].Effect)+","+sorted[j].Key
	})
	for i, t := range sorted {
		if i > 0 {
			w.write(0, "%s", indent)
			w.write(0, "%s", inner)
		}
		w.write(0, "%s\n", t.ToString())
	}
}

func printTolerations(w *writer, indent, title, inner string, tolerations []corev1.Toleration) {
	w.write(0, "%s%s:%s", indent, title, inner)
	if len(tolerations) == 0 {
		w.line("<none>")
		return
	}
	sorted := append([]corev1.Toleration(nil), tolerations...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
	for i, t := range sorted {
		if i > 0 {
			w.write(0, "%s", indent)
			w.write(0, "%s", inner)
		}
		s := t.Key
		if t.Value != "" {
			s += "=" + t.Value
		}
		if t.Effect != "" {
			s += ":" + string(t.Effect)
		}
		if t.Operator == corev1.TolerationOpExists && t.Value == "" {
			if t.Key != "" || t.Effect != "" {
				s += " op=Exists"
			} else {
				s += "op=Exists"
			}
		}
		if t.TolerationSeconds != nil {
			s += fmt.Sprintf(" for %ds", *t.TolerationSeconds)
		}
		w.write(0, "%s\n", s)
	}
}

// printEvents prints the events table, oldest last-seen first.
func printEvents(w *writer, events *corev1.EventList) {
	if events == nil {
		return
	}
	if len(events.Items) == 0 {
		w.write(0, "Events:\t<none>\n")
		return
	}
	// Upstream's flush is a no-op on its tabwriter: the events table
	// aligns with what came before it.
	items := append([]corev1.Event(nil), events.Items...)
	sort.SliceStable(items, func(i, j int) bool {
		return items[i].LastTimestamp.Time.Before(items[j].LastTimestamp.Time)
	})
	w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
	w.write(1, "----\t------\t----\t----\t-------\n")
	for _, e := range items {
		first := microSince(e.EventTime)
		if e.EventTime.IsZero() {
			first = since(e.FirstTimestamp)
		}
		interval := first
		switch {
		case e.Series != nil:
			interval = fmt.Sprintf("%s (x%d over %s)", microSince(e.Series.LastObservedTime), e.Series.Count, first)
		case e.Count > 1:
			interval = fmt.Sprintf("%s (x%d over %s)", since(e.LastTimestamp), e.Count, first)
		}
		source := e.Source.Component
		if source == "" {
			source = e.ReportingController
		}
		msg := strings.TrimSpace(e.Message)
		if e.InvolvedObject.FieldPath != "" {
			msg = e.InvolvedObject.FieldPath + ": " + msg
		}
		w.write(1, "%v\t%v\t%s\t%v\t%v\n", e.Type, e.Reason, interval, source, msg)
	}
}

func since(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t.Time))
}

func microSince(t metav1.MicroTime) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t.Time))
}

func rfc1123(t metav1.Time) string { return t.Time.Format(time.RFC1123Z) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func boolTitle(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// controllerOf is "Kind/name" of the object's controller, or "".
func controllerOf(obj metav1.Object) string {
	if ref := metav1.GetControllerOf(obj); ref != nil {
		return ref.Kind + "/" + ref.Name
	}
	return ""
}

// sortedResourceNames orders resource names alphabetically.
func sortedResourceNames(list corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(list))
	for n := range list {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	return names
}
