package login

import (
	"io"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
)

// Transport returns the round tripper of the API requests: base, with each
// request carrying the session's token (an oauth2.Transport whose Source
// is s). base must be the process's one transport, so that requests keep
// their connection and are counted.
//
// When the server answers 401 to a token, the token is forgotten, here and
// in the cache. At Local, where a login needs nobody, the request is then
// sent once more with the token of a new login; a 401 from another
// provider's token is left to the caller, whose next request gets
// ErrLoginExpired. A request is sent again only when its body can be had
// anew (http.Request.GetBody); the server refuses a token before doing
// anything, so sending it again cannot do anything twice.
func (s *Session) Transport(base http.RoundTripper) http.RoundTripper {
	return &bearerTransport{s: s, next: &oauth2.Transport{Base: base, Source: s}}
}

type bearerTransport struct {
	s    *Session
	next http.RoundTripper
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || resp.Request == nil {
		return resp, err
	}
	access, ok := strings.CutPrefix(resp.Request.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return resp, nil
	}
	t.s.mu.Lock()
	again := t.s.forget(access)
	t.s.mu.Unlock()
	if !again || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
		return resp, nil
	}
	// Read the refusal to its end, so that the connection carries the
	// next request.
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		retry.Body = body
	}
	return t.next.RoundTrip(retry)
}
