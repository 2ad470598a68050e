package authn

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kstack/kstack/pkg/auth"
)

// Impersonation headers, as client-go sends them.
const (
	ImpersonateUserHeader        = "Impersonate-User"
	ImpersonateUIDHeader         = "Impersonate-Uid"
	ImpersonateGroupHeader       = "Impersonate-Group"
	ImpersonateExtraHeaderPrefix = "Impersonate-Extra-"
)

// AuthorizeFunc answers whether attrs are allowed, with a reason shown in
// a 403 (an authorizer's Authorize with DecisionAllow as true).
type AuthorizeFunc func(attrs auth.Attributes) (allowed bool, reason string, err error)

// impersonationRequest is one thing the requester asks to act as.
type impersonationRequest struct {
	attrs auth.Attributes
	apply func(*impersonated)
}

type impersonated struct {
	name, uid string
	isSA      bool
	saNS      string
	groups    []string
	extra     map[string][]string
}

// Impersonate applies the Impersonate-* headers of r for requester, who
// has already been authenticated. Without such headers it returns
// requester unchanged. Otherwise every requested user, service account,
// group, uid and extra value is checked with authorize as the verb
// "impersonate" on users, serviceaccounts (namespace and name from
// system:serviceaccount:<ns>:<name>), groups, uids or userextras/<key>
// (the last two in API group authentication.k8s.io), and the impersonated
// user is returned; the headers are removed from r.
//
// Errors are *apierrors.StatusError, ready to send: 403 Forbidden with
// upstream's message for a refused check, 500 (as upstream) for groups,
// extras or a uid without Impersonate-User.
//
// The impersonated user's groups are the requested ones; without any, a
// service account gets its fixed groups. system:authenticated is added
// unless the user is system:anonymous (which gets system:unauthenticated)
// or a requested group already is system:authenticated or
// system:unauthenticated.
func Impersonate(r *http.Request, requester *auth.User, authorize AuthorizeFunc) (*auth.User, error) {
	reqs, err := impersonationRequests(r.Header)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	if len(reqs) == 0 {
		return requester, nil
	}
	groupsSpecified := len(r.Header.Values(ImpersonateGroupHeader)) > 0
	var out impersonated
	out.extra = map[string][]string{}
	for _, req := range reqs {
		req.attrs.User = requester
		req.attrs.Verb = "impersonate"
		req.attrs.ResourceRequest = true
		allowed, reason, err := authorize(req.attrs)
		if err != nil || !allowed {
			return nil, Forbidden(req.attrs, reason)
		}
		req.apply(&out)
	}
	groups := out.groups
	if out.isSA && !groupsSpecified {
		groups = ServiceAccountGroups(out.saNS)
	}
	if out.name != auth.Anonymous {
		if !containsAny(groups, auth.AllAuthenticated, auth.AllUnauthenticated) {
			groups = append(groups, auth.AllAuthenticated)
		}
	} else if !containsAny(groups, auth.AllUnauthenticated) {
		groups = append(groups, auth.AllUnauthenticated)
	}
	u := &auth.User{Name: out.name, UID: out.uid, Groups: groups}
	if len(out.extra) > 0 {
		u.Extra = out.extra
	}
	r.Header.Del(ImpersonateUserHeader)
	r.Header.Del(ImpersonateUIDHeader)
	r.Header.Del(ImpersonateGroupHeader)
	for h := range r.Header {
		if strings.HasPrefix(h, ImpersonateExtraHeaderPrefix) {
			r.Header.Del(h)
		}
	}
	return u, nil
}

func containsAny(list []string, want ...string) bool {
	for _, s := range list {
		for _, w := range want {
			if s == w {
				return true
			}
		}
	}
	return false
}

// impersonationRequests lists what the headers ask for, in upstream's
// order: user (or service account), groups, extras, uid.
func impersonationRequests(h http.Header) ([]impersonationRequest, error) {
	var reqs []impersonationRequest
	user := h.Get(ImpersonateUserHeader)
	if user != "" {
		if ns, name, err := SplitServiceAccountUsername(user); err == nil {
			reqs = append(reqs, impersonationRequest{
				attrs: auth.Attributes{Resource: "serviceaccounts", Namespace: ns, Name: name},
				apply: func(o *impersonated) { o.name, o.isSA, o.saNS = user, true, ns },
			})
		} else {
			reqs = append(reqs, impersonationRequest{
				attrs: auth.Attributes{Resource: "users", Name: user},
				apply: func(o *impersonated) { o.name = user },
			})
		}
	}
	others := 0
	for _, g := range h.Values(ImpersonateGroupHeader) {
		reqs = append(reqs, impersonationRequest{
			attrs: auth.Attributes{Resource: "groups", Name: g},
			apply: func(o *impersonated) { o.groups = append(o.groups, g) },
		})
		others++
	}
	for name, values := range h {
		rawKey, ok := strings.CutPrefix(name, ImpersonateExtraHeaderPrefix)
		if !ok {
			continue
		}
		key := unescapeExtraKey(strings.ToLower(rawKey))
		for _, v := range values {
			reqs = append(reqs, impersonationRequest{
				attrs: auth.Attributes{APIGroup: "authentication.k8s.io", APIVersion: "v1", Resource: "userextras", Subresource: key, Name: v},
				apply: func(o *impersonated) { o.extra[key] = append(o.extra[key], v) },
			})
			others++
		}
	}
	if uid := h.Get(ImpersonateUIDHeader); uid != "" {
		reqs = append(reqs, impersonationRequest{
			attrs: auth.Attributes{APIGroup: "authentication.k8s.io", APIVersion: "v1", Resource: "uids", Name: uid},
			apply: func(o *impersonated) { o.uid = uid },
		})
		others++
	}
	if others > 0 && user == "" {
		return nil, fmt.Errorf("requested %s without impersonating a user", describe(reqs))
	}
	return reqs, nil
}

func describe(reqs []impersonationRequest) string {
	parts := make([]string, len(reqs))
	for i, r := range reqs {
		parts[i] = r.attrs.Resource + "=" + r.attrs.Name
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// unescapeExtraKey undoes the percent-encoding clients apply to extra keys
// that are not valid header names (a malformed escape is kept as is).
func unescapeExtraKey(key string) string {
	k, err := url.PathUnescape(key)
	if err != nil {
		return key
	}
	return k
}

var htmlSanitizer = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;")

// ForbiddenMessage is upstream's 403 text for attrs: `User "x" cannot
// <verb> resource "<res>[/<sub>]" in API group "<g>" in the namespace
// "<ns>"` (or "at the cluster scope"), or `User "x" cannot <verb> path
// "<path>"` for non-resource requests.
func ForbiddenMessage(a auth.Attributes) string {
	name := ""
	if a.User != nil {
		name = a.User.Name
	}
	if !a.ResourceRequest {
		return fmt.Sprintf("User %q cannot %s path %q", name, a.Verb, a.Path)
	}
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	if a.Namespace != "" {
		return fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q", name, a.Verb, res, a.APIGroup, a.Namespace)
	}
	return fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", name, a.Verb, res, a.APIGroup)
}

// Forbidden is the 403 upstream sends when attrs are refused, with the
// authorizer's reason appended when there is one:
// `<resource> "<name>" is forbidden: User "x" cannot ...`.
func Forbidden(a auth.Attributes, reason string) *apierrors.StatusError {
	msg := htmlSanitizer.Replace(ForbiddenMessage(a))
	if reason != "" {
		msg += ": " + reason
	}
	return apierrors.NewForbidden(schema.GroupResource{Group: a.APIGroup, Resource: a.Resource}, a.Name, errors.New(msg))
}
