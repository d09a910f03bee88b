package client

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"musicdb/certs"
	"musicdb/client/api"
	"musicdb/client/console"
	"musicdb/store"
)

// tokenLike matches what could be a token: a long run of the characters
// tokens are made of. Nothing the console prints has one.
var tokenLike = regexp.MustCompile(`[A-Za-z0-9_~.+/=-]{32,}`)

// checkNoTokens fails when out shows a token: one of tokens, or anything
// that looks like one.
func checkNoTokens(t *testing.T, out string, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		if tok != "" && strings.Contains(out, tok) {
			t.Errorf("the output shows a token (%.10s…)", tok)
		}
	}
	if m := tokenLike.FindString(out); m != "" {
		t.Errorf("the output shows what looks like a token (%.10s…)", m)
	}
}

// cachedToken returns the access token that the consoles of ts cached for
// it at the built-in issuer, or "".
func cachedToken(t *testing.T, ts *testServer) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(ts.env["XDG_CONFIG_HOME"], "musicdb", "tokens.json"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Tokens map[string]map[string]struct {
			AccessToken string `json:"access_token"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f.Tokens[ts.URL]["local"].AccessToken
}

// curl sends GET path to ts with the dev client certificate and the bearer
// token tok, as curl -H "Authorization: Bearer $(musicdb token)" does, and
// returns the status.
func curl(t *testing.T, ts *testServer, path, tok string) int {
	t.Helper()
	dev := certs.ClientPair(ts.pki, certs.DevClient)
	cfg, err := certs.ClientConfig(certs.CAPair(ts.pki).Cert, dev.Cert, dev.Key)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTokenArgument checks `musicdb token`: it prints an access token and
// nothing else, one that the server takes, and the same one while it is
// valid.
func TestTokenArgument(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	stdout, stderr, err := run(t, ts.env.get, ts.args("token"), strings.NewReader("SHOW ALL BANDS\n"))
	if err != nil || stderr != "" {
		t.Fatalf("token: %v, stderr %q", err, stderr)
	}
	tok, ok := strings.CutSuffix(stdout, "\n")
	if !ok || tok == "" || strings.ContainsAny(tok, " \n") {
		t.Fatalf("token printed %q, want the token and a newline", stdout)
	}
	if tok != cachedToken(t, ts) {
		t.Error("the token printed is not the one cached")
	}
	if status := curl(t, ts, "/bands", tok); status != http.StatusOK {
		t.Errorf("GET /bands with the token: %d, want 200", status)
	}
	if status := curl(t, ts, "/bands", tok+"x"); status != http.StatusUnauthorized {
		t.Errorf("GET /bands with another token: %d, want 401", status)
	}

	again, _, err := run(t, ts.env.get, ts.args("token"), strings.NewReader(""))
	if err != nil || again != stdout {
		t.Errorf("a second token: got %v, a different token: %v; want the cached one", err, again != stdout)
	}
}

// TestServerWiped has a console find its cached token refused by the server
// (whose data was wiped, as when it is rebuilt at the same address): it
// logs in anew without a word and sends the refused request again, over
// the one connection; `musicdb token` too prints a token the server takes.
func TestServerWiped(t *testing.T) {
	t.Parallel()
	before := startServer(t)
	if _, stderr, err := run(t, before.env.get, before.args("-c", "ADD BAND rock Queen 1970"), strings.NewReader("")); err != nil {
		t.Fatalf("first run: %v\n%s", err, stderr)
	}
	old := cachedToken(t, before)
	addr := before.Listener.Addr().String()
	before.Server.Close()

	ts := startServer(t, func(s *httptest.Server) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("cannot listen on %s again: %v", addr, err)
		}
		s.Listener.Close()
		s.Listener = ln
	})
	ts.env = before.env
	stdout, stderr, err := run(t, ts.env.get, ts.args("-json"), strings.NewReader("SHOW ALL BANDS\nSTATS\n"))
	if err != nil || stderr != "" {
		t.Fatalf("Run: %v\nstderr: %s", err, stderr)
	}
	if !strings.HasPrefix(stdout, `{"command":"SHOW ALL BANDS","status":200,"result":[]}`) {
		t.Errorf("stdout: got %s", stdout)
	}
	// The health check, the refused GET, a new login, the GET again.
	want := api.Stats{Requests: 3 + loginRequests, Connections: 1, TLSHandshakes: 1, Reused: 2 + loginRequests, Protocol: "HTTP/2.0"}
	if st := lastStats(t, stdout); st != want {
		t.Errorf("STATS: got %+v, want %+v", st, want)
	}
	fresh := cachedToken(t, ts)
	if fresh == old || fresh == "" {
		t.Error("the cache does not hold the new login's token")
	}
	checkNoTokens(t, stdout+stderr, old, fresh)
}

// TestLoginCommands runs LOGIN and LOGOUT in a session: LOGOUT revokes the
// token at the server and forgets it, the commands after it are refused
// until LOGIN, and LOGIN at a provider that is not set up says so and
// keeps the login there was.
func TestLoginCommands(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	script := "SHOW ALL BANDS\nLOGOUT\nSHOW ALL BANDS\nLOGOUT\nLOGIN\nSHOW ALL BANDS\nLOGIN google\nSHOW ALL BANDS\nLOGIN local\n"
	in := feed(script)
	var transcript strings.Builder
	in.echo = &transcript
	stdout, stderr, err := run(t, ts.env.get, ts.args(), in)
	if !errors.Is(err, ErrCommandFailed) {
		t.Errorf("Run: got %v, want ErrCommandFailed", err)
	}
	wantOut := "no bands\n" +
		"logged out: the token was revoked at the musicdb server and forgotten\n" +
		"you were not logged in at the musicdb server\n" +
		"logged in as dev (local)\n" +
		"no bands\n" +
		"no bands\n" +
		"logged in as dev (local)\n"
	if stdout != wantOut {
		t.Errorf("stdout:\ngot:\n%s\nwant:\n%s", stdout, wantOut)
	}
	wantErr := "you are logged out; type LOGIN\n" +
		"-login google needs MUSICDB_GOOGLE_CLIENT_ID (and MUSICDB_GOOGLE_CLIENT_SECRET for a \"TVs and Limited Input devices\" client)\n"
	if stderr != wantErr {
		t.Errorf("stderr:\ngot:\n%s\nwant:\n%s", stderr, wantErr)
	}
	checkNoTokens(t, stdout+stderr, cachedToken(t, ts))
}

// TestLogoutRevokes checks that the token LOGOUT gives up no longer works
// at the server, for curl either.
func TestLogoutRevokes(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	tok, _, err := run(t, ts.env.get, ts.args("token"), strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	tok = strings.TrimSpace(tok)
	stdout, stderr, err := run(t, ts.env.get, ts.args("-c", "LOGOUT"), strings.NewReader(""))
	if err != nil || stdout != "logged out: the token was revoked at the musicdb server and forgotten\n" {
		t.Fatalf("LOGOUT: %q, %q, %v", stdout, stderr, err)
	}
	if status := curl(t, ts, "/bands", tok); status != http.StatusUnauthorized {
		t.Errorf("GET /bands with the revoked token: %d, want 401", status)
	}
	if cachedToken(t, ts) != "" {
		t.Error("the token is still cached")
	}
}

// TestLoginSetupErrors checks that a console that cannot get a token says
// why in one line, before any command, and exits with status 2.
func TestLoginSetupErrors(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, tc := range []struct {
		name   string
		getenv func(string) string
		args   []string
		want   string
	}{
		{"GoogleNotSetUp", ts.env.get, ts.args("-login", "google"),
			"-login google needs MUSICDB_GOOGLE_CLIENT_ID (and MUSICDB_GOOGLE_CLIENT_SECRET for a \"TVs and Limited Input devices\" client)"},
		{"NoConfigFolder", noEnv, ts.args(),
			"cannot find a folder for the token cache: neither $XDG_CONFIG_HOME nor $HOME is set"},
		{"OIDCOverHTTP", env{"XDG_CONFIG_HOME": t.TempDir(), "MUSICDB_OIDC_ISSUER": "http://login.example.com", "MUSICDB_OIDC_CLIENT_ID": "id"}.get,
			ts.args("-login", "oidc"),
			"MUSICDB_OIDC_ISSUER (http://login.example.com) must be https: http is only for a loopback address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := run(t, tc.getenv, append(tc.args, "-c", "SHOW ALL BANDS"), strings.NewReader(""))
			if ExitStatus(err) != 2 || stdout != "" || stderr != tc.want+"\n" {
				t.Errorf("got exit status %d, stdout %q, stderr %q; want 2 and %q", ExitStatus(err), stdout, stderr, tc.want)
			}
		})
	}
}

// TestUnauthorizedMessage checks what a 401 that the console could not
// overcome says: that the login expired, and the command that fixes it.
func TestUnauthorizedMessage(t *testing.T) {
	cmd, err := console.Parse("SHOW ALL BANDS", testNow)
	if err != nil {
		t.Fatal(err)
	}
	e := &api.StatusError{Status: http.StatusUnauthorized, Err: &store.Error{Code: store.EUNAUTHORIZED, Message: "the token expired"}}
	if got, want := explain(cmd, e), "your login expired; type LOGIN (the token expired)"; got != want {
		t.Errorf("explain: got %q, want %q", got, want)
	}
}
