package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"musicdb/server/auth"
	"musicdb/store"
)

// requestInfo is what the layers of a request learn about it for its log
// line. observe puts one in the request's context; the layers inside fill it.
type requestInfo struct {
	identity auth.Identity // set by requireIdentity
	err      error         // the error behind a 5xx, set by writeError
}

type requestInfoKey struct{}

func infoOf(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

// noteError keeps err for the request's log line.
func noteError(ctx context.Context, err error) {
	if info := infoOf(ctx); info != nil {
		info.err = err
	}
}

// observe answers, logs and counts every request, however it ends. It writes
// one log line per request and records it in m. A panic in next is logged
// with its stack, counted, and answered 500 when no answer was started; when
// one was, the response is aborted, so the client never takes a cut answer
// for a whole one. http.ErrAbortHandler passes through untouched.
func observe(log *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			info := &requestInfo{}
			r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
			rec := &responseRecorder{ResponseWriter: w}
			defer func() {
				v := recover()
				if v != nil && v != http.ErrAbortHandler {
					m.countPanic()
					log.LogAttrs(r.Context(), slog.LevelError, "panic",
						slog.String("method", r.Method), slog.String("route", r.Pattern),
						slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
					if rec.status == 0 {
						writeError(rec, r, fmt.Errorf("panic: %v", v))
						v = nil
					} else {
						v = http.ErrAbortHandler
					}
				}
				d := time.Since(start)
				m.countRequest(r.Pattern, r.Method, rec.status, d)
				logRequest(log, r, rec, info, d)
				if v != nil {
					panic(v)
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// logRequest writes the one log line of a request. It never logs the body,
// the query or any header: they may hold passwords or tokens.
func logRequest(log *slog.Logger, r *http.Request, rec *responseRecorder, info *requestInfo, d time.Duration) {
	level := slog.LevelInfo
	if rec.status >= 500 {
		level = slog.LevelError
	}
	ctx := r.Context()
	if !log.Enabled(ctx, level) {
		return
	}
	var cn string
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		cn = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", r.Pattern),
		slog.String("path", r.URL.Path),
		slog.Int("status", rec.status),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", d),
		slog.String("proto", r.Proto),
		slog.String("cn", cn),
		slog.String("subject", info.identity.Subject),
		slog.Uint64("conn", connID(ctx)),
	}
	if info.err != nil {
		attrs = append(attrs, slog.String("err", info.err.Error()))
	}
	log.LogAttrs(ctx, level, "request", attrs...)
}

// responseRecorder notes the status and size of a response.
type responseRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rw *responseRecorder) WriteHeader(code int) {
	if rw.status == 0 && code >= 200 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *responseRecorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (rw *responseRecorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// problemsForMux answers in problem+json what a ServeMux answers by itself in
// plain text: a path that no route matches (404), a method that the path's
// routes do not serve (405, with the mux's Allow header) and a request for
// "*" (400). The mux leaves the request's Pattern empty for those alone.
func problemsForMux(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(&muxErrorWriter{ResponseWriter: w, r: r}, r)
	})
}

type muxErrorWriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool // the mux's body is dropped: a problem was written instead
}

func (w *muxErrorWriter) WriteHeader(code int) {
	if w.r.Pattern != "" || code < 400 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.replaced = true
	detail := http.StatusText(code)
	switch code {
	case http.StatusNotFound:
		detail = "nothing at " + w.r.URL.Path
	case http.StatusMethodNotAllowed:
		detail = fmt.Sprintf("%s does not serve %s; it serves %s", w.r.URL.Path, w.r.Method, w.Header().Get("Allow"))
	}
	writeProblem(w.ResponseWriter, problem{Status: code, Detail: detail})
}

func (w *muxErrorWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *muxErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requireIdentity lets a request through to next only when auth says who
// made it, and records who for the log and in the request's context (see
// auth.FromContext). This is the one place where bearer tokens are checked.
func requireIdentity(a Authenticator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := a.Authenticate(r)
			if err != nil {
				switch errorStatus(err) {
				case http.StatusUnauthorized:
					w.Header().Set("WWW-Authenticate", challenge(err))
				case http.StatusTooManyRequests:
					le, _ := errors.AsType[*auth.LimitError](err)
					w.Header().Set("Retry-After", le.RetryAfterSeconds())
				}
				writeError(w, r, err)
				return
			}
			if info := infoOf(r.Context()); info != nil {
				info.identity = id
			}
			next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), id)))
		})
	}
}

// bearerError is an authentication error that names the RFC 6750 error code
// of a token that was presented but is not accepted.
type bearerError interface {
	error
	BearerError() string
}

// challenge returns the WWW-Authenticate value for an EUNAUTHORIZED error:
// a bare Bearer challenge when no token was presented (RFC 6750 §3.1), and
// one with the error code and description when a token was refused.
func challenge(err error) string {
	c := `Bearer realm="musicdb"`
	if be, ok := errors.AsType[bearerError](err); ok {
		c += `, error="` + quotable(be.BearerError()) + `"`
		if msg := quotable(store.ErrorMessage(err)); msg != "" {
			c += `, error_description="` + msg + `"`
		}
	}
	return c
}

// quotable drops the characters that RFC 6750 does not allow in a quoted
// error or error_description: anything but printable ASCII, '"' and '\'.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
