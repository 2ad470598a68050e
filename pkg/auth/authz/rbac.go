package authz

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/kstack/kstack/pkg/auth"
)

// RuleSource is where RBAC reads roles and bindings: the apiserver's watch
// caches (through Index). Returned objects are shared and must not be
// modified. A ClusterRole with an aggregationRule is returned with its
// aggregated rules.
type RuleSource interface {
	// ClusterRoleBindings returns every ClusterRoleBinding.
	ClusterRoleBindings() []*rbacv1.ClusterRoleBinding
	// RoleBindings returns the RoleBindings of one namespace.
	RoleBindings(namespace string) []*rbacv1.RoleBinding
	// ClusterRole finds a ClusterRole by name.
	ClusterRole(name string) (*rbacv1.ClusterRole, bool)
	// Role finds a Role by namespace and name.
	Role(namespace, name string) (*rbacv1.Role, bool)
}

// RBAC authorizes requests with Roles, ClusterRoles and their bindings, as
// upstream's RBAC authorizer. It allows or has no opinion; it never denies.
type RBAC struct {
	src RuleSource
}

var _ auth.Authorizer = (*RBAC)(nil)

// NewRBAC returns an RBAC authorizer reading from src.
func NewRBAC(src RuleSource) *RBAC { return &RBAC{src: src} }

var (
	clusterRolesResource = schema.GroupResource{Group: rbacv1.GroupName, Resource: "clusterroles"}
	rolesResource        = schema.GroupResource{Group: rbacv1.GroupName, Resource: "roles"}
)

// Authorize allows the request when a binding that applies to the user
// grants a rule matching it. The reason names the binding on allow
// ("RBAC: allowed by ClusterRoleBinding ..."), and lists role lookups that
// failed otherwise (empty when nothing failed), as upstream.
func (r *RBAC) Authorize(_ context.Context, a auth.Attributes) (auth.Decision, string, error) {
	var allowedBy string
	errs := r.visit(a.User, a.Namespace, func(source func() string, rules []rbacv1.PolicyRule) bool {
		if RulesAllow(a, rules...) {
			allowedBy = source()
			return false
		}
		return true
	})
	if allowedBy != "" {
		return auth.DecisionAllow, "RBAC: allowed by " + allowedBy, nil
	}
	if len(errs) > 0 {
		return auth.DecisionNoOpinion, "RBAC: " + utilerrors.NewAggregate(errs).Error(), nil
	}
	return auth.DecisionNoOpinion, "", nil
}

// RulesFor lists the rules user holds in namespace (cluster-wide bindings
// plus, when namespace is set, that namespace's RoleBindings), split into
// resource and non-resource rules. incomplete is true when a binding refers
// to a missing role; err then describes those lookups, and the rules found
// are still returned (SelfSubjectRulesReview reports both).
func (r *RBAC) RulesFor(u *auth.User, namespace string) (resource, nonResource []rbacv1.PolicyRule, incomplete bool, err error) {
	errs := r.visit(u, namespace, func(_ func() string, rules []rbacv1.PolicyRule) bool {
		for _, rule := range rules {
			if len(rule.NonResourceURLs) > 0 {
				nonResource = append(nonResource, rule)
			} else {
				resource = append(resource, rule)
			}
		}
		return true
	})
	if len(errs) > 0 {
		return resource, nonResource, true, utilerrors.NewAggregate(errs)
	}
	return resource, nonResource, false, nil
}

// RoleRefRules returns the rules of the role a binding in namespace refers
// to ("" for a ClusterRoleBinding), or a NotFound error.
func (r *RBAC) RoleRefRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "ClusterRole":
		role, ok := r.src.ClusterRole(ref.Name)
		if !ok {
			return nil, apierrors.NewNotFound(clusterRolesResource, ref.Name)
		}
		return role.Rules, nil
	case "Role":
		if namespace == "" {
			return nil, fmt.Errorf("role reference %q of kind Role needs a namespace", ref.Name)
		}
		role, ok := r.src.Role(namespace, ref.Name)
		if !ok {
			return nil, apierrors.NewNotFound(rolesResource, ref.Name)
		}
		return role.Rules, nil
	default:
		return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
	}
}

// visit calls fn with the rules of every binding that applies to u in
// namespace, cluster bindings first, until fn returns false. It returns the
// role lookups that failed.
func (r *RBAC) visit(u *auth.User, namespace string, fn func(source func() string, rules []rbacv1.PolicyRule) bool) []error {
	if u == nil {
		return nil
	}
	var errs []error
	for _, b := range r.src.ClusterRoleBindings() {
		s := appliesTo(u, b.Subjects, "")
		if s == nil {
			continue
		}
		rules, err := r.RoleRefRules(b.RoleRef, "")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b := b
		source := func() string {
			return fmt.Sprintf("ClusterRoleBinding %q of %s %q to %s", b.Name, b.RoleRef.Kind, b.RoleRef.Name, describeSubject(s, ""))
		}
		if !fn(source, rules) {
			return errs
		}
	}
	if namespace == "" {
		return errs
	}
	for _, b := range r.src.RoleBindings(namespace) {
		s := appliesTo(u, b.Subjects, namespace)
		if s == nil {
			continue
		}
		rules, err := r.RoleRefRules(b.RoleRef, namespace)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b := b
		source := func() string {
			return fmt.Sprintf("RoleBinding %q of %s %q to %s", b.Name+"/"+b.Namespace, b.RoleRef.Kind, b.RoleRef.Name, describeSubject(s, b.Namespace))
		}
		if !fn(source, rules) {
			return errs
		}
	}
	return errs
}

// appliesTo returns the first subject naming u, or nil. A ServiceAccount
// subject without a namespace means the binding's namespace.
func appliesTo(u *auth.User, subjects []rbacv1.Subject, bindingNamespace string) *rbacv1.Subject {
	for i := range subjects {
		s := &subjects[i]
		switch s.Kind {
		case rbacv1.UserKind:
			if u.Name == s.Name {
				return s
			}
		case rbacv1.GroupKind:
			if u.InGroup(s.Name) {
				return s
			}
		case rbacv1.ServiceAccountKind:
			ns := s.Namespace
			if ns == "" {
				ns = bindingNamespace
			}
			if ns != "" && u.Name == auth.ServiceAccountUserPrefix+ns+":"+s.Name {
				return s
			}
		}
	}
	return nil
}

func describeSubject(s *rbacv1.Subject, bindingNamespace string) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		return fmt.Sprintf("%s %q", s.Kind, s.Name+"/"+ns)
	}
	return fmt.Sprintf("%s %q", s.Kind, s.Name)
}

// PrivilegedGroups allows every request of a member of one of its groups,
// as upstream puts system:masters ahead of every other authorizer.
type PrivilegedGroups []string

var _ auth.Authorizer = PrivilegedGroups(nil)

// Authorize allows members of the groups and has no opinion otherwise.
func (p PrivilegedGroups) Authorize(_ context.Context, a auth.Attributes) (auth.Decision, string, error) {
	if a.User == nil {
		return auth.DecisionNoOpinion, "", nil
	}
	for _, g := range p {
		if a.User.InGroup(g) {
			return auth.DecisionAllow, "", nil
		}
	}
	return auth.DecisionNoOpinion, "", nil
}
