package login

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// env is a fake environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// testEnv returns an environment whose configuration folder is a new
// temporary one, with the variables kv (name, value, name, value...).
func testEnv(t *testing.T, kv ...string) env {
	t.Helper()
	e := env{"XDG_CONFIG_HOME": t.TempDir()}
	for i := 0; i+1 < len(kv); i += 2 {
		e[kv[i]] = kv[i+1]
	}
	return e
}

func newSession(t *testing.T, provider string, o Options) *Session {
	t.Helper()
	s, err := New(context.Background(), provider, o)
	if err != nil {
		t.Fatalf("New(%s): %v", provider, err)
	}
	return s
}

// cacheOf returns the token cache of e.
func cacheOf(t *testing.T, e env) tokenCache {
	t.Helper()
	path, err := cachePath(e.get)
	if err != nil {
		t.Fatal(err)
	}
	return tokenCache{path: path}
}

// cached returns the entry cached for server and provider in e.
func cached(t *testing.T, e env, server, provider string) (entry, bool) {
	t.Helper()
	c := cacheOf(t, e)
	f, err := c.read()
	if err != nil {
		t.Fatal(err)
	}
	return f.get(server, provider)
}

// seed caches en for server and provider in e.
func seed(t *testing.T, e env, server, provider string, en entry) {
	t.Helper()
	c := cacheOf(t, e)
	err := c.update(func(f *cacheFile) (bool, error) {
		f.put(server, provider, en)
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkNoSecrets fails when any of texts shows a token or code that f gave
// out, or its client secret.
func checkNoSecrets(t *testing.T, f *fakeAS, texts ...string) {
	t.Helper()
	secrets := f.issued()
	if f.secret != "" {
		secrets = append(secrets, f.secret)
	}
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("a secret shows (%.12s…) in %q", s, text)
			}
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

const alice = "alice@example.com" // whom the fake logs in

// TestDeviceFlow logs in at Google by the device flow against a fake that
// answers the polls as the case says: the console shows the URL and code,
// waits the interval between polls, and ends with the right message.
//
// Every poll waits a second at least, so the logins run at once, and the
// subtests check what each did.
func TestDeviceFlow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		polls     []string // the fake's answers before it approves
		expiresIn int      // of the code, in seconds
		wantErr   string   // "" for success
		wantPolls int
	}{
		{"PendingThenApproved", []string{"authorization_pending"}, 600, "", 2},
		// After slow_down the client waits 1+5 s, so no second poll
		// comes before the code expires 3 s in; at 1 s one would
		// come, and get tokens.
		{"SlowDown", []string{"slow_down"}, 3, ErrCodeExpired.Error(), 1},
		{"Expired", []string{"expired_token"}, 600, "the code expired before it was approved; run LOGIN again", 1},
		{"Denied", []string{"access_denied"}, 600, "login was refused at Google", 1},
	}
	type result struct {
		f      *fakeAS
		e      env
		prompt bytes.Buffer
		err    error
	}
	results := make([]result, len(cases))
	var wg sync.WaitGroup
	for i, tc := range cases {
		r := &results[i]
		r.f = startFake(t, func(f *fakeAS) {
			f.secret, f.auth = "google-secret-1234", "post"
			f.polls, f.expiresIn = tc.polls, tc.expiresIn
		})
		r.e = testEnv(t, "MUSICDB_GOOGLE_CLIENT_ID", r.f.clientID, "MUSICDB_GOOGLE_CLIENT_SECRET", r.f.secret)
		s := newSession(t, Google, Options{Server: "https://musicdb.example", Getenv: r.e.get, Web: r.f.Client(), Prompt: &r.prompt,
			Endpoints: map[string]Endpoints{Google: r.f.endpoints()}})
		wg.Go(func() { r.err = s.Ready(context.Background()) })
	}
	wg.Wait()
	for i, tc := range cases {
		r := &results[i]
		t.Run(tc.name, func(t *testing.T) {
			f, prompt, err := r.f, r.prompt.String(), r.err
			if errText(err) != tc.wantErr {
				t.Errorf("Ready: got %v, want %q", err, tc.wantErr)
			}
			f.mu.Lock()
			polls, requests := f.pollTimes, f.tokenRequests
			start := f.deviceAuthAt
			f.mu.Unlock()
			if len(polls) != tc.wantPolls || requests != tc.wantPolls {
				t.Errorf("the fake was polled %d times (%d token requests), want %d", len(polls), requests, tc.wantPolls)
			}
			for i, p := range polls {
				prev := start
				if i > 0 {
					prev = polls[i-1]
				}
				if gap := p.Sub(prev); gap < 900*time.Millisecond {
					t.Errorf("poll %d came %v after the one before, want the interval, 1s", i+1, gap)
				}
			}
			for _, want := range []string{f.base + "/activate", "WDJB-MJHT"} {
				if !strings.Contains(prompt, want) {
					t.Errorf("the prompt does not show %q:\n%s", want, prompt)
				}
			}
			en, ok := cached(t, r.e, "https://musicdb.example", Google)
			if tc.wantErr == "" && (!ok || en.AccessToken == "" || en.RefreshToken == "") {
				t.Errorf("the new token is not cached: %v", ok)
			}
			if tc.wantErr != "" && ok {
				t.Error("a failed login left a token in the cache")
			}
			checkNoSecrets(t, f, prompt, errText(err))
		})
	}
}

// TestLocalLogin logs in at the musicdb server's built-in issuer over
// mutual TLS: no prompt, the identity is the certificate's CN, every
// request goes over the one connection, and a second console reuses the
// cached token without a request.
func TestLocalLogin(t *testing.T) {
	t.Parallel()
	server := startMusicdb(t)
	e := testEnv(t)
	hc, tr := mtlsClient(t)
	var prompt bytes.Buffer
	s := newSession(t, Local, Options{Server: server + "/", Getenv: e.get, Local: hc, Prompt: &prompt})
	id, err := s.Login(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Identity{Provider: Local, Subject: "dev"}); id != want {
		t.Errorf("Login: got %+v, want %+v", id, want)
	}
	if prompt.Len() > 0 {
		t.Errorf("the built-in issuer's login printed %q", prompt.String())
	}
	// metadata, device authorization, one poll, userinfo
	st := tr.Stats()
	if st.Requests != 4 || st.Connections != 1 || st.TLSHandshakes != 1 {
		t.Errorf("stats: got %+v, want 4 requests over 1 connection", st)
	}
	en, ok := cached(t, e, server, Local)
	if !ok || en.Issuer != server || en.ClientID != localClientID {
		t.Fatalf("cached entry: got %+v, %v", en, ok)
	}
	if code := status(t, hc, http.MethodGet, server+"/bands", en.AccessToken, ""); code != http.StatusOK {
		t.Errorf("GET /bands with the token: %d", code)
	}

	again := newSession(t, Local, Options{Server: server, Getenv: e.get, Local: hc})
	tok, err := again.Token()
	if err != nil || tok.AccessToken != en.AccessToken {
		t.Errorf("a second console did not reuse the cached token: %v", err)
	}
	if n := tr.Stats().Requests; n != 5 {
		t.Errorf("reusing the cached token made %d requests", n-5)
	}
}

// TestLocalRefresh refreshes tokens of the built-in issuer, which rotates
// refresh tokens and revokes the whole login when an old one comes back:
// each refresh is one request, never a new login, so each used the
// refresh token the one before saved.
func TestLocalRefresh(t *testing.T) {
	t.Parallel()
	server := startMusicdb(t)
	e := testEnv(t)
	hc, tr := mtlsClient(t)
	if err := newSession(t, Local, Options{Server: server, Getenv: e.get, Local: hc}).Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	first, _ := cached(t, e, server, Local)
	prev := first
	for i := range 2 {
		expire(t, e, server, Local)
		before := tr.Stats().Requests
		tok, err := newSession(t, Local, Options{Server: server, Getenv: e.get, Local: hc}).Token()
		if err != nil {
			t.Fatalf("refresh %d: %v", i+1, err)
		}
		// metadata, which a new console reads once, and the refresh
		if n := tr.Stats().Requests - before; n != 2 {
			t.Errorf("refresh %d made %d requests, want 2: a refresh, not a login", i+1, n)
		}
		now, _ := cached(t, e, server, Local)
		if now.AccessToken != tok.AccessToken || now.RefreshToken == prev.RefreshToken {
			t.Errorf("refresh %d: the cache does not hold the new tokens", i+1)
		}
		if code := status(t, hc, http.MethodGet, server+"/bands", tok.AccessToken, ""); code != http.StatusOK {
			t.Errorf("refresh %d: GET /bands with the new token: %d", i+1, code)
		}
		prev = now
	}
}

// TestLocalDiscoveryRefused checks that the console logs in only at an
// issuer that is the server itself, with its endpoints on the server.
func TestLocalDiscoveryRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		meta   func(m map[string]any)
		path   string // added to the server URL
		want   string
		device bool // the device endpoint was reached
	}{
		{"IssuerMismatch", func(m map[string]any) { m["issuer"] = "https://evil.example" }, "",
			`the server's issuer is "https://evil.example", not https://`, false},
		{"EndpointElsewhere", func(m map[string]any) { m["token_endpoint"] = "https://evil.example/token" }, "",
			"refusing to send the client certificate there", false},
		{"NoIssuer", nil, "/nothing", "the musicdb server has no login metadata: GET /nothing/.well-known/oauth-authorization-server answered 404 Not Found", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, func(f *fakeAS) { f.mtls, f.clientID, f.meta = true, localClientID, tc.meta })
			hc, _ := mtlsClient(t)
			s := newSession(t, Local, Options{Server: f.base + tc.path, Getenv: testEnv(t).get, Local: hc})
			err := s.Ready(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Ready: got %v, want %q", err, tc.want)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.deviceAuthAt.IsZero() {
				t.Error("the console asked for a device code anyway")
			}
		})
	}
}

// TestBrowserLogin logs in through the browser at each provider that has
// the flow: PKCE S256 (the fake checks the verifier against the
// challenge), a redirect to 127.0.0.1 on the provider's own path, and a page
// that tells the user it worked.
func TestBrowserLogin(t *testing.T) {
	t.Parallel()
	for _, name := range []string{Google, Spotify, OIDC} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, func(f *fakeAS) {
				f.noDevice = true
				if name == OIDC {
					f.iss = f.issuer // RFC 9207
				}
			})
			e := testEnv(t, "MUSICDB_GOOGLE_CLIENT_ID", f.clientID, "MUSICDB_SPOTIFY_CLIENT_ID", f.clientID,
				"MUSICDB_OIDC_CLIENT_ID", f.clientID, "MUSICDB_OIDC_ISSUER", f.issuer)
			b := newBrowser(f)
			var prompt bytes.Buffer
			o := Options{Server: "https://musicdb.example", Getenv: e.get, Web: f.Client(), Prompt: &prompt, OpenBrowser: b.open}
			if name != OIDC {
				o.Endpoints = map[string]Endpoints{name: f.endpoints()}
			}
			s := newSession(t, name, o)
			id, err := s.Login(context.Background(), "")
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if id != (Identity{Provider: name, Subject: alice}) {
				t.Errorf("Login: got %+v", id)
			}
			status, page := b.shown(t)
			if status != http.StatusOK || !strings.Contains(page, "You are logged in") {
				t.Errorf("the browser was shown %d %q", status, page)
			}
			f.mu.Lock()
			redirects, verifiers, tokenRequests := f.redirects, f.verifiers, f.tokenRequests
			f.mu.Unlock()
			if verifiers != 1 || tokenRequests != 1 {
				t.Errorf("token requests: %d, with a code_verifier: %d; want 1 and 1", tokenRequests, verifiers)
			}
			if len(redirects) != 1 {
				t.Fatalf("redirects: got %q", redirects)
			}
			if u, _ := url.Parse(redirects[0]); u.Hostname() != "127.0.0.1" || u.Path != "/callback/"+name {
				t.Errorf("redirect_uri: got %s, want http://127.0.0.1:<port>/callback/%s", redirects[0], name)
			}
			if !strings.Contains(prompt.String(), f.base+"/authorize?") {
				t.Errorf("the prompt does not show the URL to open:\n%s", prompt.String())
			}
			if _, ok := cached(t, e, "https://musicdb.example", name); !ok {
				t.Error("the token is not cached")
			}
			checkNoSecrets(t, f, prompt.String(), page)
		})
	}
}

// TestBrowserLoginRefused checks the answers the console must not take, and
// the ways a browser login ends without a token.
func TestBrowserLoginRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		provider string
		set      func(f *fakeAS)
		edit     func(u *url.URL) // what an attacker changes in the answer
		noBrower bool
		want     string
	}{
		{name: "WrongState", provider: Spotify,
			edit: func(u *url.URL) {
				q := u.Query()
				q.Set("state", "forged")
				u.RawQuery = q.Encode()
			},
			want: "the browser's answer does not belong to this login (wrong state); run LOGIN again"},
		{name: "NoState", provider: Spotify,
			edit: func(u *url.URL) {
				q := u.Query()
				q.Del("state")
				u.RawQuery = q.Encode()
			},
			want: "the browser's answer does not belong to this login (wrong state); run LOGIN again"},
		{name: "IssMismatch", provider: OIDC, set: func(f *fakeAS) { f.iss = "https://evil.example" },
			want: `the browser's answer does not come from https://127.0.0.1:`},
		{name: "IssMissing", provider: OIDC, set: func(f *fakeAS) { f.issParam = true },
			want: `the browser's answer does not come from https://127.0.0.1:`},
		{name: "SpotifyIss", provider: Spotify, set: func(f *fakeAS) { f.iss = f.issuer },
			want: `the browser's answer does not come from https://accounts.spotify.com`},
		{name: "Denied", provider: Spotify, set: func(f *fakeAS) { f.deny = true },
			want: "login was refused at Spotify"},
		{name: "Timeout", provider: Spotify, noBrower: true,
			want: "no answer from the browser within 300ms; run LOGIN again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, func(f *fakeAS) {
				f.noDevice = true
				if tc.set != nil {
					tc.set(f)
				}
			})
			e := testEnv(t, "MUSICDB_SPOTIFY_CLIENT_ID", f.clientID, "MUSICDB_OIDC_CLIENT_ID", f.clientID, "MUSICDB_OIDC_ISSUER", f.issuer)
			b := newBrowser(f)
			b.edit = tc.edit
			open := b.open
			if tc.noBrower {
				open = func(string) {}
			}
			o := Options{Server: "https://musicdb.example", Getenv: e.get, Web: f.Client(), OpenBrowser: open,
				CallbackTimeout: 300 * time.Millisecond}
			if tc.provider == Spotify {
				o.Endpoints = map[string]Endpoints{Spotify: f.endpoints()}
			}
			s := newSession(t, tc.provider, o)
			_, err := s.Login(context.Background(), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Login: got %v, want %q", err, tc.want)
			}
			f.mu.Lock()
			tokenRequests := f.tokenRequests
			f.mu.Unlock()
			if tokenRequests != 0 {
				t.Errorf("the console sent the code to the token endpoint anyway")
			}
			if _, ok := cached(t, e, "https://musicdb.example", tc.provider); ok {
				t.Error("a token was cached")
			}
			if !tc.noBrower {
				status, page := b.shown(t)
				if status != http.StatusBadRequest || !strings.Contains(page, "The login failed") {
					t.Errorf("the browser was shown %d %q", status, page)
				}
				checkNoSecrets(t, f, page, err.Error())
			}
		})
	}
}

// TestOIDCDiscovery checks what the console takes from a discovery
// document, and what it refuses.
func TestOIDCDiscovery(t *testing.T) {
	t.Run("IssuerMismatch", func(t *testing.T) {
		f := startFake(t, func(f *fakeAS) { f.issuer = "https://other.example" })
		e := testEnv(t, "MUSICDB_OIDC_CLIENT_ID", f.clientID, "MUSICDB_OIDC_ISSUER", f.base)
		s := newSession(t, OIDC, Options{Getenv: e.get, Web: f.Client()})
		err := s.Ready(context.Background())
		if want := `names the issuer "https://other.example"; refusing to log in there`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Ready: got %v, want %q", err, want)
		}
	})
	t.Run("TrailingSlash", func(t *testing.T) {
		f := startFake(t, nil)
		e := testEnv(t, "MUSICDB_OIDC_CLIENT_ID", f.clientID, "MUSICDB_OIDC_ISSUER", f.base+"/")
		s := newSession(t, OIDC, Options{Getenv: e.get, Web: f.Client()})
		if err := s.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("Ready with an issuer that differs by a slash: got %v, want a refusal", err)
		}
	})
	t.Run("EndpointNotHTTPS", func(t *testing.T) {
		f := startFake(t, func(f *fakeAS) {
			f.meta = func(m map[string]any) { m["token_endpoint"] = "http://login.example.com/token" }
		})
		e := testEnv(t, "MUSICDB_OIDC_CLIENT_ID", f.clientID, "MUSICDB_OIDC_ISSUER", f.issuer)
		s := newSession(t, OIDC, Options{Getenv: e.get, Web: f.Client()})
		err := s.Ready(context.Background())
		if want := "token_endpoint of " + f.issuer + " (http://login.example.com/token) must be https"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Ready: got %v, want %q", err, want)
		}
	})
	t.Run("HTTPOnLoopback", func(t *testing.T) {
		t.Parallel()
		f := startPlainFake(t, func(f *fakeAS) { f.noDevice = true })
		e := testEnv(t, "MUSICDB_OIDC_CLIENT_ID", f.clientID, "MUSICDB_OIDC_ISSUER", f.issuer)
		b := newBrowser(f)
		s := newSession(t, OIDC, Options{Getenv: e.get, Web: f.Client(), OpenBrowser: b.open})
		if _, err := s.Login(context.Background(), ""); err != nil {
			t.Errorf("Login at %s: %v", f.issuer, err)
		}
	})
	for _, issuer := range []string{"http://login.example.com", "http://10.0.0.1:8080", "ftp://127.0.0.1", "login.example.com"} {
		t.Run("Refuse "+issuer, func(t *testing.T) {
			e := testEnv(t, "MUSICDB_OIDC_CLIENT_ID", "id", "MUSICDB_OIDC_ISSUER", issuer)
			_, err := New(context.Background(), OIDC, Options{Getenv: e.get})
			if err == nil || !strings.Contains(err.Error(), "MUSICDB_OIDC_ISSUER ("+issuer+")") {
				t.Errorf("New: got %v, want a refusal of the issuer", err)
			}
		})
	}
}

// TestAuthStyle checks how the console authenticates at an OIDC provider's
// token endpoint, by what the provider supports: the fake refuses any other
// way, and a second try (auto-detection) shows as a second request.
func TestAuthStyle(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		methods []string
		secret  string
		auth    string // what the fake takes
		wantErr string
	}{
		{"Public", []string{"none"}, "", "", ""},
		{"PublicOnBasicProvider", []string{"client_secret_basic"}, "", "", ""},
		{"BasicOnly", []string{"client_secret_basic"}, "oidc-secret-1", "basic", ""},
		{"PostOnly", []string{"client_secret_post"}, "oidc-secret-1", "post", ""},
		{"Both", []string{"client_secret_post", "client_secret_basic"}, "oidc-secret-1", "basic", ""},
		{"Unlisted", nil, "oidc-secret-1", "basic", ""},
		{"Neither", []string{"private_key_jwt"}, "oidc-secret-1", "basic", "by none of client_secret_basic and client_secret_post (it takes private_key_jwt)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, func(f *fakeAS) {
				f.noDevice, f.methods, f.secret, f.auth = true, tc.methods, tc.secret, tc.auth
			})
			e := testEnv(t, "MUSICDB_OIDC_CLIENT_ID", f.clientID, "MUSICDB_OIDC_ISSUER", f.issuer, "MUSICDB_OIDC_CLIENT_SECRET", tc.secret)
			b := newBrowser(f)
			s := newSession(t, OIDC, Options{Getenv: e.get, Web: f.Client(), OpenBrowser: b.open})
			_, err := s.Login(context.Background(), "")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("Login: got %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.tokenRequests != 1 {
				t.Errorf("%d token requests, want 1", f.tokenRequests)
			}
		})
	}
}

// TestOIDCDeviceBasic logs in by the device flow at an OIDC provider that
// takes the client secret in the header only: both the device
// authorization and the polls authenticate that way.
func TestOIDCDeviceBasic(t *testing.T) {
	t.Parallel()
	f := startFake(t, func(f *fakeAS) {
		f.methods, f.secret, f.auth = []string{"client_secret_basic"}, "oidc-secret-1", "basic"
	})
	e := testEnv(t, "MUSICDB_OIDC_CLIENT_ID", f.clientID, "MUSICDB_OIDC_ISSUER", f.issuer, "MUSICDB_OIDC_CLIENT_SECRET", f.secret)
	var prompt bytes.Buffer
	s := newSession(t, OIDC, Options{Getenv: e.get, Web: f.Client(), Prompt: &prompt})
	if err := s.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	headers, tokenRequests := f.deviceHeaders, f.tokenRequests
	f.mu.Unlock()
	if len(headers) != 1 || !strings.HasPrefix(headers[0], "Basic ") {
		t.Errorf("device authorization headers: got %d, want one Basic", len(headers))
	}
	if tokenRequests != 1 {
		t.Errorf("%d token requests, want 1 poll", tokenRequests)
	}
	checkNoSecrets(t, f, prompt.String())
}

// googleSession returns a Google session of a console of server, whose
// endpoints are f's, with the cache in e.
func googleSession(t *testing.T, f *fakeAS, e env) *Session {
	t.Helper()
	return newSession(t, Google, Options{Server: "https://musicdb.example", Getenv: e.get, Web: f.Client(),
		Endpoints: map[string]Endpoints{Google: f.endpoints()}})
}

// expire makes the cached access token of server and provider expired.
func expire(t *testing.T, e env, server, provider string) {
	t.Helper()
	c := cacheOf(t, e)
	err := c.update(func(f *cacheFile) (bool, error) {
		en, _ := f.get(server, provider)
		en.Expiry = time.Now().Add(-time.Minute)
		f.put(server, provider, en)
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRefreshRotation checks that an expired access token is refreshed,
// that the rotated refresh token is saved, and that the next refresh, in
// another console, uses the new one: the fake takes each only once.
func TestRefreshRotation(t *testing.T) {
	f := startFake(t, func(f *fakeAS) { f.secret, f.auth = "google-secret-1234", "post" })
	f.grant("", "refresh-0", alice)
	e := testEnv(t, "MUSICDB_GOOGLE_CLIENT_ID", f.clientID, "MUSICDB_GOOGLE_CLIENT_SECRET", f.secret)
	const server = "https://musicdb.example"
	seed(t, e, server, Google, entry{Issuer: googleIssuer, ClientID: f.clientID,
		AccessToken: "stale", RefreshToken: "refresh-0", Expiry: time.Now().Add(-time.Hour)})

	tok, err := googleSession(t, f, e).Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	en, _ := cached(t, e, server, Google)
	if en.AccessToken != tok.AccessToken || en.RefreshToken == "refresh-0" || en.RefreshToken == "" {
		t.Fatalf("after the refresh the cache holds access %q, refresh %q", en.AccessToken, en.RefreshToken)
	}
	if !en.Expiry.After(time.Now().Add(50 * time.Minute)) {
		t.Errorf("the new token's expiry is %v, want an hour from now", en.Expiry)
	}
	rotated := en.RefreshToken

	expire(t, e, server, Google)
	tok2, err := googleSession(t, f, e).Token()
	if err != nil {
		t.Fatalf("Token after the second expiry: %v", err)
	}
	if tok2.AccessToken == tok.AccessToken {
		t.Error("the second refresh returned the old access token")
	}
	f.mu.Lock()
	refreshes := f.refreshes
	f.mu.Unlock()
	if want := []string{"refresh-0", rotated}; !equal(refreshes, want) {
		t.Errorf("refresh tokens spent: got %q, want %q", refreshes, want)
	}
}

func equal(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

// TestRefreshByTwoConsoles has two consoles find the same expired token at
// once: one refreshes it, and the other takes the token the first saved,
// rather than spending the same refresh token again.
func TestRefreshByTwoConsoles(t *testing.T) {
	f := startFake(t, func(f *fakeAS) { f.secret, f.auth = "google-secret-1234", "post" })
	f.grant("", "refresh-0", alice)
	e := testEnv(t, "MUSICDB_GOOGLE_CLIENT_ID", f.clientID, "MUSICDB_GOOGLE_CLIENT_SECRET", f.secret)
	seed(t, e, "https://musicdb.example", Google, entry{Issuer: googleIssuer, ClientID: f.clientID,
		AccessToken: "stale", RefreshToken: "refresh-0", Expiry: time.Now().Add(-time.Hour)})
	a, b := googleSession(t, f, e), googleSession(t, f, e)
	var wg sync.WaitGroup
	toks := make([]*oauth2.Token, 2)
	errs := make([]error, 2)
	for i, s := range []*Session{a, b} {
		wg.Go(func() { toks[i], errs[i] = s.Token() })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("Token: %v, %v", errs[0], errs[1])
	}
	if toks[0].AccessToken != toks[1].AccessToken {
		t.Error("the consoles hold different tokens")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.refreshes) != 1 {
		t.Errorf("refresh requests: got %d, want 1", len(f.refreshes))
	}
}

// TestRefreshRefused checks a refresh token the provider no longer takes:
// it is forgotten; at Google the console asks for LOGIN, at the built-in
// issuer it logs in anew alone.
func TestRefreshRefused(t *testing.T) {
	t.Parallel()
	t.Run("Google", func(t *testing.T) {
		t.Parallel()
		f := startFake(t, func(f *fakeAS) { f.secret, f.auth = "google-secret-1234", "post" })
		e := testEnv(t, "MUSICDB_GOOGLE_CLIENT_ID", f.clientID, "MUSICDB_GOOGLE_CLIENT_SECRET", f.secret)
		seed(t, e, "https://musicdb.example", Google, entry{Issuer: googleIssuer, ClientID: f.clientID,
			AccessToken: "stale", RefreshToken: "revoked-refresh", Expiry: time.Now().Add(-time.Hour)})
		_, err := googleSession(t, f, e).Token()
		var le *Error
		if !errors.Is(err, ErrLoginExpired) || !errors.As(err, &le) {
			t.Errorf("Token: got %v, want ErrLoginExpired in an *Error", err)
		}
		if _, ok := cached(t, e, "https://musicdb.example", Google); ok {
			t.Error("the refused token is still cached")
		}
	})
	t.Run("Local", func(t *testing.T) {
		t.Parallel()
		server := startMusicdb(t)
		e := testEnv(t)
		seed(t, e, server, Local, entry{Issuer: server, ClientID: localClientID,
			AccessToken: "stale", RefreshToken: "revoked-refresh", Expiry: time.Now().Add(-time.Hour)})
		hc, _ := mtlsClient(t)
		tok, err := newSession(t, Local, Options{Server: server, Getenv: e.get, Local: hc}).Token()
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		if code := status(t, hc, http.MethodGet, server+"/bands", tok.AccessToken, ""); code != http.StatusOK {
			t.Errorf("GET /bands with the new login's token: %d", code)
		}
	})
}

// TestLogout checks that LOGOUT revokes the token where it can, forgets
// it, and keeps the console logged out until the next LOGIN.
func TestLogout(t *testing.T) {
	t.Parallel()
	t.Run("Local", func(t *testing.T) {
		t.Parallel()
		server := startMusicdb(t)
		e := testEnv(t)
		hc, tr := mtlsClient(t)
		s := newSession(t, Local, Options{Server: server, Getenv: e.get, Local: hc})
		if err := s.Ready(context.Background()); err != nil {
			t.Fatal(err)
		}
		en, _ := cached(t, e, server, Local)
		msg, err := s.Logout(context.Background())
		if want := "logged out: the token was revoked at the musicdb server and forgotten"; err != nil || msg != want {
			t.Errorf("Logout: got %q, %v; want %q", msg, err, want)
		}
		if code := status(t, hc, http.MethodGet, server+"/bands", en.AccessToken, ""); code != http.StatusUnauthorized {
			t.Errorf("GET /bands with the revoked token: %d, want 401", code)
		}
		if _, ok := cached(t, e, server, Local); ok {
			t.Error("the token is still cached")
		}
		_, err = s.Token()
		if !errors.Is(err, ErrLoggedOut) {
			t.Errorf("Token after Logout: got %v, want ErrLoggedOut", err)
		}
		if n := tr.Stats().Connections; n != 1 {
			t.Errorf("%d connections, want 1", n)
		}
		for _, text := range []string{msg, errText(err)} {
			if strings.Contains(text, en.AccessToken) || strings.Contains(text, en.RefreshToken) {
				t.Errorf("a token shows in %q", text)
			}
		}
	})
	t.Run("Spotify", func(t *testing.T) {
		f := startFake(t, nil)
		e := testEnv(t, "MUSICDB_SPOTIFY_CLIENT_ID", f.clientID)
		seed(t, e, "https://musicdb.example", Spotify, entry{Issuer: spotifyIssuer, ClientID: f.clientID,
			AccessToken: "spotify-access", RefreshToken: "spotify-refresh", Expiry: time.Now().Add(time.Hour)})
		ep := f.endpoints()
		ep.RevokeURL = ""
		s := newSession(t, Spotify, Options{Server: "https://musicdb.example", Getenv: e.get, Web: f.Client(),
			Endpoints: map[string]Endpoints{Spotify: ep}})
		msg, err := s.Logout(context.Background())
		if want := "logged out: Spotify cannot revoke tokens, so the token was only forgotten here; it stays valid until it expires"; err != nil || msg != want {
			t.Errorf("Logout: got %q, %v; want %q", msg, err, want)
		}
		if _, ok := cached(t, e, "https://musicdb.example", Spotify); ok {
			t.Error("the token is still cached")
		}
		if len(f.revoked) > 0 {
			t.Error("something was revoked")
		}
	})
	t.Run("OIDC", func(t *testing.T) {
		f := startFake(t, func(f *fakeAS) {
			f.methods, f.secret, f.auth = []string{"client_secret_basic"}, "oidc-secret-1", "basic"
		})
		f.grant("oidc-access", "oidc-refresh", alice)
		e := testEnv(t, "MUSICDB_OIDC_CLIENT_ID", f.clientID, "MUSICDB_OIDC_ISSUER", f.issuer, "MUSICDB_OIDC_CLIENT_SECRET", f.secret)
		seed(t, e, "https://musicdb.example", OIDC, entry{Issuer: f.issuer, ClientID: f.clientID,
			AccessToken: "oidc-access", RefreshToken: "oidc-refresh", Expiry: time.Now().Add(time.Hour)})
		s := newSession(t, OIDC, Options{Server: "https://musicdb.example", Getenv: e.get, Web: f.Client()})
		msg, err := s.Logout(context.Background())
		if want := "logged out: the token was revoked at " + f.issuer + " and forgotten"; err != nil || msg != want {
			t.Errorf("Logout: got %q, %v; want %q", msg, err, want)
		}
		f.mu.Lock()
		revoked := f.revoked
		f.mu.Unlock()
		if want := []string{"oidc-refresh", "oidc-access"}; !equal(revoked, want) {
			t.Errorf("revoked %q, want %q", revoked, want)
		}
		checkNoSecrets(t, f, msg, errText(err))
	})
	t.Run("NotLoggedIn", func(t *testing.T) {
		hc, _ := mtlsClient(t)
		s := newSession(t, Local, Options{Server: "https://127.0.0.1:1", Getenv: testEnv(t).get, Local: hc})
		msg, err := s.Logout(context.Background())
		if err != nil || msg != "you were not logged in at the musicdb server" {
			t.Errorf("Logout: got %q, %v", msg, err)
		}
	})
}

// TestTransport checks the API requests: they carry the token, and a 401
// makes the console forget it; at the built-in issuer it logs in anew and
// sends the request again, body and all, over the same connection.
func TestTransport(t *testing.T) {
	t.Parallel()
	t.Run("Local", func(t *testing.T) {
		t.Parallel()
		server := startMusicdb(t)
		e := testEnv(t)
		// A token the server does not know, as when its data was wiped.
		seed(t, e, server, Local, entry{Issuer: server, ClientID: localClientID,
			AccessToken: "forgotten-access", RefreshToken: "forgotten-refresh", Expiry: time.Now().Add(time.Hour)})
		hc, tr := mtlsClient(t)
		s := newSession(t, Local, Options{Server: server, Getenv: e.get, Local: hc})
		c := &http.Client{Transport: s.Transport(tr)}
		resp, err := c.Post(server+"/bands", "application/json", strings.NewReader(`{"name":"Queen","genre":"rock","year":1970}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || !strings.Contains(string(body), `"name":"Queen"`) {
			t.Errorf("got %d %s, want 201 and the band: the body sent again", resp.StatusCode, body)
		}
		after, _ := cached(t, e, server, Local)
		if after.AccessToken == "forgotten-access" || after.AccessToken == "" {
			t.Error("the cache does not hold the new login's token")
		}
		// the refused POST, metadata, device code, poll, the POST again
		if st := tr.Stats(); st.Requests != 5 || st.Connections != 1 {
			t.Errorf("stats: %+v, want 5 requests over 1 connection", st)
		}
	})
	t.Run("Google", func(t *testing.T) {
		f := startFake(t, func(f *fakeAS) { f.secret, f.auth = "google-secret-1234", "post" })
		e := testEnv(t, "MUSICDB_GOOGLE_CLIENT_ID", f.clientID, "MUSICDB_GOOGLE_CLIENT_SECRET", f.secret)
		seed(t, e, "https://musicdb.example", Google, entry{Issuer: googleIssuer, ClientID: f.clientID,
			AccessToken: "unknown-access", RefreshToken: "unknown-refresh", Expiry: time.Now().Add(time.Hour)})
		s := googleSession(t, f, e)
		c := &http.Client{Transport: s.Transport(f.Client().Transport)}
		resp, err := c.Get(f.base + "/api/bands")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("got %d, want the 401", resp.StatusCode)
		}
		if _, ok := cached(t, e, "https://musicdb.example", Google); ok {
			t.Error("the refused token is still cached")
		}
		_, err = c.Get(f.base + "/api/bands")
		var le *Error
		if !errors.Is(err, ErrLoginExpired) || !errors.As(err, &le) {
			t.Errorf("the next request: got %v, want ErrLoginExpired", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.tokenRequests != 0 || !f.deviceAuthAt.IsZero() {
			t.Error("the console tried to log in at Google without a person")
		}
	})
}

// TestAccessToken checks what `musicdb token` prints: a token the built-in
// issuer takes, even when the cached one was wiped at the server.
func TestAccessToken(t *testing.T) {
	t.Parallel()
	server := startMusicdb(t)
	e := testEnv(t)
	seed(t, e, server, Local, entry{Issuer: server, ClientID: localClientID,
		AccessToken: "forgotten-access", RefreshToken: "forgotten-refresh", Expiry: time.Now().Add(time.Hour)})
	hc, _ := mtlsClient(t)
	s := newSession(t, Local, Options{Server: server, Getenv: e.get, Local: hc})
	tok, err := s.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if code := status(t, hc, http.MethodGet, server+"/bands", tok, ""); code != http.StatusOK {
		t.Errorf("GET /bands with the token: %d, want 200", code)
	}
	if en, _ := cached(t, e, server, Local); en.AccessToken != tok {
		t.Error("the new token is not cached")
	}
}

// TestCacheFile checks the cache's file: mode 0600 in a folder of mode 0700,
// replaced whole (no temporary file left), with modes made right when
// they were not.
func TestCacheFile(t *testing.T) {
	e := testEnv(t)
	c := cacheOf(t, e)
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.path, []byte(`{"tokens":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	seed(t, e, "https://musicdb.example", Local, entry{AccessToken: "a"})
	for path, want := range map[string]os.FileMode{dir: 0o700, c.path: 0o600, c.path + ".lock": 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range entries {
		names = append(names, de.Name())
	}
	if got := strings.Join(names, " "); got != "tokens.json tokens.json.lock" {
		t.Errorf("the folder holds %s", got)
	}
	if en, ok := cached(t, e, "https://musicdb.example", Local); !ok || en.AccessToken != "a" {
		t.Errorf("got %+v, %v", en, ok)
	}
}

// TestCacheWriters has many consoles save tokens at once, each its own
// entry: none is lost.
func TestCacheWriters(t *testing.T) {
	e := testEnv(t)
	const n = 24
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := cacheOf(t, e) // each with its own lock file descriptor
			err := c.update(func(f *cacheFile) (bool, error) {
				f.put("https://server-"+string(rune('a'+i)), Local, entry{AccessToken: "t"})
				return true, nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	c := cacheOf(t, e)
	f, err := c.read()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tokens) != n {
		t.Errorf("the cache holds %d entries, want %d", len(f.Tokens), n)
	}
}

// TestCacheDamaged checks that a damaged cache is reported, naming the
// file, and left as it is.
func TestCacheDamaged(t *testing.T) {
	e := testEnv(t)
	c := cacheOf(t, e)
	os.MkdirAll(filepath.Dir(c.path), 0o700)
	if err := os.WriteFile(c.path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	hc, _ := mtlsClient(t)
	s := newSession(t, Local, Options{Server: "https://127.0.0.1:1", Getenv: e.get, Local: hc})
	err := s.Ready(context.Background())
	if want := "the token cache " + c.path + " is damaged"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Ready: got %v, want %q", err, want)
	}
	if data, _ := os.ReadFile(c.path); string(data) != "{not json" {
		t.Errorf("the damaged cache was changed to %q", data)
	}
}

func TestConfigDir(t *testing.T) {
	for _, tc := range []struct {
		env     env
		want    string
		wantErr string
	}{
		{env{"XDG_CONFIG_HOME": "/x/config", "HOME": "/home/a"}, "/x/config/musicdb/tokens.json", ""},
		{env{"HOME": "/home/a"}, "/home/a/.config/musicdb/tokens.json", ""},
		{env{"XDG_CONFIG_HOME": "config", "HOME": "/home/a"}, "", "$XDG_CONFIG_HOME (config) is not an absolute path"},
		{env{}, "", "neither $XDG_CONFIG_HOME nor $HOME is set"},
	} {
		got, err := cachePath(tc.env.get)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("cachePath(%v) = %q, %v; want %q, %q", tc.env, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestSettings checks each provider's settings from the environment.
func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		provider string
		env      []string
		wantErr  string
		wantFlow flow
	}{
		{"UnknownProvider", "github", nil, `no login provider "github"; want one of local, google, spotify, oidc`, 0},
		{"GoogleNoID", Google, nil, "-login google needs MUSICDB_GOOGLE_CLIENT_ID", 0},
		{"GoogleSecretMeansDevice", Google, []string{"MUSICDB_GOOGLE_CLIENT_ID", "id", "MUSICDB_GOOGLE_CLIENT_SECRET", "s"}, "", deviceFlow},
		{"GoogleNoSecretMeansBrowser", Google, []string{"MUSICDB_GOOGLE_CLIENT_ID", "id"}, "", loopbackFlow},
		{"GoogleBrowserWithSecret", Google, []string{"MUSICDB_GOOGLE_CLIENT_ID", "id", "MUSICDB_GOOGLE_CLIENT_SECRET", "s", "MUSICDB_GOOGLE_FLOW", "loopback"}, "", loopbackFlow},
		{"GoogleDeviceNoSecret", Google, []string{"MUSICDB_GOOGLE_CLIENT_ID", "id", "MUSICDB_GOOGLE_FLOW", "device"}, "the device flow at Google needs MUSICDB_GOOGLE_CLIENT_SECRET", 0},
		{"GoogleBadFlow", Google, []string{"MUSICDB_GOOGLE_CLIENT_ID", "id", "MUSICDB_GOOGLE_FLOW", "pigeon"}, `MUSICDB_GOOGLE_FLOW is "pigeon"; want device or loopback`, 0},
		{"SpotifyNoID", Spotify, nil, "-login spotify needs MUSICDB_SPOTIFY_CLIENT_ID", 0},
		{"Spotify", Spotify, []string{"MUSICDB_SPOTIFY_CLIENT_ID", "id"}, "", loopbackFlow},
		{"OIDCNoIssuer", OIDC, []string{"MUSICDB_OIDC_CLIENT_ID", "id"}, "-login oidc needs MUSICDB_OIDC_ISSUER and MUSICDB_OIDC_CLIENT_ID", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := testEnv(t, tc.env...)
			s, err := New(context.Background(), tc.provider, Options{Getenv: e.get})
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("New: got %v, want %q", err, tc.wantErr)
			}
			if err == nil && s.p.flow != tc.wantFlow {
				t.Errorf("flow: got %d, want %d", s.p.flow, tc.wantFlow)
			}
			if err == nil && s.p.conf.Endpoint.AuthStyle != oauth2.AuthStyleInParams {
				t.Errorf("auth style: got %d, want AuthStyleInParams", s.p.conf.Endpoint.AuthStyle)
			}
		})
	}
}

// TestPrintable checks that what a provider sends cannot drive the terminal.
func TestPrintable(t *testing.T) {
	if got := printable("WDJB\x1b[2J-MJHT\r\n\u009b"); got != "WDJB[2J-MJHT" {
		t.Errorf("printable: got %q", got)
	}
}
