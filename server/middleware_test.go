package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"musicdb/certs"
)

// TestRequestLog checks the fields of the request log line, and that a
// password sent in a body and bearer tokens, good or bad, never reach the
// log.
func TestRequestLog(t *testing.T) {
	ts := newTestServer(t, serverSetup{})
	const password, bad = "pass-7f3a9c-word", "tok-51d2e8-secret"
	r := ts.do(t, "POST", "/users", `{"username":"carol","password":"`+password+`","name":"Carol"}`)
	if r.status != 201 {
		t.Fatalf("POST /users: %d %s", r.status, r.body)
	}
	ts.do(t, "PATCH", "/users/1", `{"password":"`+password+`x"}`)
	ts.do(t, "PATCH", "/users/1", `{"password":"short"}`)
	ts.do(t, "GET", "/users?after="+bad, "")
	if r := ts.do(t, "GET", "/users", "", "Authorization", "Bearer "+bad); r.status != 401 {
		t.Errorf("a bad token: %d, want 401", r.status)
	}

	logs := ts.logs.String()
	for _, secret := range []string{password, ts.devToken, bad, "short"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
	line := requestLine(t, logs, "POST /users")
	want := map[string]any{
		"level": "INFO", "method": "POST", "route": "POST /users", "path": "/users",
		"status": 201.0, "bytes": float64(len(r.body)), "proto": "HTTP/2.0",
		"cn": "dev", "subject": "dev", "conn": 1.0,
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s: got %v (%T), want %v", k, line[k], line[k], v)
		}
	}
	if d, ok := line["duration"].(float64); !ok || d <= 0 {
		t.Errorf("duration: got %v, want a positive number of nanoseconds", line["duration"])
	}
	if _, ok := line["err"]; ok {
		t.Errorf("a 201 has err %v", line["err"])
	}
}

// TestRequestLogConnections checks that the log tells connections apart.
func TestRequestLogConnections(t *testing.T) {
	ts := newTestServer(t, serverSetup{})
	ts.do(t, "GET", "/healthz", "")
	other, _ := ts.clientAs(t, "alice", "h1")
	do(t, other, ts.URL, "GET", "/users", "")
	a := requestLine(t, ts.logs.String(), "GET /healthz")
	b := requestLine(t, ts.logs.String(), "GET /users")
	if a["conn"] == b["conn"] || b["proto"] != "HTTP/1.1" || b["cn"] != "alice" {
		t.Errorf("lines %v and %v: want different conns, and HTTP/1.1 as alice for the second", a, b)
	}
}

// TestPanicRecovery checks that a panicking handler is answered 500 when no
// answer was started, aborted when one was, logged with its stack and
// counted, and that the server goes on serving.
func TestPanicRecovery(t *testing.T) {
	m := NewMetrics()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /before", func(http.ResponseWriter, *http.Request) { panicBeforeAnswer() })
	mux.HandleFunc("GET /after", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		w.Write([]byte(`{"partial":`))
		http.NewResponseController(w).Flush()
		panic("half way")
	})
	mux.HandleFunc("GET /abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	mux.HandleFunc("GET /fine", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	ts := newTestServer(t, serverSetup{handler: observe(log, m)(mux)})

	for _, proto := range []string{"h1", "h2"} {
		t.Run(proto, func(t *testing.T) {
			c := &http.Client{Transport: transport(t, ts.pki.clientConfig(t, certs.DevClient), proto), Timeout: 5 * time.Second}
			p := checkProblem(t, do(t, c, ts.URL, "GET", "/before", ""), 500)
			if p.Detail != "internal error" {
				t.Errorf("detail %q, want internal error", p.Detail)
			}
			for _, path := range []string{"/after", "/abort"} {
				resp, err := c.Get(ts.URL + path)
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				if err == nil {
					t.Errorf("GET %s: the client got a whole answer, want it cut off", path)
				}
			}
			if r := do(t, c, ts.URL, "GET", "/fine", ""); r.status != 200 {
				t.Errorf("GET /fine after the panics: %d", r.status)
			}
		})
	}
	if got := m.panics.Load(); got != 4 {
		t.Errorf("panics counted: %d, want 4 (ErrAbortHandler is not one)", got)
	}
	var stacks int
	for line := range strings.Lines(logs.String()) {
		var entry map[string]any
		json.Unmarshal([]byte(line), &entry)
		if entry["msg"] == "panic" {
			stacks++
			if s, _ := entry["stack"].(string); !strings.Contains(s, "server.panicBeforeAnswer") && entry["route"] == "GET /before" {
				t.Errorf("panic stack does not name the function: %s", s)
			}
		}
	}
	if stacks != 4 {
		t.Errorf("panic lines logged: %d, want 4", stacks)
	}
	if line := requestLine(t, logs.String(), "GET /before"); line["status"] != 500.0 || line["err"] == nil {
		t.Errorf("request line for the panic: %v, want status 500 and an err", line)
	}
}

func panicBeforeAnswer() { panic("before any answer") }
