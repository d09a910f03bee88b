package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"musicdb/server/auth"
	"musicdb/store"
)

// maxBody is the largest request body the API reads.
const maxBody = 1 << 20

// encode writes v as the JSON body of a response with the given status.
func encode[T any](w http.ResponseWriter, r *http.Request, status int, v T) {
	if err := writeJSON(w, status, "application/json", v); err != nil {
		writeError(w, r, fmt.Errorf("encode %T: %w", v, err))
	}
}

// buffers holds the buffers that responses are encoded into, so that a
// response costs no allocation for its body.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSON writes v, encoded as JSON, as the body of a response with the
// given status and content type. When v cannot be encoded it writes nothing
// and returns the error.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) error {
	buf := buffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 { // let the rare huge one go
			buf.Reset()
			buffers.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false) // an API, not a web page: keep <, > and & readable
	if err := enc.Encode(v); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// A validator is a request body that can check its own field values. Its
// Valid returns a message per bad field, or nil.
type validator interface {
	Valid(ctx context.Context) map[string]string
}

// decode reads the request body as one JSON object of type T. Its errors
// carry the status to answer: 415 for a body that is not application/json,
// 413 for one over maxBody, 400 for anything but one JSON object in UTF-8
// with known fields, and 422 for a field of the wrong JSON type or, when T is
// a validator, for values it finds invalid.
func decode[T any](w http.ResponseWriter, r *http.Request) (T, error) {
	var v T
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return v, requestErrorf(http.StatusUnsupportedMediaType, "the body must be application/json")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return v, requestErrorf(http.StatusRequestEntityTooLarge, "the body is over %d bytes", maxBody)
		}
		return v, requestErrorf(http.StatusBadRequest, "the body could not be read")
	}
	data = bytes.TrimLeft(data, " \t\r\n")
	switch {
	case !utf8.Valid(data):
		// encoding/json would replace the bad bytes and store text the
		// client never sent.
		return v, requestErrorf(http.StatusBadRequest, "the body is not valid UTF-8")
	case len(data) == 0:
		return v, requestErrorf(http.StatusBadRequest, "the body is empty; send a JSON object")
	case data[0] != '{':
		return v, requestErrorf(http.StatusBadRequest, "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, requestErrorf(http.StatusBadRequest, "the body has data after the JSON object")
	}
	if val, ok := any(v).(validator); ok {
		if err := store.Invalid(val.Valid(r.Context())); err != nil {
			return v, err
		}
	}
	return v, nil
}

// decodeError turns an error of json.Decoder.Decode into one for the client.
func decodeError(err error) error {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
		return store.Invalid(map[string]string{te.Field: typeMessage(te)})
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "the JSON object is cut short"
	case strings.HasPrefix(msg, "unknown field "):
		// as it is: unknown field "nickname"
	default:
		msg = "the body is not valid JSON: " + msg
	}
	return requestErrorf(http.StatusBadRequest, "%s", msg)
}

// typeMessage says what a field that got a JSON value of the wrong type
// wants. It never quotes the value, which may be a password.
func typeMessage(te *json.UnmarshalTypeError) string {
	switch te.Type.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if strings.HasPrefix(te.Value, "number") {
			return "must be a whole number in range"
		}
		return "must be a whole number"
	case reflect.String:
		return "must be a string"
	}
	return "has the wrong type"
}

// requestError is a fault of the request as a whole rather than of its
// field values: a malformed body or parameter (400), a body that is too large
// (413) or not JSON (415). Its code is EINVALID.
type requestError struct {
	status int
	err    *store.Error
}

func (e *requestError) Error() string { return e.err.Message }
func (e *requestError) Unwrap() error { return e.err }

func requestErrorf(status int, format string, args ...any) error {
	return &requestError{status, store.Errorf(store.EINVALID, format, args...)}
}

// badParams returns the 400 error for path or query parameters that are
// malformed or out of range, with a message per parameter.
func badParams(fields map[string]string) error {
	return &requestError{http.StatusBadRequest, &store.Error{Code: store.EINVALID, Message: "invalid parameters", Fields: fields}}
}

// statuses maps each error code to the status it is answered with. Any other
// error is a fault of ours: 500.
var statuses = map[string]int{
	store.ECONFLICT:     http.StatusConflict,
	store.EFORBIDDEN:    http.StatusForbidden,
	store.EINVALID:      http.StatusUnprocessableEntity,
	store.ENOTFOUND:     http.StatusNotFound,
	store.EUNAUTHORIZED: http.StatusUnauthorized,
	store.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// errorStatus returns the status that answers err.
func errorStatus(err error) int {
	if re, ok := errors.AsType[*requestError](err); ok {
		return re.status
	}
	if _, ok := errors.AsType[*auth.LimitError](err); ok {
		return http.StatusTooManyRequests
	}
	if status, ok := statuses[store.ErrorCode(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// problem is a problem details body (RFC 9457).
type problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail"`
	Errors map[string]string `json:"errors,omitempty"`
}

// writeError answers the request with the problem that err describes. An
// internal error is shown only as "internal error"; the text of any error
// answered with a 5xx, such as why a token provider could not be reached,
// goes to the request's log line.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := errorStatus(err)
	if status >= 500 {
		noteError(r.Context(), err)
	}
	writeProblem(w, problem{
		Status: status,
		Detail: store.ErrorMessage(err),
		Errors: store.ErrorFields(err),
	})
}

// writeProblem writes p, filling in its type and title.
func writeProblem(w http.ResponseWriter, p problem) {
	p.Type = "about:blank"
	p.Title = http.StatusText(p.Status)
	writeJSON(w, p.Status, "application/problem+json", p) // strings and an int always encode
}
