package authn

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestJWKS(t *testing.T) {
	rsa1, _, ec256, _ := testKeys(t)
	set, err := JWKS([]crypto.PublicKey{rsa1.Public(), ec256.Public(), rsa1.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("got %d keys, want 2 (duplicates collapse)", len(set.Keys))
	}
	r, e := set.Keys[0], set.Keys[1]
	rsaKid, _ := KeyID(rsa1.Public())
	ecKid, _ := KeyID(ec256.Public())
	if r.Kty != "RSA" || r.Alg != "RS256" || r.Use != "sig" || r.Kid != rsaKid || r.E != "AQAB" {
		t.Errorf("RSA key = %+v", r)
	}
	n, _ := base64.RawURLEncoding.DecodeString(r.N)
	if new(big.Int).SetBytes(n).Cmp(rsa1.N) != 0 {
		t.Error("RSA modulus differs")
	}
	if e.Kty != "EC" || e.Alg != "ES256" || e.Crv != "P-256" || e.Kid != ecKid || e.N != "" {
		t.Errorf("EC key = %+v", e)
	}
	x, _ := base64.RawURLEncoding.DecodeString(e.X)
	y, _ := base64.RawURLEncoding.DecodeString(e.Y)
	if len(x) != 32 || len(y) != 32 || new(big.Int).SetBytes(x).Cmp(ec256.X) != 0 || new(big.Int).SetBytes(y).Cmp(ec256.Y) != 0 {
		t.Error("EC coordinates differ or are not padded to 32 bytes")
	}
	if _, err := JWKS(nil); err == nil {
		t.Error("empty key set accepted")
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	rsa1, _, ec256, ec384 := testKeys(t)
	both := []crypto.PublicKey{ec256.Public(), rsa1.Public(), ec384.Public(), rsa1.Public()}
	tests := []struct {
		name     string
		issuer   string
		jwksURI  string
		keys     []crypto.PublicKey
		wantJWKS string
		wantAlgs []string
		wantErr  string
	}{
		{name: "default jwks_uri on the issuer's host", issuer: "https://kubernetes.default.svc.cluster.local", keys: both,
			wantJWKS: "https://kubernetes.default.svc.cluster.local/openid/v1/jwks", wantAlgs: []string{"ES256", "ES384", "RS256"}},
		{name: "explicit jwks_uri", issuer: "https://issuer.example.com/cluster1", jwksURI: "https://10.0.0.1:6443/openid/v1/jwks", keys: []crypto.PublicKey{rsa1.Public()},
			wantJWKS: "https://10.0.0.1:6443/openid/v1/jwks", wantAlgs: []string{"RS256"}},
		{name: "issuer not https", issuer: "kubernetes/serviceaccount", keys: both, wantErr: "must use https"},
		{name: "issuer with query", issuer: "https://a.example.com/?x=1", keys: both, wantErr: "query or fragment"},
		{name: "jwks_uri not https", issuer: "https://a.example.com", jwksURI: "http://a.example.com/keys", keys: both, wantErr: "jwks_uri must be an https URL"},
		{name: "no keys", issuer: "https://a.example.com", wantErr: "no keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			md, err := OpenIDConfiguration(tc.issuer, tc.jwksURI, tc.keys)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := &OpenIDMetadata{Issuer: tc.issuer, JWKSURI: tc.wantJWKS, ResponseTypes: []string{"id_token"}, SubjectTypes: []string{"public"}, SigningAlgs: tc.wantAlgs}
			if !reflect.DeepEqual(md, want) {
				t.Errorf("got %+v, want %+v", md, want)
			}
		})
	}
}

func TestDiscoveryDocuments_WireFields(t *testing.T) {
	rsa1, _, ec256, _ := testKeys(t)
	cfg, jwks, err := DiscoveryDocuments(testIssuer, DefaultJWKSURI("10.0.0.1:6443"), []crypto.PublicKey{rsa1.Public(), ec256.Public()})
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	wantCfg := map[string]any{
		"issuer":                                testIssuer,
		"jwks_uri":                              "https://10.0.0.1:6443/openid/v1/jwks",
		"response_types_supported":              []any{"id_token"},
		"subject_types_supported":               []any{"public"},
		"id_token_signing_alg_values_supported": []any{"ES256", "RS256"},
	}
	if !reflect.DeepEqual(c, wantCfg) {
		t.Errorf("config = %v, want %v", c, wantCfg)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	fields := func(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
	if got := fields(set.Keys[0]); !reflect.DeepEqual(got, []string{"alg", "e", "kid", "kty", "n", "use"}) {
		t.Errorf("RSA JWK fields = %v", got)
	}
	if got := fields(set.Keys[1]); !reflect.DeepEqual(got, []string{"alg", "crv", "kid", "kty", "use", "x", "y"}) {
		t.Errorf("EC JWK fields = %v", got)
	}
}
