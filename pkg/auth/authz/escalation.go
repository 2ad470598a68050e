package authz

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kstack/kstack/pkg/auth"
)

// RuleLister lists the rules a user holds in a namespace ("" for the
// cluster scope). *RBAC implements it.
type RuleLister interface {
	RulesFor(u *auth.User, namespace string) (resource, nonResource []rbacv1.PolicyRule, incomplete bool, err error)
}

var _ RuleLister = (*RBAC)(nil)

// ConfirmNoEscalation returns an error unless u already holds every
// permission in rules within namespace, with upstream's message:
//
//	user "jane" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:
//	{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}
//
// Members of system:masters hold everything.
func ConfirmNoEscalation(ctx context.Context, rl RuleLister, u *auth.User, namespace string, rules []rbacv1.PolicyRule) error {
	if u == nil {
		return errors.New("no user on the request")
	}
	if u.InGroup(auth.SystemPrivileged) {
		return nil
	}
	res, nonRes, _, resolveErr := rl.RulesFor(u, namespace)
	owner := append(res, nonRes...)
	ok, missing := Covers(owner, rules)
	if ok {
		return nil
	}
	seen := map[string]bool{}
	var lines []string
	for _, m := range compactRules(missing) {
		s := CompactString(m)
		if !seen[s] {
			seen[s] = true
			lines = append(lines, s)
		}
	}
	sort.Strings(lines)
	msg := fmt.Sprintf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s", u.Name, u.Groups, strings.Join(lines, "\n"))
	if resolveErr != nil {
		msg += fmt.Sprintf("; resolution errors: %v", []error{resolveErr})
	}
	return errors.New(msg)
}

// CheckRoleEscalation guards a create or update of a Role (resource
// "roles", namespace set) or ClusterRole (resource "clusterroles",
// namespace "") named name with rules: allowed when the user is in
// system:masters, may "escalate" that role, or already holds every rule.
// The error is a Forbidden API status ready to return.
func CheckRoleEscalation(ctx context.Context, authz auth.Authorizer, rl RuleLister, u *auth.User, resource, namespace, name string, rules []rbacv1.PolicyRule) error {
	gr := schema.GroupResource{Group: rbacv1.GroupName, Resource: resource}
	if u != nil && u.InGroup(auth.SystemPrivileged) {
		return nil
	}
	if allowed(ctx, authz, auth.Attributes{
		User: u, Verb: "escalate", ResourceRequest: true, APIGroup: rbacv1.GroupName,
		APIVersion: "v1", Namespace: namespace, Resource: resource, Name: name,
	}) {
		return nil
	}
	if err := ConfirmNoEscalation(ctx, rl, u, namespace, rules); err != nil {
		return apierrors.NewForbidden(gr, name, err)
	}
	return nil
}

// RoleRefResolver finds the rules a role reference points at; *RBAC
// implements it.
type RoleRefResolver interface {
	RoleRefRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error)
}

var _ RoleRefResolver = (*RBAC)(nil)

// CheckBindingEscalation guards a create or update of a RoleBinding
// (resource "rolebindings", namespace set) or ClusterRoleBinding (resource
// "clusterrolebindings", namespace "") named name referring to ref: allowed
// when the user is in system:masters, may "bind" the referenced role
// (resourceNames apply), or already holds all its rules. A missing role is
// a NotFound error, as upstream; refusals are Forbidden API statuses.
func CheckBindingEscalation(ctx context.Context, authz auth.Authorizer, rl RuleLister, refs RoleRefResolver, u *auth.User, resource, namespace, name string, ref rbacv1.RoleRef) error {
	gr := schema.GroupResource{Group: rbacv1.GroupName, Resource: resource}
	if u != nil && u.InGroup(auth.SystemPrivileged) {
		return nil
	}
	roleResource := "roles"
	if ref.Kind == "ClusterRole" {
		roleResource = "clusterroles"
	}
	if allowed(ctx, authz, auth.Attributes{
		User: u, Verb: "bind", ResourceRequest: true, APIGroup: ref.APIGroup,
		APIVersion: "v1", Namespace: namespace, Resource: roleResource, Name: ref.Name,
	}) {
		return nil
	}
	rules, err := refs.RoleRefRules(ref, namespace)
	if err != nil {
		return err
	}
	if err := ConfirmNoEscalation(ctx, rl, u, namespace, rules); err != nil {
		return apierrors.NewForbidden(gr, name, err)
	}
	return nil
}

func allowed(ctx context.Context, a auth.Authorizer, attrs auth.Attributes) bool {
	if a == nil || attrs.User == nil {
		return false
	}
	d, _, err := a.Authorize(ctx, attrs)
	return err == nil && d == auth.DecisionAllow
}

// Covers reports whether owner holds every permission in requested; when
// not, it returns the uncovered permissions broken into single-verb,
// single-resource rules. Coverage follows upstream: "*" covers anything,
// "*/sub" covers any resource's "sub", owner resourceNames must include the
// requested ones (and a request without names needs an owner without
// names), a URL ending in "*" covers that prefix.
func Covers(owner, requested []rbacv1.PolicyRule) (bool, []rbacv1.PolicyRule) {
	var missing []rbacv1.PolicyRule
	for _, r := range requested {
		for _, sub := range breakdown(r) {
			covered := false
			for i := range owner {
				if ruleCovers(&owner[i], &sub) {
					covered = true
					break
				}
			}
			if !covered {
				missing = append(missing, sub)
			}
		}
	}
	return len(missing) == 0, missing
}

// breakdown splits a rule into rules of one verb and one group/resource/
// name, or one verb and one URL.
func breakdown(r rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, g := range r.APIGroups {
		for _, res := range r.Resources {
			for _, v := range r.Verbs {
				if len(r.ResourceNames) == 0 {
					out = append(out, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: []string{res}, Verbs: []string{v}})
					continue
				}
				for _, n := range r.ResourceNames {
					out = append(out, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: []string{res}, ResourceNames: []string{n}, Verbs: []string{v}})
				}
			}
		}
	}
	for _, u := range r.NonResourceURLs {
		for _, v := range r.Verbs {
			out = append(out, rbacv1.PolicyRule{NonResourceURLs: []string{u}, Verbs: []string{v}})
		}
	}
	return out
}

func ruleCovers(owner, sub *rbacv1.PolicyRule) bool {
	verbs := has(owner.Verbs, rbacv1.VerbAll) || hasAll(owner.Verbs, sub.Verbs)
	groups := has(owner.APIGroups, rbacv1.APIGroupAll) || hasAll(owner.APIGroups, sub.APIGroups)
	names := len(owner.ResourceNames) == 0
	if !names && len(sub.ResourceNames) > 0 {
		names = hasAll(owner.ResourceNames, sub.ResourceNames)
	}
	return verbs && groups && names && resourcesCover(owner.Resources, sub.Resources) && urlsCover(owner.NonResourceURLs, sub.NonResourceURLs)
}

func resourcesCover(owner, sub []string) bool {
	if has(owner, rbacv1.ResourceAll) {
		return true
	}
	for _, r := range sub {
		if has(owner, r) {
			continue
		}
		_, subresource, ok := strings.Cut(r, "/")
		if !ok || !has(owner, "*/"+subresource) {
			return false
		}
	}
	return true
}

func urlsCover(owner, sub []string) bool {
	for _, u := range sub {
		covered := false
		for _, o := range owner {
			if o == u || o == rbacv1.NonResourceAll || (strings.HasSuffix(o, "*") && strings.HasPrefix(u, strings.TrimRight(o, "*"))) {
				covered = true
				break
			}
		}
		if !covered {
			return false
		}
	}
	return true
}

func has(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

func hasAll(set, items []string) bool {
	for _, s := range items {
		if !has(set, s) {
			return false
		}
	}
	return true
}

// compactRules merges single-verb resource rules that differ only in verb,
// as upstream does before printing what is missing.
func compactRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	type key struct{ group, resource, name string }
	var out []rbacv1.PolicyRule
	at := map[key]int{}
	for _, r := range rules {
		if len(r.APIGroups) != 1 || len(r.Resources) != 1 || len(r.ResourceNames) > 1 || len(r.NonResourceURLs) > 0 {
			out = append(out, r)
			continue
		}
		k := key{r.APIGroups[0], r.Resources[0], strings.Join(r.ResourceNames, "")}
		if i, ok := at[k]; ok {
			for _, v := range r.Verbs {
				if !has(out[i].Verbs, v) {
					out[i].Verbs = append(out[i].Verbs, v)
				}
			}
			continue
		}
		at[k] = len(out)
		out = append(out, *r.DeepCopy())
	}
	return out
}

// CompactString formats a rule as upstream prints it in escalation errors:
// {APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}.
func CompactString(r rbacv1.PolicyRule) string {
	var parts []string
	add := func(name string, v []string) {
		if len(v) > 0 {
			parts = append(parts, fmt.Sprintf("%s:%q", name, v))
		}
	}
	add("APIGroups", r.APIGroups)
	add("Resources", r.Resources)
	add("NonResourceURLs", r.NonResourceURLs)
	add("ResourceNames", r.ResourceNames)
	add("Verbs", r.Verbs)
	return "{" + strings.Join(parts, ", ") + "}"
}

// fullAuthority is cluster-admin's rules: what an aggregationRule may
// gather.
var fullAuthority = []rbacv1.PolicyRule{
	{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
	{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
}

// CheckAggregationRule guards a create or update of a ClusterRole named
// name that has (or had) an aggregationRule: since the rule can gather any
// permission, as upstream it is allowed only to system:masters, to users
// who may "escalate" that role, and to users who hold every permission
// (cluster-admin). The error is a Forbidden API status ready to return.
func CheckAggregationRule(ctx context.Context, authz auth.Authorizer, rl RuleLister, u *auth.User, name string) error {
	if u != nil && u.InGroup(auth.SystemPrivileged) {
		return nil
	}
	if allowed(ctx, authz, auth.Attributes{
		User: u, Verb: "escalate", ResourceRequest: true, APIGroup: rbacv1.GroupName,
		APIVersion: "v1", Resource: "clusterroles", Name: name,
	}) {
		return nil
	}
	if err := ConfirmNoEscalation(ctx, rl, u, "", fullAuthority); err != nil {
		return apierrors.NewForbidden(schema.GroupResource{Group: rbacv1.GroupName, Resource: "clusterroles"}, name,
			errors.New("must have cluster-admin privileges to use the aggregationRule"))
	}
	return nil
}
