package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"musicdb/certs"
)

// runWith runs the command with args and the environment env, returning its
// standard output and error output.
func runWith(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func lines(format string, dir string, names ...string) string {
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, format+"\n", filepath.Join(dir, name))
	}
	return b.String()
}

var all = []string{"ca.key", "ca.crt", "server.key", "server.crt", "dev.key", "dev.crt"}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestRunInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	stdout, stderr, err := runWith(t, nil, "-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := lines("created %s", dir, all...); stdout != want {
		t.Errorf("got\n%s\nwant\n%s", stdout, want)
	}
	if stderr != "" {
		t.Errorf("got error output %q", stderr)
	}

	stdout, _, err = runWith(t, nil, "-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := lines("%s exists; left as it is", dir, "ca.crt", "ca.key", "server.crt", "server.key", "dev.crt", "dev.key")
	if stdout != want {
		t.Errorf("second run: got\n%s\nwant\n%s", stdout, want)
	}
}

func TestRunDirFromEnv(t *testing.T) {
	envDir := filepath.Join(t.TempDir(), "env")
	env := map[string]string{"MUSICDB_CERTS_DIR": envDir}
	if _, _, err := runWith(t, env); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(certs.CAPair(envDir).Cert); err != nil {
		t.Errorf("MUSICDB_CERTS_DIR not used: %v", err)
	}
	flagDir := filepath.Join(t.TempDir(), "flag")
	if _, _, err := runWith(t, env, "-dir", flagDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(certs.CAPair(flagDir).Cert); err != nil {
		t.Errorf("-dir did not win over MUSICDB_CERTS_DIR: %v", err)
	}
}

func TestRunClient(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	stdout, _, err := runWith(t, nil, "client", "alice", "-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := lines("created %s", dir, append(all, "alice.crt", "alice.key")...); stdout != want {
		t.Errorf("got\n%s\nwant\n%s", stdout, want)
	}
	if cn := readCert(t, certs.ClientPair(dir, "alice").Cert).Subject.CommonName; cn != "alice" {
		t.Errorf("got CN %q, want alice", cn)
	}

	before := readFile(t, certs.ClientPair(dir, "alice").Cert)
	stdout, _, err = runWith(t, nil, "-dir", dir, "client", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := lines("%s exists; left as it is", dir, "alice.crt", "alice.key"); stdout != want {
		t.Errorf("again: got\n%s\nwant\n%s", stdout, want)
	}
	if readFile(t, certs.ClientPair(dir, "alice").Cert) != before {
		t.Error("alice.crt changed")
	}

	// A key left without its certificate by a crash keeps the key.
	os.Remove(certs.ClientPair(dir, "alice").Cert)
	stdout, _, err = runWith(t, nil, "-dir", dir, "client", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := lines("created %s", dir, "alice.crt") + lines("%s exists; left as it is", dir, "alice.key"); stdout != want {
		t.Errorf("key only: got\n%s\nwant\n%s", stdout, want)
	}
}

func TestRunServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	stdout, _, err := runWith(t, nil, "server", "--host", "db.example.org", "-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := lines("created %s", dir, all...); stdout != want {
		t.Errorf("got\n%s\nwant\n%s", stdout, want)
	}
	p := certs.ServerPair(dir)
	if names := readCert(t, p.Cert).DNSNames; !slices.Equal(names, []string{"localhost", "db.example.org"}) {
		t.Errorf("got DNS names %q, want localhost and db.example.org", names)
	}

	key := readFile(t, p.Key)
	stdout, _, err = runWith(t, nil, "-dir", dir, "server", "--host", "api.example.org", "-host", "10.0.0.7")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("reissued %s for localhost, 127.0.0.1, ::1, api.example.org, 10.0.0.7; kept %s\n", p.Cert, p.Key)
	if stdout != want {
		t.Errorf("got %q, want %q", stdout, want)
	}
	if names := readCert(t, p.Cert).DNSNames; !slices.Equal(names, []string{"localhost", "api.example.org"}) {
		t.Errorf("got DNS names %q, want localhost and api.example.org", names)
	}
	if readFile(t, p.Key) != key {
		t.Error("server.key changed")
	}
}

func TestRunHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"client", "-h"}} {
		dir := filepath.Join(t.TempDir(), "certs")
		stdout, _, err := runWith(t, nil, append(args, "-dir", dir)...)
		if err != nil || !strings.HasPrefix(stdout, "usage:") {
			t.Errorf("%q: got %q, %v; want the usage", args, stdout, err)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%q made %s", args, dir)
		}
	}
}

func TestRunRefuses(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frob"}, `unknown command "frob" (see musicdb-certs -h)`},
		{[]string{"client"}, "the client command takes one NAME (see musicdb-certs -h)"},
		{[]string{"client", "a", "b"}, "the client command takes one NAME (see musicdb-certs -h)"},
		{[]string{"client", "Alice"}, `client name "Alice" must be 1 to 64 characters of a-z 0-9 _ . - starting with a letter or digit`},
		{[]string{"client", "../x"}, `client name "../x" must be 1 to 64 characters of a-z 0-9 _ . - starting with a letter or digit`},
		{[]string{"server", "db.example.org"}, `unexpected "db.example.org" (see musicdb-certs -h)`},
		{[]string{"--host", "db.example.org"}, "--host goes with the server command (see musicdb-certs -h)"},
		{[]string{"server", "--host", "https://db.example.org"}, `host "https://db.example.org" is not a DNS name or IP address`},
		{[]string{"-nope"}, "flag provided but not defined: -nope (see musicdb-certs -h)"},
	}
	for _, tt := range tests {
		dir := filepath.Join(t.TempDir(), "certs")
		stdout, _, err := runWith(t, nil, append(tt.args, "-dir", dir)...)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: got error %v, want %q", tt.args, err, tt.want)
		}
		if stdout != "" {
			t.Errorf("%q: got output %q", tt.args, stdout)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%q made %s", tt.args, dir)
		}
	}
}

func TestRunRefusesMismatchedCA(t *testing.T) {
	dir, other := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, d := range []string{dir, other} {
		if _, err := certs.Init(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(certs.CAPair(dir).Key, []byte(readFile(t, certs.CAPair(other).Key)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runWith(t, nil, "-dir", dir, "client", "alice")
	want := certs.CAPair(dir).Key + " does not match " + certs.CAPair(dir).Cert + "; refusing to issue"
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
	if _, err := os.Stat(certs.ClientPair(dir, "alice").Key); err == nil {
		t.Error("wrote alice.key")
	}
}

func TestRunWarnsOfOpenDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runWith(t, nil, "-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := "musicdb-certs: warning: " + dir + " is open to other users (mode 0755) and holds private keys; chmod 700 " + dir + "\n"; stderr != want {
		t.Errorf("got %q, want %q", stderr, want)
	}
}
