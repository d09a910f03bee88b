package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// errNoRevocation is the error of revoke at a provider that cannot revoke
// tokens, such as Spotify.
var errNoRevocation = errors.New("no revocation endpoint")

// revoke revokes tok at the provider (RFC 7009): its refresh token, then its
// access token, since a provider need not revoke the one with the other. A
// token the provider no longer knows counts as revoked.
func (p *provider) revoke(ctx context.Context, tok *oauth2.Token) error {
	if err := p.ready(ctx); err != nil {
		return err
	}
	if p.revokeURL == "" {
		return errNoRevocation
	}
	for _, t := range []struct{ value, hint string }{
		{tok.RefreshToken, "refresh_token"},
		{tok.AccessToken, "access_token"},
	} {
		if t.value == "" {
			continue
		}
		if err := p.revokeOne(ctx, t.value, t.hint); err != nil {
			return err
		}
	}
	return nil
}

func (p *provider) revokeOne(ctx context.Context, token, hint string) error {
	form := url.Values{"token": {token}, "token_type_hint": {hint}}
	inHeader := false
	if p.revokeAuth {
		form.Set("client_id", p.conf.ClientID)
		if p.conf.ClientSecret != "" {
			if p.conf.Endpoint.AuthStyle == oauth2.AuthStyleInHeader {
				form.Del("client_id")
				inHeader = true
			} else {
				form.Set("client_secret", p.conf.ClientSecret)
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.revokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if inHeader {
		req.SetBasicAuth(url.QueryEscape(p.conf.ClientID), url.QueryEscape(p.conf.ClientSecret))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s to revoke the token: %w", p.title, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	json.Unmarshal(body, &e)
	if e.Error == "invalid_token" {
		return nil // Google's answer for a token it already revoked
	}
	re := &oauth2.RetrieveError{Response: resp, ErrorCode: e.Error, ErrorDescription: e.Description}
	return fmt.Errorf("revoking the token at %s failed: %s", p.title, describeRetrieve(re))
}

// identity returns who tok belongs to, as the provider's userinfo endpoint
// says: an email address, a user name, or the subject, whichever it gives
// first. The status is that of the answer, 0 when none came.
func (p *provider) identity(ctx context.Context, tok *oauth2.Token) (string, int, error) {
	if err := p.ready(ctx); err != nil {
		return "", 0, err
	}
	if p.userinfoURL == "" {
		return "", 0, errors.New("no userinfo endpoint")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.userinfoURL, nil)
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Accept", "application/json")
	tok.SetAuthHeader(req)
	resp, err := p.client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return "", resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", resp.StatusCode, fmt.Errorf("the userinfo endpoint of %s answered %s", p.title, resp.Status)
	}
	var u struct {
		Email             string `json:"email"`
		PreferredUsername string `json:"preferred_username"`
		Sub               string `json:"sub"`
		ID                string `json:"id"` // Spotify's /v1/me
	}
	if err := json.Unmarshal(body, &u); err != nil {
		return "", resp.StatusCode, fmt.Errorf("the userinfo of %s is not valid JSON: %v", p.title, err)
	}
	for _, s := range []string{u.Email, u.PreferredUsername, u.Sub, u.ID} {
		if s != "" {
			return printable(s), resp.StatusCode, nil
		}
	}
	return "", resp.StatusCode, fmt.Errorf("the userinfo of %s names nobody", p.title)
}
