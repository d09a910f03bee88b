package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"musicdb/server/auth"
)

// An Authenticator decides who made a request. It runs before the handler of
// every route that needs a token; *auth.Checker is the one Run uses.
//
// Its errors carry a store error code, which sets the answer: EUNAUTHORIZED
// is 401 with a WWW-Authenticate: Bearer challenge, EFORBIDDEN is 403 and
// EUNAVAILABLE, for a token provider that cannot be reached, is 503; an
// *auth.LimitError is 429 with Retry-After; anything else is 500. For a
// token that was presented but is not accepted, return auth.InvalidToken,
// or any error with a method BearerError() string that names the RFC 6750
// error code, so the challenge says error="invalid_token". Messages are
// shown to the client and must never quote a token.
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Identity, error)
}

// The token providers of -auth.
const (
	authLocal   = "local"
	authGoogle  = "google"
	authSpotify = "spotify"
	authOIDC    = "oidc"
)

// tokenCheck is how the server checks bearer tokens, as the settings say:
// the provider's Verifier, or for the built-in issuer none until the
// issuer's folder is open, and the Checker's options.
type tokenCheck struct {
	local    bool
	verifier auth.Verifier
	options  auth.CheckerOptions
}

// newTokenCheck reads the token settings from the options and the
// environment, without a request or a file. Its errors are one line that
// names the setting to fix.
func newTokenCheck(o options, getenv func(string) string) (tokenCheck, error) {
	allow, err := auth.ParseAllowList(o.allow)
	if err != nil {
		return tokenCheck{}, err
	}
	tc := tokenCheck{options: auth.CheckerOptions{Allow: allow, CacheTTL: auth.DefaultCacheTTL}}
	switch o.auth {
	case authLocal:
		// Lookups in the grant table are free, and a revocation must
		// count at once.
		tc.local, tc.options.CacheTTL = true, 0
	case authGoogle:
		id := getenv("MUSICDB_GOOGLE_CLIENT_ID")
		if id == "" {
			return tokenCheck{}, errors.New("-auth google needs MUSICDB_GOOGLE_CLIENT_ID, musicdb's OAuth client id at Google, to accept only tokens issued to it")
		}
		tc.verifier, err = auth.NewGoogle(auth.GoogleOptions{ClientID: id})
	case authSpotify:
		tc.verifier, err = auth.NewSpotify(auth.SpotifyOptions{})
	case authOIDC:
		id := getenv("MUSICDB_OIDC_CLIENT_ID")
		if o.issuer == "" || id == "" {
			return tokenCheck{}, errors.New("-auth oidc needs the provider's issuer URL (-issuer or MUSICDB_OIDC_ISSUER) and musicdb's client id there (MUSICDB_OIDC_CLIENT_ID)")
		}
		tc.verifier, err = auth.NewOIDC(auth.OIDCOptions{Issuer: o.issuer, ClientID: id})
	default:
		return tokenCheck{}, fmt.Errorf("-auth %q: want local, google, spotify or oidc", o.auth)
	}
	if err != nil {
		return tokenCheck{}, fmt.Errorf("-auth %s: %v", o.auth, err)
	}
	return tc, nil
}

// open returns the Authenticator, and for the built-in issuer the Issuer,
// whose grant table it opens in the folder issuer of the data folder. The
// caller closes the Issuer.
func (tc tokenCheck) open(data string, log *slog.Logger) (*auth.Checker, *auth.Issuer, error) {
	if !tc.local {
		return auth.NewChecker(tc.verifier, tc.options), nil, nil
	}
	iss, err := auth.OpenIssuer(filepath.Join(data, "issuer"), auth.IssuerOptions{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return auth.NewChecker(iss, tc.options), iss, nil
}
