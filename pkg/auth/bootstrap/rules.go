package bootstrap

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// The policy below is written with three tiny helpers. Every list argument
// is comma separated; in a group list an empty element is the core group,
// so "" is the core group alone and ",events.k8s.io" is core plus
// events.k8s.io.

// rule grants verbs on resources of groups.
func rule(verbs, groups, resources string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{
		Verbs:     split(verbs),
		APIGroups: strings.Split(groups, ","),
		Resources: split(resources),
	}
}

// named restricts r to the given resource names.
func named(r rbacv1.PolicyRule, names string) rbacv1.PolicyRule {
	r.ResourceNames = split(names)
	return r
}

// urls grants verbs on non-resource URLs.
func urls(verbs, paths string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: split(verbs), NonResourceURLs: split(paths)}
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// eventsRule lets a component record events in either events API.
func eventsRule() rbacv1.PolicyRule {
	return rule("create,patch,update", ",events.k8s.io", "events")
}

const (
	readVerbs      = "get,list,watch"
	writeVerbs     = "create,delete,deletecollection,patch,update"
	readWriteVerbs = "create,delete,deletecollection,get,list,patch,update,watch"
)
