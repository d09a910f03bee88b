package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"musicdb/certs"
	"musicdb/server/auth"
)

// googleClientID is musicdb's client id at the fake Google.
const googleClientID = "musicdb.apps.googleusercontent.com"

// fakeUser is what a fake provider knows of the owner of a token.
type fakeUser struct {
	sub, email string
	verified   bool
	aud        string // Google: the client the token was issued to; "" for ours
	expired    bool
}

// fakeProvider stands in, over TLS on loopback, for Google's tokeninfo,
// Spotify's /v1/me and an OpenID Connect provider's discovery and userinfo.
// It counts the calls that ask about a token.
type fakeProvider struct {
	*httptest.Server
	users  map[string]fakeUser // by token
	calls  atomic.Int64
	status atomic.Int64 // when not 0, the answer to every token question
}

func newFakeProvider(t *testing.T, users map[string]fakeUser) *fakeProvider {
	t.Helper()
	f := &fakeProvider{users: users}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tokeninfo", func(w http.ResponseWriter, r *http.Request) {
		// Google's expired tokens get an exp in the past, so that the
		// server's own check of it is what refuses them.
		u, ok := f.ask(w, r.PostFormValue("access_token"), true)
		if !ok {
			return
		}
		aud, exp := u.aud, time.Now().Add(time.Hour).Unix()
		if aud == "" {
			aud = googleClientID
		}
		if u.expired {
			exp = time.Now().Add(-time.Minute).Unix()
		}
		fmt.Fprintf(w, `{"aud":%q,"azp":%q,"sub":%q,"email":%q,"email_verified":"%t","exp":"%d"}`, aud, aud, u.sub, u.email, u.verified, exp)
	})
	mux.HandleFunc("GET /v1/me", func(w http.ResponseWriter, r *http.Request) {
		if u, ok := f.ask(w, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), false); ok {
			fmt.Fprintf(w, `{"id":%q,"email":%q}`, u.sub, u.email)
		}
	})
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"userinfo_endpoint":%q}`, f.URL, f.URL+"/userinfo")
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		if u, ok := f.ask(w, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), false); ok {
			fmt.Fprintf(w, `{"sub":%q,"email":%q,"email_verified":%t}`, u.sub, u.email, u.verified)
		}
	})
	f.Server = httptest.NewTLSServer(mux)
	t.Cleanup(f.Close)
	return f
}

// ask counts a question about token and answers it when the provider
// refuses the token or is failing; otherwise it returns the token's user
// for the caller to answer with. An expired token is refused unless
// withExpired.
func (f *fakeProvider) ask(w http.ResponseWriter, token string, withExpired bool) (fakeUser, bool) {
	f.calls.Add(1)
	if s := f.status.Load(); s != 0 {
		w.WriteHeader(int(s))
		return fakeUser{}, false
	}
	u, ok := f.users[token]
	if !ok || u.expired && !withExpired {
		w.WriteHeader(http.StatusUnauthorized)
		return fakeUser{}, false
	}
	return u, true
}

// verifier returns the Verifier of provider mode that asks f.
func (f *fakeProvider) verifier(t *testing.T, mode string) auth.Verifier {
	t.Helper()
	var v auth.Verifier
	var err error
	switch mode {
	case authGoogle:
		v, err = auth.NewGoogle(auth.GoogleOptions{ClientID: googleClientID, TokenInfoURL: f.URL + "/tokeninfo", Client: f.Client()})
	case authSpotify:
		v, err = auth.NewSpotify(auth.SpotifyOptions{APIURL: f.URL, Client: f.Client()})
	case authOIDC:
		v, err = auth.NewOIDC(auth.OIDCOptions{Issuer: f.URL, ClientID: "musicdb", Client: f.Client()})
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// providerServer is the API checking tokens with the fake provider of mode,
// as Run sets it up with -allow allow.
func providerServer(t *testing.T, mode, allow string, f *fakeProvider) *testServer {
	t.Helper()
	list, err := auth.ParseAllowList(allow)
	if err != nil {
		t.Fatal(err)
	}
	return newTestServer(t, serverSetup{auth: auth.NewChecker(f.verifier(t, mode), auth.CheckerOptions{Allow: list, CacheTTL: auth.DefaultCacheTTL})})
}

// providerUsers are the tokens every fake provider knows. Spotify gives
// the sub as the user id and says nothing of verification.
var providerUsers = map[string]fakeUser{
	"bob-token":        {sub: "1001", email: "bob@example.com", verified: true},
	"carol-token":      {sub: "1002", email: "carol@example.org", verified: true},
	"unverified-token": {sub: "1003", email: "dave@example.com", verified: false},
	"expired-token":    {sub: "1004", email: "erin@example.com", verified: true, expired: true},
	"foreign-token":    {sub: "1005", email: "frank@example.com", verified: true, aud: "someone-else.apps.googleusercontent.com"},
}

// TestProviderTokens checks each provider mode's answers: who gets in, who
// gets 401, 403 and 503.
func TestProviderTokens(t *testing.T) {
	const invalid = `Bearer realm="musicdb", error="invalid_token"`
	type step struct {
		token     string // "" sends no Authorization header
		status    int
		subject   string // for 200
		challenge string // a prefix, for 401
	}
	common := []step{
		{"", 401, "", `Bearer realm="musicdb"`},
		{"unknown-token", 401, "", invalid},
		{"expired-token", 401, "", invalid},
		{"not a token", 401, "", invalid},
	}
	tests := []struct {
		mode  string
		allow string
		steps []step
	}{
		{authGoogle, "@example.com", []step{
			{"bob-token", 200, "bob@example.com", ""},
			{"carol-token", 403, "", ""},      // not in the allowed domain
			{"unverified-token", 403, "", ""}, // an unverified email is no identity: 1003
			{"foreign-token", 401, "", invalid},
		}},
		{authGoogle, "1003", []step{{"unverified-token", 200, "1003", ""}}},
		{authSpotify, "1001,bob@example.com,@example.org", []step{
			{"bob-token", 200, "1001", ""},
			{"carol-token", 403, "", ""}, // Spotify's email is unverified: only the id counts
		}},
		{authOIDC, "bob@example.com,1003", []step{
			{"bob-token", 200, "bob@example.com", ""},
			{"carol-token", 403, "", ""},
			{"unverified-token", 200, "1003", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.allow, func(t *testing.T) {
			f := newFakeProvider(t, providerUsers)
			ts := providerServer(t, tt.mode, tt.allow, f)
			// Each step twice: the second answer may come from the cache,
			// and must be the same.
			steps := append(tt.steps, common...)
			for _, s := range append(steps, steps...) {
				var header []string
				if s.token != "" {
					header = []string{"Authorization", "Bearer " + s.token}
				}
				r := ts.do(t, "GET", "/bands", "", header...)
				if r.status != s.status {
					t.Errorf("%s: got %d %s, want %d", s.token, r.status, r.body, s.status)
					continue
				}
				if s.status != 200 {
					checkProblem(t, r, s.status)
				}
				if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, s.challenge) || (s.challenge == "") != (got == "") {
					t.Errorf("%s: WWW-Authenticate %q, want %q…", s.token, got, s.challenge)
				}
			}
			for _, s := range tt.steps {
				if s.status == 200 {
					if line := requestLine(t, ts.logs.String(), "GET /bands"); line["subject"] != s.subject {
						t.Errorf("log line %v, want subject %q", line, s.subject)
					}
					break
				}
			}
			if logs := ts.logs.String(); strings.Contains(logs, "-token") {
				t.Errorf("the log holds a token:\n%s", logs)
			}
		})
	}
}

// TestProviderUnavailable checks that a provider that cannot be reached, or
// fails, gets 503 and lets no one in, and that a token it could not check
// is checked again once it is back.
func TestProviderUnavailable(t *testing.T) {
	for _, mode := range []string{authGoogle, authSpotify, authOIDC} {
		t.Run(mode, func(t *testing.T) {
			f := newFakeProvider(t, providerUsers)
			ts := providerServer(t, mode, "", f)
			bob := []string{"Authorization", "Bearer bob-token"}
			if mode == authOIDC {
				// Discover first, so that the failure is the userinfo's.
				if r := ts.do(t, "GET", "/bands", "", "Authorization", "Bearer carol-token"); r.status != 200 {
					t.Fatalf("carol: %d %s", r.status, r.body)
				}
			}
			f.status.Store(500)
			if r := ts.do(t, "GET", "/bands", "", bob...); r.status != 503 {
				t.Errorf("provider answers 500: got %d %s, want 503", r.status, r.body)
			}
			f.status.Store(0)
			if r := ts.do(t, "GET", "/bands", "", bob...); r.status != 200 {
				t.Errorf("provider back: got %d %s, want 200", r.status, r.body)
			}
			f.Close() // a closed listener: nothing answers
			if r := ts.do(t, "GET", "/bands", "", "Authorization", "Bearer unverified-token"); r.status != 503 {
				t.Errorf("provider gone: got %d %s, want 503", r.status, r.body)
			}
			if !strings.Contains(ts.logs.String(), "cannot check the token now") {
				t.Errorf("the log does not say why the answer was 503")
			}
		})
	}
}

// TestProviderBurst checks that a burst of 1,000 requests with one token,
// 100 at a time, makes one call to the provider.
func TestProviderBurst(t *testing.T) {
	for _, mode := range []string{authGoogle, authSpotify, authOIDC} {
		t.Run(mode, func(t *testing.T) {
			f := newFakeProvider(t, providerUsers)
			ts := providerServer(t, mode, "", f)
			c := ts.plainClient(t, certs.DevClient, "h2")
			// One connection first, or each request of the burst dials
			// its own.
			if r := do(t, c, ts.URL, "GET", "/healthz", ""); r.status != 200 {
				t.Fatal(r.status)
			}
			var wg sync.WaitGroup
			var bad atomic.Int64
			for range 100 {
				wg.Go(func() {
					for range 10 {
						req, _ := http.NewRequest("GET", ts.URL+"/bands/1", nil)
						req.Header.Set("Authorization", "Bearer bob-token")
						resp, err := c.Do(req)
						if err != nil {
							t.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 404 { // let in; there is no band 1
							bad.Add(1)
						}
					}
				})
			}
			wg.Wait()
			if n := f.calls.Load(); n != 1 || bad.Load() != 0 {
				t.Errorf("1000 requests: %d provider calls and %d refused, want 1 and 0", n, bad.Load())
			}
		})
	}
}

// TestProviderFailureLimit checks that a client certificate that presents
// bad tokens gets at most ten verifications a minute, then 429 with
// Retry-After without the provider being asked.
func TestProviderFailureLimit(t *testing.T) {
	f := newFakeProvider(t, providerUsers)
	ts := providerServer(t, authGoogle, "", f)
	for i := range 15 {
		r := ts.do(t, "GET", "/bands", "", "Authorization", fmt.Sprintf("Bearer guess-%d", i))
		want := 401
		if i >= auth.DefaultMaxFailures {
			want = 429
		}
		checkProblem(t, r, want)
		if want == 429 && r.header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	if n := f.calls.Load(); n != auth.DefaultMaxFailures {
		t.Errorf("the provider was asked %d times, want %d", n, auth.DefaultMaxFailures)
	}
	// Another certificate is not held back.
	alice := ts.plainClient(t, "alice", "h2")
	if r := do(t, alice, ts.URL, "GET", "/bands", "", "Authorization", "Bearer bob-token"); r.status != 200 {
		t.Errorf("alice: %d %s", r.status, r.body)
	}
}
