package login

import (
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"musicdb/certs"
	"musicdb/server"
	"musicdb/server/auth"
	"musicdb/store"
)

// startMusicdb starts the real musicdb server with its built-in issuer,
// over mutual TLS with the test PKI, and returns its URL.
func startMusicdb(t *testing.T) string {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{PasswordIterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := auth.OpenIssuer(t.TempDir(), auth.IssuerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := testPKI(t)
	sp := certs.ServerPair(dir)
	cfg, err := certs.ServerConfig(certs.CAPair(dir).Cert, sp.Cert, sp.Key, certs.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(server.NewServer(server.Config{
		Store: st, Auth: auth.NewChecker(iss, auth.CheckerOptions{}), Issuer: iss,
	}))
	ts.TLS = cfg
	ts.EnableHTTP2 = true
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(func() {
		ts.Close()
		iss.Close()
		st.Close()
	})
	return ts.URL
}

// status sends an API request to the server at base with hc, as one with
// the bearer token tok, and returns the answer's status.
func status(t *testing.T, hc *http.Client, method, url, tok, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
