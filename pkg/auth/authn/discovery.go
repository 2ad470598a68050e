package authn

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"sort"
)

// Paths and content types of service-account issuer discovery, as upstream
// serves them.
const (
	OpenIDConfigurationPath = "/.well-known/openid-configuration"
	JWKSPath                = "/openid/v1/jwks"
	// JWKSContentType is the Content-Type upstream serves JWKSPath with
	// (OpenIDConfigurationPath is application/json).
	JWKSContentType = "application/jwk-set+json"
)

// JSONWebKey is one key of a JWKS, in the field order go-jose writes.
type JSONWebKey struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	Alg string `json:"alg"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// JSONWebKeySet is the document served at /openid/v1/jwks.
type JSONWebKeySet struct {
	Keys []JSONWebKey `json:"keys"`
}

// OpenIDMetadata is the document served at
// /.well-known/openid-configuration.
type OpenIDMetadata struct {
	Issuer        string   `json:"issuer"`
	JWKSURI       string   `json:"jwks_uri"`
	ResponseTypes []string `json:"response_types_supported"`
	SubjectTypes  []string `json:"subject_types_supported"`
	SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
}

// JWKS returns the key set of the verification keys (all of
// --service-account-key-file), each with use "sig", its key ID and
// algorithm. Duplicate keys appear once.
func JWKS(keys []crypto.PublicKey) (*JSONWebKeySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("jwks: no keys")
	}
	set := &JSONWebKeySet{Keys: []JSONWebKey{}}
	seen := map[string]bool{}
	for _, k := range keys {
		kid, err := KeyID(k)
		if err != nil {
			return nil, fmt.Errorf("jwks: %w", err)
		}
		if seen[kid] {
			continue
		}
		seen[kid] = true
		alg, err := signingAlgorithm(k)
		if err != nil {
			return nil, fmt.Errorf("jwks: %w", err)
		}
		jwk := JSONWebKey{Use: "sig", Kid: kid, Alg: alg}
		switch k := k.(type) {
		case *rsa.PublicKey:
			jwk.Kty = "RSA"
			jwk.N = b64(k.N.Bytes())
			jwk.E = b64(big.NewInt(int64(k.E)).Bytes())
		case *ecdsa.PublicKey:
			size := (k.Curve.Params().BitSize + 7) / 8
			jwk.Kty = "EC"
			jwk.Crv = k.Curve.Params().Name
			jwk.X = b64(k.X.FillBytes(make([]byte, size)))
			jwk.Y = b64(k.Y.FillBytes(make([]byte, size)))
		}
		set.Keys = append(set.Keys, jwk)
	}
	return set, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// DefaultJWKSURI is upstream's jwks_uri when --service-account-jwks-uri is
// not set: https://<external address>/openid/v1/jwks.
func DefaultJWKSURI(externalAddress string) string {
	return (&url.URL{Scheme: "https", Host: externalAddress, Path: JWKSPath}).String()
}

// OpenIDConfiguration returns the discovery document for issuer (the first
// --service-account-issuer; it must be an https URL without query or
// fragment, as OIDC requires). jwksURI is --service-account-jwks-uri or
// DefaultJWKSURI; if empty, the issuer's host serves it.
func OpenIDConfiguration(issuer, jwksURI string, keys []crypto.PublicKey) (*OpenIDMetadata, error) {
	iss, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("openid configuration: issuer URL %q: %w", issuer, err)
	}
	if iss.Scheme != "https" {
		return nil, fmt.Errorf("openid configuration: issuer URL must use https scheme, got: %s", issuer)
	}
	if iss.RawQuery != "" || iss.Fragment != "" {
		return nil, fmt.Errorf("openid configuration: issuer URL must not have a query or fragment, got: %s", issuer)
	}
	if jwksURI == "" {
		jwksURI = DefaultJWKSURI(iss.Host)
	}
	if u, err := url.Parse(jwksURI); err != nil || u.Scheme != "https" {
		return nil, fmt.Errorf("openid configuration: jwks_uri must be an https URL, got: %s", jwksURI)
	}
	algs := map[string]bool{}
	for _, k := range keys {
		alg, err := signingAlgorithm(k)
		if err != nil {
			return nil, fmt.Errorf("openid configuration: %w", err)
		}
		algs[alg] = true
	}
	if len(algs) == 0 {
		return nil, errors.New("openid configuration: no keys")
	}
	md := &OpenIDMetadata{
		Issuer:        issuer,
		JWKSURI:       jwksURI,
		ResponseTypes: []string{"id_token"},
		SubjectTypes:  []string{"public"},
	}
	for a := range algs {
		md.SigningAlgs = append(md.SigningAlgs, a)
	}
	sort.Strings(md.SigningAlgs)
	return md, nil
}

// DiscoveryDocuments returns the JSON bodies of OpenIDConfigurationPath and
// JWKSPath for the given issuer, jwks_uri and verification keys.
func DiscoveryDocuments(issuer, jwksURI string, keys []crypto.PublicKey) (config, jwks []byte, err error) {
	md, err := OpenIDConfiguration(issuer, jwksURI, keys)
	if err != nil {
		return nil, nil, err
	}
	set, err := JWKS(keys)
	if err != nil {
		return nil, nil, err
	}
	if config, err = json.Marshal(md); err != nil {
		return nil, nil, fmt.Errorf("marshal openid configuration: %w", err)
	}
	if jwks, err = json.Marshal(set); err != nil {
		return nil, nil, fmt.Errorf("marshal jwks: %w", err)
	}
	return config, jwks, nil
}
