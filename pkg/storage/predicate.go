package storage

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// DefaultAttrs returns an object's labels and metadata.name and
// metadata.namespace (plus metadata.namespace for cluster-scoped kinds, as
// "" ).
func DefaultAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	return labels.Set(m.GetLabels()), fields.Set{
		"metadata.name":      m.GetName(),
		"metadata.namespace": m.GetNamespace(),
	}, nil
}

// attrFunc picks the predicate's attribute function, then the config's,
// then DefaultAttrs.
func (c *Config) attrFunc(p *Predicate) AttrFunc {
	switch {
	case p.GetAttrs != nil:
		return p.GetAttrs
	case c.GetAttrs != nil:
		return c.GetAttrs
	}
	return DefaultAttrs
}

// Matches reports whether obj satisfies the label and field selectors,
// reading its attributes with attrs (DefaultAttrs when nil).
func (p Predicate) Matches(obj runtime.Object, attrs AttrFunc) (bool, error) {
	if p.Empty() {
		return true, nil
	}
	if attrs == nil {
		attrs = p.GetAttrs
	}
	if attrs == nil {
		attrs = DefaultAttrs
	}
	l, f, err := attrs(obj)
	if err != nil {
		return false, fmt.Errorf("read selectable attributes: %w", err)
	}
	return p.matchAttrs(l, f), nil
}

func (p Predicate) matchAttrs(l labels.Set, f fields.Set) bool {
	if p.Label != nil && !p.Label.Empty() && !p.Label.Matches(l) {
		return false
	}
	if p.Field != nil && !p.Field.Empty() && !p.Field.Matches(f) {
		return false
	}
	return true
}
