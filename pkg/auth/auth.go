// Package auth holds the types the apiserver's authentication and
// authorization stages share: who is asking (User) and what they ask
// (Attributes). Authenticators live in pkg/auth/authn, authorizers in
// pkg/auth/authz, the certificate tooling in pkg/auth/pki.
package auth

import (
	"context"
	"net/http"
)

// Well-known users and groups, as upstream names them.
const (
	Anonymous           = "system:anonymous"
	AllUnauthenticated  = "system:unauthenticated"
	AllAuthenticated    = "system:authenticated"
	SystemPrivileged    = "system:masters"
	NodesGroup          = "system:nodes"
	NodeUserPrefix      = "system:node:"
	ServiceAccountGroup = "system:serviceaccounts"
	// ServiceAccountUserPrefix starts "system:serviceaccount:<ns>:<name>".
	ServiceAccountUserPrefix = "system:serviceaccount:"
	// ServiceAccountGroupPrefix starts "system:serviceaccounts:<ns>".
	ServiceAccountGroupPrefix = "system:serviceaccounts:"
)

// User is an authenticated identity.
type User struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// InGroup reports membership of group.
func (u *User) InGroup(group string) bool {
	for _, g := range u.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// Authenticator finds who sent a request. ok=false with a nil error means
// "no credentials of my kind": the next authenticator is asked. An error
// means the credentials were present and bad (401).
type Authenticator interface {
	AuthenticateRequest(r *http.Request) (u *User, ok bool, err error)
}

// Attributes describe a request for authorization, in RBAC's terms.
type Attributes struct {
	User *User
	// Verb: get, list, watch, create, update, patch, delete,
	// deletecollection (resource requests); get, post, put, delete, ...
	// (non-resource requests); impersonate, bind, escalate, approve, ...
	Verb            string
	ResourceRequest bool
	APIGroup        string
	APIVersion      string
	Namespace       string
	Resource        string
	Subresource     string
	Name            string
	// Path is the URL path of a non-resource request.
	Path string
}

// Decision of an authorizer.
type Decision int

const (
	// DecisionNoOpinion lets the next authorizer decide.
	DecisionNoOpinion Decision = iota
	DecisionAllow
	DecisionDeny
)

// Authorizer decides whether a request may proceed; reason says why (it is
// shown in a 403's message and in audit lines).
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (d Decision, reason string, err error)
}

type ctxKey int

const userKey ctxKey = iota

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey, u)
}

// UserFrom returns the request's user, or nil.
func UserFrom(ctx context.Context) *User {
	u, _ := ctx.Value(userKey).(*User)
	return u
}
