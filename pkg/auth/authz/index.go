package authz

import (
	"sort"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// Index is an in-memory, concurrency-safe RuleSource. The apiserver feeds
// it from its RBAC watch caches with Upsert and Delete; lookups are map
// reads (bindings by namespace, roles by name) and binding lists are
// immutable snapshots rebuilt on change.
//
// Aggregation: ClusterRole returns a ClusterRole with an aggregationRule
// carrying the union of the rules of the ClusterRoles its selectors match
// (recursively, as upstream's clusterrole-aggregation controller reaches
// the same fixpoint), whatever rules the stored object holds. Resolved roles
// are cached until the next ClusterRole change. The apiserver may also write
// AggregateRules into the stored objects, as upstream's controller does, so
// that clients see them.
type Index struct {
	mu           sync.RWMutex
	crbs         map[string]*rbacv1.ClusterRoleBinding
	crbList      []*rbacv1.ClusterRoleBinding
	rbs          map[string]map[string]*rbacv1.RoleBinding
	rbList       map[string][]*rbacv1.RoleBinding
	roles        map[string]map[string]*rbacv1.Role
	clusterRoles map[string]*rbacv1.ClusterRole
	aggregated   map[string]*rbacv1.ClusterRole
}

var _ RuleSource = (*Index)(nil)

// NewIndex returns an empty Index.
func NewIndex() *Index {
	return &Index{
		crbs:         map[string]*rbacv1.ClusterRoleBinding{},
		rbs:          map[string]map[string]*rbacv1.RoleBinding{},
		rbList:       map[string][]*rbacv1.RoleBinding{},
		roles:        map[string]map[string]*rbacv1.Role{},
		clusterRoles: map[string]*rbacv1.ClusterRole{},
		aggregated:   map[string]*rbacv1.ClusterRole{},
	}
}

// Upsert adds or replaces a Role, ClusterRole, RoleBinding or
// ClusterRoleBinding; other objects are ignored. The index keeps obj: the
// caller must not modify it afterwards.
func (x *Index) Upsert(obj runtime.Object) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch o := obj.(type) {
	case *rbacv1.ClusterRoleBinding:
		x.crbs[o.Name] = o
		x.rebuildCRBs()
	case *rbacv1.RoleBinding:
		m := x.rbs[o.Namespace]
		if m == nil {
			m = map[string]*rbacv1.RoleBinding{}
			x.rbs[o.Namespace] = m
		}
		m[o.Name] = o
		x.rebuildRBs(o.Namespace)
	case *rbacv1.Role:
		m := x.roles[o.Namespace]
		if m == nil {
			m = map[string]*rbacv1.Role{}
			x.roles[o.Namespace] = m
		}
		m[o.Name] = o
	case *rbacv1.ClusterRole:
		x.clusterRoles[o.Name] = o
		clear(x.aggregated)
	}
}

// Delete removes the object with obj's kind, namespace and name; other
// objects are ignored.
func (x *Index) Delete(obj runtime.Object) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch o := obj.(type) {
	case *rbacv1.ClusterRoleBinding:
		delete(x.crbs, o.Name)
		x.rebuildCRBs()
	case *rbacv1.RoleBinding:
		if m := x.rbs[o.Namespace]; m != nil {
			delete(m, o.Name)
			if len(m) == 0 {
				delete(x.rbs, o.Namespace)
			}
		}
		x.rebuildRBs(o.Namespace)
	case *rbacv1.Role:
		if m := x.roles[o.Namespace]; m != nil {
			delete(m, o.Name)
			if len(m) == 0 {
				delete(x.roles, o.Namespace)
			}
		}
	case *rbacv1.ClusterRole:
		delete(x.clusterRoles, o.Name)
		clear(x.aggregated)
	}
}

func (x *Index) rebuildCRBs() {
	l := make([]*rbacv1.ClusterRoleBinding, 0, len(x.crbs))
	for _, b := range x.crbs {
		l = append(l, b)
	}
	sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
	x.crbList = l
}

func (x *Index) rebuildRBs(ns string) {
	m := x.rbs[ns]
	if len(m) == 0 {
		delete(x.rbList, ns)
		return
	}
	l := make([]*rbacv1.RoleBinding, 0, len(m))
	for _, b := range m {
		l = append(l, b)
	}
	sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
	x.rbList[ns] = l
}

// ClusterRoleBindings returns every ClusterRoleBinding, sorted by name.
func (x *Index) ClusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.crbList
}

// RoleBindings returns the RoleBindings of namespace, sorted by name.
func (x *Index) RoleBindings(namespace string) []*rbacv1.RoleBinding {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.rbList[namespace]
}

// Role finds a Role.
func (x *Index) Role(namespace, name string) (*rbacv1.Role, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	r, ok := x.roles[namespace][name]
	return r, ok
}

// ClusterRole finds a ClusterRole; an aggregated one comes back as a copy
// whose Rules are the aggregated rules.
func (x *Index) ClusterRole(name string) (*rbacv1.ClusterRole, bool) {
	x.mu.RLock()
	r, ok := x.clusterRoles[name]
	if !ok || r.AggregationRule == nil {
		x.mu.RUnlock()
		return r, ok
	}
	if agg, ok := x.aggregated[name]; ok {
		x.mu.RUnlock()
		return agg, true
	}
	x.mu.RUnlock()

	x.mu.Lock()
	defer x.mu.Unlock()
	r, ok = x.clusterRoles[name]
	if !ok {
		return nil, false
	}
	all := make([]*rbacv1.ClusterRole, 0, len(x.clusterRoles))
	for _, c := range x.clusterRoles {
		all = append(all, c)
	}
	agg := *r
	agg.Rules = AggregateRules(r, all)
	x.aggregated[name] = &agg
	return &agg, true
}

// AggregateRules computes the rules of an aggregated ClusterRole as
// upstream's clusterrole-aggregation controller does: the rules of every
// other ClusterRole matching one of role's clusterRoleSelectors, in
// selector order then name order, without duplicates. A matched role that
// is itself aggregated contributes its own aggregated rules. It returns
// role.Rules when role has no aggregationRule; an invalid selector matches
// nothing.
func AggregateRules(role *rbacv1.ClusterRole, all []*rbacv1.ClusterRole) []rbacv1.PolicyRule {
	if role.AggregationRule == nil {
		return role.Rules
	}
	sorted := append([]*rbacv1.ClusterRole(nil), all...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	return aggregate(role, sorted, map[string]bool{})
}

func aggregate(role *rbacv1.ClusterRole, all []*rbacv1.ClusterRole, visiting map[string]bool) []rbacv1.PolicyRule {
	visiting[role.Name] = true
	defer delete(visiting, role.Name)
	var rules []rbacv1.PolicyRule
	for i := range role.AggregationRule.ClusterRoleSelectors {
		sel, err := metav1.LabelSelectorAsSelector(&role.AggregationRule.ClusterRoleSelectors[i])
		if err != nil {
			continue
		}
		for _, c := range all {
			if c.Name == role.Name || !sel.Matches(labels.Set(c.Labels)) {
				continue
			}
			src := c.Rules
			if c.AggregationRule != nil {
				if visiting[c.Name] {
					continue
				}
				src = aggregate(c, all, visiting)
			}
			for _, r := range src {
				if !hasRule(rules, r) {
					rules = append(rules, r)
				}
			}
		}
	}
	return rules
}

func hasRule(rules []rbacv1.PolicyRule, r rbacv1.PolicyRule) bool {
	for i := range rules {
		if apiequality.Semantic.DeepEqual(rules[i], r) {
			return true
		}
	}
	return false
}
