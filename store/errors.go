package store

import (
	"errors"
	"fmt"
)

// Error codes shared by the store, the server and the client. The server maps
// each code to one HTTP status; the client maps the status back to the code.
const (
	ECONFLICT     = "conflict"     // the item exists already (409)
	EFORBIDDEN    = "forbidden"    // the caller is known but not allowed (403)
	EINTERNAL     = "internal"     // a fault of ours, never the caller's (500)
	EINVALID      = "invalid"      // the input is malformed or out of range (400, 413, 415, 422)
	ENOTFOUND     = "not_found"    // no such item (404)
	EUNAUTHORIZED = "unauthorized" // no credentials, or bad ones (401)
	EUNAVAILABLE  = "unavailable"  // a service we depend on cannot be reached (503)
)

// Error is an error meant for the user: a code from the list above, a message
// that can be shown as it is, and, for EINVALID, a message per input field.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error carrying one message per field.
// It returns nil when fields is empty, so a validator's result can be
// returned as it is.
func Invalid(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "invalid input", Fields: fields}
}

// ErrorCode returns the code of err: "" for nil, the code of an *Error in its
// chain, and EINTERNAL for anything else.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err that is safe to show a user: the
// message of an *Error in its chain, or "internal error" for anything else,
// whose text may hold details meant only for the log.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the per-field messages of an EINVALID error, or nil.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
