package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"
)

// ErrCodeExpired is the error of a device login whose code expired before
// anyone approved it.
var ErrCodeExpired = errors.New("the code expired before it was approved; run LOGIN again")

// deviceLogin logs in by the device authorization grant (RFC 8628): it
// asks for a code, shows where to enter it, and polls the token endpoint
// until the login is approved, refused or expired. x/oauth2 waits the
// provider's interval before each poll, and longer after slow_down. The
// built-in issuer has approved the code for the client certificate before
// it answers, so nothing is shown for it.
func (p *provider) deviceLogin(ctx context.Context, o *Options) (*oauth2.Token, error) {
	ctx = p.context(ctx)
	authCtx := ctx
	var opts []oauth2.AuthCodeOption
	if p.authDevice && p.conf.ClientSecret != "" {
		if p.conf.Endpoint.AuthStyle == oauth2.AuthStyleInHeader {
			authCtx = context.WithValue(ctx, oauth2.HTTPClient, basicAuthClient(p.client, p.conf.ClientID, p.conf.ClientSecret))
		} else {
			opts = append(opts, oauth2.SetAuthURLParam("client_secret", p.conf.ClientSecret))
		}
	}
	da, err := p.conf.DeviceAuth(authCtx, opts...)
	if err != nil {
		return nil, p.failure("logging in", err)
	}
	if !p.unattended {
		showCode(o.Prompt, p.title, da)
	}
	tok, err := p.conf.DeviceAccessToken(ctx, da)
	if err == nil {
		return tok, nil
	}
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode == "access_denied":
		return nil, fmt.Errorf("login was refused at %s", p.title)
	case errors.As(err, &re) && re.ErrorCode == "expired_token",
		ctx.Err() == nil && !da.Expiry.IsZero() && !time.Now().Before(da.Expiry):
		return nil, ErrCodeExpired
	}
	return nil, p.failure("logging in", err)
}

// showCode tells the person at the console where to approve the login.
func showCode(w io.Writer, title string, da *oauth2.DeviceAuthResponse) {
	fmt.Fprintf(w, "To log in at %s, open\n\n    %s\n\nand enter the code\n\n    %s\n\n",
		title, printable(da.VerificationURI), printable(da.UserCode))
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(w, "(or open %s, which has the code in it)\n", printable(da.VerificationURIComplete))
	}
	if !da.Expiry.IsZero() {
		fmt.Fprintf(w, "Waiting for the approval; the code expires at %s.\n", da.Expiry.Local().Format(time.Kitchen))
	} else {
		fmt.Fprintln(w, "Waiting for the approval.")
	}
}

// basicAuthClient returns a client that sends what hc sends, with the
// client id and secret in an Authorization: Basic header, encoded as
// RFC 6749 section 2.3.1 says (and as x/oauth2 does at the token endpoint).
func basicAuthClient(hc *http.Client, id, secret string) *http.Client {
	c := *hc
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		req = req.Clone(req.Context())
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		return base.RoundTrip(req)
	})
	return &c
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
