package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"musicdb/certs"
)

// TestIssuerMetadata pins the metadata the client discovers the issuer by.
func TestIssuerMetadata(t *testing.T) {
	pki := mustPKI(t)
	s := newIssuerServer(t, pki, t.TempDir(), newClock())
	a := s.get(t, pki.client(t, certs.DevClient), "/.well-known/oauth-authorization-server", "")
	base := s.URL // https://127.0.0.1:port, the Host the request named
	want := `{"issuer":"` + base + `","device_authorization_endpoint":"` + base + `/oauth/device",` +
		`"token_endpoint":"` + base + `/oauth/token","userinfo_endpoint":"` + base + `/oauth/userinfo",` +
		`"revocation_endpoint":"` + base + `/oauth/revoke",` +
		`"grant_types_supported":["urn:ietf:params:oauth:grant-type:device_code","refresh_token"],` +
		`"token_endpoint_auth_methods_supported":["none"],"tls_client_certificate_bound_access_tokens":true}`
	if a.status != 200 || !sameJSON(a.body, want) {
		t.Errorf("got %d %s\nwant %s", a.status, a.body, want)
	}
}

func sameJSON(a []byte, b string) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	x, _ := json.Marshal(va)
	y, _ := json.Marshal(vb)
	return string(x) == string(y)
}

// TestIssuerLogin walks the device flow and uses its token.
func TestIssuerLogin(t *testing.T) {
	pki := mustPKI(t)
	s := newIssuerServer(t, pki, t.TempDir(), newClock())
	dev := pki.client(t, certs.DevClient)

	da := s.authorize(t, dev)
	if !strings.HasPrefix(da.DeviceCode, "mdb_dc_") || len(da.DeviceCode) != len("mdb_dc_")+43 {
		t.Errorf("device_code %q, want mdb_dc_ and 256 bits in base64url", da.DeviceCode)
	}
	if !regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`).MatchString(da.UserCode) {
		t.Errorf("user_code %q", da.UserCode)
	}
	if da.ExpiresIn != 600 || da.Interval != 1 || da.VerificationURI != s.URL+"/oauth/device" {
		t.Errorf("device answer %+v", da)
	}

	a := s.redeem(t, dev, da.DeviceCode)
	if a.header.Get("Cache-Control") != "no-store" || a.header.Get("Content-Type") != "application/json" {
		t.Errorf("token answer headers %v", a.header)
	}
	tok := mustTokens(t, a)
	if !strings.HasPrefix(tok.AccessToken, "mdb_at_") || !strings.HasPrefix(tok.RefreshToken, "mdb_rt_") ||
		len(tok.AccessToken) != len("mdb_at_")+43 || len(tok.RefreshToken) != len("mdb_rt_")+43 {
		t.Errorf("tokens %q and %q, want mdb_at_ and mdb_rt_ with 256 bits each", tok.AccessToken, tok.RefreshToken)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.Scope != "musicdb" {
		t.Errorf("token answer %+v", tok)
	}
	if a := s.get(t, dev, "/api", tok.AccessToken); a.status != 200 {
		t.Errorf("GET /api with the token: %d %s", a.status, a.body)
	}
	if a := s.get(t, dev, "/oauth/userinfo", tok.AccessToken); a.status != 200 || !sameJSON(a.body, `{"sub":"dev"}`) {
		t.Errorf("GET /oauth/userinfo: %d %s", a.status, a.body)
	}

	// A device code is good once.
	checkOAuthError(t, s.redeem(t, dev, da.DeviceCode), "invalid_grant")
	// The refresh token is no bearer token.
	if a := s.get(t, dev, "/api", tok.RefreshToken); a.status != 401 {
		t.Errorf("GET /api with the refresh token: %d", a.status)
	}
}

// TestIssuerRefresh checks rotation: each refresh token works once, and
// using one again revokes the whole login.
func TestIssuerRefresh(t *testing.T) {
	pki := mustPKI(t)
	s := newIssuerServer(t, pki, t.TempDir(), newClock())
	dev := pki.client(t, certs.DevClient)
	first := s.login(t, dev)

	second := mustTokens(t, s.refresh(t, dev, first.RefreshToken))
	if second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken {
		t.Fatal("refresh gave the same tokens")
	}
	if second.ExpiresIn != 3600 || second.Scope != "musicdb" || second.TokenType != "Bearer" {
		t.Errorf("refresh answer %+v", second)
	}
	if a := s.get(t, dev, "/api", first.AccessToken); a.status != 401 {
		t.Errorf("the replaced access token: %d, want 401", a.status)
	}
	if a := s.get(t, dev, "/api", second.AccessToken); a.status != 200 {
		t.Errorf("the new access token: %d %s", a.status, a.body)
	}
	third := mustTokens(t, s.refresh(t, dev, second.RefreshToken))

	// first.RefreshToken was replaced: using it again means someone copied it.
	if d := checkOAuthError(t, s.refresh(t, dev, first.RefreshToken), "invalid_grant"); !strings.Contains(d, "revoked") {
		t.Errorf("reuse: %q, want it to say the login is revoked", d)
	}
	if a := s.get(t, dev, "/api", third.AccessToken); a.status != 401 {
		t.Errorf("access token after reuse: %d, want 401", a.status)
	}
	checkOAuthError(t, s.refresh(t, dev, third.RefreshToken), "invalid_grant")
	// Another login of the same certificate is not affected.
	other := s.login(t, dev)
	if a := s.get(t, dev, "/api", other.AccessToken); a.status != 200 {
		t.Errorf("a new login after the revocation: %d", a.status)
	}
}

// TestIssuerRevoke checks RFC 7009: either token revokes the login, and
// anything well-formed gets 200.
func TestIssuerRevoke(t *testing.T) {
	pki := mustPKI(t)
	s := newIssuerServer(t, pki, t.TempDir(), newClock())
	dev, alice := pki.client(t, certs.DevClient), pki.client(t, "alice")
	for _, which := range []string{"access_token", "refresh_token"} {
		t.Run(which, func(t *testing.T) {
			tok := s.login(t, dev)
			token := map[string]string{"access_token": tok.AccessToken, "refresh_token": tok.RefreshToken}[which]

			// Another certificate cannot revoke it, and is not told so.
			if a := s.post(t, alice, "/oauth/revoke", url.Values{"token": {token}, "token_type_hint": {which}}); a.status != 200 {
				t.Fatalf("revoke by alice: %d %s", a.status, a.body)
			}
			if a := s.get(t, dev, "/api", tok.AccessToken); a.status != 200 {
				t.Fatalf("after alice's revocation: %d, want the token still good", a.status)
			}

			a := s.post(t, dev, "/oauth/revoke", url.Values{"token": {token}, "token_type_hint": {which}, "client_id": {ClientID}})
			if a.status != 200 {
				t.Fatalf("revoke: %d %s", a.status, a.body)
			}
			if a := s.get(t, dev, "/api", tok.AccessToken); a.status != 401 {
				t.Errorf("access token after revoke: %d, want 401", a.status)
			}
			checkOAuthError(t, s.refresh(t, dev, tok.RefreshToken), "invalid_grant")
			// Again, and an unknown token: 200 all the same.
			for _, tt := range []string{token, "mdb_at_unknown"} {
				if a := s.post(t, dev, "/oauth/revoke", url.Values{"token": {tt}}); a.status != 200 {
					t.Errorf("revoke again: %d %s", a.status, a.body)
				}
			}
		})
	}
	checkOAuthError(t, s.post(t, dev, "/oauth/revoke", url.Values{}), "invalid_request")
	checkOAuthError(t, s.post(t, dev, "/oauth/revoke", url.Values{"token": {"x"}, "client_id": {"other"}}), "invalid_client")
}

// TestIssuerCertificateBinding checks that codes and tokens work only over a
// connection with the certificate they were issued to.
func TestIssuerCertificateBinding(t *testing.T) {
	pki := mustPKI(t)
	s := newIssuerServer(t, pki, t.TempDir(), newClock())
	dev, alice := pki.client(t, certs.DevClient), pki.client(t, "alice")

	da := s.authorize(t, dev)
	if d := checkOAuthError(t, s.redeem(t, alice, da.DeviceCode), "invalid_grant"); !strings.Contains(d, "another client certificate") {
		t.Errorf("device code over alice's connection: %q", d)
	}
	tok := mustTokens(t, s.redeem(t, dev, da.DeviceCode)) // still good for dev

	a := s.get(t, alice, "/api", tok.AccessToken)
	if a.status != 401 || !strings.Contains(string(a.body), "another client certificate") {
		t.Errorf("dev's token over alice's connection: %d %s, want 401", a.status, a.body)
	}
	if d := checkOAuthError(t, s.refresh(t, alice, tok.RefreshToken), "invalid_grant"); !strings.Contains(d, "another client certificate") {
		t.Errorf("dev's refresh token over alice's connection: %q", d)
	}
	// Refused elsewhere, it is still dev's.
	tok = mustTokens(t, s.refresh(t, dev, tok.RefreshToken))
	if a := s.get(t, dev, "/api", tok.AccessToken); a.status != 200 {
		t.Errorf("dev's token over dev's connection: %d %s", a.status, a.body)
	}
	if a := s.get(t, alice, "/oauth/userinfo", s.login(t, alice).AccessToken); !sameJSON(a.body, `{"sub":"alice"}`) {
		t.Errorf("alice's userinfo: %d %s", a.status, a.body)
	}
}

// TestIssuerExpiry checks each lifetime on the issuer's clock.
func TestIssuerExpiry(t *testing.T) {
	pki := mustPKI(t)
	s := newIssuerServer(t, pki, t.TempDir(), newClock())
	dev := pki.client(t, certs.DevClient)
	tok := s.login(t, dev)

	s.clock.advance(AccessTTL - time.Second)
	if a := s.get(t, dev, "/api", tok.AccessToken); a.status != 200 {
		t.Errorf("a second before expiry: %d", a.status)
	}
	s.clock.advance(time.Second)
	if a := s.get(t, dev, "/api", tok.AccessToken); a.status != 401 || !strings.Contains(string(a.body), "expired") {
		t.Errorf("at expiry: %d %s, want 401 saying it expired", a.status, a.body)
	}
	// The issuer says so itself, as a Verifier must.
	if _, err := s.iss.Verify(t.Context(), tok.AccessToken); !isInvalidToken(err) {
		t.Errorf("Verify at expiry: %v, want invalid_token", err)
	}
	tok = mustTokens(t, s.refresh(t, dev, tok.RefreshToken))

	s.clock.advance(RefreshTTL)
	if d := checkOAuthError(t, s.refresh(t, dev, tok.RefreshToken), "invalid_grant"); !strings.Contains(d, "expired") {
		t.Errorf("an expired refresh token: %q", d)
	}

	da := s.authorize(t, dev)
	s.clock.advance(DeviceCodeTTL)
	checkOAuthError(t, s.redeem(t, dev, da.DeviceCode), "expired_token")
}

// TestIssuerRestart checks that logins, rotations and revocations survive a
// restart.
func TestIssuerRestart(t *testing.T) {
	pki := mustPKI(t)
	s := newIssuerServer(t, pki, t.TempDir(), newClock())
	dev := pki.client(t, certs.DevClient)
	kept := s.login(t, dev)
	rotated := s.login(t, dev)
	rotatedNew := mustTokens(t, s.refresh(t, dev, rotated.RefreshToken))
	revoked := s.login(t, dev)
	if a := s.post(t, dev, "/oauth/revoke", url.Values{"token": {revoked.AccessToken}}); a.status != 200 {
		t.Fatal(a.status)
	}

	s = s.restart(t, pki)
	if a := s.get(t, dev, "/api", kept.AccessToken); a.status != 200 {
		t.Errorf("access token after restart: %d %s", a.status, a.body)
	}
	mustTokens(t, s.refresh(t, dev, kept.RefreshToken))
	if a := s.get(t, dev, "/api", revoked.AccessToken); a.status != 401 {
		t.Errorf("revoked token after restart: %d", a.status)
	}
	// The replaced refresh token is remembered: its reuse still revokes.
	checkOAuthError(t, s.refresh(t, dev, rotated.RefreshToken), "invalid_grant")
	if a := s.get(t, dev, "/api", rotatedNew.AccessToken); a.status != 401 {
		t.Errorf("after reuse across a restart: %d, want 401", a.status)
	}
}

// TestIssuerStoresNoToken scans the issuer's folder for the tokens it
// handed out: it must hold their hashes only.
func TestIssuerStoresNoToken(t *testing.T) {
	pki := mustPKI(t)
	dir := t.TempDir()
	s := newIssuerServer(t, pki, dir, newClock())
	dev := pki.client(t, certs.DevClient)
	da := s.authorize(t, dev)
	first := mustTokens(t, s.redeem(t, dev, da.DeviceCode))
	second := mustTokens(t, s.refresh(t, dev, first.RefreshToken))
	s.restart(t, pki)

	var disk strings.Builder
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		disk.Write(b)
		return err
	})
	secrets := []string{da.DeviceCode, first.AccessToken, first.RefreshToken, second.AccessToken, second.RefreshToken}
	for _, secret := range secrets {
		body := secret[len("mdb_xx_"):]
		if strings.Contains(disk.String(), body) {
			t.Errorf("the issuer's folder holds a token in clear")
		}
		// What is there is the hash, so the scan read the right files.
		if secret == da.DeviceCode {
			continue
		}
		h, _ := hashToken(secret).MarshalText()
		if !strings.Contains(disk.String(), string(h)) {
			t.Errorf("the issuer's folder lacks the hash of a token it issued")
		}
	}
}

// TestIssuerSweep checks that grants whose refresh token expired are
// dropped from the table, on disk too.
func TestIssuerSweep(t *testing.T) {
	pki := mustPKI(t)
	s := newIssuerServer(t, pki, t.TempDir(), newClock())
	dev := pki.client(t, certs.DevClient)
	s.login(t, dev)
	s.clock.advance(RefreshTTL + time.Hour)
	s.login(t, dev) // the write that sweeps
	s = s.restart(t, pki)
	s.iss.mu.RLock()
	n := len(s.iss.table.byID)
	s.iss.mu.RUnlock()
	if n != 1 {
		t.Errorf("grants after the sweep: %d, want 1", n)
	}
}

// TestTokenEndpointErrors checks the RFC 6749 section 5.2 answers.
func TestTokenEndpointErrors(t *testing.T) {
	pki := mustPKI(t)
	s := newIssuerServer(t, pki, t.TempDir(), newClock())
	dev := pki.client(t, certs.DevClient)
	tests := []struct {
		name        string
		contentType string
		body        string
		code        string
	}{
		{"NotAForm", "application/json", `{"grant_type":"refresh_token"}`, "invalid_request"},
		{"NoGrantType", "", "client_id=musicdb-console", "invalid_request"},
		{"UnsupportedGrantType", "", "grant_type=password&username=dev&password=x", "unsupported_grant_type"},
		{"Repeated", "", "grant_type=refresh_token&refresh_token=a&refresh_token=b", "invalid_request"},
		{"BadForm", "", "grant_type=%zz", "invalid_request"},
		{"DeviceNoClientID", "", "grant_type=" + url.QueryEscape(deviceGrant) + "&device_code=x", "invalid_request"},
		{"DeviceOtherClient", "", "grant_type=" + url.QueryEscape(deviceGrant) + "&device_code=x&client_id=other", "invalid_client"},
		{"DeviceNoCode", "", "grant_type=" + url.QueryEscape(deviceGrant) + "&client_id=musicdb-console", "invalid_request"},
		{"DeviceUnknownCode", "", "grant_type=" + url.QueryEscape(deviceGrant) + "&client_id=musicdb-console&device_code=mdb_dc_x", "invalid_grant"},
		{"RefreshNoToken", "", "grant_type=refresh_token", "invalid_request"},
		{"RefreshOtherClient", "", "grant_type=refresh_token&refresh_token=x&client_id=other", "invalid_client"},
		{"RefreshUnknown", "", "grant_type=refresh_token&refresh_token=mdb_rt_x", "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(tt.body))
			ct := tt.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			req.Header.Set("Content-Type", ct)
			checkOAuthError(t, send(t, dev, req), tt.code)
		})
	}
	t.Run("DeviceOtherClient", func(t *testing.T) {
		checkOAuthError(t, s.post(t, dev, "/oauth/device", url.Values{"client_id": {"other"}}), "invalid_client")
		checkOAuthError(t, s.post(t, dev, "/oauth/device", url.Values{}), "invalid_request")
	})
	t.Run("NoCertificate", func(t *testing.T) {
		// Behind the server's TLS config this cannot happen; the
		// handlers do not count on it.
		for _, h := range []http.Handler{s.iss.HandleDevice(), s.iss.HandleToken()} {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/oauth/token", strings.NewReader("client_id=musicdb-console&grant_type=refresh_token&refresh_token=x"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			h.ServeHTTP(w, r)
			checkOAuthError(t, answer{w.Code, w.Header(), w.Body.Bytes()}, "invalid_client")
		}
	})
}
