package authn

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/kstack/kstack/pkg/auth"
)

// ErrInvalidBearerToken is the chain's error for a bearer token that no
// authenticator accepted: a 401, never anonymous.
var ErrInvalidBearerToken = errors.New("invalid bearer token")

// ErrUnauthenticated is the chain's error for a request without
// credentials when anonymous requests are disabled.
var ErrUnauthenticated = errors.New("no credentials provided and anonymous requests are disabled")

// Chain runs the apiserver's authenticators in upstream's order (x509
// client certificates, the token file, service-account tokens, ...).
type Chain struct {
	anonymous      bool
	authenticators []auth.Authenticator
}

var _ auth.Authenticator = (*Chain)(nil)

// NewChain returns a chain of authenticators; anonymousAllowed is
// --anonymous-auth.
func NewChain(anonymousAllowed bool, authenticators ...auth.Authenticator) *Chain {
	return &Chain{anonymous: anonymousAllowed, authenticators: authenticators}
}

// Authenticate returns the request's user or an error the server answers
// with 401 Unauthorized:
//   - the first authenticator that accepts the request wins, even if an
//     earlier one failed (a bad client certificate with a good token);
//   - when none accepts and one failed, its error (all errors, joined);
//   - a bearer token nobody recognised is ErrInvalidBearerToken;
//   - no credentials at all: system:anonymous in system:unauthenticated
//     when anonymous requests are allowed, else ErrUnauthenticated.
//
// An authenticated user gets system:authenticated added to its groups
// (unless it already is in it or in system:unauthenticated), as upstream's
// group adder does. Attempts are counted in the authentication metrics.
func (c *Chain) Authenticate(r *http.Request) (u *auth.User, err error) {
	start := time.Now()
	defer func() { observeAuthentication(u, err, start) }()
	return c.authenticate(r)
}

func (c *Chain) authenticate(r *http.Request) (*auth.User, error) {
	var errs []error
	for _, a := range c.authenticators {
		u, ok, err := a.AuthenticateRequest(r)
		if ok && u != nil {
			return withAuthenticatedGroup(u), nil
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if _, found := BearerToken(r); found {
		return nil, ErrInvalidBearerToken
	}
	if c.anonymous {
		return &auth.User{Name: auth.Anonymous, Groups: []string{auth.AllUnauthenticated}}, nil
	}
	return nil, ErrUnauthenticated
}

// AuthenticateRequest implements auth.Authenticator: ok=false with the
// error when Authenticate fails.
func (c *Chain) AuthenticateRequest(r *http.Request) (*auth.User, bool, error) {
	u, err := c.Authenticate(r)
	if err != nil {
		return nil, false, err
	}
	return u, true, nil
}

func withAuthenticatedGroup(u *auth.User) *auth.User {
	if u.Name == auth.Anonymous || slices.Contains(u.Groups, auth.AllAuthenticated) || slices.Contains(u.Groups, auth.AllUnauthenticated) {
		return u
	}
	out := *u
	out.Groups = append(slices.Clip(u.Groups), auth.AllAuthenticated)
	return &out
}
