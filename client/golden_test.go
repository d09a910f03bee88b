package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in ../testdata")

const (
	sessionScript     = "../testdata/session.txt"
	sessionGolden     = "../testdata/session.golden"
	sessionJSONGolden = "../testdata/session.json.golden"
)

// sessionPasswords are the passwords in session.txt, which must never be
// printed.
var sessionPasswords = []string{"s3cret-pass", "correct horse battery", "carolpass1", "another-pass", "n3w-password"}

// TestSessionGolden runs the golden session, every console command, against
// the real server, once as a person reads it and once with -json.
func TestSessionGolden(t *testing.T) {
	t.Parallel()
	script, err := os.ReadFile(sessionScript)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("text", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t)
		// The transcript: each line as the console reads it, then what
		// the console writes to stdout and stderr, in order.
		// The input lines show the passwords; the console's output must not.
		var transcript, output bytes.Buffer
		in := feed(string(script))
		in.echo = &transcript
		w := io.MultiWriter(&transcript, &output)
		err := Run(context.Background(), ts.args(), ts.env.get, in, w, w)
		if !errors.Is(err, ErrCommandFailed) {
			t.Errorf("Run: got %v, want ErrCommandFailed (the session has failing commands)", err)
		}
		checkNoPasswords(t, output.String())
		checkNoTokens(t, output.String())
		checkGolden(t, sessionGolden, transcript.Bytes())
	})

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t)
		var stdout, stderr bytes.Buffer
		err := Run(context.Background(), ts.args("-json"), ts.env.get, feed(string(script)), &stdout, &stderr)
		if !errors.Is(err, ErrCommandFailed) {
			t.Errorf("Run: got %v, want ErrCommandFailed", err)
		}
		if stderr.Len() > 0 {
			t.Errorf("with -json, stderr got %q, want nothing", stderr.String())
		}
		checkJSONLines(t, stdout.String(), commandCount(t, string(script)))
		checkNoPasswords(t, stdout.String())
		checkNoTokens(t, stdout.String())
		checkGolden(t, sessionJSONGolden, stdout.Bytes())
	})
}

// commandCount returns the number of lines of script that the console runs:
// not blank, not comments, up to QUIT.
func commandCount(t *testing.T, script string) int {
	n := 0
	for line := range strings.Lines(script) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		n++
		if strings.EqualFold(line, "QUIT") {
			return n
		}
	}
	t.Fatal("the script has no QUIT")
	return 0
}

// checkJSONLines checks that out is n lines, each one JSON object with a
// command, a status, and either a result or an error.
func checkJSONLines(t *testing.T, out string, n int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != n {
		t.Errorf("-json printed %d lines, want one per command: %d", len(lines), n)
	}
	for i, line := range lines {
		var v map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("line %d is not a JSON object: %v\n%s", i+1, err, line)
			continue
		}
		_, hasResult := v["result"]
		_, hasError := v["error"]
		if v["command"] == nil || v["status"] == nil || hasResult == hasError {
			t.Errorf("line %d: want command, status, and result or error: %s", i+1, line)
		}
	}
}

func checkNoPasswords(t *testing.T, out string) {
	t.Helper()
	for _, p := range sessionPasswords {
		if strings.Contains(out, p) {
			t.Errorf("the output shows the password %q", p)
		}
	}
}

// checkGolden compares got with the golden file, or rewrites the file with
// -update.
func checkGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to make it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the output differs from %s (go test -update rewrites it):\n%s", file, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}
