package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ProviderTimeout bounds each call to a token provider made with the
// default client.
const ProviderTimeout = 5 * time.Second

// maxAnswer is the largest provider answer read.
const maxAnswer = 1 << 20

// defaultProviderClient returns the client for a provider's requests: the
// system's roots, no client certificate, ProviderTimeout, and no
// redirects, which could carry a token somewhere else.
func defaultProviderClient() *http.Client {
	return &http.Client{
		Timeout: ProviderTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// askProvider sends req, which carries a token, to the provider called name
// and decodes its JSON answer into v. A 400, 401 or 403 means the provider
// refuses the token: InvalidToken. No answer, any other status, or an
// answer that is not JSON means the provider cannot vouch for anything now:
// Unavailable. Neither error holds the token or the answer's body.
func askProvider(c *http.Client, name string, req *http.Request, v any) error {
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return Unavailable(name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Unavailable(name, fmt.Errorf("read the answer of %s: %w", req.URL.Redacted(), err))
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest, resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return InvalidToken(name + " does not accept the token")
	case resp.StatusCode != http.StatusOK:
		return Unavailable(name, fmt.Errorf("%s answered %s", req.URL.Redacted(), resp.Status))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return Unavailable(name, fmt.Errorf("%s answered with something other than a JSON object: %v", req.URL.Redacted(), err))
	}
	return nil
}

// checkProviderURL checks a URL the server sends tokens to: https, or http
// on a loopback address (for a provider under test on this machine), with
// a host, and without credentials or a fragment.
func checkProviderURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s %q is not a URL", what, raw)
	case u.Host == "" || u.User != nil || u.Fragment != "":
		return nil, fmt.Errorf("%s %q: want https://host/path, without user info or fragment", what, raw)
	case u.Scheme == "https":
		return u, nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return u, nil
	}
	return nil, fmt.Errorf("%s %q: want https (http only on a loopback address)", what, raw)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// flexBool is a JSON boolean that providers also send as "true" or "false".
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	s := strings.Trim(string(data), `"`)
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	*b = flexBool(v)
	return nil
}

// flexInt is a JSON integer that providers also send as a string.
type flexInt int64

func (n *flexInt) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	s := strings.Trim(string(data), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("want a whole number")
	}
	*n = flexInt(v)
	return nil
}
