package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"musicdb/store"
)

// fakeAuth answers every request with the same identity or error.
type fakeAuth struct {
	id  Identity
	err error
}

func (a fakeAuth) Authenticate(*http.Request) (Identity, error) { return a.id, a.err }

// foreignTokenError is how a package that cannot import this one reports a
// refused token: its own error type with a BearerError method.
type foreignTokenError struct{}

func (foreignTokenError) Error() string       { return "the token was revoked" }
func (foreignTokenError) BearerError() string { return "invalid_token" }
func (foreignTokenError) Unwrap() error {
	return store.Errorf(store.EUNAUTHORIZED, "the token was revoked")
}

// TestAuthenticatorErrors pins how the answer of an Authenticator becomes
// the response: the status, the WWW-Authenticate challenge, and what the
// problem says.
func TestAuthenticatorErrors(t *testing.T) {
	tests := []struct {
		name      string
		auth      fakeAuth
		status    int
		challenge string // "" must be absent
		detail    string
	}{
		{"NoToken", fakeAuth{err: store.Errorf(store.EUNAUTHORIZED, "missing bearer token")},
			401, `Bearer realm="musicdb"`, "missing bearer token"},
		{"InvalidToken", fakeAuth{err: InvalidToken("the token expired")},
			401, `Bearer realm="musicdb", error="invalid_token", error_description="the token expired"`, "the token expired"},
		{"InvalidTokenQuotes", fakeAuth{err: InvalidToken("bad \"token\"\\ é\n")},
			401, `Bearer realm="musicdb", error="invalid_token", error_description="bad token "`, "bad \"token\"\\ é\n"},
		{"ForeignInvalidToken", fakeAuth{err: foreignTokenError{}},
			401, `Bearer realm="musicdb", error="invalid_token", error_description="the token was revoked"`, "the token was revoked"},
		{"Forbidden", fakeAuth{err: store.Errorf(store.EFORBIDDEN, "carol is not allowed in")},
			403, "", "carol is not allowed in"},
		{"Unavailable", fakeAuth{err: store.Errorf(store.EUNAVAILABLE, "the token provider cannot be reached")},
			503, "", "the token provider cannot be reached"},
		{"Internal", fakeAuth{err: errors.New("provider said: key 0xdeadbeef")},
			500, "", "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, serverSetup{auth: tt.auth})
			r := ts.do(t, "GET", "/users", "")
			p := checkProblem(t, r, tt.status)
			if got := r.header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate: got %q, want %q", got, tt.challenge)
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

// TestInternalErrorLogged checks that the text of an internal error reaches
// the request's log line and not the client.
func TestInternalErrorLogged(t *testing.T) {
	ts := newTestServer(t, serverSetup{auth: fakeAuth{err: errors.New("provider said: key 0xdeadbeef")}})
	r := ts.do(t, "GET", "/users", "")
	if strings.Contains(string(r.body), "deadbeef") {
		t.Errorf("the client saw the internal error: %s", r.body)
	}
	line := requestLine(t, ts.logs.String(), "GET /users")
	if line["err"] != "provider said: key 0xdeadbeef" || line["level"] != "ERROR" {
		t.Errorf("log line %v, want level ERROR and the error's text", line)
	}
}

// TestAuthenticatorIdentity checks that the identity an Authenticator names
// is the request's subject in the log.
func TestAuthenticatorIdentity(t *testing.T) {
	ts := newTestServer(t, serverSetup{auth: fakeAuth{id: Identity{Subject: "bob@example.com"}}})
	if r := ts.do(t, "GET", "/users", ""); r.status != 200 {
		t.Fatalf("GET /users: %d", r.status)
	}
	if line := requestLine(t, ts.logs.String(), "GET /users"); line["subject"] != "bob@example.com" || line["cn"] != "dev" {
		t.Errorf("log line %v, want subject bob@example.com and cn dev", line)
	}
}

// TestCertificateOnly pins the stand-in Authenticator: a verified client
// certificate lets a request in as its CN; without one every route but the
// public ones is refused with a Bearer challenge.
func TestCertificateOnly(t *testing.T) {
	ts := newTestServer(t, serverSetup{})
	alice := &http.Client{Transport: transport(t, ts.pki.clientConfig(t, "alice"), "h2")}
	if r := do(t, alice, ts.URL, "GET", "/users", ""); r.status != 200 {
		t.Fatalf("GET /users as alice: %d %s", r.status, r.body)
	}
	if line := requestLine(t, ts.logs.String(), "GET /users"); line["subject"] != "alice" || line["cn"] != "alice" {
		t.Errorf("log line %v, want subject and cn alice", line)
	}

	// Without TLS there is no certificate.
	h := NewServer(Config{Store: ts.store})
	for _, tt := range []struct {
		path   string
		status int
	}{{"/users", 401}, {"/metrics", 401}, {"/healthz", 200}, {"/openapi.json", 200}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", tt.path, nil))
		if w.Code != tt.status {
			t.Errorf("GET %s without a certificate: got %d, want %d", tt.path, w.Code, tt.status)
		}
		if got, want := w.Header().Get("WWW-Authenticate"), `Bearer realm="musicdb"`; tt.status == 401 && got != want {
			t.Errorf("GET %s: WWW-Authenticate %q, want %q", tt.path, got, want)
		}
	}
}

// TestEveryRouteNeedsToken walks the route table and checks that each route
// but /healthz and /openapi.json asks the Authenticator first, even before
// reading a body.
func TestEveryRouteNeedsToken(t *testing.T) {
	deny := fakeAuth{err: store.Errorf(store.EUNAUTHORIZED, "missing bearer token")}
	st := mustOpenStore(t, t.TempDir(), nil)
	seed(t, st)
	h := NewServer(Config{Store: st, Auth: deny, Logger: slog.New(slog.DiscardHandler)})
	public := map[string]bool{"GET /healthz": true, "GET /openapi.json": true}
	for _, pattern := range routePatterns(t) {
		t.Run(pattern, func(t *testing.T) {
			method, path, _ := strings.Cut(pattern, " ")
			path = strings.NewReplacer("{id}", "1", "{uid}", "1", "{aid}", "1").Replace(path)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
			want := http.StatusUnauthorized
			if public[pattern] {
				want = http.StatusOK
			}
			if w.Code != want {
				t.Errorf("got %d, want %d", w.Code, want)
			}
		})
	}
	if got, _, _ := st.Users(store.Page{}); len(got) != 2 {
		t.Errorf("users after refused requests: %d, want 2", len(got))
	}
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
