package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"musicdb/certs"
	"musicdb/server/auth"
	"musicdb/store"
)

// fakeAuth answers every request with the same identity or error.
type fakeAuth struct {
	id  auth.Identity
	err error
}

func (a fakeAuth) Authenticate(*http.Request) (auth.Identity, error) { return a.id, a.err }

// foreignTokenError is how a package that cannot import package auth
// reports a refused token: its own error type with a BearerError method.
type foreignTokenError struct{}

func (foreignTokenError) Error() string       { return "the token was revoked" }
func (foreignTokenError) BearerError() string { return "invalid_token" }
func (foreignTokenError) Unwrap() error {
	return store.Errorf(store.EUNAUTHORIZED, "the token was revoked")
}

// TestAuthenticatorErrors pins how the answer of an Authenticator becomes
// the response: the status, the WWW-Authenticate challenge, Retry-After,
// and what the problem says.
func TestAuthenticatorErrors(t *testing.T) {
	tests := []struct {
		name       string
		auth       fakeAuth
		status     int
		challenge  string // "" must be absent
		retryAfter string // "" must be absent
		detail     string
	}{
		{"NoToken", fakeAuth{err: store.Errorf(store.EUNAUTHORIZED, "missing bearer token")},
			401, `Bearer realm="musicdb"`, "", "missing bearer token"},
		{"InvalidToken", fakeAuth{err: auth.InvalidToken("the token expired")},
			401, `Bearer realm="musicdb", error="invalid_token", error_description="the token expired"`, "", "the token expired"},
		{"InvalidTokenQuotes", fakeAuth{err: auth.InvalidToken("bad \"token\"\\ é\n")},
			401, `Bearer realm="musicdb", error="invalid_token", error_description="bad token "`, "", "bad \"token\"\\ é\n"},
		{"ForeignInvalidToken", fakeAuth{err: foreignTokenError{}},
			401, `Bearer realm="musicdb", error="invalid_token", error_description="the token was revoked"`, "", "the token was revoked"},
		{"Forbidden", fakeAuth{err: store.Errorf(store.EFORBIDDEN, "carol is not allowed in")},
			403, "", "", "carol is not allowed in"},
		{"Unavailable", fakeAuth{err: store.Errorf(store.EUNAVAILABLE, "the token provider cannot be reached")},
			503, "", "", "the token provider cannot be reached"},
		{"TooManyFailures", fakeAuth{err: &auth.LimitError{RetryAfter: 41500 * time.Millisecond}},
			429, "", "42", "too many invalid tokens from this client certificate; try again in 42s"},
		{"Internal", fakeAuth{err: errors.New("provider said: key 0xdeadbeef")},
			500, "", "", "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, serverSetup{auth: tt.auth})
			r := ts.do(t, "GET", "/users", "")
			p := checkProblem(t, r, tt.status)
			if got := r.header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate: got %q, want %q", got, tt.challenge)
			}
			if got := r.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After: got %q, want %q", got, tt.retryAfter)
			}
			if p.Detail != tt.detail {
				t.Errorf("detail: got %q, want %q", p.Detail, tt.detail)
			}
			if r := ts.do(t, "GET", "/healthz", ""); r.status != 200 {
				t.Errorf("/healthz: got %d, want 200 without a token", r.status)
			}
		})
	}
}

// TestErrorsLogged checks that the text of an internal error, and the cause
// of a 503, reach the request's log line and not the client.
func TestErrorsLogged(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		logged string
	}{
		{"Internal", errors.New("provider said: key 0xdeadbeef"), 500, "provider said: key 0xdeadbeef"},
		{"Unavailable", auth.Unavailable("Google", errors.New("dial tcp 127.0.0.1:9: connect: connection refused")), 503,
			"Google cannot check the token now; try again later: dial tcp 127.0.0.1:9: connect: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, serverSetup{auth: fakeAuth{err: tt.err}})
			r := ts.do(t, "GET", "/users", "")
			if r.status != tt.status || strings.Contains(string(r.body), "0xdeadbeef") || strings.Contains(string(r.body), "refused") {
				t.Errorf("the client got %d %s, want %d without the cause", r.status, r.body, tt.status)
			}
			line := requestLine(t, ts.logs.String(), "GET /users")
			if line["err"] != tt.logged || line["level"] != "ERROR" {
				t.Errorf("log line %v, want level ERROR and err %q", line, tt.logged)
			}
		})
	}
}

// TestAuthenticatorIdentity checks that the identity an Authenticator names
// is the request's subject in the log.
func TestAuthenticatorIdentity(t *testing.T) {
	ts := newTestServer(t, serverSetup{auth: fakeAuth{id: auth.Identity{Subject: "bob@example.com"}}})
	if r := ts.do(t, "GET", "/users", ""); r.status != 200 {
		t.Fatalf("GET /users: %d", r.status)
	}
	if line := requestLine(t, ts.logs.String(), "GET /users"); line["subject"] != "bob@example.com" || line["cn"] != "dev" {
		t.Errorf("log line %v, want subject bob@example.com and cn dev", line)
	}
}

// TestNewServerNeedsAuth checks that a server without a token check is
// never built by mistake.
func TestNewServerNeedsAuth(t *testing.T) {
	defer func() {
		if v := recover(); v == nil || !strings.Contains(fmt.Sprint(v), "Config.Auth") {
			t.Errorf("NewServer without Auth: panic %v, want one naming Config.Auth", v)
		}
	}()
	NewServer(Config{Store: mustOpenStore(t, t.TempDir(), nil)})
}

// TestLocalTokens checks the bearer token check with the built-in issuer,
// as Run sets it up: a token lets its certificate in, as the certificate's
// CN, and nothing else does.
func TestLocalTokens(t *testing.T) {
	ts := newTestServer(t, serverSetup{})
	if r := ts.do(t, "GET", "/users", ""); r.status != 200 {
		t.Fatalf("GET /users with a token: %d %s", r.status, r.body)
	}
	if line := requestLine(t, ts.logs.String(), "GET /users"); line["subject"] != "dev" || line["cn"] != "dev" {
		t.Errorf("log line %v, want subject and cn dev", line)
	}
	if r := ts.do(t, "GET", "/oauth/userinfo", ""); r.status != 200 || !sameJSON(r.body, []byte(`{"sub":"dev"}`)) {
		t.Errorf("GET /oauth/userinfo: %d %s, want {\"sub\":\"dev\"}", r.status, r.body)
	}

	const invalid = `Bearer realm="musicdb", error="invalid_token", error_description=`
	tests := []struct {
		name      string
		client    *http.Client
		path      string
		header    []string
		challenge string // a prefix
	}{
		{"NoToken", ts.plainClient(t, certs.DevClient, "h2"), "/users", nil, `Bearer realm="musicdb"`},
		{"OtherScheme", ts.plainClient(t, certs.DevClient, "h2"), "/users", []string{"Authorization", "Basic ZGV2OmRldg=="}, `Bearer realm="musicdb"`},
		{"Malformed", ts.plainClient(t, certs.DevClient, "h2"), "/users", []string{"Authorization", "Bearer two words"}, invalid + `"the bearer token is malformed"`},
		{"Unknown", ts.plainClient(t, certs.DevClient, "h2"), "/users", []string{"Authorization", "Bearer mdb_at_unknown"}, invalid},
		{"OtherCertificate", ts.plainClient(t, "alice", "h2"), "/users", []string{"Authorization", "Bearer " + ts.devToken},
			invalid + `"the token was issued to another client certificate"`},
		{"InQuery", ts.plainClient(t, certs.DevClient, "h2"), "/users?access_token=" + ts.devToken, nil,
			`Bearer realm="musicdb", error="invalid_request"`},
		{"UserInfoNoToken", ts.plainClient(t, certs.DevClient, "h2"), "/oauth/userinfo", nil, `Bearer realm="musicdb"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.client, ts.URL, "GET", tt.path, "", tt.header...)
			checkProblem(t, r, 401)
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, tt.challenge) {
				t.Errorf("WWW-Authenticate: got %q, want %q…", got, tt.challenge)
			}
			if tt.challenge == `Bearer realm="musicdb"` && r.header.Get("WWW-Authenticate") != tt.challenge {
				t.Errorf("WWW-Authenticate: got %q, want no error code", r.header.Get("WWW-Authenticate"))
			}
		})
	}

	// Without TLS there is no certificate for the token to be bound to.
	w := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/users", nil)
	req.Header.Set("Authorization", "Bearer "+ts.devToken)
	ts.Config.Handler.ServeHTTP(w, req)
	if w.Code != 401 {
		t.Errorf("GET /users without TLS: got %d, want 401", w.Code)
	}
	if logs := ts.logs.String(); strings.Contains(logs, ts.devToken) {
		t.Errorf("the log holds the token:\n%s", logs)
	}
}

// TestAllow checks -allow with the built-in issuer: certificate CNs.
func TestAllow(t *testing.T) {
	ts := newTestServer(t, serverSetup{allow: "alice, carol"})
	alice, _ := ts.clientAs(t, "alice", "h2")
	if r := do(t, alice, ts.URL, "GET", "/users", ""); r.status != 200 {
		t.Errorf("alice: %d %s, want 200", r.status, r.body)
	}
	p := checkProblem(t, ts.do(t, "GET", "/users", ""), 403)
	if p.Detail != "dev is not allowed to use this server" {
		t.Errorf("dev: detail %q", p.Detail)
	}
}

// TestEveryRouteNeedsToken walks the route table and checks that each route
// but /healthz, /openapi.json and the issuer's asks the Authenticator
// first, even before reading a body, and that those never do.
func TestEveryRouteNeedsToken(t *testing.T) {
	st := mustOpenStore(t, t.TempDir(), nil)
	seed(t, st)
	var asked atomic.Int64
	deny := countingAuth{asked: &asked, err: store.Errorf(store.EUNAUTHORIZED, "missing bearer token")}
	h := NewServer(Config{Store: st, Auth: deny, Issuer: mustOpenIssuer(t, t.TempDir()), Logger: slog.New(slog.DiscardHandler)})
	public := map[string]bool{
		"GET /healthz": true, "GET /openapi.json": true,
		"GET /.well-known/oauth-authorization-server": true, "POST /oauth/device": true,
		"POST /oauth/token": true, "POST /oauth/revoke": true,
	}
	for _, pattern := range routePatterns(t) {
		t.Run(pattern, func(t *testing.T) {
			method, path, _ := strings.Cut(pattern, " ")
			path = strings.NewReplacer("{id}", "1", "{uid}", "1", "{aid}", "1").Replace(path)
			before := asked.Load()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
			if public[pattern] {
				if asked.Load() != before || w.Code == 401 {
					t.Errorf("a public route asked for a token: %d", w.Code)
				}
				return
			}
			if asked.Load() != before+1 || w.Code != 401 {
				t.Errorf("got %d after %d token checks, want 401 after one", w.Code, asked.Load()-before)
			}
		})
	}
	if got, _, _ := st.Users(store.Page{}); len(got) != 2 {
		t.Errorf("users after refused requests: %d, want 2", len(got))
	}
}

// countingAuth counts its calls and refuses them all.
type countingAuth struct {
	asked *atomic.Int64
	err   error
}

func (a countingAuth) Authenticate(*http.Request) (auth.Identity, error) {
	a.asked.Add(1)
	return auth.Identity{}, a.err
}

// requestLine returns the JSON log line of the first request to route.
func requestLine(t *testing.T, logs, route string) map[string]any {
	t.Helper()
	for line := range strings.Lines(logs) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if m["msg"] == "request" && m["route"] == route {
			return m
		}
	}
	t.Fatalf("no request line for %s in\n%s", route, logs)
	return nil
}
