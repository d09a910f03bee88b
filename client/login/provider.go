package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"
)

// The login providers, as -login and LOGIN name them.
const (
	Local   = "local"   // the musicdb server's built-in issuer
	Google  = "google"  // Google accounts
	Spotify = "spotify" // Spotify accounts
	OIDC    = "oidc"    // any OpenID Connect provider, from MUSICDB_OIDC_ISSUER
)

// localClientID is the console's client id at the built-in issuer.
const localClientID = "musicdb-console"

// webTimeout bounds one request to Google, Spotify or an OIDC provider.
const webTimeout = 30 * time.Second

// The places of Google and Spotify that x/oauth2's endpoints do not hold.
const (
	googleIssuer    = "https://accounts.google.com"
	googleRevoke    = "https://oauth2.googleapis.com/revoke"
	googleUserinfo  = "https://openidconnect.googleapis.com/v1/userinfo"
	spotifyIssuer   = "https://accounts.spotify.com"
	spotifyUserinfo = "https://api.spotify.com/v1/me"
)

// Endpoints are the URLs of a provider. In Options they override, field by
// field, the ones built in or discovered.
type Endpoints struct {
	AuthURL       string // the authorization endpoint, for the browser
	DeviceAuthURL string // the device authorization endpoint (RFC 8628)
	TokenURL      string
	RevokeURL     string // the revocation endpoint (RFC 7009)
	UserinfoURL   string // where a token tells who it belongs to
}

// flow is how the console logs in at a provider.
type flow int

const (
	deviceFlow   flow = iota + 1 // device authorization grant (RFC 8628)
	loopbackFlow                 // authorization code with PKCE and a loopback redirect (RFC 8252)
)

// provider is one authorization server and how the console logs in at it.
// Its methods are called with the Session's lock held.
type provider struct {
	name  string // one of Local, Google, Spotify, OIDC
	title string // the provider in a sentence: "Google"
	conf  oauth2.Config
	flow  flow

	// issuer is the provider's issuer identifier: the iss that a browser's
	// answer must carry (RFC 9207), and the mark of its cached tokens.
	issuer     string
	requireIss bool // the provider says it always sends iss

	revokeURL, userinfoURL string
	revokeAuth             bool // the revocation endpoint wants the client authenticated

	// client sends the provider's requests; x/oauth2 gets it through the
	// context (oauth2.HTTPClient).
	client *http.Client

	// unattended is true for the built-in issuer, which approves a login
	// without asking anyone: the console may log in again on its own.
	unattended bool

	// authDevice makes the device authorization request authenticate a
	// confidential client, as RFC 8628 section 3.1 asks; Google wants only
	// the client id there.
	authDevice bool

	// extra goes into the authorization URL.
	extra []oauth2.AuthCodeOption

	// discover, when not nil, reads the provider's metadata and sets the
	// endpoints; discovered records that it succeeded.
	discover   func(ctx context.Context, p *provider) error
	discovered bool
	override   Endpoints
}

// newProvider sets up the provider called name from the options and the
// environment, without a request.
func newProvider(name, server string, o *Options) (*provider, error) {
	getenv := o.Getenv
	web := o.Web
	if web == nil {
		web = &http.Client{Timeout: webTimeout}
	}
	var p *provider
	switch name {
	case Local:
		if o.Local == nil {
			return nil, errors.New("login: Options.Local is required")
		}
		p = &provider{
			name: Local, title: "the musicdb server", flow: deviceFlow,
			conf:   oauth2.Config{ClientID: localClientID, Endpoint: oauth2.Endpoint{AuthStyle: oauth2.AuthStyleInParams}},
			issuer: server, client: o.Local, unattended: true, revokeAuth: true,
			discover: discoverLocal,
		}
	case Google:
		id, secret := getenv("MUSICDB_GOOGLE_CLIENT_ID"), getenv("MUSICDB_GOOGLE_CLIENT_SECRET")
		if id == "" {
			return nil, errors.New("-login google needs MUSICDB_GOOGLE_CLIENT_ID (and MUSICDB_GOOGLE_CLIENT_SECRET for a \"TVs and Limited Input devices\" client)")
		}
		f, err := googleFlow(getenv("MUSICDB_GOOGLE_FLOW"), secret)
		if err != nil {
			return nil, err
		}
		ep := endpoints.Google
		ep.AuthStyle = oauth2.AuthStyleInParams // Google takes the secret in the body only
		p = &provider{
			name: Google, title: "Google", flow: f,
			conf:   oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: ep, Scopes: []string{"openid", "email", "profile"}},
			issuer: googleIssuer, revokeURL: googleRevoke, userinfoURL: googleUserinfo, client: web,
			extra: []oauth2.AuthCodeOption{oauth2.AccessTypeOffline},
		}
	case Spotify:
		id := getenv("MUSICDB_SPOTIFY_CLIENT_ID")
		if id == "" {
			return nil, errors.New("-login spotify needs MUSICDB_SPOTIFY_CLIENT_ID")
		}
		ep := endpoints.Spotify
		ep.AuthStyle = oauth2.AuthStyleInParams // a public client: client_id in the body
		p = &provider{
			name: Spotify, title: "Spotify", flow: loopbackFlow,
			conf:   oauth2.Config{ClientID: id, Endpoint: ep, Scopes: []string{"user-read-email"}},
			issuer: spotifyIssuer, userinfoURL: spotifyUserinfo, client: web,
		}
	case OIDC:
		issuer, id := getenv("MUSICDB_OIDC_ISSUER"), getenv("MUSICDB_OIDC_CLIENT_ID")
		if issuer == "" || id == "" {
			return nil, errors.New("-login oidc needs MUSICDB_OIDC_ISSUER and MUSICDB_OIDC_CLIENT_ID (and MUSICDB_OIDC_CLIENT_SECRET for a confidential client)")
		}
		if err := checkURL("MUSICDB_OIDC_ISSUER", issuer); err != nil {
			return nil, err
		}
		p = &provider{
			name: OIDC, title: issuer,
			conf:   oauth2.Config{ClientID: id, ClientSecret: getenv("MUSICDB_OIDC_CLIENT_SECRET"), Scopes: []string{"openid", "email", "profile"}},
			issuer: issuer, client: web, revokeAuth: true, authDevice: true,
			discover: discoverOIDC,
		}
	default:
		return nil, fmt.Errorf("no login provider %q; want one of local, google, spotify, oidc", name)
	}
	p.override = o.Endpoints[name]
	if p.discover == nil {
		p.apply(p.override)
	}
	return p, nil
}

// googleFlow returns the flow for Google: the one MUSICDB_GOOGLE_FLOW names,
// else the device flow when there is a client secret (a "TVs and Limited
// Input devices" client has one and cannot poll without it) and the browser
// with PKCE when there is none.
func googleFlow(setting, secret string) (flow, error) {
	switch setting {
	case "":
		if secret != "" {
			return deviceFlow, nil
		}
		return loopbackFlow, nil
	case "device":
		if secret == "" {
			return 0, errors.New("the device flow at Google needs MUSICDB_GOOGLE_CLIENT_SECRET")
		}
		return deviceFlow, nil
	case "loopback":
		return loopbackFlow, nil
	}
	return 0, fmt.Errorf("MUSICDB_GOOGLE_FLOW is %q; want device or loopback", setting)
}

// apply sets the endpoints that e gives.
func (p *provider) apply(e Endpoints) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&p.conf.Endpoint.AuthURL, e.AuthURL)
	set(&p.conf.Endpoint.DeviceAuthURL, e.DeviceAuthURL)
	set(&p.conf.Endpoint.TokenURL, e.TokenURL)
	set(&p.revokeURL, e.RevokeURL)
	set(&p.userinfoURL, e.UserinfoURL)
}

// ready makes sure the provider knows its endpoints, discovering them the
// first time.
func (p *provider) ready(ctx context.Context) error {
	if p.discover == nil || p.discovered {
		return nil
	}
	if err := p.discover(ctx, p); err != nil {
		return err
	}
	p.apply(p.override)
	p.discovered = true
	return nil
}

// context returns ctx carrying the provider's HTTP client for x/oauth2.
func (p *provider) context(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, p.client)
}

// entry returns the cache entry of tok, a token of p.
func (p *provider) entry(tok *oauth2.Token) entry {
	return entry{
		Issuer: p.issuer, ClientID: p.conf.ClientID,
		AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry,
	}
}

// owns reports whether e was issued to this provider as it is set up now.
func (p *provider) owns(e entry) bool {
	return e.Issuer == p.issuer && e.ClientID == p.conf.ClientID
}

// login logs in anew by the provider's flow.
func (p *provider) login(ctx context.Context, o *Options) (*oauth2.Token, error) {
	if err := p.ready(ctx); err != nil {
		return nil, err
	}
	if p.flow == deviceFlow {
		return p.deviceLogin(ctx, o)
	}
	return p.browserLogin(ctx, o)
}

// refresh returns a new token for tok, whose access token expired, by its
// refresh token, through x/oauth2's TokenSource.
func (p *provider) refresh(ctx context.Context, tok *oauth2.Token) (*oauth2.Token, error) {
	if err := p.ready(ctx); err != nil {
		return nil, err
	}
	expired := *tok
	expired.Expiry = time.Unix(1, 0) // make the TokenSource refresh it now
	t, err := p.conf.TokenSource(p.context(ctx), &expired).Token()
	if err != nil {
		return nil, p.failure("refreshing the login", err)
	}
	return t, nil
}

// errRefused marks the answer of a provider that will not take a grant any
// more: a refresh token that was revoked, rotated or expired.
var errRefused = errors.New("grant refused")

// failure turns an error of x/oauth2 into one for a person, which never
// quotes a response body. A refused grant (invalid_grant) wraps errRefused.
func (p *provider) failure(doing string, err error) error {
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode == "invalid_grant":
		return fmt.Errorf("%s at %s failed: %s: %w", doing, p.title, describeRetrieve(re), errRefused)
	case errors.As(err, &re):
		return fmt.Errorf("%s at %s failed: %s", doing, p.title, describeRetrieve(re))
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("%s at %s failed: %w", doing, p.title, err)
}

// describeRetrieve says what a token endpoint answered, without its body.
func describeRetrieve(re *oauth2.RetrieveError) string {
	if re.ErrorCode != "" {
		s := printable(re.ErrorCode)
		if re.ErrorDescription != "" {
			s += " (" + printable(re.ErrorDescription) + ")"
		}
		return s
	}
	if re.Response != nil {
		return "it answered " + re.Response.Status
	}
	return "it gave no usable answer"
}

// printable returns s without the characters that could drive a terminal:
// what a provider sends is shown to a person, and must not hide or rewrite
// what else is on the screen.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}
