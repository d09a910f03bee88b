package login

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"musicdb/certs"
	"musicdb/client/api"
)

// fakeAS is an authorization server on loopback that stands in for Google,
// Spotify or an OpenID Connect provider, or for a built-in issuer that
// misbehaves (the real one is startMusicdb's). It is strict
// about what a client must send: client authentication as configured, PKCE
// S256, the redirect URI, single-use codes, refresh tokens that rotate.
type fakeAS struct {
	*httptest.Server
	t *testing.T

	issuer   string // the issuer it names; its URL unless set
	clientID string
	secret   string // "" for a public client
	// auth is how the token endpoint wants a confidential client:
	// "basic" or "post". Its discovery document lists methods.
	auth    string
	methods []string // token_endpoint_auth_methods_supported

	noDevice  bool     // no device_authorization_endpoint in its metadata
	interval  int      // of device codes, in seconds
	expiresIn int      // of device codes, in seconds
	polls     []string // errors for the device-code polls, in order, before tokens
	deny      bool     // the authorization endpoint answers access_denied
	iss       string   // iss the authorization endpoint adds to its answer
	issParam  bool     // its metadata says it always sends iss
	accessTTL int      // expires_in of access tokens; 3600 when 0
	mtls      bool     // it requires client certificates, as musicdb does
	// meta, if not nil, changes its metadata document.
	meta func(m map[string]any)

	base string // its URL, known before it starts

	mu            sync.Mutex
	seq           int
	codes         map[string]grant  // authorization and device codes not yet used
	refresh       map[string]string // refresh token → subject
	access        map[string]string // access token → subject
	secrets       []string          // every token and code issued
	revoked       []string
	pollTimes     []time.Time
	deviceAuthAt  time.Time
	verifiers     int // token requests that carried a code_verifier
	tokenRequests int
	redirects     []string // the redirect_uri of each authorization request
	refreshes     []string
	deviceHeaders []string // Authorization of device authorization requests
}

type grant struct {
	challenge, redirect, sub string
}

// startFake starts a fake authorization server over TLS. With mtls it
// requires the client certificates of the test PKI, as musicdb does. set
// may change the fake before it starts; f.base and f.issuer are known then.
func startFake(t *testing.T, set func(f *fakeAS)) *fakeAS {
	return start(t, "https", set)
}

// startPlainFake starts a fake authorization server over plain http, as a
// provider run on this machine for tests would be.
func startPlainFake(t *testing.T, set func(f *fakeAS)) *fakeAS {
	return start(t, "http", set)
}

func start(t *testing.T, scheme string, set func(f *fakeAS)) *fakeAS {
	t.Helper()
	f := &fakeAS{t: t, clientID: "console-id", interval: 1, expiresIn: 600,
		codes: map[string]grant{}, refresh: map[string]string{}, access: map[string]string{}}
	f.Server = httptest.NewUnstartedServer(f.routes())
	f.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.base = scheme + "://" + f.Listener.Addr().String()
	f.issuer = f.base
	if set != nil {
		set(f)
	}
	switch {
	case scheme == "http":
		f.Start()
	case f.mtls:
		dir := testPKI(t)
		sp := certs.ServerPair(dir)
		cfg, err := certs.ServerConfig(certs.CAPair(dir).Cert, sp.Cert, sp.Key, certs.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		f.TLS = cfg
		f.StartTLS()
	default:
		f.StartTLS()
	}
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAS) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", f.metadata)
	mux.HandleFunc("GET /.well-known/openid-configuration", f.metadata)
	mux.HandleFunc("POST /device", f.device)
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /userinfo", f.userinfo)
	mux.HandleFunc("POST /revoke", f.revoke)
	mux.HandleFunc("/api/", f.api)
	return mux
}

// endpoints returns the fake's URLs, to override a provider's.
func (f *fakeAS) endpoints() Endpoints {
	return Endpoints{
		AuthURL: f.base + "/authorize", DeviceAuthURL: f.base + "/device", TokenURL: f.base + "/token",
		RevokeURL: f.base + "/revoke", UserinfoURL: f.base + "/userinfo",
	}
}

func (f *fakeAS) metadata(w http.ResponseWriter, r *http.Request) {
	m := map[string]any{
		"issuer":                 f.issuer,
		"authorization_endpoint": f.base + "/authorize",
		"token_endpoint":         f.base + "/token",
		"userinfo_endpoint":      f.base + "/userinfo",
		"revocation_endpoint":    f.base + "/revoke",
		"grant_types_supported":  []string{"authorization_code", deviceGrant, "refresh_token"},
	}
	if !f.noDevice {
		m["device_authorization_endpoint"] = f.base + "/device"
	}
	if f.methods != nil {
		m["token_endpoint_auth_methods_supported"] = f.methods
	}
	if f.issParam {
		m["authorization_response_iss_parameter_supported"] = true
	}
	if f.meta != nil {
		f.meta(m)
	}
	writeJSON(w, http.StatusOK, m)
}

func (f *fakeAS) newSecret(kind string) string {
	f.seq++
	s := fmt.Sprintf("%s-%d-%s", kind, f.seq, strings.Repeat("x", 8))
	f.secrets = append(f.secrets, s)
	return s
}

func (f *fakeAS) device(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deviceHeaders = append(f.deviceHeaders, r.Header.Get("Authorization"))
	if r.PostForm.Get("client_id") != f.clientID && !f.basicOK(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	code := f.newSecret("device")
	f.codes[code] = grant{sub: alice}
	f.deviceAuthAt = time.Now()
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": code, "user_code": "WDJB-MJHT", "verification_uri": f.base + "/activate",
		"expires_in": f.expiresIn, "interval": f.interval,
	})
}

func (f *fakeAS) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" || redirect.Hostname() != "127.0.0.1" || !strings.HasPrefix(redirect.Path, "/callback/") {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	if q.Get("response_type") != "code" || q.Get("client_id") != f.clientID ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.redirects = append(f.redirects, redirect.String())
	f.mu.Unlock()
	answer := url.Values{"state": {q.Get("state")}}
	if f.iss != "" {
		answer.Set("iss", f.iss)
	}
	if f.deny {
		answer.Set("error", "access_denied")
	} else {
		f.mu.Lock()
		code := f.newSecret("code")
		f.codes[code] = grant{challenge: q.Get("code_challenge"), redirect: redirect.String(), sub: alice}
		f.mu.Unlock()
		answer.Set("code", code)
	}
	redirect.RawQuery = answer.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// basicOK reports whether r authenticates the client in the header.
func (f *fakeAS) basicOK(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	return ok && f.secret != "" && id == f.clientID && secret == f.secret
}

// clientOK checks the client's authentication at the token endpoint: a
// public client sends its client_id alone, a confidential one its secret in
// the header ("basic") or the body ("post"), never both ways.
func (f *fakeAS) clientOK(r *http.Request) bool {
	_, _, inHeader := r.BasicAuth()
	form := r.PostForm
	switch {
	case f.secret == "":
		return !inHeader && form.Get("client_id") == f.clientID && !form.Has("client_secret")
	case f.auth == "basic":
		return f.basicOK(r) && !form.Has("client_secret")
	}
	return !inHeader && form.Get("client_id") == f.clientID && form.Get("client_secret") == f.secret
}

func (f *fakeAS) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenRequests++
	if !f.clientOK(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	form := r.PostForm
	if form.Has("code_verifier") {
		f.verifiers++
	}
	switch form.Get("grant_type") {
	case deviceGrant:
		f.pollTimes = append(f.pollTimes, time.Now())
		g, ok := f.codes[form.Get("device_code")]
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		if len(f.polls) > 0 {
			e := f.polls[0]
			f.polls = f.polls[1:]
			oauthError(w, http.StatusBadRequest, e)
			return
		}
		delete(f.codes, form.Get("device_code"))
		f.issue(w, g.sub)
	case "authorization_code":
		g, ok := f.codes[form.Get("code")]
		delete(f.codes, form.Get("code"))
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		if !ok || g.redirect != form.Get("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		f.issue(w, g.sub)
	case "refresh_token":
		rt := form.Get("refresh_token")
		f.refreshes = append(f.refreshes, rt)
		sub, ok := f.refresh[rt]
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		delete(f.refresh, rt) // rotation: a refresh token works once
		f.issue(w, sub)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

// issue answers with a new pair of tokens for sub. f.mu is held.
func (f *fakeAS) issue(w http.ResponseWriter, sub string) {
	at, rt := f.newSecret("access"), f.newSecret("refresh")
	f.access[at], f.refresh[rt] = sub, sub
	ttl := f.accessTTL
	if ttl == 0 {
		ttl = 3600
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": ttl, "refresh_token": rt})
}

// bearer returns the subject of the request's valid access token.
func (f *fakeAS) bearer(r *http.Request) (string, bool) {
	at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	sub, ok := f.access[at]
	return sub, ok
}

func (f *fakeAS) userinfo(w http.ResponseWriter, r *http.Request) {
	sub, ok := f.bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"sub": sub})
}

func (f *fakeAS) revoke(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.auth != "" && !f.clientOK(r) { // a confidential client authenticates here too
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	tok := r.PostForm.Get("token")
	f.revoked = append(f.revoked, tok)
	delete(f.access, tok)
	delete(f.refresh, tok)
}

// api stands for a musicdb route: it needs a valid access token, and echoes
// the request body.
func (f *fakeAS) api(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.bearer(r); !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="musicdb", error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	io.Copy(w, r.Body)
}

// grant makes the fake take the access and refresh tokens given (if not
// "") for sub, as if it had issued them.
func (f *fakeAS) grant(access, refresh, sub string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if access != "" {
		f.access[access] = sub
		f.secrets = append(f.secrets, access)
	}
	if refresh != "" {
		f.refresh[refresh] = sub
		f.secrets = append(f.secrets, refresh)
	}
}

// issued returns every token and code the fake gave out.
func (f *fakeAS) issued() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.secrets)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": "the fake says " + code})
}

// The test PKI, made once per test binary.
var pki struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pki.dir != "" {
		os.RemoveAll(filepath.Dir(pki.dir))
	}
	os.Exit(code)
}

func testPKI(t *testing.T) string {
	t.Helper()
	pki.once.Do(func() {
		root, err := os.MkdirTemp("", "musicdb-login-test-")
		if err != nil {
			pki.err = err
			return
		}
		pki.dir = filepath.Join(root, "pki")
		_, pki.err = certs.Init(pki.dir)
	})
	if pki.err != nil {
		t.Fatal(pki.err)
	}
	return pki.dir
}

// mtlsClient returns the HTTP client of a console, over one api.Transport
// with the dev client certificate, and the transport, for its counters.
func mtlsClient(t *testing.T) (*http.Client, *api.Transport) {
	t.Helper()
	dir := testPKI(t)
	dev := certs.ClientPair(dir, certs.DevClient)
	cfg, err := certs.ClientConfig(certs.CAPair(dir).Cert, dev.Cert, dev.Key)
	if err != nil {
		t.Fatal(err)
	}
	tr := api.NewTransport(cfg, true)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, tr
}

// browser plays the user's browser: it opens the URL, follows the
// redirects back to the console's listener, and keeps what it was shown.
type browser struct {
	client *http.Client
	mu     sync.Mutex
	status int
	page   string
	done   chan struct{}
	// edit, if not nil, changes the URL of the answer before the browser
	// follows it to the console.
	edit func(u *url.URL)
}

func newBrowser(f *fakeAS) *browser {
	c := *f.Client()
	return &browser{client: &c, done: make(chan struct{})}
}

func (b *browser) open(u string) {
	go func() {
		defer close(b.done)
		c := *b.client
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if b.edit != nil && req.URL.Hostname() == "127.0.0.1" {
				b.edit(req.URL)
			}
			return nil
		}
		resp, err := c.Get(u)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		b.mu.Lock()
		b.status, b.page = resp.StatusCode, string(body)
		b.mu.Unlock()
	}()
}

// shown waits for the page the browser ended on.
func (b *browser) shown(t *testing.T) (int, string) {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the browser never got its page")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status, b.page
}
