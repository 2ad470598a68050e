package describe

import (
	"context"
	"slices"
	"sort"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// describeGeneric prints any object from its unstructured content: the
// metadata first, then every other field with a readable label.
func describeGeneric(ctx context.Context, cs kubernetes.Interface, dyn dynamic.Interface, mapping *meta.RESTMapping, ns, name string, s settings) (string, error) {
	obj, err := dyn.Resource(mapping.Resource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	events := searchEventsOrNil(ctx, cs, s, obj.GetNamespace(), obj.GetName(), obj.GetKind(), string(obj.GetUID()))
	return tabbed(func(w *writer) error {
		printObjectMeta(w, obj)
		printContent(w, 0, obj.UnstructuredContent(), "", ".metadata.managedFields", ".metadata.name",
			".metadata.namespace", ".metadata.labels", ".metadata.annotations")
		printEvents(w, events)
		return nil
	})
}

func printContent(w *writer, level int, content map[string]any, prefix string, skip ...string) {
	fields := make([]string, 0, len(content))
	for f := range content {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		path := prefix + "." + f
		if slices.Contains(skip, path) {
			continue
		}
		switch v := content[f].(type) {
		case map[string]any:
			w.write(level, "%s:\n", smartLabel(f))
			printContent(w, level+1, v, path, skip...)
		case []any:
			w.write(level, "%s:\n", smartLabel(f))
			for _, child := range v {
				if m, ok := child.(map[string]any); ok {
					printContent(w, level+1, m, path, skip...)
				} else {
					w.write(level+1, "%v\n", child)
				}
			}
		default:
			w.write(level, "%s:\t%v\n", smartLabel(f), v)
		}
	}
}

// smartLabel turns a field name into a label: "creationTimestamp" is
// "Creation Timestamp", "apiVersion" is "API Version"; a name with
// characters other than letters and '-' stays as it is.
func smartLabel(field string) string {
	if strings.IndexFunc(field, func(r rune) bool { return !unicode.IsLetter(r) && r != '-' }) != -1 {
		return field
	}
	parts := camelSplit(field)
	var merged []string
	for i := 0; i < len(parts); i++ {
		p := parts[i]
		if i < len(parts)-1 && len(p) >= 2 && allUpper(p) {
			next := parts[i+1]
			if next != "" && unicode.IsUpper(rune(next[0])) {
				merged = append(merged, p+next)
				i++
				continue
			}
		}
		merged = append(merged, p)
	}
	out := make([]string, 0, len(merged))
	for _, p := range merged {
		if p == "_" {
			continue
		}
		switch {
		case slices.Contains([]string{"API", "URL", "UID", "GUID"}, strings.ToUpper(p)):
			p = strings.ToUpper(p)
		case strings.ToLower(p) == p:
			p = titleWord(p)
		}
		out = append(out, p)
	}
	return strings.Join(out, " ")
}

func allUpper(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) && !unicode.IsUpper(r) {
			return false
		}
	}
	return true
}

func titleWord(s string) string {
	rs := []rune(s)
	upper := true
	for i, r := range rs {
		if upper && unicode.IsLetter(r) {
			rs[i] = unicode.ToUpper(r)
			upper = false
		} else if !unicode.IsLetter(r) && r != '\'' {
			upper = true
		}
	}
	return string(rs)
}

// camelSplit splits at changes between lower case, upper case, digits and
// anything else; an upper-case run followed by lower case gives its last
// letter to the next word ("HTTPServer" is "HTTP", "Server").
func camelSplit(s string) []string {
	class := func(r rune) int {
		switch {
		case unicode.IsLower(r):
			return 1
		case unicode.IsUpper(r):
			return 2
		case unicode.IsDigit(r):
			return 3
		}
		return 4
	}
	var runs [][]rune
	last := 0
	for _, r := range s {
		c := class(r)
		if c == last && len(runs) > 0 {
			runs[len(runs)-1] = append(runs[len(runs)-1], r)
		} else {
			runs = append(runs, []rune{r})
		}
		last = c
	}
	for i := 0; i < len(runs)-1; i++ {
		if class(runs[i][0]) == 2 && class(runs[i+1][0]) == 1 {
			runs[i+1] = append([]rune{runs[i][len(runs[i])-1]}, runs[i+1]...)
			runs[i] = runs[i][:len(runs[i])-1]
		}
	}
	out := make([]string, 0, len(runs))
	for _, r := range runs {
		if len(r) > 0 {
			out = append(out, string(r))
		}
	}
	return out
}
