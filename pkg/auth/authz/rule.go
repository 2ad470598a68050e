package authz

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kstack/kstack/pkg/auth"
)

// RuleAllows reports whether one PolicyRule permits the request, with
// upstream RBAC's matching:
//   - verbs and apiGroups match exactly or by "*";
//   - resources match exactly ("pods", "pods/log"), by "*" (everything,
//     subresources included) or by "*/<subresource>";
//   - a rule with resourceNames only matches requests that carry one of
//     those names (so never a plain list, watch, create or deletecollection);
//   - nonResourceURLs match exactly, by "*", or by a prefix ending in "*".
//
// Note, as upstream: "pods/*" is not a wildcard; it only matches a
// subresource literally named "*".
func RuleAllows(a auth.Attributes, r *rbacv1.PolicyRule) bool {
	if a.ResourceRequest {
		resource := a.Resource
		if a.Subresource != "" {
			resource += "/" + a.Subresource
		}
		return verbMatches(r, a.Verb) &&
			groupMatches(r, a.APIGroup) &&
			resourceMatches(r, resource, a.Subresource) &&
			nameMatches(r, a.Name)
	}
	return verbMatches(r, a.Verb) && urlMatches(r, a.Path)
}

// RulesAllow reports whether any of rules permits the request.
func RulesAllow(a auth.Attributes, rules ...rbacv1.PolicyRule) bool {
	for i := range rules {
		if RuleAllows(a, &rules[i]) {
			return true
		}
	}
	return false
}

func verbMatches(r *rbacv1.PolicyRule, verb string) bool {
	for _, v := range r.Verbs {
		if v == rbacv1.VerbAll || v == verb {
			return true
		}
	}
	return false
}

func groupMatches(r *rbacv1.PolicyRule, group string) bool {
	for _, g := range r.APIGroups {
		if g == rbacv1.APIGroupAll || g == group {
			return true
		}
	}
	return false
}

func resourceMatches(r *rbacv1.PolicyRule, combined, subresource string) bool {
	for _, res := range r.Resources {
		if res == rbacv1.ResourceAll || res == combined {
			return true
		}
		if subresource != "" && res == "*/"+subresource {
			return true
		}
	}
	return false
}

func nameMatches(r *rbacv1.PolicyRule, name string) bool {
	if len(r.ResourceNames) == 0 {
		return true
	}
	for _, n := range r.ResourceNames {
		if n == name {
			return true
		}
	}
	return false
}

func urlMatches(r *rbacv1.PolicyRule, path string) bool {
	for _, u := range r.NonResourceURLs {
		if u == rbacv1.NonResourceAll || u == path {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimSuffix(u, "*")) {
			return true
		}
	}
	return false
}
