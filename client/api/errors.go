package api

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	"musicdb/store"
)

// Problem is a problem details object (RFC 9457), as the server sends it
// with an error status.
type Problem struct {
	Type     string            `json:"type,omitempty"`
	Title    string            `json:"title,omitempty"`
	Status   int               `json:"status,omitempty"`
	Detail   string            `json:"detail,omitempty"`
	Instance string            `json:"instance,omitempty"`
	Errors   map[string]string `json:"errors,omitempty"`
}

// StatusError is an answer of the server with an unexpected status: its HTTP
// status, its problem details, and the store error they stand for, which it
// wraps, so that store.ErrorCode and errors.As see the code.
type StatusError struct {
	Status  int          // the HTTP status, such as 404
	Problem Problem      // the body, or one made up from the status
	Err     *store.Error // the code, the detail and the field messages
}

// Error returns the server's detail, the message meant for the user.
func (e *StatusError) Error() string { return e.Err.Message }

// Unwrap returns the store error.
func (e *StatusError) Unwrap() error { return e.Err }

// statusCode returns the store error code that an error status stands for;
// it mirrors the server's table of code → status.
func statusCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return store.ENOTFOUND
	case http.StatusConflict:
		return store.ECONFLICT
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return store.EINVALID
	case http.StatusUnauthorized:
		return store.EUNAUTHORIZED
	case http.StatusForbidden:
		return store.EFORBIDDEN
	case http.StatusServiceUnavailable:
		return store.EUNAVAILABLE
	}
	if status >= 400 && status < 500 {
		return store.EINVALID // some other mistake in the request, such as 405
	}
	return store.EINTERNAL
}

// statusError builds the error for a response with an unexpected status and
// its body. A body that is not problem+json (from a proxy, say) gets a
// problem made up from the status.
func statusError(resp *http.Response, body []byte) *StatusError {
	p := Problem{
		Type:   "about:blank",
		Title:  http.StatusText(resp.StatusCode),
		Status: resp.StatusCode,
		Detail: fmt.Sprintf("the server answered %s", resp.Status),
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil && mt == "application/problem+json" {
		var got Problem
		if json.Unmarshal(body, &got) == nil && got.Detail != "" {
			p = got
		}
	}
	return &StatusError{
		Status:  resp.StatusCode,
		Problem: p,
		Err:     &store.Error{Code: statusCode(resp.StatusCode), Message: p.Detail, Fields: p.Errors},
	}
}
