package auth

import (
	"context"
	"net/http"
	"strings"
)

// SpotifyAPIURL is the base of Spotify's Web API.
const SpotifyAPIURL = "https://api.spotify.com"

// SpotifyOptions configure NewSpotify.
type SpotifyOptions struct {
	// APIURL replaces SpotifyAPIURL, to point at a stand-in.
	APIURL string
	// Client sends the requests to Spotify. Nil means the system's roots
	// and a ProviderTimeout timeout, without following redirects.
	Client *http.Client
}

// Spotify is a Verifier of Spotify access tokens: it asks Spotify who the
// token belongs to (GET /v1/me). The identity is the Spotify user id.
//
// Spotify says nothing about which application a token was issued to, so
// unlike Google a token that any Spotify application obtained is accepted;
// restrict who gets in with the allow list. Nor is the email address of
// /v1/me an identity: Spotify documents it as unverified, so anyone could
// claim any address.
type Spotify struct {
	meURL  string
	client *http.Client
}

// NewSpotify returns a Verifier of Spotify access tokens, or an error when
// APIURL is not a URL tokens may be sent to.
func NewSpotify(o SpotifyOptions) (*Spotify, error) {
	if o.APIURL == "" {
		o.APIURL = SpotifyAPIURL
	}
	if _, err := checkProviderURL("Spotify's API URL", o.APIURL); err != nil {
		return nil, err
	}
	if o.Client == nil {
		o.Client = defaultProviderClient()
	}
	return &Spotify{meURL: strings.TrimSuffix(o.APIURL, "/") + "/v1/me", client: o.Client}, nil
}

// Verify asks Spotify whose token it is. Spotify does not say when the
// token expires; the Checker's cache holds it no longer than its TTL.
func (s *Spotify) Verify(ctx context.Context, token string) (TokenInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.meURL, nil)
	if err != nil {
		return TokenInfo{}, Unavailable("Spotify", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	var me struct {
		ID string `json:"id"`
	}
	if err := askProvider(s.client, "Spotify", req, &me); err != nil {
		return TokenInfo{}, err
	}
	return TokenInfo{Subject: me.ID}, nil
}
