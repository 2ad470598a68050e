package server

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Authorization modes (--authorization-mode), as upstream's kubelet.
const (
	AuthorizationAlwaysAllow = "AlwaysAllow"
	AuthorizationWebhook     = "Webhook"
)

// user is an authenticated caller.
type user struct {
	name   string
	groups []string
}

// authenticate names the caller from its verified client certificate
// (CN is the user, O the groups); without one the caller is anonymous
// when allowed.
func (s *Server) authenticate(r *http.Request) (*user, bool) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && s.clientCAs != nil {
		leaf := r.TLS.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range r.TLS.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: s.clientCAs, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
			return &user{name: leaf.Subject.CommonName, groups: append(leaf.Subject.Organization, "system:authenticated")}, true
		}
	}
	if s.cfg.AnonymousAuth {
		return &user{name: "system:anonymous", groups: []string{"system:unauthenticated"}}, true
	}
	return nil, false
}

// requestAttributes are the node subresources a request needs, in order
// of preference (upstream's kubelet auth: /stats -> stats, /metrics ->
// metrics, /logs -> log, /pods and /healthz fall back to proxy, anything
// else is proxy).
func requestAttributes(r *http.Request) (verb string, subresources []string) {
	switch r.Method {
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
	default:
		verb = "get"
	}
	p := r.URL.Path
	sub := func(prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }
	switch {
	case sub("/stats"):
		return verb, []string{"stats"}
	case sub("/metrics"):
		return verb, []string{"metrics"}
	case sub("/logs"):
		return verb, []string{"log"}
	case sub("/pods"):
		return verb, []string{"pods", "proxy"}
	case sub("/healthz"):
		return verb, []string{"healthz", "proxy"}
	case sub("/configz"):
		return verb, []string{"configz", "proxy"}
	}
	return verb, []string{"proxy"}
}

// authorizer decides through SubjectAccessReviews, caching decisions
// (allowed 5 minutes, denied 30 seconds, as upstream's webhook defaults).
type authorizer struct {
	client   kubernetes.Interface
	nodeName string
	now      func() time.Time

	mu    sync.Mutex
	cache map[string]cachedDecision
}

type cachedDecision struct {
	allowed bool
	reason  string
	expires time.Time
}

const (
	allowedTTL = 5 * time.Minute
	deniedTTL  = 30 * time.Second
)

func (a *authorizer) authorize(ctx context.Context, u *user, verb, subresource string) (bool, string, error) {
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%s", u.name, strings.Join(u.groups, ","), verb, subresource)
	now := a.now()
	a.mu.Lock()
	if d, ok := a.cache[key]; ok && now.Before(d.expires) {
		a.mu.Unlock()
		return d.allowed, d.reason, nil
	}
	a.mu.Unlock()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   u.name,
		Groups: u.groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: verb, Resource: "nodes", Subresource: subresource, Name: a.nodeName,
		},
	}}
	res, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("subject access review: %w", err)
	}
	d := cachedDecision{allowed: res.Status.Allowed, reason: res.Status.Reason, expires: now.Add(deniedTTL)}
	if d.allowed {
		d.expires = now.Add(allowedTTL)
	}
	a.mu.Lock()
	if len(a.cache) > 10000 {
		a.cache = map[string]cachedDecision{}
	}
	a.cache[key] = d
	a.mu.Unlock()
	return d.allowed, d.reason, nil
}

// withAuth authenticates and authorizes every request before next.
func (s *Server) withAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.authenticate(r)
		if !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		if s.authz == nil {
			next.ServeHTTP(w, r)
			return
		}
		verb, subs := requestAttributes(r)
		for _, sub := range subs {
			allowed, _, err := s.authz.authorize(r.Context(), u, verb, sub)
			if err != nil {
				http.Error(w, "Authorization error (user="+u.name+", verb="+verb+", resource=nodes, subresource="+sub+")", http.StatusInternalServerError)
				return
			}
			if allowed {
				next.ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource=%s)", u.name, verb, subs[len(subs)-1]), http.StatusForbidden)
	})
}
