package explain

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/util/proto"
)

// This file is --output=plaintext-openapiv2: the older explain, from the
// server's swagger 2.0 document parsed into kube-openapi's proto models.

// v2Width is the column the v2 printer wraps descriptions at.
const v2Width = 80

// v2Resources finds the model of a kind in a parsed swagger document. As
// upstream, when several models declare one kind the last by name wins.
func v2Resources(models proto.Models) map[schema.GroupVersionKind]string {
	byGVK := map[schema.GroupVersionKind]string{}
	for _, name := range models.ListModels() {
		model := models.LookupModel(name)
		if model == nil {
			continue
		}
		list, _ := model.GetExtensions()["x-kubernetes-group-version-kind"].([]any)
		for _, item := range list {
			m, ok := item.(map[any]any)
			if !ok {
				continue
			}
			group, ok1 := m["group"].(string)
			version, ok2 := m["version"].(string)
			kind, ok3 := m["kind"].(string)
			if !ok1 || !ok2 || !ok3 || kind == "" {
				continue
			}
			byGVK[schema.GroupVersionKind{Group: group, Version: version, Kind: kind}] = name
		}
	}
	return byGVK
}

// v2Lookup follows path from s through fields, array items, map values and
// references. A primitive (or arbitrary) schema ends the walk even with
// path left, as upstream.
func v2Lookup(s proto.Schema, path []string) (proto.Schema, error) {
	for {
		switch s.(type) {
		case *proto.Primitive, *proto.Arbitrary:
			return s, nil
		}
		if len(path) == 0 {
			return s, nil
		}
		switch t := s.(type) {
		case *proto.Array:
			s = t.SubType
		case *proto.Map:
			s = t.SubType
		case proto.Reference:
			s = t.SubSchema()
		case *proto.Kind:
			sub, ok := t.Fields[path[0]]
			if !ok {
				return nil, fmt.Errorf("field %q does not exist", path[0])
			}
			s, path = sub, path[1:]
		default:
			return nil, nil
		}
		if s == nil {
			return nil, nil
		}
	}
}

// v2TypeName is the short type of s: Object, []string, map[string]string.
func v2TypeName(s proto.Schema) string {
	switch t := s.(type) {
	case *proto.Array:
		return "[]" + v2TypeName(t.SubType)
	case *proto.Map:
		return "map[string]" + v2TypeName(t.SubType)
	case *proto.Kind:
		return "Object"
	case *proto.Primitive:
		return t.Type
	case proto.Reference:
		if sub := t.SubSchema(); sub != nil {
			return v2TypeName(sub)
		}
	}
	return ""
}

// v2Printer writes lines at an indentation; blank lines stay empty.
type v2Printer struct {
	w      io.Writer
	indent int
}

func (p v2Printer) in(n int) v2Printer { return v2Printer{w: p.w, indent: p.indent + n} }

func (p v2Printer) line(s string) {
	if s == "" {
		io.WriteString(p.w, "\n")
		return
	}
	io.WriteString(p.w, strings.Repeat(" ", p.indent)+s+"\n")
}

// wrapped prints s filled to the v2 width.
func (p v2Printer) wrapped(s string) { p.wrappedAt(s, v2Width) }

func (p v2Printer) wrappedAt(s string, width int) {
	for _, l := range v2Wrap(s, width-p.indent) {
		p.line(l)
	}
}

// v2Model prints the schema found for name (the last field of the path,
// "" for the resource itself) with the kind's header.
type v2Model struct {
	out          v2Printer
	name         string
	typ          string
	descriptions []string
	gvk          schema.GroupVersionKind
	recursive    bool
	maxDepth     int
}

func (m *v2Model) header() {
	m.out.line("KIND:     " + m.gvk.Kind)
	m.out.line("VERSION:  " + m.gvk.GroupVersion().String() + "\n")
}

// description prints the descriptions collected on the way (references,
// arrays, maps) and s's own, or <empty>.
func (m *v2Model) description(s proto.Schema) {
	m.out.line("DESCRIPTION:")
	empty := true
	for i, d := range append(m.descriptions, s.GetDescription()) {
		if d == "" {
			continue
		}
		empty = false
		if i != 0 {
			m.out.line("")
		}
		m.out.in(5).wrapped(d)
	}
	if empty {
		m.out.in(5).wrapped("<empty>")
	}
}

func (m *v2Model) print(s proto.Schema) {
	switch t := s.(type) {
	case *proto.Array:
		m.collect(t, t.SubType)
	case *proto.Map:
		m.collect(t, t.SubType)
	case proto.Reference:
		m.descriptions = append(m.descriptions, t.GetDescription())
		if sub := t.SubSchema(); sub != nil {
			m.print(sub)
		}
	case *proto.Kind:
		m.header()
		if m.typ == "" {
			m.typ = v2TypeName(t)
		}
		if m.name != "" {
			m.out.line(fmt.Sprintf("RESOURCE: %s <%s>\n", m.name, m.typ))
		}
		m.description(t)
		m.out.line("\nFIELDS:")
		if m.recursive {
			v2RecursiveFields(m.out.in(3), t, m.maxDepth, 1, map[string]bool{})
		} else {
			v2Fields(m.out.in(3), t)
		}
	case *proto.Primitive:
		m.header()
		if m.typ == "" {
			m.typ = v2TypeName(t)
		}
		m.out.line(fmt.Sprintf("FIELD:    %s <%s>\n", m.name, m.typ))
		m.description(t)
	case *proto.Arbitrary:
		m.header()
		m.description(t)
	}
}

// collect notes an array's or map's description and type and goes on with
// its element schema.
func (m *v2Model) collect(s, sub proto.Schema) {
	m.descriptions = append(m.descriptions, s.GetDescription())
	if m.typ == "" {
		m.typ = v2TypeName(s)
	}
	m.print(sub)
}

// v2Fields prints each field of the kind s reaches with its type,
// -required- mark and description.
func v2Fields(out v2Printer, s proto.Schema) {
	switch t := s.(type) {
	case *proto.Array:
		v2Fields(out, t.SubType)
	case *proto.Map:
		v2Fields(out, t.SubType)
	case proto.Reference:
		if sub := t.SubSchema(); sub != nil {
			v2Fields(out, sub)
		}
	case *proto.Kind:
		for _, key := range t.Keys() {
			field := t.Fields[key]
			required := ""
			if t.IsRequired(key) {
				required = " -required-"
			}
			out.line(fmt.Sprintf("%s\t<%s>%s", key, v2TypeName(field), required))
			out.in(2).wrapped(field.GetDescription())
			out.line("")
		}
	}
}

// v2RecursiveFields prints the field tree of s, one line a field, three
// spaces a level, not entering a reference already on the way down.
func v2RecursiveFields(out v2Printer, s proto.Schema, maxDepth, depth int, visiting map[string]bool) {
	switch t := s.(type) {
	case *proto.Array:
		v2RecursiveFields(out, t.SubType, maxDepth, depth, visiting)
	case *proto.Map:
		v2RecursiveFields(out, t.SubType, maxDepth, depth, visiting)
	case proto.Reference:
		ref := t.Reference()
		if visiting[ref] {
			return
		}
		visiting[ref] = true
		if sub := t.SubSchema(); sub != nil {
			v2RecursiveFields(out, sub, maxDepth, depth, visiting)
		}
		delete(visiting, ref)
	case *proto.Kind:
		for _, key := range t.Keys() {
			field := t.Fields[key]
			out.line(fmt.Sprintf("%s\t<%s>", key, v2TypeName(field)))
			if maxDepth > 0 && depth >= maxDepth {
				continue
			}
			v2RecursiveFields(out.in(3), field, maxDepth, depth+1, visiting)
		}
	}
}

var v2Bullet = regexp.MustCompile(`^(\d+\.?|-|\*)\s`)

// v2Wrap fills the words of s into lines of at most width characters,
// keeping what reads as structure: indented code lines, blank lines after
// the first line, list items, and a line break after a word ending in ":".
func v2Wrap(s string, width int) []string {
	var lines, cur []string
	curLen := 0
	lastWord := ""
	flush := func() {
		if len(cur) > 0 {
			lastWord = ""
			lines = append(lines, strings.Join(cur, " "))
			cur, curLen = nil, 0
		}
	}
	add := func(word string) bool {
		n := curLen + len(word)
		if len(cur) > 0 {
			n++
		}
		if n <= width || len(cur) == 0 {
			cur = append(cur, word)
			curLen = n
			return true
		}
		return false
	}
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "    ") {
			flush()
			lines = append(lines, l)
			continue
		}
		trimmed := strings.TrimSpace(l)
		if len(lines) > 0 && trimmed == "" {
			flush()
			lines = append(lines, "")
			continue
		}
		if strings.HasSuffix(lastWord, ":") || trimmed == "" || v2Bullet.MatchString(trimmed) {
			flush()
		}
		for _, word := range strings.Fields(l) {
			lastWord = word
			if !add(word) {
				flush()
				add(word)
			}
		}
	}
	flush()
	return lines
}
