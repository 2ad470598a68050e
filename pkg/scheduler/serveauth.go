package scheduler

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// DefaultAlwaysAllowPaths are upstream's --authorization-always-allow-paths
// for kube-scheduler: health checks need no credentials.
var DefaultAlwaysAllowPaths = []string{"/healthz", "/readyz", "/livez"}

// Delegated auth decisions are cached as upstream's delegating
// authenticator and authorizer do (10 s each way).
const delegatedCacheTTL = 10 * time.Second

// delegatedAuth guards the secure port as upstream's kube-scheduler does:
// a bearer token is authenticated with a TokenReview (no token: the
// anonymous user), then the request is authorized with a
// SubjectAccessReview on its non-resource path; paths in alwaysAllow (an
// entry ending in "*" is a prefix) pass without either. Client
// certificates are not authenticated (upstream reads its client CA from
// the extension-apiserver-authentication ConfigMap).
type delegatedAuth struct {
	client      kubernetes.Interface
	alwaysAllow []string
	now         func() time.Time

	mu     sync.Mutex
	tokens map[string]cachedUser
	sars   map[string]cachedBool
}

type cachedUser struct {
	user    *authenticationv1.UserInfo
	expires time.Time
}

type cachedBool struct {
	ok      bool
	expires time.Time
}

func newDelegatedAuth(client kubernetes.Interface, alwaysAllow []string) *delegatedAuth {
	return &delegatedAuth{client: client, alwaysAllow: alwaysAllow, now: time.Now,
		tokens: map[string]cachedUser{}, sars: map[string]cachedBool{}}
}

func (a *delegatedAuth) allowedWithoutAuth(path string) bool {
	for _, p := range a.alwaysAllow {
		if strings.HasSuffix(p, "*") {
			if strings.HasPrefix(path, strings.TrimSuffix(p, "*")) {
				return true
			}
		} else if p == path {
			return true
		}
	}
	return false
}

// authenticate returns the caller, or nil when the token is invalid.
func (a *delegatedAuth) authenticate(ctx context.Context, r *http.Request) (*authenticationv1.UserInfo, error) {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return &authenticationv1.UserInfo{Username: "system:anonymous", Groups: []string{"system:unauthenticated"}}, nil
	}
	token = strings.TrimSpace(token)
	now := a.now()
	a.mu.Lock()
	c, hit := a.tokens[token]
	a.mu.Unlock()
	if hit && now.Before(c.expires) {
		return c.user, nil
	}
	tr, err := a.client.AuthenticationV1().TokenReviews().Create(ctx,
		&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token review: %w", err)
	}
	var u *authenticationv1.UserInfo
	if tr.Status.Authenticated {
		u = &tr.Status.User
	}
	a.mu.Lock()
	if len(a.tokens) > 1000 {
		a.tokens = map[string]cachedUser{}
	}
	a.tokens[token] = cachedUser{user: u, expires: now.Add(delegatedCacheTTL)}
	a.mu.Unlock()
	return u, nil
}

func (a *delegatedAuth) authorize(ctx context.Context, u *authenticationv1.UserInfo, verb, path string) (bool, error) {
	key := u.Username + "\x00" + u.UID + "\x00" + strings.Join(u.Groups, ",") + "\x00" + verb + "\x00" + path
	now := a.now()
	a.mu.Lock()
	c, hit := a.sars[key]
	a.mu.Unlock()
	if hit && now.Before(c.expires) {
		return c.ok, nil
	}
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range u.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb}},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("subject access review: %w", err)
	}
	a.mu.Lock()
	if len(a.sars) > 10000 {
		a.sars = map[string]cachedBool{}
	}
	a.sars[key] = cachedBool{ok: sar.Status.Allowed, expires: now.Add(delegatedCacheTTL)}
	a.mu.Unlock()
	return sar.Status.Allowed, nil
}

// nonResourceVerb maps an HTTP method to the verb of a non-resource
// request, as the apiserver does.
func nonResourceVerb(method string) string {
	switch method {
	case http.MethodPost:
		return "post"
	case http.MethodPut:
		return "put"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	case http.MethodHead:
		return "head"
	}
	return "get"
}

// wrap authenticates and authorizes each request before next.
func (a *delegatedAuth) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.allowedWithoutAuth(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		u, err := a.authenticate(r.Context(), r)
		if err != nil {
			http.Error(w, "Internal Server Error: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if u == nil {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		verb := nonResourceVerb(r.Method)
		ok, err := a.authorize(r.Context(), u, verb, r.URL.Path)
		if err != nil {
			http.Error(w, "Internal Server Error: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if !ok {
			http.Error(w, fmt.Sprintf("forbidden: User %q cannot %s path %q", u.Username, verb, r.URL.Path), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
