package server

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"musicdb/certs"
	"musicdb/server/auth"
	"musicdb/store"
)

// testNow is the store's clock in tests: years up to 2026 are valid.
var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// mustOpenStore opens a store in dir with a cheap password hash and the
// test clock, and closes it when the test ends. onSync, if not nil, is
// store.Options.OnSync.
func mustOpenStore(tb testing.TB, dir string, onSync func(int, time.Duration)) *store.Store {
	tb.Helper()
	st, err := store.Open(dir, store.Options{
		PasswordIterations: 1000,
		Now:                func() time.Time { return testNow },
		OnSync:             onSync,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// testPKI is a dev PKI in a temporary folder: a CA, a server certificate for
// localhost and 127.0.0.1, and the client certificates dev and alice.
type testPKI struct{ dir string }

func mustPKI(tb testing.TB) testPKI {
	tb.Helper()
	dir := tb.TempDir()
	if _, err := certs.Init(dir); err != nil {
		tb.Fatal(err)
	}
	if _, err := certs.AddClient(dir, "alice"); err != nil {
		tb.Fatal(err)
	}
	return testPKI{dir}
}

// serverConfig returns the server's TLS config, readied as Run readies it.
func (p testPKI) serverConfig(tb testing.TB, m *Metrics, http1Only bool) *tls.Config {
	tb.Helper()
	sp := certs.ServerPair(p.dir)
	cfg, err := certs.ServerConfig(certs.CAPair(p.dir).Cert, sp.Cert, sp.Key, certs.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	prepareTLS(cfg, m, http1Only)
	return cfg
}

// clientConfig returns the TLS config of the named client.
func (p testPKI) clientConfig(tb testing.TB, name string) *tls.Config {
	tb.Helper()
	cp := certs.ClientPair(p.dir, name)
	cfg, err := certs.ClientConfig(certs.CAPair(p.dir).Cert, cp.Cert, cp.Key)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// transport returns a transport that presents cfg's certificate and speaks
// proto: "h1" for HTTP/1.1 only, "h2" for HTTP/2 (and HTTP/1.1 if the
// server offers nothing else).
func transport(tb testing.TB, cfg *tls.Config, proto string) *http.Transport {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(proto == "h2")
	tr := &http.Transport{
		TLSClientConfig:     cfg,
		Protocols:           &protocols,
		MaxIdleConnsPerHost: 64,
	}
	tb.Cleanup(tr.CloseIdleConnections)
	return tr
}

// syncBuffer is a bytes.Buffer that server goroutines may write while a
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is the whole API over mutual TLS on loopback, as Run serves it
// but on an httptest listener. Unless the setup says otherwise, tokens are
// checked by the built-in issuer, as with -auth local.
type testServer struct {
	*httptest.Server
	pki     testPKI
	store   *store.Store
	issuer  *auth.Issuer // nil with serverSetup.auth or .handler
	metrics *Metrics
	logs    *syncBuffer // the JSON log lines

	devOnce  sync.Once
	devToken string       // the dev client's access token
	client   *http.Client // the dev client, with devToken; set by dev
}

type serverSetup struct {
	auth      Authenticator // instead of the built-in issuer's tokens
	allow     string        // the -allow list, with the built-in issuer
	http1Only bool
	options   *serverOptions
	handler   http.Handler // instead of NewServer's
	quiet     bool         // format the log but throw it away, as benchmarks want
}

func newTestServer(tb testing.TB, setup serverSetup) *testServer {
	tb.Helper()
	m := NewMetrics()
	ts := &testServer{
		pki:     mustPKI(tb),
		store:   mustOpenStore(tb, tb.TempDir(), m.OnSync),
		metrics: m,
		logs:    &syncBuffer{},
	}
	var logTo io.Writer = ts.logs
	if setup.quiet {
		logTo = io.Discard
	}
	log := slog.New(slog.NewJSONHandler(logTo, nil))
	h := setup.handler
	if h == nil {
		a := setup.auth
		if a == nil {
			ts.issuer = mustOpenIssuer(tb, tb.TempDir())
			allow, err := auth.ParseAllowList(setup.allow)
			if err != nil {
				tb.Fatal(err)
			}
			a = auth.NewChecker(ts.issuer, auth.CheckerOptions{Allow: allow})
		}
		h = NewServer(Config{Store: ts.store, Logger: log, Metrics: ts.metrics, Auth: a, Issuer: ts.issuer})
	}
	o := defaultServerOptions()
	if setup.options != nil {
		o = *setup.options
	}
	o.http1Only = setup.http1Only
	tlsConfig := ts.pki.serverConfig(tb, ts.metrics, setup.http1Only)
	ts.Server = httptest.NewUnstartedServer(h)
	ts.Config = newHTTPServer(h, tlsConfig, ts.metrics, log, o)
	ts.TLS = tlsConfig
	ts.StartTLS()
	tb.Cleanup(ts.Close)
	return ts
}

// mustOpenIssuer opens the built-in issuer's grant table in dir and closes
// it when the test ends.
func mustOpenIssuer(tb testing.TB, dir string) *auth.Issuer {
	tb.Helper()
	iss, err := auth.OpenIssuer(dir, auth.IssuerOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { iss.Close() })
	return iss
}

// dev returns the client of the dev certificate, over HTTP/2, with a token
// when the server has the built-in issuer. It logs in on first use, so
// that tests that count connections see none they did not make.
func (ts *testServer) dev(tb testing.TB) *http.Client {
	tb.Helper()
	ts.devOnce.Do(func() {
		if ts.issuer == nil {
			ts.client = ts.plainClient(tb, certs.DevClient, "h2")
			return
		}
		ts.client, ts.devToken = ts.clientAs(tb, certs.DevClient, "h2")
	})
	return ts.client
}

// plainClient returns a client of the named certificate that sends no
// token.
func (ts *testServer) plainClient(tb testing.TB, name, proto string) *http.Client {
	return &http.Client{Transport: transport(tb, ts.pki.clientConfig(tb, name), proto), Timeout: 10 * time.Second}
}

// clientAs returns a client of the named certificate, speaking proto (see
// transport), that logs in at the built-in issuer now and sends the token
// with every request after; and the token.
func (ts *testServer) clientAs(tb testing.TB, name, proto string) (*http.Client, string) {
	tb.Helper()
	tr := transport(tb, ts.pki.clientConfig(tb, name), proto)
	tok := login(tb, &http.Client{Transport: tr, Timeout: 10 * time.Second}, ts.URL)
	return &http.Client{Transport: bearer{tok.AccessToken, tr}, Timeout: 10 * time.Second}, tok.AccessToken
}

// bearer is a transport that adds a bearer token to every request that
// has no Authorization header.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.next.RoundTrip(r)
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// login logs in at the built-in issuer at base by the device flow, with
// c's client certificate, and returns the tokens.
func login(tb testing.TB, c *http.Client, base string) tokenResponse {
	tb.Helper()
	form := "application/x-www-form-urlencoded"
	r := do(tb, c, base, "POST", "/oauth/device", "client_id=musicdb-console", "Content-Type", form)
	var da struct {
		DeviceCode string `json:"device_code"`
	}
	if err := json.Unmarshal(r.body, &da); err != nil || r.status != 200 || da.DeviceCode == "" {
		tb.Fatalf("POST /oauth/device: %d %s", r.status, r.body)
	}
	r = do(tb, c, base, "POST", "/oauth/token",
		"grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=musicdb-console&device_code="+da.DeviceCode,
		"Content-Type", form)
	var tok tokenResponse
	if err := json.Unmarshal(r.body, &tok); err != nil || r.status != 200 || tok.AccessToken == "" {
		tb.Fatalf("POST /oauth/token: %d %s", r.status, r.body)
	}
	return tok
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
	proto  string
}

// do sends a request with the dev client; a body is sent as application/json
// unless header says otherwise. header holds name, value pairs.
func (ts *testServer) do(tb testing.TB, method, path, body string, header ...string) response {
	tb.Helper()
	return do(tb, ts.dev(tb), ts.URL, method, path, body, header...)
}

func do(tb testing.TB, c *http.Client, base, method, path, body string, header ...string) response {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, data, resp.Proto}
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// checkProblem fails unless r is a problem+json answer with the given
// status whose body agrees with it.
func checkProblem(tb testing.TB, r response, status int) problem {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status: got %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		tb.Fatalf("Content-Type: got %q, want application/problem+json", ct)
	}
	var p problem
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		tb.Fatalf("problem body %s: %v", r.body, err)
	}
	if p.Type != "about:blank" || p.Status != status || p.Title != http.StatusText(status) || p.Detail == "" {
		tb.Fatalf("problem body: got %+v, want type about:blank, status %d, its title, and a detail", p, status)
	}
	return p
}

// seed fills st with a small catalogue through the store itself:
//
//	users 1 alice, 2 bob
//	bands 1 Pink Floyd (rock 1965), 2 Daft Punk (pop 1993)
//	albums 1 and 2 by band 1, 3 by band 2
//	ratings alice: 1→5, 3→2; bob: 1→4
func seed(tb testing.TB, st *store.Store) {
	tb.Helper()
	must := func(_ any, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(st.CreateUser(store.NewUser{Username: "alice", Password: "wonderland", Name: "Alice Liddell"}))
	must(st.CreateUser(store.NewUser{Username: "bob", Password: "builder99", Name: "Bob"}))
	must(st.CreateBand(store.NewBand{Name: "Pink Floyd", Genre: "rock", Year: 1965}))
	must(st.CreateBand(store.NewBand{Name: "Daft Punk", Genre: "pop", Year: 1993}))
	must(st.CreateAlbum(store.NewAlbum{BandID: 1, Name: "The Dark Side of the Moon", Year: 1973}))
	must(st.CreateAlbum(store.NewAlbum{BandID: 1, Name: "Wish You Were Here", Year: 1975}))
	must(st.CreateAlbum(store.NewAlbum{BandID: 2, Name: "Discovery", Year: 2001}))
	must(st.Rate(1, 1, 5))
	must(st.Rate(1, 3, 2))
	must(st.Rate(2, 1, 4))
}
