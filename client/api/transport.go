package api

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts of the transport. The idle timeout is long because a console sits
// idle while its user thinks; a server that closes idle connections sooner
// is reconnected to transparently.
const (
	dialTimeout      = 10 * time.Second
	handshakeTimeout = 10 * time.Second
	idleConnTimeout  = 15 * time.Minute
)

// Stats are the counters of a Transport since it was made.
type Stats struct {
	// Requests is the number of requests sent through the Transport,
	// each retry included.
	Requests int64 `json:"requests"`

	// Connections is the number of TCP connections opened.
	Connections int64 `json:"connections"`

	// TLSHandshakes is the number of TLS handshakes completed.
	TLSHandshakes int64 `json:"tls_handshakes"`

	// Reused is the number of requests that went over a connection that
	// had carried a request before.
	Reused int64 `json:"reused"`

	// Protocol is the HTTP version of the last response, such as
	// "HTTP/2.0" or "HTTP/1.1", or "" before the first one.
	Protocol string `json:"protocol"`
}

// Transport is the one HTTP transport of a musicdb client: HTTP/2 when the
// server offers it, HTTP/1.1 keep-alive otherwise, at most one connection to
// the server, no proxy, and counters of what it did (see Stats). It is an
// http.RoundTripper, safe for concurrent use; wrap it, not a new transport,
// when requests need more (such as a bearer token), so that everything goes
// over the same connection and is counted.
type Transport struct {
	base   *http.Transport
	dialer net.Dialer
	tls    *tls.Config

	requests, connections, handshakes, reused atomic.Int64

	// mu guards protocol.
	mu       sync.Mutex
	protocol string
}

// NewTransport returns the Transport for a client that speaks TLS with
// tlsConfig (from certs.ClientConfig). With keepAlive false every request
// opens a new connection; that exists only to measure what keep-alive saves.
func NewTransport(tlsConfig *tls.Config, keepAlive bool) *Transport {
	t := &Transport{
		dialer: net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
		tls:    tlsConfig.Clone(),
	}
	t.tls.NextProtos = []string{"h2", "http/1.1"}
	t.base = &http.Transport{
		TLSClientConfig:     t.tls,
		DialTLSContext:      t.dialTLS,
		ForceAttemptHTTP2:   true,
		DisableKeepAlives:   !keepAlive,
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     idleConnTimeout,
	}
	return t
}

// dialTLS opens a connection and completes the TLS handshake on it, counting
// both. The transport takes a *tls.Conn that negotiated "h2" for HTTP/2.
func (t *Transport) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	raw, err := t.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	t.connections.Add(1)
	cfg := t.tls.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			raw.Close()
			return nil, err
		}
		cfg.ServerName = host
	}
	conn := tls.Client(raw, cfg)
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	t.handshakes.Add(1)
	return conn, nil
}

// RoundTrip sends req, counting it, and whether it reused a connection.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.requests.Add(1)
	trace := &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				t.reused.Add(1)
			}
		},
	}
	resp, err := t.base.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.protocol = resp.Proto
	t.mu.Unlock()
	return resp, nil
}

// CloseIdleConnections closes the connection when it is idle.
func (t *Transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// Stats returns the counters so far.
func (t *Transport) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Stats{
		Requests:      t.requests.Load(),
		Connections:   t.connections.Load(),
		TLSHandshakes: t.handshakes.Load(),
		Reused:        t.reused.Load(),
		Protocol:      t.protocol,
	}
}
