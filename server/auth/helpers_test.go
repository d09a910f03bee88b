package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"musicdb/certs"
	"musicdb/store"
)

// testPKI is a dev PKI in a temporary folder: a CA, a server certificate
// for localhost and 127.0.0.1, and the client certificates dev and alice.
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

// client returns an HTTP/2 client that presents the named certificate.
func (p testPKI) client(tb testing.TB, name string) *http.Client {
	tb.Helper()
	cp := certs.ClientPair(p.dir, name)
	cfg, err := certs.ClientConfig(certs.CAPair(p.dir).Cert, cp.Cert, cp.Key)
	if err != nil {
		tb.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// cert returns the named client certificate, parsed.
func (p testPKI) cert(tb testing.TB, name string) *x509.Certificate {
	tb.Helper()
	pair, err := tls.LoadX509KeyPair(certs.ClientPair(p.dir, name).Cert, certs.ClientPair(p.dir, name).Key)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// issuerServer serves an Issuer's endpoints over mutual TLS on loopback,
// with GET /api, a route behind the Issuer's Checker that answers the
// identity it let in, and /oauth/userinfo behind the same check.
type issuerServer struct {
	*httptest.Server
	iss   *Issuer
	clock *clock
	dir   string
}

func newIssuerServer(tb testing.TB, pki testPKI, dir string, c *clock) *issuerServer {
	tb.Helper()
	iss, err := OpenIssuer(dir, IssuerOptions{Now: c.now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { iss.Close() })
	checker := NewChecker(iss, CheckerOptions{Now: c.now})
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/oauth-authorization-server", iss.HandleMetadata())
	mux.Handle("POST /oauth/device", iss.HandleDevice())
	mux.Handle("POST /oauth/token", iss.HandleToken())
	mux.Handle("POST /oauth/revoke", iss.HandleRevoke())
	mux.Handle("GET /oauth/userinfo", guard(checker, HandleUserInfo()))
	mux.Handle("GET /api", guard(checker, HandleUserInfo()))

	s := httptest.NewUnstartedServer(mux)
	sp := certs.ServerPair(pki.dir)
	cfg, err := certs.ServerConfig(certs.CAPair(pki.dir).Cert, sp.Cert, sp.Key, certs.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	s.TLS = cfg
	s.EnableHTTP2 = true
	s.StartTLS()
	tb.Cleanup(s.Close)
	return &issuerServer{Server: s, iss: iss, clock: c, dir: dir}
}

// restart closes the issuer and opens its folder again behind a new
// listener.
func (s *issuerServer) restart(tb testing.TB, pki testPKI) *issuerServer {
	tb.Helper()
	s.Close()
	if err := s.iss.Close(); err != nil {
		tb.Fatal(err)
	}
	return newIssuerServer(tb, pki, s.dir, s.clock)
}

// guard lets a request through to next only when c accepts its token, as
// the server does, and answers the status the server would otherwise.
func guard(c *Checker, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := c.Authenticate(r)
		if err != nil {
			w.WriteHeader(statusOf(err))
			io.WriteString(w, err.Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

func statusOf(err error) int {
	if _, ok := errors.AsType[*LimitError](err); ok {
		return http.StatusTooManyRequests
	}
	switch store.ErrorCode(err) {
	case store.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case store.EFORBIDDEN:
		return http.StatusForbidden
	case store.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// get sends GET path with the bearer token, if any.
func (s *issuerServer) get(tb testing.TB, c *http.Client, path, token string) answer {
	tb.Helper()
	req, err := http.NewRequest("GET", s.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(tb, c, req)
}

// post sends a form to path.
func (s *issuerServer) post(tb testing.TB, c *http.Client, path string, form url.Values) answer {
	tb.Helper()
	req, err := http.NewRequest("POST", s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(tb, c, req)
}

func send(tb testing.TB, c *http.Client, req *http.Request) answer {
	tb.Helper()
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, body}
}

// deviceAnswer and tokenAnswer are the answers of the device and token
// endpoints, field by field.
type deviceAnswer struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
}

type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// decodeStrict decodes a JSON answer, refusing unknown fields.
func decodeStrict(tb testing.TB, a answer, v any) {
	tb.Helper()
	dec := json.NewDecoder(strings.NewReader(string(a.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("answer %d %s: %v", a.status, a.body, err)
	}
}

// authorize asks for a device code with c's certificate.
func (s *issuerServer) authorize(tb testing.TB, c *http.Client) deviceAnswer {
	tb.Helper()
	a := s.post(tb, c, "/oauth/device", url.Values{"client_id": {ClientID}})
	if a.status != 200 {
		tb.Fatalf("POST /oauth/device: %d %s", a.status, a.body)
	}
	var da deviceAnswer
	decodeStrict(tb, a, &da)
	return da
}

// redeem exchanges a device code with c's certificate.
func (s *issuerServer) redeem(tb testing.TB, c *http.Client, code string) answer {
	tb.Helper()
	return s.post(tb, c, "/oauth/token", url.Values{"grant_type": {deviceGrant}, "device_code": {code}, "client_id": {ClientID}})
}

// refresh asks for new tokens with a refresh token and c's certificate.
func (s *issuerServer) refresh(tb testing.TB, c *http.Client, rt string) answer {
	tb.Helper()
	return s.post(tb, c, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {ClientID}})
}

// login runs the device flow with c's certificate and returns the tokens.
func (s *issuerServer) login(tb testing.TB, c *http.Client) tokenAnswer {
	tb.Helper()
	return mustTokens(tb, s.redeem(tb, c, s.authorize(tb, c).DeviceCode))
}

func mustTokens(tb testing.TB, a answer) tokenAnswer {
	tb.Helper()
	if a.status != 200 {
		tb.Fatalf("token endpoint: %d %s", a.status, a.body)
	}
	var t tokenAnswer
	decodeStrict(tb, a, &t)
	return t
}

// checkOAuthError fails unless a is the OAuth error code with 400.
func checkOAuthError(tb testing.TB, a answer, code string) string {
	tb.Helper()
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if a.status != 400 {
		tb.Fatalf("got %d %s, want 400 %s", a.status, a.body, code)
	}
	decodeStrict(tb, a, &e)
	if e.Error != code || e.Description == "" {
		tb.Fatalf("got %s, want error %s with a description", a.body, code)
	}
	if a.header.Get("Content-Type") != "application/json" || a.header.Get("Cache-Control") != "no-store" {
		tb.Errorf("headers %v, want application/json and no-store", a.header)
	}
	return e.Description
}

// requestWith returns a request for GET /api, with the Authorization
// header value auth if not empty, over a TLS connection that presented
// cert if not nil.
func requestWith(auth string, cert *x509.Certificate) *http.Request {
	r := httptest.NewRequestWithContext(context.Background(), "GET", "/api", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	if cert != nil {
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}, VerifiedChains: [][]*x509.Certificate{{cert}}}
	} else {
		r.TLS = nil
	}
	return r
}
