package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"musicdb/certs"
	"musicdb/client/api"
	"musicdb/client/console"
	"musicdb/client/login"
)

// TestSetupErrors checks that the console reports each reason it cannot work
// as one line that says what is wrong, before reading any command, and exits
// with status 2.
func TestSetupErrors(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	main, other := pkiDir(t, "main"), pkiDir(t, "other")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "https://" + ln.Addr().String()
	ln.Close()

	// A server whose clients must come from the other CA: it rejects ours.
	sp := certs.ServerPair(main)
	pickyTLS, err := certs.ServerConfig(certs.CAPair(other).Cert, sp.Cert, sp.Key)
	if err != nil {
		t.Fatal(err)
	}
	picky := startServer(t, func(s *httptest.Server) { s.TLS = pickyTLS })

	dev := certs.ClientPair(main, certs.DevClient)
	for _, tc := range []struct {
		name string
		args []string
		want string // the whole message
	}{
		{
			"ServerDown",
			[]string{"-server", down, "-ca", certs.CAPair(main).Cert, "-cert", dev.Cert, "-key", dev.Key},
			"cannot reach " + down + ": connection refused (is ./run.sh server running?)",
		},
		{
			"WrongCA",
			ts.args("-ca", certs.CAPair(other).Cert),
			"server certificate not signed by " + certs.CAPair(other).Cert,
		},
		{
			"MissingClientCertificate",
			ts.args("-cert", filepath.Join(main, "nobody.crt")),
			"client certificate " + filepath.Join(main, "nobody.crt") + " does not exist; make the dev certificates with ./run.sh certs",
		},
		{
			"ServerRejectsCertificate",
			[]string{"-server", picky.URL, "-ca", certs.CAPair(main).Cert, "-cert", dev.Cert, "-key", dev.Key},
			"server rejected client certificate " + dev.Cert + " (tls: unknown certificate authority)",
		},
		{
			"NotHTTPS",
			ts.args("-server", strings.Replace(ts.URL, "https:", "http:", 1)),
			`server URL "` + strings.Replace(ts.URL, "https:", "http:", 1) + `": want https://host[:port]`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := run(t, noEnv, append(tc.args, "-c", "SHOW ALL BANDS"), strings.NewReader(""))
			if got := ExitStatus(err); got != 2 {
				t.Errorf("exit status: got %d (%v), want 2", got, err)
			}
			if stdout != "" {
				t.Errorf("stdout: got %q, want nothing", stdout)
			}
			if want := tc.want + "\n"; stderr != want {
				t.Errorf("stderr:\ngot:  %q\nwant: %q", stderr, want)
			}
		})
	}
}

// TestFlags checks the exit status of bad flags and of -h.
func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		stderr string // a part of it
	}{
		{[]string{"-h"}, 0, "usage: musicdb [flags] [token]"},
		{[]string{"-nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"tokens"}, 2, `unexpected argument "tokens"`},
		{[]string{"token", "again"}, 2, `unexpected argument "again"`},
		{[]string{"-login", "github"}, 2, `-login "github": want one of local, google, spotify, oidc`},
		{[]string{"-c", "HELP", "token"}, 2, "-c and token do not go together"},
	} {
		_, stderr, err := run(t, noEnv, tc.args, strings.NewReader(""))
		if got := ExitStatus(err); got != tc.status {
			t.Errorf("%v: exit status %d (%v), want %d", tc.args, got, err, tc.status)
		}
		if !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%v: stderr %q does not say %q", tc.args, stderr, tc.stderr)
		}
	}
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{ErrCommandFailed, 1},
		{errors.New("cannot reach the server"), 2},
	} {
		if got := ExitStatus(tc.err); got != tc.want {
			t.Errorf("ExitStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestPipedInput checks the console reading a script from a pipe: no
// prompt, blank lines and comments skipped, every command run even after
// one fails, and exit status 1 for the failure.
func TestPipedInput(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	script := "# a comment\n\n   \nADD BAND rock Queen 1970\n  # an indented comment\nSHOW BAND 9\r\nSHOW ALL BANDS\n"
	stdout, stderr, err := run(t, ts.env.get, ts.args(), strings.NewReader(script))
	if ExitStatus(err) != 1 {
		t.Errorf("exit status: got %d (%v), want 1", ExitStatus(err), err)
	}
	wantOut := "created band 1\nID  NAME   GENRE  YEAR\n1   Queen  rock   1970\n"
	if stdout != wantOut {
		t.Errorf("stdout:\ngot:\n%s\nwant:\n%s", stdout, wantOut)
	}
	if stderr != "no band 9\n" {
		t.Errorf("stderr: got %q, want only the failure", stderr)
	}
}

// TestLastLineWithoutNewline checks that a script's last line counts even
// without a line ending.
func TestLastLineWithoutNewline(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	stdout, _, err := run(t, ts.env.get, ts.args(), strings.NewReader("ADD BAND rock Queen 1970\nSHOW BAND 1"))
	if err != nil || stdout != "created band 1\nband 1: Queen (rock, 1970)\n" {
		t.Errorf("got %q, %v", stdout, err)
	}
}

// TestLongLine checks that a line too long to be a command is reported and
// skipped without losing the lines after it.
func TestLongLine(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	script := "ADD BAND rock " + strings.Repeat("x", maxLine+10) + " 1970\nADD BAND rock Queen 1970\n"
	stdout, stderr, err := run(t, ts.env.get, ts.args(), strings.NewReader(script))
	if ExitStatus(err) != 1 {
		t.Errorf("exit status: got %d (%v), want 1", ExitStatus(err), err)
	}
	if stdout != "created band 1\n" {
		t.Errorf("stdout: got %q, want the second command's result", stdout)
	}
	if !strings.Contains(stderr, "over 65536 bytes") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr: got %q, want one line about the long line", stderr)
	}
}

// TestCommandFlag checks -c: one command, stdin unread, exit status by its
// success.
func TestCommandFlag(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	unread := strings.NewReader("REMOVE ALL BANDS\n")
	stdout, stderr, err := run(t, ts.env.get, ts.args("-c", "ADD BAND pop ABBA 1972"), unread)
	if err != nil || stdout != "created band 1\n" || stderr != "" {
		t.Errorf("-c ADD BAND: got %q, %q, %v", stdout, stderr, err)
	}
	if unread.Len() == 0 {
		t.Error("-c read stdin")
	}

	stdout, stderr, err = run(t, ts.env.get, ts.args("-c", "SHOW BAND 2"), unread)
	if ExitStatus(err) != 1 || stdout != "" || stderr != "no band 2\n" {
		t.Errorf("-c SHOW BAND 2: got %q, %q, exit status %d", stdout, stderr, ExitStatus(err))
	}

	stdout, _, err = run(t, ts.env.get, ts.args("-json", "-c", "ADD 1 2"), unread)
	want := `{"command":"ADD 1 2","status":0,"error":{"title":"invalid command","detail":"missing <rate>; usage: ADD <user_id> <album_id> <rate>"}}` + "\n"
	if ExitStatus(err) != 1 || stdout != want {
		t.Errorf("-json -c 'ADD 1 2': got %s, exit status %d; want %s", stdout, ExitStatus(err), want)
	}
}

func TestNeedsConfirmation(t *testing.T) {
	for _, tc := range []struct {
		line        string
		interactive bool
		want        bool
	}{
		{"REMOVE ALL USERS", true, true},
		{"REMOVE ALL BANDS", true, true},
		{"REMOVE ALL ALBUMS", true, true},
		{"REMOVE ALL ALBUMS_B 1", true, true},
		{"REMOVE ALL ALBUMS_U 1", true, true},
		{"REMOVE ALL ALBUMS 5", true, true},
		{"REMOVE ALL USERS", false, false},
		{"REMOVE ALL ALBUMS 5", false, false},
		{"REMOVE USER 1", true, false},
		{"SHOW ALL USERS", true, false},
	} {
		cmd, err := console.Parse(tc.line, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if got := needsConfirmation(cmd, tc.interactive); got != tc.want {
			t.Errorf("needsConfirmation(%q, interactive %v) = %v, want %v", tc.line, tc.interactive, got, tc.want)
		}
	}
}

// TestConfirm runs a session as on a terminal: REMOVE ALL asks, and only y
// or yes goes ahead.
func TestConfirm(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	cfg, err := parseFlags(ts.args(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	logins, err := login.New(context.Background(), login.Local, login.Options{Server: ts.URL, Getenv: ts.env.get, Local: httpClient(tr)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := api.New(ts.URL, httpClient(logins.Transport(tr)))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	s := &session{api: c, stats: tr.Stats, logins: logins, cfg: cfg, stdout: &stdout, stderr: &stderr, now: testNow.Local, interactive: true}
	script := "ADD BAND rock Queen 1970\nREMOVE ALL BANDS\nno\nREMOVE ALL BANDS\n\nSHOW ALL BANDS\nREMOVE ALL BANDS\nYes\nSHOW ALL BANDS\nREMOVE ALL BANDS\n"
	if err := s.runLines(context.Background(), strings.NewReader(script)); err != nil {
		t.Fatal(err)
	}
	wantOut := "created band 1\nnothing deleted\nnothing deleted\nID  NAME   GENRE  YEAR\n1   Queen  rock   1970\ndeleted every band\nno bands\nnothing deleted\n"
	if stdout.String() != wantOut {
		t.Errorf("stdout:\ngot:\n%s\nwant:\n%s", stdout.String(), wantOut)
	}
	q := "delete every band, album and rating? [y/N] "
	if n := strings.Count(stderr.String(), q); n != 4 {
		t.Errorf("asked %q %d times, want 4; stderr:\n%s", q, n, stderr.String())
	}
	if n := strings.Count(stderr.String(), prompt); n != 8 {
		t.Errorf("prompted %d times, want 8 (7 commands and the end); stderr:\n%s", n, stderr.String())
	}
}

// TestIsTerminal checks that what is not a terminal is taken as a script.
func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(r) {
		t.Error("a pipe is taken for a terminal")
	}
	if isTerminal(strings.NewReader("")) {
		t.Error("a strings.Reader is taken for a terminal")
	}
}

// blockingInput gives one line, then blocks in Read until unblock is
// closed, having said on waiting that the console asked for more.
type blockingInput struct {
	line    string
	waiting chan struct{}
	unblock chan struct{}
}

func (b *blockingInput) Read(p []byte) (int, error) {
	if b.line != "" {
		n := copy(p, b.line)
		b.line = ""
		return n, nil
	}
	close(b.waiting)
	<-b.unblock
	return 0, io.EOF
}

// TestInterrupt checks that the console leaves when its context ends while it
// waits for a line, as on Ctrl-C at the prompt, without waiting for input.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	in := &blockingInput{line: "ADD BAND rock Queen 1970\n", waiting: make(chan struct{}), unblock: make(chan struct{})}
	defer close(in.unblock)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stdout bytes.Buffer
	go func() { done <- Run(ctx, ts.args(), ts.env.get, in, &stdout, io.Discard) }()
	<-in.waiting
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: got %v, want nil: no command failed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if stdout.String() != "created band 1\n" {
		t.Errorf("stdout: got %q, want the result of the line read before", stdout.String())
	}
}
