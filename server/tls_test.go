package server

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"musicdb/certs"
)

// TestMutualTLS checks that only clients with a certificate from the
// server's CA get an answer.
func TestMutualTLS(t *testing.T) {
	ts := newTestServer(t, serverSetup{})
	other := mustPKI(t)
	noCert := ts.pki.clientConfig(t, certs.DevClient)
	noCert.Certificates = nil
	tests := []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"NoClientCertificate", noCert, false},
		{"OtherCA", func() *tls.Config {
			cfg := other.clientConfig(t, "alice")
			cfg.RootCAs = ts.pki.clientConfig(t, "alice").RootCAs // trust the server, present a stranger
			return cfg
		}(), false},
		{"OwnCA", ts.pki.clientConfig(t, "alice"), true},
	}
	for _, tt := range tests {
		for _, proto := range []string{"h1", "h2"} {
			t.Run(tt.name+"/"+proto, func(t *testing.T) {
				c := &http.Client{Transport: transport(t, tt.cfg, proto), Timeout: 5 * time.Second}
				resp, err := c.Get(ts.URL + "/healthz")
				if !tt.ok {
					if err == nil {
						resp.Body.Close()
						t.Fatalf("got %s, want a TLS failure", resp.Status)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				io.Copy(io.Discard, resp.Body)
				if resp.StatusCode != 200 {
					t.Fatalf("got %s, want 200", resp.Status)
				}
			})
		}
	}
	// The four refused connections closed before their handshakes completed.
	waitFor(t, "handshake failures", func() bool { return ts.metrics.handshakeFailures.Load() == 4 })
	if got := ts.metrics.handshakes.Load(); got != 2 {
		t.Errorf("completed handshakes: got %d, want 2", got)
	}
}

// waitFor polls cond for up to five seconds: server-side connection hooks run
// after the client has its answer.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: condition not met in 5s", what)
		}
	}
}

// TestConnectionReuse checks, from the server's side, that a client that
// keeps its connection alive sends 500 requests over exactly one connection,
// over HTTP/1.1 and HTTP/2 alike.
func TestConnectionReuse(t *testing.T) {
	tests := []struct {
		name       string
		client     string // the protocols the client offers
		http1Only  bool
		wantProto  string
		wantALPN   string
		concurrent bool
	}{
		{"HTTP1", "h1", false, "HTTP/1.1", "", false}, // a client without HTTP/2 sends no ALPN
		{"HTTP2", "h2", false, "HTTP/2.0", "h2", false},
		{"HTTP2Concurrent", "h2", false, "HTTP/2.0", "h2", true},
		{"HTTP1OnlyServer", "h2", true, "HTTP/1.1", "http/1.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, serverSetup{http1Only: tt.http1Only})
			seed(t, ts.store)
			c, _ := ts.clientAs(t, "alice", tt.client) // logs in over the connection it goes on using
			get := func() error {
				resp, err := c.Get(ts.URL + "/bands/1/albums")
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					return err
				}
				switch {
				case resp.StatusCode != 200:
					return errors.New(resp.Status)
				case resp.Proto != tt.wantProto:
					return errors.New("protocol " + resp.Proto + ", want " + tt.wantProto)
				case resp.TLS.NegotiatedProtocol != tt.wantALPN:
					return errors.New("ALPN " + resp.TLS.NegotiatedProtocol + ", want " + tt.wantALPN)
				}
				return nil
			}
			if err := get(); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			workers := 1
			if tt.concurrent {
				workers = 10
			}
			for range workers {
				wg.Go(func() {
					for range 499 / workers {
						if err := get(); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if got := ts.metrics.accepted.Load(); got != 1 {
				t.Errorf("connections accepted: got %d, want 1", got)
			}
			if got := ts.metrics.handshakes.Load(); got != 1 {
				t.Errorf("TLS handshakes: got %d, want 1", got)
			}
		})
	}
}

// TestALPN checks the protocols the server offers during the handshake:
// h2 and http/1.1, or with -http1 only http/1.1.
func TestALPN(t *testing.T) {
	tests := []struct {
		name      string
		http1Only bool
		offer     []string
		want      string // "" for a failed handshake
	}{
		{"Both", false, []string{"h2", "http/1.1"}, "h2"},
		{"HTTP1Client", false, []string{"http/1.1"}, "http/1.1"},
		{"HTTP1Only", true, []string{"h2", "http/1.1"}, "http/1.1"},
		{"HTTP1OnlyRefusesH2Only", true, []string{"h2"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, serverSetup{http1Only: tt.http1Only})
			cfg := ts.pki.clientConfig(t, certs.DevClient)
			cfg.NextProtos = tt.offer
			// The server chooses the protocol in its first flight, so a
			// refusal fails the client's handshake itself.
			conn, err := tls.Dial("tcp", ts.Listener.Addr().String(), cfg)
			if err == nil {
				defer conn.Close()
			}
			if tt.want == "" {
				if err == nil {
					t.Fatalf("handshake offering %q succeeded, want a failure", tt.offer)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := conn.ConnectionState().NegotiatedProtocol; got != tt.want {
				t.Errorf("negotiated %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSlowClient checks that a client that sends its request headers a byte
// at a time is dropped once the header timeout passes, while other clients
// are served meanwhile.
func TestSlowClient(t *testing.T) {
	o := defaultServerOptions()
	o.readHeaderTimeout = 300 * time.Millisecond
	ts := newTestServer(t, serverSetup{options: &o})
	cfg := ts.pki.clientConfig(t, certs.DevClient)
	cfg.NextProtos = []string{"http/1.1"}
	conn, err := tls.Dial("tcp", ts.Listener.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	start := time.Now()
	var readErr error
	dropped := make(chan struct{})
	go func() {
		// net/http may say 400 before it hangs up; what counts is the hang-up.
		_, readErr = io.ReadAll(conn)
		close(dropped)
	}()
	request := "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + strings.Repeat("z", 40) + "\r\n\r\n"
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for i := range len(request) {
			if _, err := conn.Write([]byte{request[i]}); err != nil {
				return
			}
			select {
			case <-dropped:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	for range 20 {
		if r := ts.do(t, "GET", "/healthz", ""); r.status != 200 {
			t.Fatalf("another client got %d while the slow one trickled", r.status)
		}
	}
	select {
	case <-dropped:
		if readErr != nil {
			t.Errorf("slow client read: %v, want EOF from the server closing", readErr)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("slow client dropped after %v, want about 300ms", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("slow client still connected after 5s")
	}
	conn.Close()
	<-stopped
}

// TestDefaultServerOptions pins the timeouts that clients rely on: the
// console keeps one connection through pauses of a few minutes.
func TestDefaultServerOptions(t *testing.T) {
	o := defaultServerOptions()
	if o.idleTimeout < 2*time.Minute {
		t.Errorf("idle timeout %v, want at least 2 minutes", o.idleTimeout)
	}
	if o.readHeaderTimeout == 0 || o.readTimeout == 0 || o.writeTimeout == 0 || o.maxHeaderBytes == 0 {
		t.Errorf("a limit is off: %+v", o)
	}
}
