package login

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"
)

// maxAnswer bounds the body of any answer of a provider that is read.
const maxAnswer = 1 << 20

// metadata is an authorization server's metadata (RFC 8414), which an
// OpenID Connect discovery document extends.
type metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	IssParameterSupported             bool     `json:"authorization_response_iss_parameter_supported"`
}

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// discoverLocal reads the built-in issuer's metadata from the musicdb
// server. Every endpoint must be on the server itself: its requests carry
// the client certificate, which is for that server alone.
func discoverLocal(ctx context.Context, p *provider) error {
	m, err := fetchMetadata(ctx, p.client, p.issuer+"/.well-known/oauth-authorization-server", p.title)
	if err != nil {
		return err
	}
	if m.Issuer != p.issuer {
		return fmt.Errorf("the server's issuer is %q, not %s itself; refusing to log in there", printable(m.Issuer), p.issuer)
	}
	if m.DeviceAuthorizationEndpoint == "" || m.TokenEndpoint == "" {
		return fmt.Errorf("the server's issuer offers no device authorization (RFC 8628)")
	}
	if len(m.GrantTypesSupported) > 0 && !slices.Contains(m.GrantTypesSupported, deviceGrant) {
		return fmt.Errorf("the server's issuer does not take the device code grant")
	}
	for _, u := range []string{m.DeviceAuthorizationEndpoint, m.TokenEndpoint, m.RevocationEndpoint, m.UserinfoEndpoint} {
		if u != "" && !sameOrigin(u, p.issuer) {
			return fmt.Errorf("the server's issuer names an endpoint elsewhere (%s); refusing to send the client certificate there", printable(u))
		}
	}
	p.conf.Endpoint.DeviceAuthURL = m.DeviceAuthorizationEndpoint
	p.conf.Endpoint.TokenURL = m.TokenEndpoint
	p.revokeURL = m.RevocationEndpoint
	p.userinfoURL = m.UserinfoEndpoint
	return nil
}

// discoverOIDC reads an OpenID Connect provider's discovery document and
// chooses from it the flow (the device flow when the provider has one,
// else the browser) and how the client authenticates at the token endpoint.
func discoverOIDC(ctx context.Context, p *provider) error {
	m, err := fetchMetadata(ctx, p.client, strings.TrimSuffix(p.issuer, "/")+"/.well-known/openid-configuration", p.title)
	if err != nil {
		return err
	}
	// OpenID Connect Discovery 1.0, section 4.3: exactly the same string.
	if m.Issuer != p.issuer {
		return fmt.Errorf("the discovery document of %s names the issuer %q; refusing to log in there", p.issuer, printable(m.Issuer))
	}
	for _, u := range []struct{ name, url string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"device_authorization_endpoint", m.DeviceAuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"userinfo_endpoint", m.UserinfoEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
	} {
		if u.url != "" {
			if err := checkURL(u.name+" of "+p.issuer, u.url); err != nil {
				return err
			}
		}
	}
	if m.TokenEndpoint == "" {
		return fmt.Errorf("the discovery document of %s has no token_endpoint", p.issuer)
	}
	switch {
	case m.DeviceAuthorizationEndpoint != "":
		p.flow = deviceFlow
	case m.AuthorizationEndpoint != "":
		p.flow = loopbackFlow
	default:
		return fmt.Errorf("the discovery document of %s has neither a device_authorization_endpoint nor an authorization_endpoint", p.issuer)
	}
	style, err := authStyle(m.TokenEndpointAuthMethodsSupported, p.conf.ClientSecret != "")
	if err != nil {
		return fmt.Errorf("%s: %w", p.issuer, err)
	}
	p.conf.Endpoint = oauth2.Endpoint{
		AuthURL:       m.AuthorizationEndpoint,
		DeviceAuthURL: m.DeviceAuthorizationEndpoint,
		TokenURL:      m.TokenEndpoint,
		AuthStyle:     style,
	}
	p.revokeURL = m.RevocationEndpoint
	p.userinfoURL = m.UserinfoEndpoint
	p.requireIss = m.IssParameterSupported
	return nil
}

// authStyle chooses how a client authenticates at a token endpoint that
// supports methods (token_endpoint_auth_methods_supported; absent means
// client_secret_basic). A public client sends its client_id in the body
// and nothing else. A confidential one uses the header when the provider
// takes it (the default of RFC 6749 and OpenID Connect) and the body
// otherwise. Never auto-detection, which would send every device-flow poll
// twice.
func authStyle(methods []string, confidential bool) (oauth2.AuthStyle, error) {
	switch {
	case !confidential:
		return oauth2.AuthStyleInParams, nil
	case len(methods) == 0, slices.Contains(methods, "client_secret_basic"):
		return oauth2.AuthStyleInHeader, nil
	case slices.Contains(methods, "client_secret_post"):
		return oauth2.AuthStyleInParams, nil
	}
	return 0, fmt.Errorf("the token endpoint takes a client secret by none of client_secret_basic and client_secret_post (it takes %s)",
		printable(strings.Join(methods, ", ")))
}

// fetchMetadata gets a metadata document.
func fetchMetadata(ctx context.Context, hc *http.Client, u, title string) (*metadata, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot read the login metadata of %s: %w", title, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("cannot read the login metadata of %s: %w", title, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s has no login metadata: GET %s answered %s", title, printable(req.URL.Path), resp.Status)
	}
	var m metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("the login metadata of %s is not valid JSON: %v", title, err)
	}
	return &m, nil
}

// checkURL checks that u, the setting or endpoint called name, is an
// absolute https URL, or an http one on a loopback address, which serves a
// provider run on this machine for tests.
func checkURL(name, u string) error {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.User != nil {
		return fmt.Errorf("%s (%s) is not an absolute URL", name, printable(u))
	}
	switch p.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(p.Hostname()) {
			return nil
		}
		return fmt.Errorf("%s (%s) must be https: http is only for a loopback address", name, printable(u))
	}
	return fmt.Errorf("%s (%s) must be an https URL", name, printable(u))
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin reports whether the URL u has the scheme and host of base.
func sameOrigin(u, base string) bool {
	a, err1 := url.Parse(u)
	b, err2 := url.Parse(base)
	return err1 == nil && err2 == nil && a.Scheme == b.Scheme && a.Host == b.Host
}
