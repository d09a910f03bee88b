package client

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"musicdb/client/api"
	"musicdb/store"
)

// loginRequests is the number of requests of a console's first login at the
// built-in issuer: its metadata, a device code, and one poll for the tokens.
const loginRequests = 3

// longSession returns a script of n commands, mostly reads, with some
// writes, ending in STATS. It expects a fresh store.
func longSession(n int) []string {
	lines := []string{
		"ADD BAND rock Queen 1970",
		"ADD ALBUM 1 A Night at the Opera 1975",
		"ADD USER alice s3cret-pass Alice Liddell",
		"ADD 1 1 5",
	}
	reads := []string{"SHOW BAND 1", "SHOW ALBUM 1", "SHOW USER 1", "SHOW ALL BANDS", "SHOW ALL ALBUMS_U 1", "SHOW ALL ALBUMS 5", "SHOW ALL ALBUMS_B 1"}
	for i := 0; len(lines) < n-1; i++ {
		switch {
		case i%20 == 0:
			lines = append(lines, fmt.Sprintf("ADD ALBUM 1 Live %d 1979", i))
		case i%20 == 10:
			lines = append(lines, fmt.Sprintf("UPDATE ALBUM 1 %d 1", 1+i%5))
		default:
			lines = append(lines, reads[i%len(reads)])
		}
	}
	return append(lines, "STATS")
}

// lastStats returns the result of the STATS command that ends a -json
// session's output.
func lastStats(t testing.TB, stdout string) api.Stats {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var line struct {
		Command string    `json:"command"`
		Result  api.Stats `json:"result"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil || line.Command != "STATS" {
		t.Fatalf("the last line is not the STATS result (%v): %s", err, lines[len(lines)-1])
	}
	return line.Result
}

// TestOneConnection runs a 1,000-command session and checks, from the
// client's counters and from the server's own count of connections, that it
// took one connection and one TLS handshake, over HTTP/2 and over HTTP/1.1
// keep-alive.
func TestOneConnection(t *testing.T) {
	t.Parallel()
	const commands = 1000
	for _, tc := range []struct {
		name     string
		opts     []serverOption
		protocol string
	}{
		{"HTTP2", nil, "HTTP/2.0"},
		{"HTTP1", []serverOption{http1Only}, "HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, tc.opts...)
			stdout, stderr, err := run(t, ts.env.get, ts.args("-json"), &lineFeeder{lines: longSession(commands)})
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, stderr)
			}
			st := lastStats(t, stdout)
			// Every command but STATS made one request, the health
			// check one more, and the login its own.
			want := api.Stats{Requests: commands + loginRequests, Connections: 1, TLSHandshakes: 1,
				Reused: commands + loginRequests - 1, Protocol: tc.protocol}
			if st != want {
				t.Errorf("STATS: got %+v, want %+v", st, want)
			}
			if n := ts.conns.Load(); n != 1 {
				t.Errorf("the server accepted %d connections, want 1", n)
			}
		})
	}
}

// TestNoKeepAlive checks that -no-keepalive does what it says: one
// connection and one handshake per request, the login's included.
func TestNoKeepAlive(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	stdout, stderr, err := run(t, ts.env.get, ts.args("-json", "-no-keepalive"), &lineFeeder{lines: longSession(20)})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, stderr)
	}
	st := lastStats(t, stdout)
	const want = 20 + loginRequests
	if st.Connections != want || st.TLSHandshakes != want || st.Reused != 0 {
		t.Errorf("STATS: got %+v, want %d connections and handshakes, none reused", st, want)
	}
	if n := ts.conns.Load(); n != want {
		t.Errorf("the server accepted %d connections, want %d", n, want)
	}
}

// TestIdleServer runs a session with pauses against a server that closes
// connections idle for 100 ms: every command must succeed, the console
// reconnecting after each pause, and every write must land exactly once.
func TestIdleServer(t *testing.T) {
	t.Parallel()
	const pause = 200 * time.Millisecond
	for _, tc := range []struct {
		name string
		opts []serverOption
	}{
		{"HTTP2", []serverOption{idleTimeout(100 * time.Millisecond)}},
		{"HTTP1", []serverOption{idleTimeout(100 * time.Millisecond), http1Only}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, tc.opts...)
			in := &lineFeeder{
				lines: []string{
					"ADD BAND rock Queen 1970", // 0
					"ADD BAND rock Pink Floyd 1965",
					"ADD ALBUM 1 A Night at the Opera 1975", // 2: POST after a pause
					"ADD USER alice s3cret-pass Alice Liddell",
					"ADD 1 1 4",          // 4: POST after a pause
					"UPDATE ALBUM 1 5 1", // 5: PATCH after a pause
					"SHOW ALL BANDS",     // 6: GET after a pause
					"REMOVE BAND 2",      // 7: DELETE after a pause
					"ADD BAND metal Motorhead 1975",
					"STATS",
				},
				pause: map[int]time.Duration{2: pause, 4: pause, 5: pause, 6: pause, 7: pause},
			}
			stdout, stderr, err := run(t, ts.env.get, ts.args("-json"), in)
			if err != nil {
				t.Fatalf("Run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			st := lastStats(t, stdout)
			// One connection at the start, one after the login's poll,
			// which waits a second, and one after each pause.
			if st.Connections != 7 || st.TLSHandshakes != 7 {
				t.Errorf("STATS: got %+v, want 7 connections and handshakes", st)
			}
			if n := ts.conns.Load(); n != st.Connections {
				t.Errorf("the server accepted %d connections, the client counted %d", n, st.Connections)
			}

			bands, _, err := ts.store.Bands("", store.Page{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, b := range bands {
				names = append(names, b.Name)
			}
			if got, want := strings.Join(names, ", "), "Queen, Motorhead"; got != want {
				t.Errorf("bands: got %s, want %s", got, want)
			}
			albums, _, err := ts.store.Albums(0, store.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if len(albums) != 1 || albums[0].Ratings != (store.Summary{Count: 1, Average: 5}) {
				t.Errorf("albums: got %+v, want one album rated 5 once", albums)
			}
			users, _, err := ts.store.Users(store.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != 1 {
				t.Errorf("users: got %+v, want alice alone", users)
			}
		})
	}
}

// TestStatsText checks STATS and -v without -json.
func TestStatsText(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	stdout, stderr, err := run(t, ts.env.get, ts.args("-v"), strings.NewReader("SHOW ALL BANDS\nSTATS\n"))
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, stderr)
	}
	// The health check, the login's three requests, SHOW ALL BANDS.
	wantOut := "no bands\n" +
		"requests        5\n" +
		"connections     1\n" +
		"TLS handshakes  1\n" +
		"reused          4\n" +
		"protocol        HTTP/2.0\n"
	if stdout != wantOut {
		t.Errorf("stdout:\ngot:\n%s\nwant:\n%s", stdout, wantOut)
	}
	// -v counts the requests of the whole run, at its end.
	if want := "requests 5, connections 1, TLS handshakes 1, reused 4, protocol HTTP/2.0\n"; stderr != want {
		t.Errorf("stderr: got %q, want %q", stderr, want)
	}
}
