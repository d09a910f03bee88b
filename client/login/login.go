// Package login gets, keeps and gives up the OAuth2 tokens of the musicdb
// console, with golang.org/x/oauth2.
//
// A Session logs in at one provider at a time: the musicdb server's
// built-in issuer (Local, by the device flow, which that issuer approves at
// once for the client certificate), Google (device flow, or the browser with
// PKCE), Spotify (the browser with PKCE) or any OpenID Connect provider
// (found by discovery; device flow when it has one, else the browser). It
// caches tokens per server URL and provider in musicdb/tokens.json under the
// user's configuration folder, refreshes them when they expire, saves
// rotated refresh tokens, and revokes them on Logout.
//
// Provider settings come from the environment through Options.Getenv:
//
//	MUSICDB_GOOGLE_CLIENT_ID, MUSICDB_GOOGLE_CLIENT_SECRET
//	MUSICDB_GOOGLE_FLOW        device or loopback; unset: device when there is a secret
//	MUSICDB_SPOTIFY_CLIENT_ID
//	MUSICDB_OIDC_ISSUER, MUSICDB_OIDC_CLIENT_ID, MUSICDB_OIDC_CLIENT_SECRET (empty: a public client)
//	XDG_CONFIG_HOME, HOME      where the token cache is, as os.UserConfigDir finds it
//
// The package must never print, log or put in an error a token, an
// authorization code or a client secret; it never sends the requests of a
// provider other than Local over the client-certificate connection, nor
// those of Local anywhere but the musicdb server; and it reads the
// environment only through Options.Getenv.
package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Options are what a Session needs besides the provider's name.
type Options struct {
	// Server is the URL of the musicdb server, such as
	// https://localhost:8443. Tokens are cached per server, and the
	// built-in issuer is the server itself.
	Server string

	// Getenv gives the environment: the providers' settings and where
	// the token cache is (see the package comment). Nil is an empty
	// environment.
	Getenv func(string) string

	// Local sends the requests to the built-in issuer. It must be the
	// client around the process's one mutual-TLS transport, so that they
	// carry the client certificate that the issuer names the login after,
	// go over the connection the API uses, and are counted with it.
	// Required for Local.
	Local *http.Client

	// Web sends the requests to Google, Spotify and OpenID Connect
	// providers. It must not present the client certificate. Nil means a
	// client of the system's roots with a 30-second timeout.
	Web *http.Client

	// Prompt gets what a person must see to log in at a provider other
	// than Local: a URL to open, a code to enter. Nil discards it.
	Prompt io.Writer

	// OpenBrowser opens a URL in the user's browser for the browser
	// login. Nil runs xdg-open (open on macOS) when it is on PATH.
	OpenBrowser func(url string)

	// Endpoints override, per provider name, the URLs that are built in
	// (Google, Spotify) or discovered (Local, OIDC), field by field. They
	// exist to point a provider at a stand-in.
	Endpoints map[string]Endpoints

	// CallbackTimeout bounds the wait for the browser's answer in the
	// browser login; 0 means 5 minutes.
	CallbackTimeout time.Duration
}

// Identity is who a login is for.
type Identity struct {
	Provider string `json:"provider"`
	// Subject is the name the provider gives, such as the client
	// certificate's CN for Local or an email address; "" when the
	// provider would not say.
	Subject string `json:"subject"`
}

// Errors of Token that mean that the console needs a person to LOGIN.
var (
	ErrLoginExpired = errors.New("your login expired; type LOGIN")
	ErrLoggedOut    = errors.New("you are logged out; type LOGIN")
)

// Error is the error of every method of a Session: a login, refresh or
// logout that failed. Its message is for a person, whatever it wraps (a
// provider that cannot be reached is not the musicdb server). From Token,
// an HTTP client wraps it in its own: the request was not sent for want of
// a token.
type Error struct{ Err error }

// Error returns the message of the error it wraps.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the error it wraps.
func (e *Error) Unwrap() error { return e.Err }

// fail returns err in an *Error, or nil.
func fail(err error) error {
	if err == nil {
		return nil
	}
	return &Error{err}
}

// Session is the login of a console at one provider at a time, and its
// token. It is an oauth2.TokenSource, safe for concurrent use.
type Session struct {
	ctx    context.Context
	opts   Options
	server string
	cache  tokenCache

	// mu guards the fields below, and makes logins and refreshes of the
	// process happen one at a time; the cache's lock does so between
	// processes.
	mu        sync.Mutex
	p         *provider
	tok       *oauth2.Token // the token in use; nil before the first
	loggedOut bool          // Logout was called, and no Login since
}

// New returns the session of provider (Local, Google, Spotify or OIDC),
// checking its settings but sending nothing. ctx bounds what Token does,
// which has no context of its own: refreshing, and logging in again at
// Local.
func New(ctx context.Context, provider string, opts Options) (*Session, error) {
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.Prompt == nil {
		opts.Prompt = io.Discard
	}
	server := strings.TrimSuffix(opts.Server, "/")
	p, err := newProvider(provider, server, &opts)
	if err != nil {
		return nil, err
	}
	path, err := cachePath(opts.Getenv)
	if err != nil {
		return nil, err
	}
	return &Session{ctx: ctx, opts: opts, server: server, cache: tokenCache{path: path}, p: p}, nil
}

// Ready makes sure that the session has a valid token: the one it holds,
// the cached one, one refreshed, or one from a new login, which may ask
// the person at the console.
func (s *Session) Ready(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.valid(ctx, true)
	return fail(err)
}

// AccessToken returns a valid access token, as Ready gets it. A token of
// Local is checked at the server first, and replaced by a new login when
// the server no longer takes it (its data was wiped, say).
func (s *Session) AccessToken(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, err := s.valid(ctx, true)
	if err != nil {
		return "", fail(err)
	}
	if s.p.unattended {
		if _, status, _ := s.p.identity(ctx, tok); status == http.StatusUnauthorized {
			s.forget(tok.AccessToken)
			if tok, err = s.valid(ctx, true); err != nil {
				return "", fail(err)
			}
		}
	}
	return tok.AccessToken, nil
}

// Token returns a valid token for a request: as Ready does, but it never
// asks a person. Without a token it can get alone it returns
// ErrLoginExpired, and ErrLoggedOut after Logout, both in an *Error.
func (s *Session) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loggedOut {
		return nil, &Error{ErrLoggedOut}
	}
	tok, err := s.valid(s.ctx, false)
	if err != nil {
		return nil, fail(err)
	}
	return tok, nil
}

// valid returns the token in use if valid, else the cached one if valid,
// else a refreshed one, else one from a new login when ask allows it or the
// provider needs nobody for it. It caches every new token.
func (s *Session) valid(ctx context.Context, ask bool) (*oauth2.Token, error) {
	if s.tok.Valid() {
		return s.tok, nil
	}
	f, err := s.cache.read()
	if err != nil {
		return nil, err
	}
	if e, ok := f.get(s.server, s.p.name); ok && s.p.owns(e) {
		if t := e.token(); t.Valid() {
			s.tok = t
			return t, nil
		}
		if e.RefreshToken != "" {
			t, err := s.refresh(ctx)
			if err == nil {
				s.tok = t
				return t, nil
			}
			if !errors.Is(err, errRefused) {
				return nil, err
			}
		}
	}
	if !ask && !s.p.unattended {
		return nil, ErrLoginExpired
	}
	return s.login(ctx, s.p)
}

// refresh refreshes the cached token, holding the cache's lock so that two
// consoles do not both spend the same refresh token: the second finds the
// first one's new token. It saves the new token, with the new refresh token
// when the provider rotated it, and forgets one the provider refused (which
// wraps errRefused).
func (s *Session) refresh(ctx context.Context) (*oauth2.Token, error) {
	var tok *oauth2.Token
	err := s.cache.update(func(f *cacheFile) (bool, error) {
		e, ok := f.get(s.server, s.p.name)
		if !ok || !s.p.owns(e) || e.RefreshToken == "" {
			return false, errRefused // logged out or in anew meanwhile
		}
		if t := e.token(); t.Valid() {
			tok = t
			return false, nil
		}
		t, err := s.p.refresh(ctx, e.token())
		if errors.Is(err, errRefused) {
			f.remove(s.server, s.p.name)
			return true, err
		}
		if err != nil {
			return false, err
		}
		f.put(s.server, s.p.name, s.p.entry(t))
		tok = t
		return true, nil
	})
	return tok, err
}

// login logs in anew at p, caches the token, and makes p the provider in
// use.
func (s *Session) login(ctx context.Context, p *provider) (*oauth2.Token, error) {
	tok, err := p.login(ctx, &s.opts)
	if err != nil {
		return nil, err
	}
	s.p, s.tok, s.loggedOut = p, tok, false
	err = s.cache.update(func(f *cacheFile) (bool, error) {
		f.put(s.server, p.name, p.entry(tok))
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("logged in, but %w", err)
	}
	return tok, nil
}

// Login logs in anew at provider, or at the provider in use when it is "",
// which becomes the provider in use, and returns whom for. A provider that
// is not set up leaves the session as it was.
func (s *Session) Login(ctx context.Context, provider string) (Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.p
	if provider != "" && provider != p.name {
		var err error
		if p, err = newProvider(provider, s.server, &s.opts); err != nil {
			return Identity{}, fail(err)
		}
	}
	tok, err := s.login(ctx, p)
	if err != nil {
		return Identity{}, fail(err)
	}
	sub, _, _ := p.identity(ctx, tok) // naming the login is a courtesy
	return Identity{Provider: p.name, Subject: sub}, nil
}

// Logout revokes the token at the provider, forgets it here and in the
// cache, and returns what happened, in a sentence. Until the next Login,
// Token fails with ErrLoggedOut. A token that could not be revoked is
// forgotten all the same, with an error that says so.
func (s *Session) Logout(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg, err := s.logout(ctx)
	return msg, fail(err)
}

func (s *Session) logout(ctx context.Context) (string, error) {
	p := s.p
	tok := s.tok
	f, err := s.cache.read()
	if err != nil {
		return "", err
	}
	if e, ok := f.get(s.server, p.name); ok && p.owns(e) {
		tok = e.token() // it has the refresh token of the latest rotation
	}
	s.tok, s.loggedOut = nil, true
	if tok == nil {
		return fmt.Sprintf("you were not logged in at %s", p.title), nil
	}
	revoked := p.revoke(ctx, tok)
	err = s.cache.update(func(f *cacheFile) (bool, error) {
		f.remove(s.server, p.name)
		return true, nil
	})
	switch {
	case errors.Is(revoked, errNoRevocation):
		return fmt.Sprintf("logged out: %s cannot revoke tokens, so the token was only forgotten here; it stays valid until it expires", p.title), err
	case revoked != nil && err == nil:
		return "", fmt.Errorf("the token was forgotten here, but %w", revoked)
	case revoked != nil:
		return "", fmt.Errorf("%w; and %w", revoked, err)
	case err != nil:
		return "", fmt.Errorf("the token was revoked at %s, but %w", p.title, err)
	}
	return fmt.Sprintf("logged out: the token was revoked at %s and forgotten", p.title), nil
}

// forget drops the token whose access token is access, here and in the
// cache, when it is still the one in use and the one cached. It reports
// whether a new token may be got without a person: at Local, unless logged
// out.
func (s *Session) forget(access string) bool {
	if s.tok != nil && s.tok.AccessToken == access {
		s.tok = nil
	}
	// A cache that cannot be updated keeps a token that will be refused
	// again; there is nothing better to do about it here.
	s.cache.update(func(f *cacheFile) (bool, error) {
		if e, ok := f.get(s.server, s.p.name); ok && e.AccessToken == access {
			f.remove(s.server, s.p.name)
			return true, nil
		}
		return false, nil
	})
	return s.p.unattended && !s.loggedOut
}
