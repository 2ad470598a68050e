package apiserver

import (
	"context"
	"crypto"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/kstack/kstack/pkg/apiserver/audit"
	"github.com/kstack/kstack/pkg/auth"
	"github.com/kstack/kstack/pkg/auth/authn"
	"github.com/kstack/kstack/pkg/auth/authz"
	"github.com/kstack/kstack/pkg/storage"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// setupAuthentication builds the authenticator chain from the flags, in
// upstream's order: client certificates, the token file, service-account
// tokens; then anonymous.
func (s *Server) setupAuthentication() error {
	var chain []auth.Authenticator
	if s.cfg.ClientCAFile != "" {
		pool, err := authn.LoadCAFile(s.cfg.ClientCAFile)
		if err != nil {
			return fmt.Errorf("--client-ca-file: %w", err)
		}
		chain = append(chain, authn.NewX509(pool))
	}
	if s.cfg.TokenAuthFile != "" {
		tf, err := authn.NewTokenFile(s.cfg.TokenAuthFile)
		if err != nil {
			return fmt.Errorf("--token-auth-file: %w", err)
		}
		chain = append(chain, tf)
		s.tokenAuthenticators = append(s.tokenAuthenticators, tf)
	}
	if s.cfg.ServiceAccountSigningKeyFile != "" {
		signer, err := authn.NewSigner(s.cfg.ServiceAccountSigningKeyFile, s.cfg.ServiceAccountIssuers[0])
		if err != nil {
			return fmt.Errorf("--service-account-signing-key-file: %w", err)
		}
		s.signer = signer
	}
	var keys []crypto.PublicKey
	if len(s.cfg.ServiceAccountKeyFiles) > 0 {
		var err error
		keys, err = authn.LoadPublicKeys(s.cfg.ServiceAccountKeyFiles...)
		if err != nil {
			return fmt.Errorf("--service-account-key-file: %w", err)
		}
	} else if s.signer != nil {
		keys = []crypto.PublicKey{s.signer.PublicKey()}
	}
	s.saKeys = keys
	if len(keys) > 0 && len(s.cfg.ServiceAccountIssuers) > 0 {
		sa, err := authn.NewServiceAccount(authn.ServiceAccountOptions{
			Keys:      keys,
			Issuers:   s.cfg.ServiceAccountIssuers,
			Audiences: s.apiAudiences(),
			Objects:   boundObjects{s},
		})
		if err != nil {
			return err
		}
		s.saAuthenticator = sa
		s.tokenAuthenticators = append(s.tokenAuthenticators, sa)
		chain = append(chain, sa)
	}
	s.authenticator = authn.NewChain(s.cfg.AnonymousAuth || len(chain) == 0, chain...)
	return nil
}

func (s *Server) apiAudiences() []string {
	if len(s.cfg.APIAudiences) > 0 {
		return s.cfg.APIAudiences
	}
	if len(s.cfg.ServiceAccountIssuers) > 0 {
		return s.cfg.ServiceAccountIssuers[:1]
	}
	return nil
}

// clientAuth is the TLS client-certificate mode: certificates are asked for
// but verified by the x509 authenticator (so a bad one is a 401 with a
// reason, as upstream, not a failed handshake).
func (s *Server) clientAuth() tls.ClientAuthType {
	if s.cfg.ClientCAFile != "" {
		return tls.RequestClientCert
	}
	return tls.NoClientCert
}

// withAuthentication authenticates (401) and applies impersonation, and
// leaves the user and the request info in the context.
func (s *Server) withAuthentication(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.authenticator.Authenticate(r)
		if err != nil {
			ar := r.WithContext(withRequestInfo(r.Context(), parseRequestInfo(r)))
			s.auditor.FailedAuthentication(ar, auditAttrs(ar), http.StatusUnauthorized, attemptedAuthMethods(r))
			w.Header().Set("WWW-Authenticate", `Basic realm="kubernetes-master"`)
			writeError(w, r, apierrors.NewUnauthorized("Unauthorized"))
			return
		}
		ctx := auth.WithUser(r.Context(), u)
		ctx = context.WithValue(ctx, requesterKey, u)
		info := parseRequestInfo(r)
		ctx = withRequestInfo(ctx, info)
		r = r.WithContext(ctx)
		if hasImpersonation(r) {
			imp, err := authn.Impersonate(r, u, func(a auth.Attributes) (bool, string, error) {
				d, reason, err := s.authorizer.Authorize(ctx, a)
				return d == auth.DecisionAllow, reason, err
			})
			if err != nil {
				writeError(w, r, err)
				return
			}
			r = r.WithContext(auth.WithUser(ctx, imp))
		}
		next.ServeHTTP(w, r)
	})
}

// attemptedAuthMethods is the message of a failed authentication's audit
// event: the credentials the request carried, as upstream words it.
func attemptedAuthMethods(r *http.Request) string {
	var methods []string
	if _, _, ok := r.BasicAuth(); ok {
		methods = append(methods, "basic")
	}
	if _, ok := authn.BearerToken(r); ok {
		methods = append(methods, "bearer")
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		methods = append(methods, "x509")
	}
	if len(methods) == 0 {
		return "Authentication failed, no credentials provided"
	}
	return "Authentication failed, attempted: " + strings.Join(methods, ", ")
}

// withAuthorization answers 403 to what the authorizers do not allow.
func (s *Server) withAuthorization(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := requestInfoFrom(r.Context())
		if err := s.authorize(r, attributesFor(auth.UserFrom(r.Context()), info, r)); err != nil {
			audit.AddAnnotation(r.Context(), audit.AnnotationDecision, "forbid")
			writeError(w, r, err)
			return
		}
		audit.AddAnnotation(r.Context(), audit.AnnotationDecision, "allow")
		next.ServeHTTP(w, r)
	})
}

// auditAttrs describes a request for the audit policy.
func auditAttrs(r *http.Request) audit.Attrs {
	ctx := r.Context()
	info := requestInfoFrom(ctx)
	requester, _ := ctx.Value(requesterKey).(*auth.User)
	a := audit.Attrs{User: requester}
	if u := auth.UserFrom(ctx); u != nil && u != requester {
		a.ImpersonatedUser = u
	}
	if info != nil {
		a.Verb, a.ResourceRequest = info.Verb, info.IsResourceRequest
		a.APIGroup, a.APIVersion, a.Namespace = info.APIGroup, info.APIVersion, info.Namespace
		a.Resource, a.Subresource, a.Name, a.Path = info.Resource, info.Subresource, info.Name, r.URL.Path
		a.LongRunning = isLongRunning(r)
	}
	return a
}

const requesterKey ctxKey = 100

func hasImpersonation(r *http.Request) bool {
	for k := range r.Header {
		if strings.HasPrefix(k, "Impersonate-") {
			return true
		}
	}
	return false
}

// requestInfoFrom returns the request info withAuth stored.
func requestInfoFrom(ctx context.Context) *RequestInfo {
	info, _ := ctx.Value(requestInfoKey).(*RequestInfo)
	return info
}

// boundObjects reads the objects service-account tokens are bound to.
type boundObjects struct{ s *Server }

func (b boundObjects) get(ctx context.Context, group, resource, ns, name string) (*metav1.ObjectMeta, error) {
	rs := b.s.storeFor(group, resource)
	obj := rs.cfg.NewFunc()
	if err := rs.storage.Get(ctx, rs.key(ns, name), storage.GetOptions{ResourceVersion: "0"}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			// The cache may lag a moment behind a new object.
			err = rs.storage.Get(ctx, rs.key(ns, name), storage.GetOptions{}, obj)
		}
		if err != nil {
			return nil, err
		}
	}
	return objectMetaOf(obj), nil
}

func objectMetaOf(obj runtime.Object) *metav1.ObjectMeta {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return &metav1.ObjectMeta{}
	}
	return objectMeta(acc)
}

func (b boundObjects) ServiceAccount(ctx context.Context, ns, name string) (*metav1.ObjectMeta, error) {
	return b.get(ctx, "", "serviceaccounts", ns, name)
}
func (b boundObjects) Pod(ctx context.Context, ns, name string) (*metav1.ObjectMeta, error) {
	return b.get(ctx, "", "pods", ns, name)
}
func (b boundObjects) Secret(ctx context.Context, ns, name string) (*metav1.ObjectMeta, error) {
	return b.get(ctx, "", "secrets", ns, name)
}
func (b boundObjects) Node(ctx context.Context, name string) (*metav1.ObjectMeta, error) {
	return b.get(ctx, "", "nodes", "", name)
}

// admitNode is the NodeRestriction admission plugin: a kubelet may change
// only its own Node, Lease and the pods bound to it. obj is the new state,
// old the stored one (either may be nil).
func (s *Server) admitNode(ctx context.Context, obj, old runtime.Object) error {
	if !s.cfg.admissionEnabled("NodeRestriction") {
		return nil
	}
	u := auth.UserFrom(ctx)
	if u == nil || !u.InGroup(auth.NodesGroup) {
		return nil
	}
	info := requestInfoFrom(ctx)
	if info == nil {
		return nil
	}
	a := auth.Attributes{User: u, Verb: info.Verb, ResourceRequest: true, APIGroup: info.APIGroup, APIVersion: info.APIVersion,
		Namespace: info.Namespace, Resource: info.Resource, Subresource: info.Subresource, Name: info.Name}
	return authz.NodeRestriction(u, a, obj, old)
}

// serveOIDC answers the service-account issuer discovery documents.
func (s *Server) serveOIDC(w http.ResponseWriter, r *http.Request) {
	if s.signer == nil || len(s.cfg.ServiceAccountIssuers) == 0 {
		writeError(w, r, errNoSuchPath)
		return
	}
	jwksURI := s.cfg.ServiceAccountJWKSURI
	if jwksURI == "" {
		// Upstream's default: this server's external address.
		jwksURI = authn.DefaultJWKSURI(net.JoinHostPort(s.advertiseAddress().String(), strconv.Itoa(int(s.securePort()))))
	}
	config, jwks, err := authn.DiscoveryDocuments(s.cfg.ServiceAccountIssuers[0], jwksURI, s.saKeys)
	if err != nil {
		writeError(w, r, errNoSuchPath)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	if strings.HasSuffix(r.URL.Path, "/jwks") {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(jwks)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(config)
}
