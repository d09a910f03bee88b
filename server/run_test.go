package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"musicdb/certs"
	"musicdb/store"
)

// running is Run serving in the background of a test.
type running struct {
	url    string
	done   chan error
	cancel context.CancelFunc
	stdout *syncBuffer
	stderr *syncBuffer
}

// runArgs returns the flags that point Run at pki and the data folder dir,
// on a free loopback port.
func runArgs(pki testPKI, dir string) []string {
	sp := certs.ServerPair(pki.dir)
	return []string{"-addr", "127.0.0.1:0", "-data", dir, "-cert", sp.Cert, "-key", sp.Key, "-client-ca", certs.CAPair(pki.dir).Cert}
}

// startRun starts Run with args and env and waits until it listens.
func startRun(t *testing.T, args []string, env map[string]string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{done: make(chan error, 1), cancel: cancel, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	getenv := func(name string) string { return env[name] }
	go func() { r.done <- Run(ctx, args, getenv, strings.NewReader(""), r.stdout, r.stderr) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	listening := regexp.MustCompile(`^musicdb-server: listening on (https://127\.0\.0\.1:\d+) \(.*; mTLS; data .*\)\n$`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listening.FindStringSubmatch(r.stdout.String()); m != nil {
			r.url = m[1]
			return r
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("Run returned %v before listening; stdout %q", err, r.stdout.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("Run did not print its address in 10s; stdout %q", r.stdout.String())
		}
	}
}

// stop cancels Run's context and returns what Run returns.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return 15s after its context ended")
		return nil
	}
}

// TestRun starts the server program, uses it, stops it, and finds the
// writes in the store afterwards.
func TestRun(t *testing.T) {
	pki := mustPKI(t)
	dir := t.TempDir()
	args := runArgs(pki, "")[:2] // -addr from the flag, which wins over the environment
	sp := certs.ServerPair(pki.dir)
	env := map[string]string{
		"MUSICDB_ADDR":       "127.0.0.1:1",
		"MUSICDB_DATA":       dir,
		"MUSICDB_CERT":       sp.Cert,
		"MUSICDB_KEY":        sp.Key,
		"MUSICDB_CLIENT_CA":  certs.CAPair(pki.dir).Cert,
		"MUSICDB_LOG_FORMAT": "json",
	}
	r := startRun(t, args, env)
	if !strings.Contains(r.stdout.String(), "(HTTP/2, HTTP/1.1; mTLS; data "+dir+"; auth local)") {
		t.Errorf("start line %q", r.stdout.String())
	}
	tr := transport(t, pki.clientConfig(t, "alice"), "h2")
	plain := &http.Client{Transport: tr}
	got := do(t, plain, r.url, "GET", "/bands", "")
	checkProblem(t, got, 401)
	if h := got.header.Get("WWW-Authenticate"); h != `Bearer realm="musicdb"` {
		t.Errorf("GET /bands without a token: WWW-Authenticate %q", h)
	}
	tok := login(t, plain, r.url)
	c := &http.Client{Transport: bearer{tok.AccessToken, tr}}
	if got := do(t, c, r.url, "POST", "/bands", `{"name":"Can","genre":"rock","year":1968}`); got.status != 201 {
		t.Fatalf("POST /bands: %d %s", got.status, got.body)
	}
	if got := do(t, c, r.url, "GET", "/bands/1", ""); got.status != 200 || got.proto != "HTTP/2.0" {
		t.Fatalf("GET /bands/1: %d over %s", got.status, got.proto)
	}
	// A write is answered after its fsync is counted.
	if got := do(t, c, r.url, "GET", "/metrics", ""); !strings.Contains(string(got.body), "musicdb_store_journal_fsyncs_total 1\n") {
		t.Errorf("/metrics after one write:\n%s", got.body)
	}
	c.CloseIdleConnections() // spare the HTTP/2 shutdown its wait for the client
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v, want nil after a clean shutdown", err)
	}
	if line := requestLine(t, r.stderr.String(), "GET /bands/{id}"); line["cn"] != "alice" || line["subject"] != "alice" {
		t.Errorf("log line %v", line)
	}
	if logs := r.stderr.String(); strings.Contains(logs, tok.AccessToken) || strings.Contains(logs, tok.RefreshToken) {
		t.Errorf("the log holds a token:\n%s", logs)
	}

	// The token survives a restart.
	r = startRun(t, args, env)
	if got := do(t, c, r.url, "GET", "/bands/1", ""); got.status != 200 {
		t.Errorf("GET /bands/1 after a restart: %d %s", got.status, got.body)
	}
	c.CloseIdleConnections()
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	st := mustOpenStore(t, dir, nil)
	if b, err := st.Band(1); err != nil || b.Name != "Can" {
		t.Errorf("after Run: band 1 = %+v, %v; want Can", b, err)
	}
}

// TestRunAllow checks that -allow lets in only the CNs it names with the
// built-in issuer.
func TestRunAllow(t *testing.T) {
	pki := mustPKI(t)
	r := startRun(t, runArgs(pki, t.TempDir()), map[string]string{"MUSICDB_ALLOW": "alice"})
	for _, tt := range []struct {
		name   string
		status int
	}{{"alice", 200}, {certs.DevClient, 403}} {
		tr := transport(t, pki.clientConfig(t, tt.name), "h2")
		tok := login(t, &http.Client{Transport: tr}, r.url)
		c := &http.Client{Transport: bearer{tok.AccessToken, tr}}
		if got := do(t, c, r.url, "GET", "/bands", ""); got.status != tt.status {
			t.Errorf("%s: GET /bands: %d, want %d", tt.name, got.status, tt.status)
		}
		c.CloseIdleConnections()
	}
}

// TestRunOIDC checks -auth oidc end to end against a provider on loopback,
// which may be plain http there.
func TestRunOIDC(t *testing.T) {
	provider := httptest.NewServer(nil)
	defer provider.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"userinfo_endpoint":%q}`, provider.URL, provider.URL+"/userinfo")
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good-token" {
			w.WriteHeader(401)
			return
		}
		fmt.Fprint(w, `{"sub":"248289761001","email":"carol@example.com","email_verified":true}`)
	})
	provider.Config.Handler = mux

	pki := mustPKI(t)
	r := startRun(t, append(runArgs(pki, t.TempDir()), "-auth", "oidc", "-log-format", "json"), map[string]string{
		"MUSICDB_OIDC_ISSUER":    provider.URL,
		"MUSICDB_OIDC_CLIENT_ID": "musicdb",
	})
	tr := transport(t, pki.clientConfig(t, certs.DevClient), "h2")
	c := &http.Client{Transport: tr}
	if got := do(t, c, r.url, "GET", "/bands", "", "Authorization", "Bearer good-token"); got.status != 200 {
		t.Errorf("GET /bands with a good token: %d %s", got.status, got.body)
	}
	if got := do(t, c, r.url, "GET", "/bands", "", "Authorization", "Bearer bad-token"); got.status != 401 {
		t.Errorf("GET /bands with a bad token: %d %s", got.status, got.body)
	}
	if got := do(t, c, r.url, "POST", "/oauth/device", "client_id=musicdb-console", "Content-Type", "application/x-www-form-urlencoded"); got.status != 404 {
		t.Errorf("the built-in issuer answers with -auth oidc: %d %s", got.status, got.body)
	}
	c.CloseIdleConnections()
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if line := requestLine(t, r.stderr.String(), "GET /bands"); line["subject"] != "carol@example.com" {
		t.Errorf("log line %v, want subject carol@example.com", line)
	}
}

// TestRunHTTP1 checks that -http1 serves HTTP/1.1 to a client that offers
// HTTP/2.
func TestRunHTTP1(t *testing.T) {
	pki := mustPKI(t)
	r := startRun(t, append(runArgs(pki, t.TempDir()), "-http1"), nil)
	if !strings.Contains(r.stdout.String(), "(HTTP/1.1 only; mTLS;") {
		t.Errorf("start line %q", r.stdout.String())
	}
	c := &http.Client{Transport: transport(t, pki.clientConfig(t, certs.DevClient), "h2")}
	if got := do(t, c, r.url, "GET", "/healthz", ""); got.status != 200 || got.proto != "HTTP/1.1" {
		t.Errorf("GET /healthz: %d over %s, want 200 over HTTP/1.1", got.status, got.proto)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
}

// TestRunFinishesRequests checks that a request in flight when the context
// ends is answered, and its write kept, before Run returns.
func TestRunFinishesRequests(t *testing.T) {
	pki := mustPKI(t)
	dir := t.TempDir()
	r := startRun(t, runArgs(pki, dir), nil)
	tr := transport(t, pki.clientConfig(t, certs.DevClient), "h1")
	tok := login(t, &http.Client{Transport: tr}, r.url)
	c := &http.Client{Transport: bearer{tok.AccessToken, tr}}
	body, feed := io.Pipe()
	req, _ := http.NewRequest("POST", r.url+"/bands", body)
	req.Header.Set("Content-Type", "application/json")
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
		}
		answered <- resp
	}()
	feed.Write([]byte(`{"name":"Can",`))
	time.Sleep(100 * time.Millisecond) // let the request reach its handler
	r.cancel()
	waitFor(t, "shutdown begun", func() bool { return strings.Contains(r.stderr.String(), "shutting down") })
	select {
	case err := <-r.done:
		r.done <- err
		t.Fatalf("Run returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	feed.Write([]byte(`"genre":"rock","year":1968}`))
	feed.Close()
	if resp := <-answered; resp == nil || resp.StatusCode != 201 {
		t.Fatalf("in-flight request: %v, want 201", resp)
	} else {
		resp.Body.Close()
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := mustOpenStore(t, dir, nil)
	if _, err := st.Band(1); err != nil {
		t.Errorf("the in-flight write is lost: %v", err)
	}
}

// TestRunErrors checks that Run refuses to start with a clear one-line
// error when it cannot.
func TestRunErrors(t *testing.T) {
	pki := mustPKI(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	lockedDir := t.TempDir()
	mustOpenStore(t, lockedDir, nil)

	args := func(extra ...string) []string { return append(runArgs(pki, t.TempDir()), extra...) }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"PortInUse", args("-addr", taken.Addr().String()),
			nil, "address " + taken.Addr().String() + " is in use — is another musicdb-server running?"},
		{"MissingCertificate", args("-cert", filepath.Join(pki.dir, "nope.crt")),
			nil, "server certificate " + filepath.Join(pki.dir, "nope.crt") + " does not exist; make the dev certificates with ./run.sh certs"},
		{"MissingCA", args("-client-ca", filepath.Join(t.TempDir(), "ca.crt")),
			nil, "does not exist; make the dev certificates with ./run.sh certs"},
		{"DataLocked", runArgs(pki, lockedDir),
			nil, "store " + lockedDir + " is already open"},
		{"LogFormat", args("-log-format", "xml"),
			nil, `-log-format "xml": want text or json`},
		{"BadEnv", args(),
			map[string]string{"MUSICDB_HTTP1": "sometimes"}, `MUSICDB_HTTP1="sometimes"`},
		{"UnknownFlag", args("-port", "1"),
			nil, "flag provided but not defined: -port (see -h)"},
		{"ExtraArgument", args("serve"),
			nil, `unexpected argument "serve" (see -h)`},
		{"UnknownAuth", args("-auth", "kerberos"),
			nil, `-auth "kerberos": want local, google, spotify or oidc`},
		{"GoogleWithoutClientID", args(),
			map[string]string{"MUSICDB_AUTH": "google"}, "-auth google needs MUSICDB_GOOGLE_CLIENT_ID"},
		{"OIDCWithoutIssuer", args("-auth", "oidc"),
			map[string]string{"MUSICDB_OIDC_CLIENT_ID": "musicdb"}, "-auth oidc needs the provider's issuer URL (-issuer or MUSICDB_OIDC_ISSUER)"},
		{"OIDCWithoutClientID", args("-auth", "oidc", "-issuer", "https://accounts.example.com"),
			nil, "and musicdb's client id there (MUSICDB_OIDC_CLIENT_ID)"},
		{"OIDCPlainHTTP", args("-auth", "oidc"),
			map[string]string{"MUSICDB_ISSUER": "http://accounts.example.com", "MUSICDB_OIDC_CLIENT_ID": "musicdb"},
			`-auth oidc: issuer "http://accounts.example.com": want https (http only on a loopback address)`},
		{"BadAllow", args("-allow", "alice,@"),
			nil, `-allow entry "@": want @domain, such as @example.com`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			// Should Run start after all, this ends it instead of hanging the test.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := Run(ctx, tt.args, func(k string) string { return tt.env[k] }, nil, &stdout, &stderr)
			if err == nil {
				t.Fatalf("Run succeeded, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line holding %q", err, tt.want)
			}
			if stdout.String() != "" {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			// A start that failed leaves its store closed.
			data := tt.args[slices.Index(tt.args, "-data")+1]
			if data == lockedDir {
				return
			}
			st, err := store.Open(data, store.Options{})
			if err != nil {
				t.Fatalf("the store is still locked: %v", err)
			}
			st.Close()
		})
	}
}

// TestRunHelp checks -h: usage on stdout naming every flag and its
// environment variable, and flag.ErrHelp.
func TestRunHelp(t *testing.T) {
	var stdout, stderr syncBuffer
	err := Run(t.Context(), []string{"-h"}, func(string) string { return "" }, nil, &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Run -h: %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{
		"-addr host:port", "MUSICDB_ADDR", `default "localhost:8443"`,
		"-data folder", "MUSICDB_DATA", "-cert file", "MUSICDB_CERT", "-key file", "MUSICDB_KEY",
		"-client-ca file", "MUSICDB_CLIENT_CA", "-http1", "MUSICDB_HTTP1", "-log-format text", "MUSICDB_LOG_FORMAT",
		"-auth provider", "MUSICDB_AUTH", `default "local"`, "-issuer URL", "MUSICDB_ISSUER", "MUSICDB_OIDC_ISSUER",
		"-allow identities", "MUSICDB_ALLOW",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, stdout.String())
		}
	}
}
