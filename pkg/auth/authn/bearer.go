package authn

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/kstack/kstack/pkg/auth"
)

// TokenAuthenticator checks a bearer token. ok=false with a nil error means
// "not a token of mine" (the next token authenticator is asked); an error
// means the token is mine and invalid. The apiserver's TokenReview calls it
// directly; requests reach it through TokenRequestAuthenticator.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string) (u *auth.User, ok bool, err error)
}

// webSocketTokenPrefix marks a bearer token carried, base64url-encoded, in
// a Sec-WebSocket-Protocol entry (browsers cannot set Authorization on a
// websocket), as upstream's websocket protocol authenticator reads it.
const webSocketTokenPrefix = "base64url.bearer.authorization.k8s.io."

// BearerToken returns the bearer token a request carries: from
// "Authorization: Bearer <token>" (scheme case-insensitive), or for a
// websocket upgrade from a "base64url.bearer.authorization.k8s.io.<token>"
// subprotocol. found=false when there is none (an empty token is none).
func BearerToken(r *http.Request) (token string, found bool) {
	if h := strings.TrimSpace(r.Header.Get("Authorization")); h != "" {
		parts := strings.SplitN(h, " ", 3)
		if len(parts) >= 2 && strings.EqualFold(parts[0], "bearer") && parts[1] != "" {
			return parts[1], true
		}
	}
	if isWebSocketUpgrade(r) {
		for _, p := range webSocketProtocols(r) {
			if enc, ok := strings.CutPrefix(p, webSocketTokenPrefix); ok {
				raw, err := base64.RawURLEncoding.DecodeString(enc)
				if err == nil && len(raw) > 0 {
					return string(raw), true
				}
			}
		}
	}
	return "", false
}

// stripBearerToken removes the credentials BearerToken reads, so that
// nothing downstream (proxies to kubelets, audit) sees an accepted token.
func stripBearerToken(r *http.Request) {
	r.Header.Del("Authorization")
	if !isWebSocketUpgrade(r) {
		return
	}
	var kept []string
	for _, p := range webSocketProtocols(r) {
		if !strings.HasPrefix(p, webSocketTokenPrefix) {
			kept = append(kept, p)
		}
	}
	r.Header.Del("Sec-WebSocket-Protocol")
	if len(kept) > 0 {
		r.Header.Set("Sec-WebSocket-Protocol", strings.Join(kept, ","))
	}
}

func isWebSocketUpgrade(r *http.Request) bool {
	connUpgrade := false
	for _, v := range r.Header.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				connUpgrade = true
			}
		}
	}
	return connUpgrade && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func webSocketProtocols(r *http.Request) []string {
	var out []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// tokenRequestAuthenticator adapts a TokenAuthenticator to requests.
type tokenRequestAuthenticator struct {
	tokens TokenAuthenticator
}

// TokenRequestAuthenticator returns an auth.Authenticator that passes a
// request's bearer token (see BearerToken) to t. A request without one, or
// one t does not recognise, is ok=false with no error; the Chain turns an
// unrecognised bearer token into a 401. An accepted token is removed from
// the request.
func TokenRequestAuthenticator(t TokenAuthenticator) auth.Authenticator {
	return &tokenRequestAuthenticator{tokens: t}
}

// AuthenticateRequest implements auth.Authenticator.
func (a *tokenRequestAuthenticator) AuthenticateRequest(r *http.Request) (*auth.User, bool, error) {
	token, found := BearerToken(r)
	if !found {
		return nil, false, nil
	}
	u, ok, err := a.tokens.AuthenticateToken(r.Context(), token)
	if err != nil || !ok {
		return nil, false, err
	}
	stripBearerToken(r)
	return u, true, nil
}

// TokenAuthenticators tries each token authenticator in order (for
// TokenReview, which checks a token without a request): the first that
// accepts wins; if none does, the errors of those that failed, joined; if
// none failed, ok=false.
type TokenAuthenticators []TokenAuthenticator

// AuthenticateToken implements TokenAuthenticator.
func (ts TokenAuthenticators) AuthenticateToken(ctx context.Context, token string) (*auth.User, bool, error) {
	var errs []error
	for _, t := range ts {
		u, ok, err := t.AuthenticateToken(ctx, token)
		if ok && u != nil {
			return u, true, nil
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return nil, false, errors.Join(errs...)
}
