package authn

import (
	"context"
	"errors"

	"github.com/kstack/kstack/pkg/auth"
)

// ReviewToken answers a TokenReview as upstream does. requested is
// spec.audiences; apiAudiences is --api-audiences (see
// ServiceAccountOptions). The token authenticators are tried in order:
//   - a service-account token must name one of the requested audiences
//     (the API audiences when none are requested); audiences is that
//     intersection;
//   - other tokens (the token file) know no audience: when audiences are
//     requested they are valid only if the API audiences include one of
//     them, and audiences is that intersection; otherwise the API
//     audiences.
//
// It returns the user, the audiences it was accepted for and ok. An
// authenticated user gets system:authenticated as through the Chain.
// ok=false with a nil error means no authenticator knew the token; an error
// is the reason a known token was refused (TokenReview's status.error).
func ReviewToken(ctx context.Context, token string, requested, apiAudiences []string, tokens ...TokenAuthenticator) (*auth.User, []string, bool, error) {
	targets := requested
	if len(targets) == 0 {
		targets = apiAudiences
	}
	ctx = WithAudiences(ctx, targets)
	var errs []error
	for _, t := range tokens {
		var u *auth.User
		var auds []string
		var ok bool
		var err error
		if sa, isSA := t.(*ServiceAccount); isSA {
			u, auds, ok, err = sa.authenticateToken(ctx, token)
		} else {
			auds = intersect(apiAudiences, targets)
			if len(requested) > 0 && len(auds) == 0 {
				continue
			}
			u, ok, err = t.AuthenticateToken(ctx, token)
		}
		if ok && u != nil {
			return withAuthenticatedGroup(u), auds, true, nil
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return nil, nil, false, errors.Join(errs...)
}
