package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"musicdb/certs"
	"musicdb/server"
	"musicdb/server/auth"
	"musicdb/store"
)

// testNow is the server store's clock: every user is created at this time,
// so the goldens do not change from run to run.
var testNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// pkis holds the dev PKIs of the tests, made once: "main" serves the tests,
// "other" is a second CA with its own server and client certificates.
var pkis struct {
	once sync.Once
	root string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pkis.root != "" {
		os.RemoveAll(pkis.root)
	}
	os.Exit(code)
}

// pkiDir returns the folder of the test PKI name ("main" or "other").
func pkiDir(tb testing.TB, name string) string {
	tb.Helper()
	pkis.once.Do(func() {
		if pkis.root, pkis.err = os.MkdirTemp("", "musicdb-client-test-"); pkis.err != nil {
			return
		}
		for _, n := range []string{"main", "other"} {
			if _, pkis.err = certs.Init(filepath.Join(pkis.root, n)); pkis.err != nil {
				return
			}
		}
	})
	if pkis.err != nil {
		tb.Fatal(pkis.err)
	}
	return filepath.Join(pkis.root, name)
}

// testServer is the real API handler with a fresh store and its built-in
// issuer, served over TLS 1.3 with required client certificates on
// loopback.
type testServer struct {
	*httptest.Server
	store *store.Store
	pki   string
	conns atomic.Int64 // connections the server accepted (StateNew)

	// env is the environment of the consoles of the test: a
	// configuration folder of their own, so that they share a token
	// cache, and one that is not the user's.
	env env
}

// serverOption changes the httptest server before it starts.
type serverOption func(*httptest.Server)

// http1Only makes the server offer HTTP/1.1 alone.
func http1Only(ts *httptest.Server) {
	ts.EnableHTTP2 = false
	ts.TLS.NextProtos = []string{"http/1.1"}
}

// idleTimeout makes the server close connections idle for d.
func idleTimeout(d time.Duration) serverOption {
	return func(ts *httptest.Server) { ts.Config.IdleTimeout = d }
}

func startServer(tb testing.TB, opts ...serverOption) *testServer {
	tb.Helper()
	st, err := store.Open(tb.TempDir(), store.Options{
		Now:                func() time.Time { return testNow },
		PasswordIterations: 1000,
	})
	if err != nil {
		tb.Fatal(err)
	}
	iss, err := auth.OpenIssuer(tb.TempDir(), auth.IssuerOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	dir := pkiDir(tb, "main")
	s := &testServer{store: st, pki: dir, env: testEnv(tb)}
	s.Server = httptest.NewUnstartedServer(server.NewServer(server.Config{
		Store: st, Auth: auth.NewChecker(iss, auth.CheckerOptions{}), Issuer: iss,
	}))
	s.TLS = serverTLS(tb, dir)
	s.EnableHTTP2 = true
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the tests make fail
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.conns.Add(1)
		}
	}
	for _, opt := range opts {
		opt(s.Server)
	}
	s.StartTLS()
	tb.Cleanup(func() {
		s.Close()
		iss.Close()
		st.Close()
	})
	return s
}

// serverTLS returns the TLS config of a server with the PKI in dir.
func serverTLS(tb testing.TB, dir string) *tls.Config {
	tb.Helper()
	sp := certs.ServerPair(dir)
	cfg, err := certs.ServerConfig(certs.CAPair(dir).Cert, sp.Cert, sp.Key, certs.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// args returns the flags that point the console at s with the dev client
// certificate, followed by more.
func (s *testServer) args(more ...string) []string {
	return append([]string{
		"-server", s.URL,
		"-ca", certs.CAPair(s.pki).Cert,
		"-cert", certs.ClientPair(s.pki, certs.DevClient).Cert,
		"-key", certs.ClientPair(s.pki, certs.DevClient).Key,
	}, more...)
}

// env is a fake environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// testEnv returns an environment whose configuration folder, where the
// token cache lives, is a new temporary one.
func testEnv(tb testing.TB) env {
	return env{"XDG_CONFIG_HOME": tb.TempDir()}
}

// noEnv is an empty environment, for consoles that stop before they log in.
func noEnv(string) string { return "" }

// run runs the console with the environment getenv, args and stdin, and
// returns its stdout, its stderr and its error.
func run(tb testing.TB, getenv func(string) string, args []string, stdin io.Reader) (stdout, stderr string, err error) {
	tb.Helper()
	var out, errOut bytes.Buffer
	err = Run(context.Background(), args, getenv, stdin, &out, &errOut)
	return out.String(), errOut.String(), err
}

// lineFeeder is standard input that hands out one line per Read, as a
// person typing does, so that the console reads each line only when it is
// ready for it. Before a line it may wait, and it may echo the line to a
// transcript.
type lineFeeder struct {
	lines []string
	pause map[int]time.Duration // before the line of that index
	echo  io.Writer             // if not nil, gets "> line" as each is read
	n     int
}

func (f *lineFeeder) Read(p []byte) (int, error) {
	if f.n == len(f.lines) {
		return 0, io.EOF
	}
	line := f.lines[f.n] + "\n"
	if len(line) > len(p) {
		return 0, fmt.Errorf("line %d is longer than the read buffer", f.n+1)
	}
	time.Sleep(f.pause[f.n])
	if f.echo != nil {
		fmt.Fprintf(f.echo, "> %s", line)
	}
	f.n++
	return copy(p, line), nil
}

// feed returns a lineFeeder of the lines of script.
func feed(script string) *lineFeeder {
	return &lineFeeder{lines: strings.Split(strings.TrimSuffix(script, "\n"), "\n")}
}
