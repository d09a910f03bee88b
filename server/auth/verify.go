package auth

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"time"

	"musicdb/certs"
	"musicdb/store"
)

// Defaults of CheckerOptions.
const (
	// DefaultCacheTTL is the longest a provider's word on a token is
	// trusted without asking again.
	DefaultCacheTTL = 5 * time.Minute
	// DefaultMaxFailures is how many tokens a client certificate may
	// present that fail verification in a FailureWindow.
	DefaultMaxFailures = 10
	// FailureWindow is the time over which failures are counted.
	FailureWindow = time.Minute

	cacheEntries   = 10000 // tokens remembered at most
	limitedClients = 10000 // client certificates whose failures are counted at most
)

// CheckerOptions configure NewChecker. The zero value checks every token
// with the provider and lets in anyone it vouches for.
type CheckerOptions struct {
	// Allow is who may use the API once their token is verified; empty
	// allows anyone.
	Allow AllowList

	// CacheTTL is how long a verified token is trusted without asking the
	// provider again, never beyond the token's own expiry. Zero asks
	// every time: right for the built-in issuer, whose lookups cost
	// nothing and must see a revocation at once. Use DefaultCacheTTL for
	// the others.
	CacheTTL time.Duration

	// MaxFailures is how many tokens that fail verification a client
	// certificate may present in a FailureWindow; after that its requests
	// get a LimitError, without a verification, until the oldest failure
	// leaves the window. Zero means DefaultMaxFailures.
	MaxFailures int

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Checker checks the bearer token of each request with a Verifier: it is
// the server's Authenticator. Make one with NewChecker; it is safe for
// concurrent use.
type Checker struct {
	verifier Verifier
	allow    AllowList
	now      func() time.Time
	cache    *tokenCache
	flights  flight[tokenKey, TokenInfo]
	failures *failureLimit
}

// NewChecker returns a Checker that verifies tokens with v.
func NewChecker(v Verifier, o CheckerOptions) *Checker {
	if o.MaxFailures <= 0 {
		o.MaxFailures = DefaultMaxFailures
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Checker{
		verifier: v,
		allow:    o.Allow,
		now:      o.Now,
		cache:    newTokenCache(o.CacheTTL, cacheEntries),
		failures: newFailureLimit(o.MaxFailures, FailureWindow, limitedClients),
	}
}

// Authenticate returns the identity that the request's bearer token was
// issued to. The token must be in the Authorization header; one in the URL
// is refused, so that it does not end up in logs.
//
// Its errors: EUNAUTHORIZED for a missing token (no error code in the
// challenge) and, as InvalidToken, for a malformed, unknown, expired or
// revoked one, or one bound to another client certificate; EFORBIDDEN for
// an identity that the allow list leaves out; a *LimitError for a client
// certificate with too many failures; EUNAVAILABLE when the provider cannot
// be asked.
func (c *Checker) Authenticate(r *http.Request) (Identity, error) {
	token, err := bearerToken(r)
	if err != nil {
		return Identity{}, err
	}
	client := clientThumbprint(r)
	info, err := c.verify(r.Context(), token, client)
	if err != nil {
		return Identity{}, err
	}
	now := c.now()
	switch {
	case info.Thumbprint != "" && info.Thumbprint != client:
		c.failures.fail(client, now)
		return Identity{}, InvalidToken("the token was issued to another client certificate")
	case !info.Expiry.IsZero() && !now.Before(info.Expiry):
		return Identity{}, InvalidToken("the token expired")
	case !c.allow.Allows(info.Subject):
		return Identity{}, store.Errorf(store.EFORBIDDEN, "%s is not allowed to use this server", info.Subject)
	}
	return Identity{Subject: info.Subject}, nil
}

// verify returns what the provider says of token, from the cache when it
// can. Only one verification of a token runs at a time: the requests that
// bring the same token meanwhile wait for its result. Without a cache there
// is no result to share, so each request asks on its own.
func (c *Checker) verify(ctx context.Context, token, client string) (TokenInfo, error) {
	key := tokenKey(sha256.Sum256([]byte(token)))
	if c.cache.ttl == 0 {
		return c.ask(ctx, key, token, client)
	}
	if info, ok := c.cache.get(key, c.now()); ok {
		return info, nil
	}
	return c.flights.do(key, func() (TokenInfo, error) {
		// The call before this one may have just cached the token.
		if info, ok := c.cache.get(key, c.now()); ok {
			return info, nil
		}
		// Others may be waiting for this answer: the request that asked
		// first going away must not cut it short. Verifiers bound their
		// own calls.
		return c.ask(context.WithoutCancel(ctx), key, token, client)
	})
}

// ask asks the verifier about token, within the client's failure limit,
// and caches a success.
func (c *Checker) ask(ctx context.Context, key tokenKey, token, client string) (TokenInfo, error) {
	now := c.now()
	if wait, ok := c.failures.reserve(client, now); !ok {
		return TokenInfo{}, &LimitError{RetryAfter: wait}
	}
	info, err := c.verifier.Verify(ctx, token)
	if err == nil && info.Subject == "" {
		err = InvalidToken("the provider names no one for the token")
	}
	c.failures.settle(client, store.ErrorCode(err) == store.EUNAUTHORIZED, c.now())
	if err != nil {
		return TokenInfo{}, err
	}
	c.cache.put(key, info, now)
	return info, nil
}

// bearerToken returns the token of the request's Authorization header
// (RFC 6750 section 2.1). The scheme is case-insensitive; the token must be
// one token68 (RFC 9110 section 11.2).
func bearerToken(r *http.Request) (string, error) {
	if r.URL.Query().Has("access_token") {
		return "", invalidRequest("send the token in the Authorization header, never in the URL")
	}
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0:
		return "", store.Errorf(store.EUNAUTHORIZED, "missing bearer token: send Authorization: Bearer <token>")
	case len(values) > 1:
		return "", invalidRequest("send one Authorization header")
	}
	scheme, token, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", store.Errorf(store.EUNAUTHORIZED, "the Authorization header must be Bearer <token>")
	}
	token = strings.TrimLeft(token, " ")
	if !isToken68(token) {
		return "", InvalidToken("the bearer token is malformed")
	}
	return token, nil
}

// isToken68 reports whether s is a token68: 1*( ALPHA / DIGIT / "-" / "." /
// "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		switch b := body[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case b == '-', b == '.', b == '_', b == '~', b == '+', b == '/':
		default:
			return false
		}
	}
	return true
}

// clientThumbprint returns the x5t#S256 of the request's verified client
// certificate, or "" when there is none.
func clientThumbprint(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return ""
	}
	return certs.Thumbprint(r.TLS.VerifiedChains[0][0])
}
