package daemon

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// DefaultAlwaysAllowPaths are upstream's --authorization-always-allow-paths
// of kube-scheduler and kube-controller-manager: health checks need no
// credentials.
var DefaultAlwaysAllowPaths = []string{"/healthz", "/readyz", "/livez"}

// DelegatedAuthOptions are upstream's delegated authentication and
// authorization flags of a component's secure port (kube-scheduler,
// kube-controller-manager): callers are authenticated by client
// certificate (--client-ca-file) or bearer token (a TokenReview to the
// apiserver), then authorized by a SubjectAccessReview on the request's
// non-resource path. The zero value is usable: empty kubeconfigs mean the
// component's own, zero TTLs mean upstream's 10 s, nil AlwaysAllowPaths
// mean DefaultAlwaysAllowPaths.
type DelegatedAuthOptions struct {
	// AuthenticationKubeconfig (--authentication-kubeconfig) reaches the
	// apiserver for TokenReviews; empty: the component's kubeconfig.
	AuthenticationKubeconfig string
	// AuthorizationKubeconfig (--authorization-kubeconfig) reaches the
	// apiserver for SubjectAccessReviews; empty: the component's kubeconfig.
	AuthorizationKubeconfig string
	// ClientCAFile (--client-ca-file) enables x509 client certificates
	// signed by its CAs: the subject's CN is the user, its O the groups.
	// Unlike upstream, an empty value does not look the CA up in the
	// kube-system/extension-apiserver-authentication ConfigMap.
	ClientCAFile string
	// AlwaysAllowPaths (--authorization-always-allow-paths) pass without
	// authentication or authorization; an entry ending in "*" is a prefix.
	AlwaysAllowPaths []string
	// TokenCacheTTL (--authentication-token-webhook-cache-ttl) caches
	// TokenReview answers.
	TokenCacheTTL time.Duration
	// AuthorizedCacheTTL and UnauthorizedCacheTTL
	// (--authorization-webhook-cache-{authorized,unauthorized}-ttl) cache
	// SubjectAccessReview answers.
	AuthorizedCacheTTL, UnauthorizedCacheTTL time.Duration
}

// delegatedCacheTTL is upstream's default for all three caches.
const delegatedCacheTTL = 10 * time.Second

// AddFlags registers the options under upstream's flag names.
func (o *DelegatedAuthOptions) AddFlags(fs *pflag.FlagSet) {
	if o.AlwaysAllowPaths == nil {
		o.AlwaysAllowPaths = append([]string(nil), DefaultAlwaysAllowPaths...)
	}
	for _, d := range []*time.Duration{&o.TokenCacheTTL, &o.AuthorizedCacheTTL, &o.UnauthorizedCacheTTL} {
		if *d == 0 {
			*d = delegatedCacheTTL
		}
	}
	fs.StringVar(&o.AuthenticationKubeconfig, "authentication-kubeconfig", o.AuthenticationKubeconfig, "kubeconfig file pointing at the 'core' kubernetes server with enough rights to create tokenreviews.authentication.k8s.io. Empty: the component's --kubeconfig.")
	fs.StringVar(&o.AuthorizationKubeconfig, "authorization-kubeconfig", o.AuthorizationKubeconfig, "kubeconfig file pointing at the 'core' kubernetes server with enough rights to create subjectaccessreviews.authorization.k8s.io. Empty: the component's --kubeconfig.")
	fs.StringVar(&o.ClientCAFile, "client-ca-file", o.ClientCAFile, "If set, any request presenting a client certificate signed by one of the authorities in the client-ca-file is authenticated with an identity corresponding to the CommonName of the client certificate.")
	fs.StringSliceVar(&o.AlwaysAllowPaths, "authorization-always-allow-paths", o.AlwaysAllowPaths, "A list of HTTP paths to skip during authorization, i.e. these are authorized without contacting the 'core' kubernetes server.")
	fs.DurationVar(&o.TokenCacheTTL, "authentication-token-webhook-cache-ttl", o.TokenCacheTTL, "The duration to cache responses from the webhook token authenticator.")
	fs.DurationVar(&o.AuthorizedCacheTTL, "authorization-webhook-cache-authorized-ttl", o.AuthorizedCacheTTL, "The duration to cache 'authorized' responses from the webhook authorizer.")
	fs.DurationVar(&o.UnauthorizedCacheTTL, "authorization-webhook-cache-unauthorized-ttl", o.UnauthorizedCacheTTL, "The duration to cache 'unauthorized' responses from the webhook authorizer.")
}

// DelegatedAuth guards a secure port as upstream's kube-scheduler and
// kube-controller-manager do. A request on an always-allowed path passes.
// Otherwise the caller is, in order: the user of a client certificate
// that verifies against the client CA; the user of a bearer token the
// apiserver's TokenReview authenticates; system:anonymous when neither
// credential was offered. Offered but invalid credentials answer 401. The
// caller is then authorized with a SubjectAccessReview on the path (403
// when denied). Both answers are cached.
type DelegatedAuth struct {
	authn, authz kubernetes.Interface
	clientCAs    *x509.CertPool
	alwaysAllow  []string
	tokenTTL     time.Duration
	allowTTL     time.Duration
	denyTTL      time.Duration
	now          func() time.Time

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

// NewDelegatedAuth builds the guard; component is the component's own
// client configuration, used for the reviews when no
// --authentication-kubeconfig / --authorization-kubeconfig is given.
func NewDelegatedAuth(o DelegatedAuthOptions, component *rest.Config) (*DelegatedAuth, error) {
	client := func(kubeconfig, what string) (kubernetes.Interface, error) {
		cfg := rest.CopyConfig(component)
		if kubeconfig != "" {
			var err error
			if cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
				return nil, fmt.Errorf("--%s-kubeconfig %s: %w", what, kubeconfig, err)
			}
			cfg.UserAgent = component.UserAgent
		}
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("%s client for %s: %w", what, cfg.Host, err)
		}
		return c, nil
	}
	authn, err := client(o.AuthenticationKubeconfig, "authentication")
	if err != nil {
		return nil, err
	}
	authz, err := client(o.AuthorizationKubeconfig, "authorization")
	if err != nil {
		return nil, err
	}
	a := newDelegatedAuth(authn, authz, o)
	if o.ClientCAFile != "" {
		pem, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("--client-ca-file: %w", err)
		}
		a.clientCAs = x509.NewCertPool()
		if !a.clientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca-file %s: no PEM certificates", o.ClientCAFile)
		}
	}
	return a, nil
}

func newDelegatedAuth(authn, authz kubernetes.Interface, o DelegatedAuthOptions) *DelegatedAuth {
	a := &DelegatedAuth{authn: authn, authz: authz, alwaysAllow: o.AlwaysAllowPaths,
		tokenTTL: o.TokenCacheTTL, allowTTL: o.AuthorizedCacheTTL, denyTTL: o.UnauthorizedCacheTTL,
		now: time.Now, tokens: map[string]cachedUser{}, sars: map[string]cachedBool{}}
	if a.alwaysAllow == nil {
		a.alwaysAllow = DefaultAlwaysAllowPaths
	}
	for _, d := range []*time.Duration{&a.tokenTTL, &a.allowTTL, &a.denyTTL} {
		if *d == 0 {
			*d = delegatedCacheTTL
		}
	}
	return a
}

// RequestsClientCerts says whether the TLS listener must ask for client
// certificates (ServeOptions.RequestClientCert).
func (a *DelegatedAuth) RequestsClientCerts() bool { return a.clientCAs != nil }

// Guard puts the delegated authentication and authorization in front of
// everything s serves.
func (a *DelegatedAuth) Guard(s *Server) {
	guarded := http.NewServeMux()
	guarded.Handle("/", a.Wrap(s.Mux))
	s.Mux = guarded
}

func (a *DelegatedAuth) allowedWithoutAuth(path string) bool {
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

var errUnauthorized = errors.New("unauthorized")

// authenticate returns the caller; errUnauthorized when the offered
// credentials are not valid.
func (a *DelegatedAuth) authenticate(ctx context.Context, r *http.Request) (*authenticationv1.UserInfo, error) {
	certFailed := false
	if a.clientCAs != nil && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		if u, ok := a.verifyClientCert(r.TLS.PeerCertificates); ok {
			return u, nil
		}
		certFailed = true
	}
	token, hasToken := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	if !hasToken || token == "" {
		if certFailed {
			return nil, errUnauthorized
		}
		return &authenticationv1.UserInfo{Username: "system:anonymous", Groups: []string{"system:unauthenticated"}}, nil
	}
	now := a.now()
	a.mu.Lock()
	c, hit := a.tokens[token]
	a.mu.Unlock()
	if !hit || !now.Before(c.expires) {
		tr, err := a.authn.AuthenticationV1().TokenReviews().Create(ctx,
			&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("token review: %w", err)
		}
		c = cachedUser{expires: now.Add(a.tokenTTL)}
		if tr.Status.Authenticated {
			c.user = &tr.Status.User
		}
		a.mu.Lock()
		if len(a.tokens) > 1000 {
			a.tokens = map[string]cachedUser{}
		}
		a.tokens[token] = c
		a.mu.Unlock()
	}
	if c.user == nil {
		return nil, errUnauthorized
	}
	return c.user, nil
}

// verifyClientCert checks the chain against the client CA as upstream's
// x509 authenticator: CN is the user, O the groups.
func (a *DelegatedAuth) verifyClientCert(chain []*x509.Certificate) (*authenticationv1.UserInfo, bool) {
	opts := x509.VerifyOptions{Roots: a.clientCAs, Intermediates: x509.NewCertPool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: a.now()}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := chain[0].Verify(opts); err != nil || chain[0].Subject.CommonName == "" {
		return nil, false
	}
	return &authenticationv1.UserInfo{Username: chain[0].Subject.CommonName,
		Groups: append(append([]string(nil), chain[0].Subject.Organization...), "system:authenticated")}, true
}

func (a *DelegatedAuth) authorize(ctx context.Context, u *authenticationv1.UserInfo, verb, path string) (bool, error) {
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
	sar, err := a.authz.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb}},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("subject access review: %w", err)
	}
	ttl := a.denyTTL
	if sar.Status.Allowed {
		ttl = a.allowTTL
	}
	a.mu.Lock()
	if len(a.sars) > 10000 {
		a.sars = map[string]cachedBool{}
	}
	a.sars[key] = cachedBool{ok: sar.Status.Allowed, expires: now.Add(ttl)}
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

// Wrap authenticates and authorizes each request before next. Refusals
// are a metav1.Status, as upstream's.
func (a *DelegatedAuth) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.allowedWithoutAuth(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		u, err := a.authenticate(r.Context(), r)
		if err != nil {
			// Upstream answers 401 for a failed authentication
			// whatever the cause, the TokenReview's error included.
			writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized")
			return
		}
		verb := nonResourceVerb(r.Method)
		ok, err := a.authorize(r.Context(), u, verb, r.URL.Path)
		if err != nil {
			writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "Internal error occurred: "+err.Error())
			return
		}
		if !ok {
			writeStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden,
				fmt.Sprintf("forbidden: User %q cannot %s path %q", u.Username, verb, r.URL.Path))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	st := metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status: metav1.StatusFailure, Message: msg, Reason: reason, Code: int32(code)}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(st)
}
