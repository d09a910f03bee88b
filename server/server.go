// Package server is musicdb's JSON REST API over HTTPS with mutual TLS: the
// routes, their handlers, the middleware that logs, counts and guards every
// request, and Run, which serves them until its context ends.
//
// The API answers every mistake of a client with a 4xx problem+json body; a
// 5xx is always a fault of ours. It must never show a client an internal
// error's text, and never log a request body, a password or an
// Authorization header.
package server

import (
	"log/slog"
	"net/http"

	"musicdb/server/auth"
	"musicdb/store"
)

// Config holds what NewServer needs. Store and Auth are required; the other
// fields may be left zero.
type Config struct {
	// Store holds the catalogue the API serves. NewServer does not close it.
	Store *store.Store

	// Logger receives one line per request, and the stack of any panic.
	// Nil discards them.
	Logger *slog.Logger

	// Metrics counts requests and panics, and serves them at /metrics with
	// whatever else was counted in it: Run adds connections, TLS handshakes
	// and, through Metrics.OnSync, journal syncs. Nil gives the server
	// metrics of its own.
	Metrics *Metrics

	// Auth decides who made each request to a route that needs a token.
	// Required: NewServer panics without one, since a server that checks
	// no token must never be built by mistake.
	Auth Authenticator

	// Issuer, when not nil, is the built-in OAuth2 issuer whose endpoints
	// the server serves: /.well-known/oauth-authorization-server and
	// /oauth/device, token, userinfo and revoke. NewServer does not close
	// it.
	Issuer *auth.Issuer
}

// NewServer returns the handler of the whole API: every route, wrapped in the
// middleware that answers unknown paths and methods in problem+json, recovers
// from panics, and logs and counts each request.
//
// It expects requests over TLS with a verified client certificate, as served
// by Run or by an httptest server whose TLS config comes from package certs.
// Every route but /healthz, /openapi.json and the issuer's own endpoints
// (userinfo excepted) passes through cfg.Auth first.
func NewServer(cfg Config) http.Handler {
	if cfg.Auth == nil {
		panic("server: NewServer needs Config.Auth, the token check")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := cfg.Metrics
	if m == nil {
		m = NewMetrics()
	}

	mux := http.NewServeMux()
	addRoutes(mux, cfg.Store, m, cfg.Issuer, requireIdentity(cfg.Auth))
	var h http.Handler = mux
	h = problemsForMux(h)
	h = observe(log, m)(h)
	return h
}
