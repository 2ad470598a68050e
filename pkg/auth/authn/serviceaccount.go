package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kstack/kstack/pkg/auth"
)

// Leeway is the clock skew tolerated on exp, nbf and iat, and how long
// after its deletionTimestamp a bound object still backs a token (go-jose's
// DefaultLeeway, which upstream uses for both).
const Leeway = time.Minute

// verifyAlgorithms are the JWS algorithms a service-account token may be
// signed with: asymmetric only. "none" and HS256/384/512 are refused, so a
// public key can never be used as an HMAC secret.
//
// Segments must be canonical base64url (strict decoding), so that a token
// has one spelling: a variant with other trailing bits is not accepted.
var verifyAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// BoundObjects looks up the live objects a service-account token names, so
// that deleting (or recreating) one of them invalidates its tokens. The
// apiserver implements it over its storage. Each method returns the
// object's metadata (UID and deletionTimestamp are read) or an error;
// a missing object must be an error apierrors.IsNotFound recognises.
type BoundObjects interface {
	ServiceAccount(ctx context.Context, namespace, name string) (*metav1.ObjectMeta, error)
	Pod(ctx context.Context, namespace, name string) (*metav1.ObjectMeta, error)
	Secret(ctx context.Context, namespace, name string) (*metav1.ObjectMeta, error)
	Node(ctx context.Context, name string) (*metav1.ObjectMeta, error)
}

// ServiceAccountOptions configure NewServiceAccount.
type ServiceAccountOptions struct {
	// Keys verify signatures (--service-account-key-file, see
	// LoadPublicKeys). Required.
	Keys []crypto.PublicKey
	// Issuers accepted in "iss" (--service-account-issuer, repeatable).
	// Required. A token with another issuer is not ours (ok=false).
	Issuers []string
	// Audiences (--api-audiences): a token must name at least one of them
	// in "aud". Defaults to the first issuer, as upstream.
	Audiences []string
	// Objects checks that the service account and bound pod, secret or
	// node still exist with the UIDs in the token. Required. If it also
	// implements LegacyTokenSecrets, legacy secret-based tokens
	// (iss LegacyIssuer) are accepted too.
	Objects BoundObjects
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
}

// ServiceAccount authenticates service-account JWTs (TokenRequest tokens,
// bound to an audience, an expiry and optionally a pod, secret or node).
// It implements TokenAuthenticator and auth.Authenticator.
type ServiceAccount struct {
	keys      []verifyKey
	issuers   map[string]bool
	audiences []string
	objects   BoundObjects
	legacy    LegacyTokenSecrets // nil: legacy tokens are not ours
	now       func() time.Time
	parser    *jwt.Parser
}

type verifyKey struct {
	id  string
	key crypto.PublicKey
}

var (
	_ TokenAuthenticator = (*ServiceAccount)(nil)
	_ auth.Authenticator = (*ServiceAccount)(nil)
)

// NewServiceAccount returns a service-account token authenticator.
func NewServiceAccount(opts ServiceAccountOptions) (*ServiceAccount, error) {
	if len(opts.Keys) == 0 {
		return nil, errors.New("service account authenticator: no verification keys (--service-account-key-file)")
	}
	if len(opts.Issuers) == 0 {
		return nil, errors.New("service account authenticator: no issuer (--service-account-issuer)")
	}
	if opts.Objects == nil {
		return nil, errors.New("service account authenticator: no bound object lookup")
	}
	a := &ServiceAccount{
		issuers:   map[string]bool{},
		audiences: opts.Audiences,
		objects:   opts.Objects,
		now:       opts.Now,
		parser:    jwt.NewParser(jwt.WithValidMethods(verifyAlgorithms), jwt.WithoutClaimsValidation(), jwt.WithStrictDecoding()),
	}
	for _, iss := range opts.Issuers {
		if iss == "" {
			return nil, errors.New("service account authenticator: empty issuer")
		}
		a.issuers[iss] = true
	}
	a.legacy, _ = opts.Objects.(LegacyTokenSecrets)
	if len(a.audiences) == 0 {
		a.audiences = []string{opts.Issuers[0]}
	}
	if a.now == nil {
		a.now = time.Now
	}
	for _, k := range opts.Keys {
		switch k.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
		default:
			return nil, fmt.Errorf("service account authenticator: unsupported key type %T", k)
		}
		id, err := KeyID(k)
		if err != nil {
			return nil, fmt.Errorf("service account authenticator: %w", err)
		}
		a.keys = append(a.keys, verifyKey{id: id, key: k})
	}
	return a, nil
}

type audiencesKey struct{}

// WithAudiences returns ctx asking token authenticators to accept only
// tokens for one of audiences instead of the server's --api-audiences (a
// TokenReview with spec.audiences).
func WithAudiences(ctx context.Context, audiences []string) context.Context {
	return context.WithValue(ctx, audiencesKey{}, audiences)
}

func audiencesFrom(ctx context.Context) []string {
	a, _ := ctx.Value(audiencesKey{}).([]string)
	return a
}

// AuthenticateRequest implements auth.Authenticator for the request's
// bearer token.
func (a *ServiceAccount) AuthenticateRequest(r *http.Request) (*auth.User, bool, error) {
	return TokenRequestAuthenticator(a).AuthenticateRequest(r)
}

// AuthenticateToken implements TokenAuthenticator. A token that is not a
// JWT, or whose issuer is not one of ours, is ok=false; any other failure
// (signature, algorithm, expiry, audience, deleted or recreated bound
// objects) is an error.
func (a *ServiceAccount) AuthenticateToken(ctx context.Context, token string) (*auth.User, bool, error) {
	u, _, ok, err := a.authenticateToken(ctx, token)
	return u, ok, err
}

// authenticateToken also returns the audiences the token was accepted for:
// its own audiences that are among the target ones.
func (a *ServiceAccount) authenticateToken(ctx context.Context, token string) (*auth.User, []string, bool, error) {
	iss, isJWT := unverifiedIssuer(token)
	if isJWT && a.legacy != nil && iss == LegacyIssuer && isLegacyToken(token) {
		return a.authenticateLegacy(ctx, token)
	}
	if !isJWT || !a.issuers[iss] {
		return nil, nil, false, nil
	}
	var claims saClaims
	if _, err := a.parser.ParseWithClaims(token, &claims, a.keyFunc); err != nil {
		return nil, nil, false, fmt.Errorf("invalid service account token: %w", err)
	}
	// The issuer was read before the signature was checked: check it again
	// from the verified claims.
	if !a.issuers[claims.Issuer] {
		return nil, nil, false, fmt.Errorf("token issuer %q is invalid", claims.Issuer)
	}
	now := a.now()
	if err := checkTimes(&claims.RegisteredClaims, now); err != nil {
		return nil, nil, false, err
	}
	want := audiencesFrom(ctx)
	if len(want) == 0 {
		want = a.audiences
	}
	matched := intersect(claims.Audience, want)
	if len(matched) == 0 {
		return nil, nil, false, fmt.Errorf("token audiences %q is invalid for the target audiences %q", []string(claims.Audience), want)
	}
	u, err := a.validateBound(ctx, &claims, now)
	if err != nil {
		return nil, nil, false, err
	}
	return u, matched, true, nil
}

// keyFunc picks the keys a token may be verified with: the key whose ID
// is the "kid" header, or all keys when the token has no kid.
func (a *ServiceAccount) keyFunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	var set jwt.VerificationKeySet
	for _, k := range a.keys {
		if kid == "" || k.id == kid {
			set.Keys = append(set.Keys, k.key)
		}
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("no verification key with key ID %q", kid)
	}
	return set, nil
}

// unverifiedIssuer reads "iss" from a compact JWS without verifying it, to
// decide whether the token is ours at all.
func unverifiedIssuer(token string) (string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", false
	}
	return c.Issuer, true
}

// checkTimes validates exp (required), nbf and iat against now, with Leeway.
func checkTimes(c *jwt.RegisteredClaims, now time.Time) error {
	switch {
	case c.ExpiresAt == nil:
		return errors.New("service account token has no expiry")
	case now.After(c.ExpiresAt.Add(Leeway)):
		return errors.New("service account token has expired")
	case c.NotBefore != nil && now.Add(Leeway).Before(c.NotBefore.Time):
		return errors.New("service account token is not valid yet")
	case c.IssuedAt != nil && now.Add(Leeway).Before(c.IssuedAt.Time):
		return errors.New("service account token is issued in the future")
	}
	return nil
}

// errInvalidated is upstream's message for a token whose bound pod, secret or
// node is gone.
var errInvalidated = errors.New("service account token has been invalidated")

// validateBound checks the kubernetes.io claims against live objects and
// builds the user.
func (a *ServiceAccount) validateBound(ctx context.Context, c *saClaims, now time.Time) (*auth.User, error) {
	k := c.Kubernetes
	if k == nil || k.Namespace == "" || k.ServiceAccount.Name == "" {
		return nil, errors.New("service account token claims lack the namespace or service account")
	}
	if c.Subject != ServiceAccountUsername(k.Namespace, k.ServiceAccount.Name) {
		return nil, fmt.Errorf("service account token subject %q does not match its service account claim", c.Subject)
	}
	if k.Pod != nil && k.Secret != nil {
		return nil, errors.New("service account token is bound to both a pod and a secret")
	}
	deletedBefore := now.Add(-Leeway)
	gone := func(m *metav1.ObjectMeta) bool {
		return m.DeletionTimestamp != nil && m.DeletionTimestamp.Time.Before(deletedBefore)
	}

	sa, err := a.objects.ServiceAccount(ctx, k.Namespace, k.ServiceAccount.Name)
	if err != nil {
		return nil, err
	}
	if gone(sa) {
		return nil, fmt.Errorf("service account %s/%s has been deleted", k.Namespace, k.ServiceAccount.Name)
	}
	if string(sa.UID) != k.ServiceAccount.UID {
		return nil, fmt.Errorf("service account UID (%s) does not match claim (%s)", sa.UID, k.ServiceAccount.UID)
	}

	u := &auth.User{
		Name:   ServiceAccountUsername(k.Namespace, k.ServiceAccount.Name),
		UID:    k.ServiceAccount.UID,
		Groups: ServiceAccountGroups(k.Namespace),
		Extra:  map[string][]string{},
	}
	if k.Secret != nil {
		secret, err := a.objects.Secret(ctx, k.Namespace, k.Secret.Name)
		if err != nil || gone(secret) {
			return nil, errInvalidated
		}
		if string(secret.UID) != k.Secret.UID {
			return nil, fmt.Errorf("secret UID (%s) does not match service account secret ref claim (%s)", secret.UID, k.Secret.UID)
		}
	}
	if k.Pod != nil {
		pod, err := a.objects.Pod(ctx, k.Namespace, k.Pod.Name)
		if err != nil || gone(pod) {
			return nil, errInvalidated
		}
		if string(pod.UID) != k.Pod.UID {
			return nil, fmt.Errorf("pod UID (%s) does not match service account pod ref claim (%s)", pod.UID, k.Pod.UID)
		}
		u.Extra[ExtraPodName] = []string{k.Pod.Name}
		u.Extra[ExtraPodUID] = []string{k.Pod.UID}
	}
	if k.Node != nil {
		// A pod-bound token carries its pod's node for information only;
		// a token bound to the node itself dies with the node.
		if k.Pod == nil {
			node, err := a.objects.Node(ctx, k.Node.Name)
			if err != nil || gone(node) {
				return nil, errInvalidated
			}
			if string(node.UID) != k.Node.UID {
				return nil, fmt.Errorf("node UID (%s) does not match service account node ref claim (%s)", node.UID, k.Node.UID)
			}
		}
		u.Extra[ExtraNodeName] = []string{k.Node.Name}
		u.Extra[ExtraNodeUID] = []string{k.Node.UID}
	}
	if c.ID != "" {
		u.Extra[CredentialIDKey] = []string{"JTI=" + c.ID}
	}
	if len(u.Extra) == 0 {
		u.Extra = nil
	}
	return u, nil
}

// intersect returns the values of a that are in b, in a's order, once each.
func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
