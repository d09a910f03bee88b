package auth

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"musicdb/store"
)

// providerAt serves handler over TLS on loopback and returns its URL and a
// client that trusts it.
func providerAt(t *testing.T, handler http.HandlerFunc) (string, *http.Client) {
	t.Helper()
	s := httptest.NewTLSServer(handler)
	t.Cleanup(s.Close)
	return s.URL, s.Client()
}

// TestGoogle checks what Google's tokeninfo answers mean.
func TestGoogle(t *testing.T) {
	c := newClock()
	exp := c.now().Add(time.Hour).Unix()
	tests := []struct {
		name    string
		status  int
		answer  string
		subject string // "" for an error
		code    string
		expiry  time.Time
	}{
		{"VerifiedEmail", 200, fmt.Sprintf(`{"aud":"ours","azp":"ours","sub":"1234","email":"bob@example.com","email_verified":"true","exp":"%d","expires_in":"3599"}`, exp),
			"bob@example.com", "", time.Unix(exp, 0)},
		{"NumbersAndBooleans", 200, fmt.Sprintf(`{"aud":"ours","sub":"1234","email":"bob@example.com","email_verified":true,"exp":%d}`, exp),
			"bob@example.com", "", time.Unix(exp, 0)},
		{"UnverifiedEmail", 200, `{"aud":"ours","sub":"1234","email":"bob@example.com","email_verified":"false","expires_in":"60"}`,
			"1234", "", c.now().Add(time.Minute)},
		{"NoEmail", 200, `{"aud":"ours","sub":"1234"}`, "1234", "", time.Time{}},
		{"AzpWithoutAud", 200, `{"azp":"ours","sub":"1234"}`, "1234", "", time.Time{}},
		{"OtherAudience", 200, `{"aud":"theirs","azp":"ours","sub":"1234"}`, "", store.EUNAUTHORIZED, time.Time{}},
		{"NoAudience", 200, `{"sub":"1234"}`, "", store.EUNAUTHORIZED, time.Time{}},
		{"Expired", 200, fmt.Sprintf(`{"aud":"ours","sub":"1234","exp":"%d"}`, c.now().Unix()), "", store.EUNAUTHORIZED, time.Time{}},
		{"Refused", 400, `{"error":"invalid_token","error_description":"Invalid Value"}`, "", store.EUNAUTHORIZED, time.Time{}},
		{"Down", 500, `oops`, "", store.EUNAVAILABLE, time.Time{}},
		{"RateLimited", 429, `{}`, "", store.EUNAVAILABLE, time.Time{}},
		{"NotJSON", 200, `<html>`, "", store.EUNAVAILABLE, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, client := providerAt(t, func(w http.ResponseWriter, r *http.Request) {
				// The token comes in a POST form, never in the URL.
				if r.Method != "POST" || r.URL.RawQuery != "" || r.PostFormValue("access_token") != "ya29.token" {
					t.Errorf("tokeninfo got %s %s with form %v", r.Method, r.URL, r.PostForm)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.answer)
			})
			g, err := NewGoogle(GoogleOptions{ClientID: "ours", TokenInfoURL: u + "/tokeninfo", Client: client, Now: c.now})
			if err != nil {
				t.Fatal(err)
			}
			info, err := g.Verify(context.Background(), "ya29.token")
			if info.Subject != tt.subject || store.ErrorCode(err) != tt.code || !info.Expiry.Equal(tt.expiry) {
				t.Errorf("got %+v, %v; want subject %q, code %q, expiry %v", info, err, tt.subject, tt.code, tt.expiry)
			}
			if err != nil && strings.Contains(err.Error(), "ya29.token") {
				t.Errorf("the error holds the token: %v", err)
			}
		})
	}
}

// TestSpotify checks what Spotify's /v1/me answers mean.
func TestSpotify(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		answer  string
		subject string
		code    string
	}{
		{"User", 200, `{"id":"wizzler","email":"bob@example.com","display_name":"Bob"}`, "wizzler", ""},
		{"Refused", 401, `{"error":{"status":401,"message":"Invalid access token"}}`, "", store.EUNAUTHORIZED},
		{"NotRegistered", 403, `{"error":{"status":403}}`, "", store.EUNAUTHORIZED},
		{"RateLimited", 429, `{}`, "", store.EUNAVAILABLE},
		{"Down", 502, ``, "", store.EUNAVAILABLE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, client := providerAt(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/me" || r.Header.Get("Authorization") != "Bearer BQD.token" {
					t.Errorf("got %s with Authorization %q", r.URL, r.Header.Get("Authorization"))
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.answer)
			})
			s, err := NewSpotify(SpotifyOptions{APIURL: u + "/", Client: client})
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.Verify(context.Background(), "BQD.token")
			if info.Subject != tt.subject || store.ErrorCode(err) != tt.code {
				t.Errorf("got %+v, %v; want subject %q, code %q", info, err, tt.subject, tt.code)
			}
		})
	}
}

// fakeOIDC is an OpenID Connect provider that counts discoveries and
// userinfo calls.
type fakeOIDC struct {
	url                    string
	client                 *http.Client
	issuer                 string // in the discovery document; "" for url
	userinfo               string // the userinfo_endpoint; "" for url/userinfo
	discoveries, userinfos atomic.Int64
	discoveryStatus        atomic.Int64
}

func newFakeOIDC(t *testing.T) *fakeOIDC {
	f := &fakeOIDC{}
	f.discoveryStatus.Store(200)
	f.url, f.client = providerAt(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			f.discoveries.Add(1)
			issuer, userinfo := f.issuer, f.userinfo
			if issuer == "" {
				issuer = f.url
			}
			if userinfo == "" {
				userinfo = f.url + "/userinfo"
			}
			w.WriteHeader(int(f.discoveryStatus.Load()))
			fmt.Fprintf(w, `{"issuer":%q,"userinfo_endpoint":%q,"token_endpoint":%q}`, issuer, userinfo, f.url+"/token")
		case "/userinfo":
			f.userinfos.Add(1)
			switch r.Header.Get("Authorization") {
			case "Bearer verified", "Bearer " + jwt(`{"azp":"ours"}`):
				fmt.Fprint(w, `{"sub":"24400320","email":"bob@example.com","email_verified":true}`)
			case "Bearer unverified":
				fmt.Fprint(w, `{"sub":"24400320","email":"bob@example.com","email_verified":"false"}`)
			default:
				w.WriteHeader(401)
			}
		default:
			w.WriteHeader(404)
		}
	})
	return f
}

// jwt returns an unsigned JWT with the given payload.
func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + ".c2ln"
}

// TestOIDC checks discovery and userinfo.
func TestOIDC(t *testing.T) {
	f := newFakeOIDC(t)
	p, err := NewOIDC(OIDCOptions{Issuer: f.url, ClientID: "ours", Client: f.client})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		token   string
		subject string
		code    string
	}{
		{"verified", "bob@example.com", ""},
		{"unverified", "24400320", ""},
		{"unknown", "", store.EUNAUTHORIZED},
		{jwt(`{"azp":"ours"}`), "bob@example.com", ""},
		{jwt(`{"client_id":"theirs","azp":"ours"}`), "", store.EUNAUTHORIZED},
		{jwt(`{"cid":"theirs"}`), "", store.EUNAUTHORIZED},
	}
	for _, tt := range tests {
		info, err := p.Verify(context.Background(), tt.token)
		if info.Subject != tt.subject || store.ErrorCode(err) != tt.code {
			t.Errorf("%s: got %+v, %v; want subject %q, code %q", tt.token, info, err, tt.subject, tt.code)
		}
	}
	if d, u := f.discoveries.Load(), f.userinfos.Load(); d != 1 || u != 4 {
		t.Errorf("%d discoveries and %d userinfo calls, want 1 and 4: tokens of another client need none", d, u)
	}
}

// TestOIDCDiscoveryErrors checks that a discovery that fails or cannot be
// trusted means 503, and is tried again.
func TestOIDCDiscoveryErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeOIDC)
		want  string
	}{
		{"Down", func(f *fakeOIDC) { f.discoveryStatus.Store(500) }, "answered 500"},
		{"OtherIssuer", func(f *fakeOIDC) { f.issuer = "https://evil.example.com" }, `names the issuer "https://evil.example.com"`},
		{"TrailingSlash", func(f *fakeOIDC) { f.issuer = f.url + "/" }, "names the issuer"},
		{"PlainUserinfo", func(f *fakeOIDC) { f.userinfo = "http://evil.example.com/userinfo" }, "want https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOIDC(t)
			tt.setup(f)
			p, err := NewOIDC(OIDCOptions{Issuer: f.url, ClientID: "ours", Client: f.client})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				_, err := p.Verify(context.Background(), "verified")
				if store.ErrorCode(err) != store.EUNAVAILABLE || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("got %v, want EUNAVAILABLE saying %q", err, tt.want)
				}
			}
			if d, u := f.discoveries.Load(), f.userinfos.Load(); d != 2 || u != 0 {
				t.Errorf("%d discoveries and %d userinfo calls, want 2 and 0", d, u)
			}
		})
	}
}

// TestProviderSettings checks the options that NewGoogle, NewSpotify and
// NewOIDC refuse.
func TestProviderSettings(t *testing.T) {
	errs := map[string]error{}
	_, errs["GoogleNoClientID"] = NewGoogle(GoogleOptions{})
	_, errs["GooglePlainHTTP"] = NewGoogle(GoogleOptions{ClientID: "x", TokenInfoURL: "http://example.com/tokeninfo"})
	_, errs["SpotifyPlainHTTP"] = NewSpotify(SpotifyOptions{APIURL: "http://api.example.com"})
	_, errs["OIDCNoClientID"] = NewOIDC(OIDCOptions{Issuer: "https://accounts.example.com"})
	_, errs["OIDCNoIssuer"] = NewOIDC(OIDCOptions{ClientID: "x"})
	_, errs["OIDCPlainHTTP"] = NewOIDC(OIDCOptions{Issuer: "http://accounts.example.com", ClientID: "x"})
	_, errs["OIDCUserInfo"] = NewOIDC(OIDCOptions{Issuer: "https://bob:secret@accounts.example.com", ClientID: "x"})
	_, errs["OIDCQuery"] = NewOIDC(OIDCOptions{Issuer: "https://accounts.example.com?tenant=x", ClientID: "x"})
	_, errs["OIDCNotAURL"] = NewOIDC(OIDCOptions{Issuer: "accounts.example.com", ClientID: "x"})
	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %q is not one line", name, err)
		}
	}
	for _, issuer := range []string{"http://127.0.0.1:8080", "http://localhost:9000/realms/x", "http://[::1]:1", "https://accounts.example.com"} {
		if _, err := NewOIDC(OIDCOptions{Issuer: issuer, ClientID: "x"}); err != nil {
			t.Errorf("%s: %v", issuer, err)
		}
	}
}

// TestDefaultProviderClient checks that the provider client follows no
// redirect, which could take a token elsewhere.
func TestDefaultProviderClient(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/v1/me", http.StatusTemporaryRedirect)
	}))
	defer p.Close()
	s, err := NewSpotify(SpotifyOptions{APIURL: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(context.Background(), "t"); store.ErrorCode(err) != store.EUNAVAILABLE || elsewhere.Load() != 0 {
		t.Errorf("a redirect: %v and %d requests elsewhere, want EUNAVAILABLE and none", err, elsewhere.Load())
	}
}
