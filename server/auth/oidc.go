package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// OIDCOptions configure NewOIDC.
type OIDCOptions struct {
	// Issuer is the provider's issuer identifier (MUSICDB_OIDC_ISSUER):
	// an https URL, or http on a loopback address. Required.
	Issuer string
	// ClientID is musicdb's client id at the provider
	// (MUSICDB_OIDC_CLIENT_ID). Required.
	ClientID string
	// Client sends the requests to the provider. Nil means the system's
	// roots and a ProviderTimeout timeout, without following redirects.
	Client *http.Client
}

// OIDC is a Verifier of the access tokens of an OpenID Connect provider.
// It finds the provider's userinfo endpoint by discovery (OpenID Connect
// Discovery 1.0) on first use, then asks it about each token. The identity
// is the email address when the provider says it is verified, and else the
// provider's subject (sub).
//
// Userinfo does not say which client a token was issued to. When the token
// is a JWT that names its client (client_id of RFC 9068, azp, or Okta's
// cid), a token of another client is refused; an opaque token cannot be
// checked so, and any client's token is accepted: restrict who gets in
// with the allow list.
type OIDC struct {
	issuer   string
	clientID string
	client   *http.Client

	discovery flight[struct{}, string]
	// mu guards userinfo, the endpoint once discovery found it.
	mu       sync.Mutex
	userinfo string
}

// NewOIDC returns a Verifier for the provider o.Issuer, or an error of one
// line when an option is missing or wrong. It makes no request: discovery
// happens on the first verification, and is tried again on the next one
// for as long as it fails.
func NewOIDC(o OIDCOptions) (*OIDC, error) {
	if o.Issuer == "" || o.ClientID == "" {
		return nil, errors.New("auth: OpenID Connect needs the issuer and musicdb's client id")
	}
	u, err := checkProviderURL("issuer", o.Issuer)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" {
		return nil, fmt.Errorf("issuer %q: an issuer has no query", o.Issuer)
	}
	if o.Client == nil {
		o.Client = defaultProviderClient()
	}
	return &OIDC{issuer: o.Issuer, clientID: o.ClientID, client: o.Client}, nil
}

// Verify asks the provider's userinfo endpoint whose token it is.
func (p *OIDC) Verify(ctx context.Context, token string) (TokenInfo, error) {
	if client, ok := jwtClient(token); ok && client != p.clientID {
		return TokenInfo{}, InvalidToken("the token was issued to another application")
	}
	endpoint, err := p.userinfoEndpoint(ctx)
	if err != nil {
		return TokenInfo{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return TokenInfo{}, Unavailable(p.issuer, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	var ui struct {
		Sub           string   `json:"sub"`
		Email         string   `json:"email"`
		EmailVerified flexBool `json:"email_verified"`
	}
	if err := askProvider(p.client, p.issuer, req, &ui); err != nil {
		return TokenInfo{}, err
	}
	subject := ui.Sub
	if ui.Email != "" && ui.EmailVerified {
		subject = ui.Email
	}
	return TokenInfo{Subject: subject}, nil
}

// userinfoEndpoint returns the userinfo endpoint, discovering it the first
// time. Concurrent callers share one discovery.
func (p *OIDC) userinfoEndpoint(ctx context.Context) (string, error) {
	p.mu.Lock()
	endpoint := p.userinfo
	p.mu.Unlock()
	if endpoint != "" {
		return endpoint, nil
	}
	return p.discovery.do(struct{}{}, func() (string, error) {
		endpoint, err := p.discover(ctx)
		if err != nil {
			return "", err
		}
		p.mu.Lock()
		p.userinfo = endpoint
		p.mu.Unlock()
		return endpoint, nil
	})
}

// discover reads the provider's discovery document and returns its
// userinfo endpoint.
func (p *OIDC) discover(ctx context.Context) (string, error) {
	docURL := strings.TrimSuffix(p.issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, docURL, nil)
	if err != nil {
		return "", Unavailable(p.issuer, err)
	}
	var doc struct {
		Issuer   string `json:"issuer"`
		Userinfo string `json:"userinfo_endpoint"`
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", Unavailable(p.issuer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", Unavailable(p.issuer, fmt.Errorf("discovery at %s answered %s", docURL, resp.Status))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&doc); err != nil {
		return "", Unavailable(p.issuer, fmt.Errorf("discovery at %s: %v", docURL, err))
	}
	// OpenID Connect Discovery 1.0, section 4.3: exactly the same string,
	// or a document served elsewhere could name another provider's
	// endpoints.
	if doc.Issuer != p.issuer {
		return "", Unavailable(p.issuer, fmt.Errorf("discovery at %s names the issuer %q", docURL, doc.Issuer))
	}
	if doc.Userinfo == "" {
		return "", Unavailable(p.issuer, fmt.Errorf("discovery at %s names no userinfo_endpoint", docURL))
	}
	if _, err := checkProviderURL("userinfo_endpoint", doc.Userinfo); err != nil {
		return "", Unavailable(p.issuer, fmt.Errorf("discovery at %s: %v", docURL, err))
	}
	return doc.Userinfo, nil
}

// jwtClient returns the client that token names, when token is a JWT whose
// payload has a client_id, azp or cid claim. The signature is not checked:
// a forged token will not get past the userinfo endpoint anyway, and this
// only refuses early a token that names another client.
func jwtClient(token string) (string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var claims struct {
		ClientID *string `json:"client_id"`
		Azp      *string `json:"azp"`
		Cid      *string `json:"cid"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return "", false
	}
	for _, c := range []*string{claims.ClientID, claims.Azp, claims.Cid} {
		if c != nil {
			return *c, true
		}
	}
	return "", false
}
