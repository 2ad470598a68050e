package authn

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// ServiceAccountRef names the service account a token is issued for.
type ServiceAccountRef struct {
	Namespace string
	Name      string
	UID       string
}

// ObjectRef names a bound object by name and UID.
type ObjectRef struct {
	Name string
	UID  string
}

// BoundRef is what a token is bound to besides its service account: a pod
// (optionally with the pod's node, recorded for information), a secret, or
// a node alone. Pod and Secret are exclusive.
type BoundRef struct {
	Pod    *ObjectRef
	Secret *ObjectRef
	Node   *ObjectRef
}

// Signer issues service-account tokens for the TokenRequest API with the
// key of --service-account-signing-key-file.
type Signer struct {
	key    crypto.Signer
	method jwt.SigningMethod
	kid    string
	issuer string
	newID  func() string
}

// NewSigner loads the private key at privateKeyPath and returns a signer
// whose tokens carry issuer (the first --service-account-issuer).
func NewSigner(privateKeyPath, issuer string) (*Signer, error) {
	key, err := LoadPrivateKey(privateKeyPath)
	if err != nil {
		return nil, err
	}
	return NewSignerFromKey(key, issuer)
}

// NewSignerFromKey is NewSigner for a key already in memory.
func NewSignerFromKey(key crypto.Signer, issuer string) (*Signer, error) {
	if issuer == "" {
		return nil, errors.New("token signer: empty issuer")
	}
	alg, err := signingAlgorithm(key.Public())
	if err != nil {
		return nil, fmt.Errorf("token signer: %w", err)
	}
	kid, err := KeyID(key.Public())
	if err != nil {
		return nil, fmt.Errorf("token signer: %w", err)
	}
	return &Signer{
		key:    key,
		method: jwt.GetSigningMethod(alg),
		kid:    kid,
		issuer: issuer,
		newID:  func() string { return uuid.New().String() },
	}, nil
}

// PublicKey is the public half of the signing key (it belongs among the
// verification keys).
func (s *Signer) PublicKey() crypto.PublicKey { return s.key.Public() }

// KeyID is the "kid" of the tokens s signs.
func (s *Signer) KeyID() string { return s.kid }

// Issuer is the "iss" of the tokens s signs.
func (s *Signer) Issuer() string { return s.issuer }

// IssueOption adjusts one Issue call.
type IssueOption func(*issueConfig)

type issueConfig struct {
	warnAfter time.Time
}

// WithWarnAfter records "kubernetes.io.warnafter": upstream extends a
// TokenRequest's default one-hour expiry to a year
// (--service-account-extend-token-expiration) and notes when the token
// would have expired, so that stale use shows up in audit.
func WithWarnAfter(t time.Time) IssueOption {
	return func(c *issueConfig) { c.warnAfter = t }
}

// tokenPayload is the JSON payload Issue signs, shaped as upstream's: a
// single audience is a string, several an array.
type tokenPayload struct {
	Issuer     string     `json:"iss"`
	Subject    string     `json:"sub"`
	Audience   any        `json:"aud"`
	Expiry     int64      `json:"exp"`
	IssuedAt   int64      `json:"iat"`
	NotBefore  int64      `json:"nbf"`
	ID         string     `json:"jti"`
	Kubernetes k8sPayload `json:"kubernetes.io"`
}

type k8sPayload struct {
	Namespace      string          `json:"namespace"`
	Pod            *objectRefClaim `json:"pod,omitempty"`
	Secret         *objectRefClaim `json:"secret,omitempty"`
	Node           *objectRefClaim `json:"node,omitempty"`
	ServiceAccount objectRefClaim  `json:"serviceaccount"`
	WarnAfter      *int64          `json:"warnafter,omitempty"`
}

// Issue signs a token for sa, valid for audiences from now for
// expirationSeconds, bound to bound (may be nil). It returns the compact
// JWS and its expiry.
func (s *Signer) Issue(_ context.Context, sa ServiceAccountRef, audiences []string, expirationSeconds int64, bound *BoundRef, now time.Time, opts ...IssueOption) (string, time.Time, error) {
	if sa.Namespace == "" || sa.Name == "" || sa.UID == "" {
		return "", time.Time{}, errors.New("issue token: service account namespace, name and uid are required")
	}
	if len(audiences) == 0 {
		return "", time.Time{}, errors.New("issue token: at least one audience is required")
	}
	if expirationSeconds <= 0 {
		return "", time.Time{}, fmt.Errorf("issue token: expiration must be positive, got %d seconds", expirationSeconds)
	}
	var cfg issueConfig
	for _, o := range opts {
		o(&cfg)
	}
	now = now.Truncate(time.Second)
	exp := now.Add(time.Duration(expirationSeconds) * time.Second)
	p := tokenPayload{
		Issuer:    s.issuer,
		Subject:   ServiceAccountUsername(sa.Namespace, sa.Name),
		Audience:  audiences,
		Expiry:    exp.Unix(),
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		ID:        s.newID(),
		Kubernetes: k8sPayload{
			Namespace:      sa.Namespace,
			ServiceAccount: objectRefClaim{Name: sa.Name, UID: sa.UID},
		},
	}
	if len(audiences) == 1 {
		p.Audience = audiences[0]
	}
	if bound != nil {
		ref := func(r *ObjectRef) *objectRefClaim {
			if r == nil {
				return nil
			}
			return &objectRefClaim{Name: r.Name, UID: r.UID}
		}
		if bound.Pod != nil && bound.Secret != nil {
			return "", time.Time{}, errors.New("issue token: a token can only be bound to one object type")
		}
		p.Kubernetes.Pod = ref(bound.Pod)
		p.Kubernetes.Secret = ref(bound.Secret)
		if bound.Secret == nil {
			p.Kubernetes.Node = ref(bound.Node)
		}
	}
	if !cfg.warnAfter.IsZero() {
		w := cfg.warnAfter.Unix()
		p.Kubernetes.WarnAfter = &w
	}
	token, err := s.sign(p)
	if err != nil {
		return "", time.Time{}, err
	}
	return token, exp, nil
}

// sign serialises a compact JWS with the header {"alg","kid"} (no "typ",
// as upstream's go-jose signer).
func (s *Signer) sign(payload any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": s.method.Alg(), "kid": s.kid})
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(body)
	sig, err := s.method.Sign(input, s.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
