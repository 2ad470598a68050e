package authn

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kstack/kstack/pkg/auth"
)

// LegacyIssuer is the "iss" of secret-based service-account tokens (the
// token a kubernetes.io/service-account-token Secret holds).
const LegacyIssuer = "kubernetes/serviceaccount"

// LegacyTokenInvalidSinceLabel marks a legacy token Secret whose token no
// longer authenticates (upstream's legacy token cleaner sets it).
const LegacyTokenInvalidSinceLabel = "kubernetes.io/legacy-token-invalid-since"

// LegacyTokenSecrets is an optional capability of BoundObjects: when the
// Objects given to NewServiceAccount implement it, legacy secret-based
// tokens are accepted, as upstream does with --service-account-lookup.
// SecretToken returns a Secret's metadata and its data["token"]; a missing
// Secret is an error.
type LegacyTokenSecrets interface {
	SecretToken(ctx context.Context, namespace, name string) (*metav1.ObjectMeta, []byte, error)
}

// legacyClaims are the private claims of a legacy token.
type legacyClaims struct {
	jwt.RegisteredClaims
	Namespace          string `json:"kubernetes.io/serviceaccount/namespace"`
	SecretName         string `json:"kubernetes.io/serviceaccount/secret.name"`
	ServiceAccountName string `json:"kubernetes.io/serviceaccount/service-account.name"`
	ServiceAccountUID  string `json:"kubernetes.io/serviceaccount/service-account.uid"`
}

// isLegacyToken reports whether an (unverified) token has the legacy
// issuer and the legacy namespace claim; a bound token may also use the
// legacy issuer when --service-account-issuer says so.
func isLegacyToken(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var c map[string]json.RawMessage
	if json.Unmarshal(payload, &c) != nil {
		return false
	}
	_, has := c["kubernetes.io/serviceaccount/namespace"]
	return has && string(c["iss"]) == `"`+LegacyIssuer+`"`
}

// authenticateLegacy verifies a legacy token against the keys and its
// Secret (which must still hold exactly this token) and service account.
// Messages are upstream's, capitals included (TokenReview shows them).
// A legacy token has no audience: it is valid for the API audiences.
func (a *ServiceAccount) authenticateLegacy(ctx context.Context, token string) (*auth.User, []string, bool, error) {
	var c legacyClaims
	if _, err := a.parser.ParseWithClaims(token, &c, a.keyFunc); err != nil {
		return nil, nil, false, fmt.Errorf("invalid service account token: %w", err)
	}
	if c.Issuer != LegacyIssuer {
		return nil, nil, false, fmt.Errorf("token issuer %q is invalid", c.Issuer)
	}
	now := a.now()
	if c.ExpiresAt != nil && now.After(c.ExpiresAt.Add(Leeway)) {
		return nil, nil, false, errors.New("service account token has expired")
	}
	if c.NotBefore != nil && now.Add(Leeway).Before(c.NotBefore.Time) {
		return nil, nil, false, errors.New("service account token is not valid yet")
	}
	want := audiencesFrom(ctx)
	if len(want) == 0 {
		want = a.audiences
	}
	matched := intersect(a.audiences, want)
	if len(c.Audience) > 0 {
		matched = intersect(c.Audience, want)
	}
	if len(matched) == 0 {
		return nil, nil, false, fmt.Errorf("token audiences %q is invalid for the target audiences %q", a.audiences, want)
	}
	switch {
	case c.Subject == "":
		return nil, nil, false, errors.New("sub claim is missing")
	case c.Namespace == "":
		return nil, nil, false, errors.New("namespace claim is missing")
	case c.SecretName == "":
		return nil, nil, false, errors.New("secretName claim is missing")
	case c.ServiceAccountName == "":
		return nil, nil, false, errors.New("serviceAccountName claim is missing")
	case c.ServiceAccountUID == "":
		return nil, nil, false, errors.New("serviceAccountUID claim is missing")
	}
	if ns, name, err := SplitServiceAccountUsername(c.Subject); err != nil || ns != c.Namespace || name != c.ServiceAccountName {
		return nil, nil, false, errors.New("sub claim is invalid")
	}
	secret, data, err := a.legacy.SecretToken(ctx, c.Namespace, c.SecretName)
	if err != nil || secret.DeletionTimestamp != nil {
		return nil, nil, false, errors.New("Token has been invalidated")
	}
	if !bytes.Equal(data, []byte(token)) {
		return nil, nil, false, errors.New("Token does not match server's copy")
	}
	if since := secret.Labels[LegacyTokenInvalidSinceLabel]; since != "" {
		return nil, nil, false, errors.New("Token has been invalidated")
	}
	sa, err := a.objects.ServiceAccount(ctx, c.Namespace, c.ServiceAccountName)
	if err != nil {
		return nil, nil, false, err
	}
	if sa.DeletionTimestamp != nil {
		return nil, nil, false, fmt.Errorf("ServiceAccount %s/%s has been deleted", c.Namespace, c.ServiceAccountName)
	}
	if string(sa.UID) != c.ServiceAccountUID {
		return nil, nil, false, fmt.Errorf("ServiceAccount UID (%s) does not match claim (%s)", sa.UID, c.ServiceAccountUID)
	}
	return &auth.User{
		Name:   ServiceAccountUsername(c.Namespace, c.ServiceAccountName),
		UID:    c.ServiceAccountUID,
		Groups: ServiceAccountGroups(c.Namespace),
	}, matched, true, nil
}

// legacyPayload is the payload of a legacy token, as upstream's token
// controller writes it.
type legacyPayload struct {
	Issuer             string `json:"iss"`
	Namespace          string `json:"kubernetes.io/serviceaccount/namespace"`
	SecretName         string `json:"kubernetes.io/serviceaccount/secret.name"`
	ServiceAccountName string `json:"kubernetes.io/serviceaccount/service-account.name"`
	ServiceAccountUID  string `json:"kubernetes.io/serviceaccount/service-account.uid"`
	Subject            string `json:"sub"`
}

// IssueLegacy signs a legacy token for sa, to be stored in the
// kubernetes.io/service-account-token Secret secretName (the
// controller-manager's token controller): issuer LegacyIssuer, no expiry,
// no audience.
func (s *Signer) IssueLegacy(sa ServiceAccountRef, secretName string) (string, error) {
	if sa.Namespace == "" || sa.Name == "" || sa.UID == "" || secretName == "" {
		return "", errors.New("issue legacy token: service account namespace, name, uid and secret name are required")
	}
	return s.sign(legacyPayload{
		Issuer:             LegacyIssuer,
		Namespace:          sa.Namespace,
		SecretName:         secretName,
		ServiceAccountName: sa.Name,
		ServiceAccountUID:  sa.UID,
		Subject:            ServiceAccountUsername(sa.Namespace, sa.Name),
	})
}
