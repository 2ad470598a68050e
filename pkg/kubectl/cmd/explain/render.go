package explain

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// explainError is a message for the person (already starting with
// "error: "), printed as is.
type explainError string

func (e explainError) Error() string { return string(e) }

// obj is a JSON object of the OpenAPI document.
type obj = map[string]any

// renderer prints one group version's OpenAPI v3 document the way
// upstream kubectl's plaintext explain template does. The walk mirrors
// that template step by step (which schema wins, where blank lines fall,
// how cycles stop), because people and scripts compare the text.
type renderer struct {
	doc       obj
	recursive bool
	maxDepth  int
}

// render writes the explanation of fieldPath within the resource gvr to
// w. What was printed before an error (the GROUP/KIND/VERSION header) is
// written too, as upstream's streaming template leaves it on stdout.
func (r *renderer) render(w *bytes.Buffer, gvr schema.GroupVersionResource, fieldPath []string) error {
	gvk := r.findGVK(gvr)
	if !truthy(gvk) {
		return explainError(fmt.Sprintf("error: GVR (%v) not found in OpenAPI schema", gvr.String()))
	}
	if g, _ := gvk["group"].(string); truthy(gvk["group"]) {
		fmt.Fprintf(w, "GROUP:      %v\n", g)
	}
	fmt.Fprintf(w, "KIND:       %v\n", printable(gvk["kind"]))
	fmt.Fprintf(w, "VERSION:    %v\n", printable(gvk["version"]))
	w.WriteString("\n")

	out, found, err := r.kindSchema(gvk, fieldPath)
	if err != nil {
		return err
	}
	if !found {
		return explainError(fmt.Sprintf("error: GVK %v not found in OpenAPI schema", gvk))
	}
	w.WriteString(out)
	w.WriteString("\n")
	return nil
}

// findGVK reads the kind from the operations on the resource's paths
// (cluster-scoped and namespaced, collection and item), as upstream: for
// each path that exists, the first of get, post, put, patch and delete
// that is there decides (a later path overrides an earlier one).
func (r *renderer) findGVK(gvr schema.GroupVersionResource) obj {
	prefix := "/apis/" + gvr.Group
	if gvr.Group == "" {
		prefix = "/api"
	}
	base := prefix + "/" + gvr.Version
	candidates := []string{
		base + "/" + gvr.Resource,
		base + "/" + gvr.Resource + "/{name}",
		base + "/namespaces/{namespace}/" + gvr.Resource,
		base + "/namespaces/{namespace}/" + gvr.Resource + "/{name}",
	}
	paths, _ := r.doc["paths"].(obj)
	var gvk any
	for _, p := range candidates {
		item, _ := paths[p].(obj)
		if !truthy(item) {
			continue
		}
		for _, method := range []string{"get", "post", "put", "patch", "delete"} {
			op, _ := item[method].(obj)
			if !truthy(op) {
				continue
			}
			gvk = op["x-kubernetes-group-version-kind"]
			if truthy(gvk) {
				break
			}
		}
	}
	m, _ := gvk.(obj)
	return m
}

// kindSchema explains fieldPath in the first component schema (by name)
// that declares gvk; found is false when no schema does.
func (r *renderer) kindSchema(gvk obj, fieldPath []string) (string, bool, error) {
	schemas, _ := nested(r.doc, "components", "schemas").(obj)
	for _, name := range sortedKeys(schemas) {
		s, _ := schemas[name].(obj)
		if !containsValue(s["x-kubernetes-group-version-kind"], gvk) {
			continue
		}
		var b strings.Builder
		if err := r.output(&b, s, nil, fieldPath); err != nil {
			return "", true, err
		}
		if b.Len() == 0 {
			return "", true, explainError(fmt.Sprintf("error: field %q does not exist", fieldPath[len(fieldPath)-1]))
		}
		return b.String(), true, nil
	}
	return "", false, nil
}

// output follows fieldPath down from s (through properties, array items,
// map values and allOf alternatives) and prints the schema it ends at:
// its description and its fields. It prints nothing when the path does
// not exist. history holds the refs seen since the last property step.
func (r *renderer) output(b *strings.Builder, s obj, history map[string]bool, fieldPath []string) error {
	ref, _ := s["$ref"].(string)
	next := withRef(history, ref)
	resolved := r.resolveOr(ref, s)
	props, _ := resolved["properties"].(obj)
	switch {
	case len(fieldPath) == 0:
		b.WriteString("DESCRIPTION:\n")
		desc := r.description(resolved)
		if desc == "" {
			desc = "<empty>"
		}
		b.WriteString(indent(4, wordWrap(desc, 76)))
		b.WriteString("\n")
		if docs := externalDocs(resolved); docs != "" {
			b.WriteString("\n")
			b.WriteString(docs)
		}
		var fields strings.Builder
		if err := r.fieldList(&fields, resolved, 1, nil); err != nil {
			return err
		}
		if fields.Len() > 0 {
			b.WriteString("FIELDS:\n")
			b.WriteString(fields.String())
		}
	case ref != "" && history[ref]:
		// A cycle: stop.
	case truthy(props) && truthy(props[fieldPath[0]]):
		sub, _ := props[fieldPath[0]].(obj)
		if len(fieldPath) == 1 {
			t, err := r.typeGuess(sub)
			if err != nil {
				return err
			}
			fmt.Fprintf(b, "FIELD: %s <%s>\n", fieldPath[0], t)
			b.WriteString(enumText(sub, true, -1, 0))
			b.WriteString("\n\n")
		}
		return r.output(b, sub, map[string]bool{}, fieldPath[1:])
	case truthy(resolved["items"]):
		items, _ := resolved["items"].(obj)
		return r.output(b, items, next, fieldPath)
	case isSchema(resolved["additionalProperties"]):
		return r.output(b, resolved["additionalProperties"].(obj), next, fieldPath)
	default:
		for _, alt := range list(resolved["allOf"]) {
			altSchema, _ := alt.(obj)
			var ab strings.Builder
			if err := r.output(&ab, altSchema, next, fieldPath); err != nil {
				return err
			}
			if ab.Len() > 0 {
				b.WriteString(ab.String())
				break
			}
		}
	}
	return nil
}

// fieldList prints the fields of s at indentation level (two spaces a
// level): with a description each, or, when recursive, one line each
// followed by the fields' own fields. Refs already on the way down are not
// entered again.
func (r *renderer) fieldList(b *strings.Builder, s obj, level int, history map[string]bool) error {
	ref, _ := s["$ref"].(string)
	if ref != "" && history[ref] {
		return nil
	}
	next := withRef(history, ref)
	resolved := r.resolveOr(ref, s)
	props, _ := resolved["properties"].(obj)
	for _, name := range sortedKeys(props) {
		if err := r.fieldDetail(b, resolved, name, level); err != nil {
			return err
		}
		if r.recursive && (r.maxDepth == 0 || level < r.maxDepth) {
			sub, _ := props[name].(obj)
			if err := r.fieldList(b, sub, level+1, next); err != nil {
				return err
			}
		}
	}
	for _, alt := range list(resolved["allOf"]) {
		altSchema, _ := alt.(obj)
		if err := r.fieldList(b, altSchema, level, next); err != nil {
			return err
		}
	}
	if items, ok := resolved["items"].(obj); ok && truthy(items) {
		if err := r.fieldList(b, items, level, next); err != nil {
			return err
		}
	}
	if isSchema(resolved["additionalProperties"]) {
		if err := r.fieldList(b, resolved["additionalProperties"].(obj), level, next); err != nil {
			return err
		}
	}
	return nil
}

// fieldDetail prints the field name of parent: "name\t<type>", a
// -required- mark, enum values, and unless recursive its description and
// external docs.
func (r *renderer) fieldDetail(b *strings.Builder, parent obj, name string, level int) error {
	pad := level * 2
	field, _ := nested(parent, "properties", name).(obj)
	t, err := r.typeGuess(field)
	if err != nil {
		return err
	}
	b.WriteString(indent(pad, name))
	fmt.Fprintf(b, "\t<%s>", t)
	if containsValue(parent["required"], name) {
		b.WriteString(" -required-")
	}
	b.WriteString(enumText(field, false, 4, pad))
	b.WriteString("\n")
	if r.recursive {
		return nil
	}
	desc, _ := field["description"].(string)
	if !truthy(field["description"]) {
		desc = "<no description>"
	}
	b.WriteString(indent(pad+2, wordWrap(desc, 78-pad)))
	b.WriteString("\n")
	if docs, ok := field["externalDocs"].(obj); ok && truthy(docs) {
		b.WriteString("\n")
		b.WriteString(indent(pad+2, "EXTERNAL DOCS:"))
		b.WriteString("\n")
		if d, _ := docs["description"].(string); d != "" {
			b.WriteString(indent(pad+4, wordWrap(d, 76-pad)))
			b.WriteString("\n")
		}
		if u := docs["url"]; truthy(u) {
			b.WriteString(indent(pad+4, fmt.Sprint("URL: ", u)))
			b.WriteString("\n")
		}
	}
	b.WriteString("\n")
	return nil
}

// description is the description of s and of the schemas it is made of
// (allOf alternatives, array items, map values), one per line.
func (r *renderer) description(s obj) string {
	ref, _ := s["$ref"].(string)
	resolved := r.resolveOr(ref, s)
	if !truthy(resolved) {
		return ""
	}
	var b strings.Builder
	if truthy(resolved["description"]) {
		fmt.Fprint(&b, resolved["description"])
		b.WriteString("\n")
	}
	for _, alt := range list(resolved["allOf"]) {
		altSchema, _ := alt.(obj)
		b.WriteString(r.description(altSchema))
	}
	if items, ok := resolved["items"].(obj); ok && truthy(items) {
		b.WriteString(r.description(items))
	}
	if isSchema(resolved["additionalProperties"]) {
		b.WriteString(r.description(resolved["additionalProperties"].(obj)))
	}
	return b.String()
}

// externalDocs is the EXTERNAL DOCS section of s, or "".
func externalDocs(s obj) string {
	docs, ok := s["externalDocs"].(obj)
	if !ok || !truthy(docs) {
		return ""
	}
	var b strings.Builder
	b.WriteString("EXTERNAL DOCS:\n")
	if d, _ := docs["description"].(string); d != "" {
		b.WriteString(indent(4, wordWrap(d, 76)))
		b.WriteString("\n")
	}
	if u := docs["url"]; truthy(u) {
		b.WriteString(indent(4, fmt.Sprint("URL: ", u)))
		b.WriteString("\n")
	}
	return b.String()
}

// typeGuess is the short type people read: string, integer, Object,
// []Container, map[string]string, or the name of the referenced kind.
func (r *renderer) typeGuess(s obj) (string, error) {
	if !truthy(s) {
		return "", fmt.Errorf("expected schema argument to subtemplate 'typeguess'")
	}
	if items, ok := s["items"].(obj); ok && truthy(items) {
		t, err := r.typeGuess(items)
		return "[]" + t, err
	}
	if isSchema(s["additionalProperties"]) {
		t, err := r.typeGuess(s["additionalProperties"].(obj))
		return "map[string]" + t, err
	}
	if allOf := list(s["allOf"]); len(allOf) == 1 && !truthy(s["properties"]) {
		first, _ := allOf[0].(obj)
		return r.typeGuess(first)
	}
	if ref, _ := s["$ref"].(string); ref != "" {
		target := r.resolve(ref)
		t, _ := target["type"].(string)
		if !truthy(target) || t == "" || t == "object" {
			name := ref[strings.LastIndex(ref, "/")+1:]
			if short := name[strings.LastIndex(name, ".")+1:]; short != "" {
				return short, nil
			}
			return "Object", nil
		}
		return t, nil
	}
	switch t, _ := s["type"].(string); t {
	case "object", "":
		return "Object", nil
	default:
		return t, nil
	}
}

// enumText lists the enum values of s: in the long view (one field
// explained) "ENUM:" and a value a line; in a field list "enum: a, b"
// on its own line, cut after limit values. Empty when s has no enum.
func enumText(s obj, long bool, limit, pad int) string {
	values := list(s["enum"])
	if len(values) == 0 {
		return ""
	}
	if limit == 0 {
		limit = -1
	}
	var b strings.Builder
	if long {
		b.WriteString("ENUM:")
	} else {
		b.WriteString("\n" + strings.Repeat(" ", pad) + "enum: ")
	}
	for i, v := range values {
		if limit > -1 && i >= limit {
			b.WriteString(", ....")
			break
		}
		switch {
		case long:
			b.WriteString("\n    ")
		case i > 0:
			b.WriteString(", ")
		}
		if v == "" {
			b.WriteString(`""`)
		} else {
			fmt.Fprint(&b, printable(v))
		}
	}
	return b.String()
}

// resolveOr is the schema ref points to, or s when ref is empty or does
// not resolve.
func (r *renderer) resolveOr(ref string, s obj) obj {
	if t := r.resolve(ref); truthy(t) {
		return t
	}
	return s
}

// resolve follows a local ref ("#/components/schemas/io.k8s.api.core.v1.Pod")
// within the document; anything else resolves to nil.
func (r *renderer) resolve(ref string) obj {
	fragment, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	cur := r.doc
	for _, part := range strings.Split(fragment, "/") {
		if part == "" {
			continue
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		next, ok := cur[part].(obj)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

// withRef is history plus ref (a copy).
func withRef(history map[string]bool, ref string) map[string]bool {
	next := make(map[string]bool, len(history)+1)
	for k, v := range history {
		next[k] = v
	}
	next[ref] = true
	return next
}

// isSchema reports whether an additionalProperties value is a schema
// (not the boolean form, not empty).
func isSchema(v any) bool {
	m, ok := v.(obj)
	return ok && len(m) > 0
}

// truthy is Go template truth: non-zero, non-empty.
func truthy(v any) bool {
	if v == nil {
		return false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.String:
		return rv.Len() > 0
	case reflect.Pointer, reflect.Interface:
		return !rv.IsNil()
	case reflect.Bool:
		return rv.Bool()
	default:
		return !rv.IsZero()
	}
}

// containsValue reports whether the JSON array l holds a value equal to v.
func containsValue(l any, v any) bool {
	return slices.ContainsFunc(list(l), func(e any) bool { return reflect.DeepEqual(e, v) })
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func nested(m obj, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		o, ok := cur.(obj)
		if !ok {
			return nil
		}
		cur = o[k]
	}
	return cur
}

func sortedKeys(m obj) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// printable is how a template prints a value: nil as "<no value>".
func printable(v any) any {
	if v == nil {
		return "<no value>"
	}
	return v
}
