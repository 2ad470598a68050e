package authz

import (
	"fmt"

	"github.com/kstack/kstack/pkg/auth"
)

// ForbiddenMessage is the text upstream puts in a 403 for a request no
// authorizer allowed, with reason (the authorizers' reasons, possibly
// empty) appended after ": ". The caller wraps it as upstream does:
//
//	apierrors.NewForbidden(schema.GroupResource{Group: a.APIGroup, Resource: a.Resource}, a.Name, errors.New(msg))
//
// which yields e.g. `secrets "db" is forbidden: User "jane" cannot get
// resource "secrets" in API group "" in the namespace "prod"`.
func ForbiddenMessage(a auth.Attributes, reason string) string {
	msg := forbiddenMessage(a)
	if reason != "" {
		msg += ": " + reason
	}
	return msg
}

func forbiddenMessage(a auth.Attributes) string {
	username := ""
	if a.User != nil {
		username = a.User.Name
	}
	if !a.ResourceRequest {
		return fmt.Sprintf("User %q cannot %s path %q", username, a.Verb, a.Path)
	}
	resource := a.Resource
	if a.Subresource != "" {
		resource += "/" + a.Subresource
	}
	if a.Namespace != "" {
		return fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q", username, a.Verb, resource, a.APIGroup, a.Namespace)
	}
	return fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", username, a.Verb, resource, a.APIGroup)
}
