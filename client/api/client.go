// Package api is the typed client of the musicdb REST API, and the one
// HTTP transport it sends everything over.
//
// Client has one method per API call, taking and returning the store's
// types; an error answer comes back as a *StatusError that wraps the store
// error (store.ErrorCode works on it). Transport keeps requests on one
// connection and counts what it does.
//
// The package must never drop a response without reading its body to the end
// (that costs the connection), never replay a request whose effect could
// happen twice, and never put a password anywhere but a request body.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync/atomic"
)

// maxResponse bounds the body of one response; a page of 1000 albums is
// far below it.
const maxResponse = 16 << 20

// Client calls the musicdb API of one server. It is safe for concurrent use.
type Client struct {
	// PageSize is the number of items each page of a list asks for; 0
	// leaves it to the server (100). Lists are followed to their end
	// whatever the size.
	PageSize int

	base *url.URL
	http *http.Client
}

// New returns a client of the server at serverURL (such as
// "https://localhost:8443") that sends its requests with hc. Build hc around
// the one Transport of the process (see NewTransport) so that every request
// goes over the same connection.
func New(serverURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", serverURL, err)
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server URL %q: want https://host[:port]", serverURL)
	}
	return &Client{base: u, http: hc}, nil
}

// url returns the URL of the API path made of elem, with query q.
func (c *Client) url(q url.Values, elem ...string) *url.URL {
	u := c.base.JoinPath(elem...)
	u.RawQuery = q.Encode()
	return u
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// call sends one request with in, if not nil, as its JSON body. It expects
// the status want and decodes the body of that answer into out, if not nil.
// It returns the answer's header.
func (c *Client) call(ctx context.Context, method string, u *url.URL, in any, want int, out any) (http.Header, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	resp, data, err := c.send(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, statusError(resp, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("%s %s: the server's answer is not what the API describes: %w", method, u.Path, err)
		}
	}
	return resp.Header, nil
}

// send makes the request and reads the whole answer, replaying it once on a
// fresh connection when it failed on a reused one and replaying is safe (see
// replayable). net/http already replays, on its own, a request that it
// could not have written, and an idempotent GET whose reused connection the
// server had closed; this adds DELETE and PATCH, which net/http never
// replays once written.
func (c *Client) send(ctx context.Context, method string, u *url.URL, body []byte) (*http.Response, []byte, error) {
	for attempt := 1; ; attempt++ {
		var reused atomic.Bool
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused.Store(info.Reused) }}
		resp, data, err := c.sendOnce(httptrace.WithClientTrace(ctx, trace), method, u, body)
		if err != nil && attempt == 1 && reused.Load() && replayable(method) && ctx.Err() == nil {
			continue
		}
		return resp, data, err
	}
}

// replayable reports whether a request with method may be sent again after
// it failed without an answer, when it may have reached the server. GET and
// DELETE are idempotent. PATCH in general is not, but every PATCH of this API
// sets a value (a password, a rate) rather than changes it by some amount,
// so a second one leaves the same state as the first. POST creates, so it is
// never replayed: a lost answer is reported rather than risking two items.
// A DELETE of one item whose first attempt did reach the server is answered
// 404 the second time; the item is gone either way.
func replayable(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodPatch:
		return true
	}
	return false
}

// sendOnce makes the request once and reads the answer's body to its end.
func (c *Client) sendOnce(ctx context.Context, method string, u *url.URL, body []byte) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body) // sets GetBody, so net/http may rewind it
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading the answer: %w", method, u.Path, err)
	}
	if len(data) > maxResponse {
		return nil, nil, fmt.Errorf("%s %s: the answer is over %d bytes", method, u.Path, maxResponse)
	}
	return resp, data, nil
}

// list gets every page of the list at u, following the Link rel="next"
// headers, and returns the items of all of them. It is never nil.
func list[T any](ctx context.Context, c *Client, u *url.URL) ([]T, error) {
	if c.PageSize > 0 {
		q := u.Query()
		q.Set("limit", strconv.Itoa(c.PageSize))
		u.RawQuery = q.Encode()
	}
	items := []T{}
	seen := map[string]bool{}
	for u != nil {
		if seen[u.String()] {
			return nil, fmt.Errorf("GET %s: the pages of the list lead back to one already read", u.Path)
		}
		seen[u.String()] = true
		var page []T
		h, err := c.call(ctx, http.MethodGet, u, nil, http.StatusOK, &page)
		if err != nil {
			return nil, err
		}
		items = append(items, page...)
		next, err := nextPage(h.Values("Link"), u)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", u.Path, err)
		}
		u = next
	}
	return items, nil
}

// Health checks that the server is up and that TLS works both ways: GET
// /healthz, which needs no token.
func (c *Client) Health(ctx context.Context) error {
	var h struct {
		Status string `json:"status"`
	}
	if _, err := c.call(ctx, http.MethodGet, c.url(nil, "healthz"), nil, http.StatusOK, &h); err != nil {
		return err
	}
	if h.Status != "ok" {
		return errors.New("the server says it is not healthy: " + strconv.Quote(h.Status))
	}
	return nil
}
