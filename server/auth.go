package server

import (
	"net/http"

	"musicdb/store"
)

// Identity is who made a request, as an Authenticator decided.
type Identity struct {
	// Subject names the caller: a client certificate's CN, or the subject
	// of a bearer token.
	Subject string
}

// An Authenticator decides who made a request. It runs before the handler of
// every route that needs a token.
//
// Its errors carry a store error code, which sets the answer: EUNAUTHORIZED
// is 401 with a WWW-Authenticate: Bearer challenge, EFORBIDDEN is 403 and
// EUNAVAILABLE, for a token provider that cannot be reached, is 503; anything
// else is 500. For a token that was presented but is not accepted, return
// InvalidToken, or any error with a method BearerError() string that names
// the RFC 6750 error code, so the challenge says error="invalid_token".
// Messages are shown to the client and must never quote a token.
type Authenticator interface {
	Authenticate(r *http.Request) (Identity, error)
}

// InvalidToken returns the error an Authenticator gives for a bearer token
// that was presented but is not accepted: malformed, expired, revoked, or
// bound to another client certificate. reason is shown to the client.
func InvalidToken(reason string) error {
	return &tokenError{store.Errorf(store.EUNAUTHORIZED, "%s", reason)}
}

type tokenError struct{ err *store.Error }

func (e *tokenError) Error() string       { return e.err.Message }
func (e *tokenError) Unwrap() error       { return e.err }
func (e *tokenError) BearerError() string { return "invalid_token" }

// certificateOnly is a temporary Authenticator that lets in every request
// whose connection presented a client certificate that TLS verified against
// our CA, with the certificate's CN as the subject. It stands in until bearer
// tokens are checked; it is what NewServer uses when Config.Auth is nil.
type certificateOnly struct{}

func (certificateOnly) Authenticate(r *http.Request) (Identity, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		return Identity{}, store.Errorf(store.EUNAUTHORIZED, "a verified client certificate is required")
	}
	return Identity{Subject: r.TLS.VerifiedChains[0][0].Subject.CommonName}, nil
}
