// Package auth decides who is calling the musicdb API. It checks the OAuth2
// bearer token of each request (RFC 6750) with a Verifier — the built-in
// issuer, Google, Spotify or an OpenID Connect provider — caches what the
// provider said, limits the failed checks of each client, and lets in only
// the identities of the allow list. It is also the built-in issuer itself
// (Issuer): the device authorization grant approved by the client
// certificate, with refresh tokens rotated on use and every token bound to
// the certificate that obtained it (RFC 8705).
//
// It must never let a request in on doubt: a provider that cannot be reached
// or gives an answer it cannot read means 503, never a guess. It must never
// put a token in a log, an error or a file: tokens are kept only as SHA-256
// hashes, and provider requests carry them in a header or a form body, never
// in a URL.
package auth

import (
	"context"
	"strconv"
	"time"

	"musicdb/store"
)

// Identity is who made a request, as a token's provider names them.
type Identity struct {
	// Subject names the caller: the client certificate's CN for the
	// built-in issuer; the verified email address, or else the provider's
	// subject, for Google and OpenID Connect; the user id for Spotify.
	Subject string
}

type identityKey struct{}

// NewContext returns a copy of ctx that carries id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the identity that NewContext put in ctx, and whether
// there is one.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// TokenInfo is what a Verifier learned about a bearer token.
type TokenInfo struct {
	// Subject is the identity the token was issued to; never empty.
	Subject string
	// Expiry is when the token stops being valid; zero when the provider
	// does not say.
	Expiry time.Time
	// Thumbprint, when not empty, binds the token to one client
	// certificate: the RFC 8705 x5t#S256 of the certificate (see
	// certs.Thumbprint) that any connection presenting the token must
	// have.
	Thumbprint string
}

// A Verifier asks a token's provider about a bearer token.
//
// Verify returns InvalidToken for a token that the provider refuses, has
// never heard of, or that is expired; an EUNAVAILABLE error (see
// Unavailable) when the provider cannot be reached or answers something it
// cannot read; no error only when the provider vouched for the token. It
// must be safe for concurrent use.
type Verifier interface {
	Verify(ctx context.Context, token string) (TokenInfo, error)
}

// InvalidToken returns the error for a bearer token that was presented but
// is not accepted: malformed, unknown, expired, revoked, issued to another
// client, or bound to another client certificate. Its code is EUNAUTHORIZED
// and its BearerError method names the RFC 6750 error code, invalid_token.
// reason is shown to the client; it must never quote the token.
func InvalidToken(reason string) error {
	return &bearerError{code: "invalid_token", err: store.Errorf(store.EUNAUTHORIZED, "%s", reason)}
}

// invalidRequest is the error for an Authorization header, or a token in
// the URL, that breaks RFC 6750 itself.
func invalidRequest(reason string) error {
	return &bearerError{code: "invalid_request", err: store.Errorf(store.EUNAUTHORIZED, "%s", reason)}
}

type bearerError struct {
	code string
	err  *store.Error
}

func (e *bearerError) Error() string { return e.err.Message }
func (e *bearerError) Unwrap() error { return e.err }

// BearerError returns the RFC 6750 error code for the WWW-Authenticate
// challenge.
func (e *bearerError) BearerError() string { return e.code }

// Unavailable returns the error of a Verifier whose provider cannot be
// reached or gave an answer that cannot be trusted. Its code is
// EUNAVAILABLE and its message, shown to the client, says no more than
// that; the cause is in Error() only, for the server's log, and must
// never hold a token.
func Unavailable(provider string, cause error) error {
	return &unavailableError{
		err:   store.Errorf(store.EUNAVAILABLE, "%s cannot check the token now; try again later", provider),
		cause: cause,
	}
}

type unavailableError struct {
	err   *store.Error
	cause error
}

func (e *unavailableError) Error() string { return e.err.Message + ": " + e.cause.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// LimitError is the error of a request refused without a check because its
// client certificate presented too many tokens that failed verification in
// the last FailureWindow. The server answers it with 429 Too Many Requests
// and a Retry-After header; it unwraps to an EUNAVAILABLE error, since the
// server will not check this client's tokens for a while.
type LimitError struct {
	// RetryAfter is how long until the client may try again.
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	return "too many invalid tokens from this client certificate; try again in " + e.RetryAfterSeconds() + "s"
}

func (e *LimitError) Unwrap() error { return store.Errorf(store.EUNAVAILABLE, "%s", e.Error()) }

// RetryAfterSeconds returns RetryAfter in whole seconds, rounded up and at
// least 1, as the Retry-After header wants it.
func (e *LimitError) RetryAfterSeconds() string {
	return strconv.FormatInt(max(int64((e.RetryAfter+time.Second-1)/time.Second), 1), 10)
}
