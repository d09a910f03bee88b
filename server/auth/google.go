package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GoogleTokenInfoURL is Google's tokeninfo endpoint.
const GoogleTokenInfoURL = "https://oauth2.googleapis.com/tokeninfo"

// GoogleOptions configure NewGoogle.
type GoogleOptions struct {
	// ClientID is musicdb's OAuth client id at Google
	// (MUSICDB_GOOGLE_CLIENT_ID). Required: only tokens issued to it are
	// accepted.
	ClientID string
	// TokenInfoURL replaces GoogleTokenInfoURL, to point at a stand-in.
	TokenInfoURL string
	// Client sends the requests to Google. Nil means the system's roots
	// and a ProviderTimeout timeout, without following redirects.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Google is a Verifier of Google access tokens. It asks Google's tokeninfo
// endpoint about each one and accepts it only when it was issued to
// musicdb's client id and has not expired. The identity is the token's
// email address when Google says it is verified, and else Google's subject
// id (sub).
type Google struct {
	clientID string
	url      string
	client   *http.Client
	now      func() time.Time
}

// NewGoogle returns a Verifier of Google access tokens, or an error of one
// line when an option is missing or wrong.
func NewGoogle(o GoogleOptions) (*Google, error) {
	if o.ClientID == "" {
		return nil, errors.New("auth: Google needs musicdb's client id")
	}
	if o.TokenInfoURL == "" {
		o.TokenInfoURL = GoogleTokenInfoURL
	}
	if _, err := checkProviderURL("Google's tokeninfo URL", o.TokenInfoURL); err != nil {
		return nil, err
	}
	if o.Client == nil {
		o.Client = defaultProviderClient()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Google{clientID: o.ClientID, url: o.TokenInfoURL, client: o.Client, now: o.Now}, nil
}

// Verify asks Google about token. The token goes in a POST form, not in
// the URL, where proxies would log it.
func (g *Google) Verify(ctx context.Context, token string) (TokenInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, strings.NewReader(url.Values{"access_token": {token}}.Encode()))
	if err != nil {
		return TokenInfo{}, Unavailable("Google", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// tokeninfo sends numbers and booleans as strings.
	var ti struct {
		Aud           string   `json:"aud"`
		Azp           string   `json:"azp"`
		Sub           string   `json:"sub"`
		Email         string   `json:"email"`
		EmailVerified flexBool `json:"email_verified"`
		Exp           flexInt  `json:"exp"`
		ExpiresIn     flexInt  `json:"expires_in"`
	}
	if err := askProvider(g.client, "Google", req, &ti); err != nil {
		return TokenInfo{}, err
	}
	// aud is the client the token was issued to; azp, when it differs,
	// the one that asked for it. Only ours will do.
	if ti.Aud != g.clientID && (ti.Aud != "" || ti.Azp != g.clientID) {
		return TokenInfo{}, InvalidToken("the token was issued to another application")
	}
	now := g.now()
	var expiry time.Time
	switch {
	case ti.Exp > 0:
		expiry = time.Unix(int64(ti.Exp), 0)
	case ti.ExpiresIn > 0:
		expiry = now.Add(time.Duration(ti.ExpiresIn) * time.Second)
	}
	if !expiry.IsZero() && !now.Before(expiry) {
		return TokenInfo{}, InvalidToken("the token expired")
	}
	subject := ti.Sub
	if ti.Email != "" && ti.EmailVerified {
		subject = ti.Email
	}
	return TokenInfo{Subject: subject, Expiry: expiry}, nil
}
