// Package authn holds the apiserver's authenticators and the
// service-account token issuer, with upstream's behaviour.
//
// Request flow (the apiserver's withAuth stage):
//
//	request ──► Chain.Authenticate ──► Impersonate ──► authorize
//	              │ X509           client cert vs --client-ca-file
//	              │ TokenFile      Bearer token vs --token-auth-file
//	              │ ServiceAccount Bearer JWT vs --service-account-key-file,
//	              │                issuers, --api-audiences, BoundObjects
//	              └ anonymous      only with no credentials at all
//
// Each authenticator answers ok=false ("not mine") or an error ("mine and
// bad"). The Chain takes the first ok, turns errors or an unrecognised
// bearer token into a 401 error, adds system:authenticated to real users,
// and counts attempts in metrics.go's upstream-named metrics.
//
// Tokens are issued by Signer (TokenRequest: serviceaccounts/token) with
// upstream's claims (iss, sub, aud, exp, iat, nbf, jti, kubernetes.io) and
// key ID; ServiceAccount verifies them and re-reads the service account
// and the bound pod, secret or node through BoundObjects, so deleting or
// recreating one of them invalidates its tokens. DiscoveryDocuments gives
// the bodies of /.well-known/openid-configuration and /openid/v1/jwks.
//
// Legacy secret-based tokens (iss "kubernetes/serviceaccount") are
// accepted when the BoundObjects also implement LegacyTokenSecrets, and
// Signer.IssueLegacy mints them for a token controller.
//
// Known gaps next to upstream: the client CA and
// token files are read once (upstream reloads the CA file); OIDC and
// webhook token authenticators, and constrained impersonation, are absent.
package authn
