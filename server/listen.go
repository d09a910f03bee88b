package server

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// serverOptions are the settings of the http.Server that serves the API.
type serverOptions struct {
	http1Only bool // offer only HTTP/1.1, in ALPN too

	readHeaderTimeout time.Duration // to read a request's headers
	readTimeout       time.Duration // to read a whole request, body included
	writeTimeout      time.Duration // to write a response
	idleTimeout       time.Duration // to keep an idle keep-alive connection
	maxHeaderBytes    int
}

// defaultServerOptions serve HTTP/2 and HTTP/1.1. The idle timeout is long
// because the console client keeps one connection for a whole session, and
// a user who pauses to think should find it still open.
func defaultServerOptions() serverOptions {
	return serverOptions{
		readHeaderTimeout: 10 * time.Second,
		readTimeout:       30 * time.Second,
		writeTimeout:      30 * time.Second,
		idleTimeout:       5 * time.Minute,
		maxHeaderBytes:    64 << 10,
	}
}

// prepareTLS readies cfg, a config from certs.ServerConfig, for serving: it
// sets the protocols offered in ALPN and counts completed handshakes in m.
// The settings go on cfg itself: certs builds each handshake's config from
// cfg, never from the clones that http.Server and httptest make of it.
func prepareTLS(cfg *tls.Config, m *Metrics, http1Only bool) {
	cfg.NextProtos = []string{"h2", "http/1.1"}
	if http1Only {
		cfg.NextProtos = []string{"http/1.1"}
	}
	verify := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if verify != nil {
			if err := verify(cs); err != nil {
				return err
			}
		}
		return m.handshakeDone(cs)
	}
}

// newHTTPServer returns the http.Server that serves h over TLS with cfg,
// which prepareTLS has readied with the same http1Only. It numbers its
// connections for the request log and counts them in m.
func newHTTPServer(h http.Handler, cfg *tls.Config, m *Metrics, log *slog.Logger, o serverOptions) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(!o.http1Only)
	var conns atomic.Uint64
	return &http.Server{
		Handler:           h,
		TLSConfig:         cfg,
		Protocols:         &protocols,
		ReadHeaderTimeout: o.readHeaderTimeout,
		ReadTimeout:       o.readTimeout,
		WriteTimeout:      o.writeTimeout,
		IdleTimeout:       o.idleTimeout,
		MaxHeaderBytes:    o.maxHeaderBytes,
		ConnState:         m.connState,
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connIDKey{}, conns.Add(1))
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

type connIDKey struct{}

// connID returns the number of the connection a request came on, 0 if the
// server did not number it.
func connID(ctx context.Context) uint64 {
	id, _ := ctx.Value(connIDKey{}).(uint64)
	return id
}
