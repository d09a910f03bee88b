package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects what a server config reports; handshakes write to it
// from the server's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func mustServerConfig(tb testing.TB, dir string, logs io.Writer) *tls.Config {
	tb.Helper()
	if logs == nil {
		logs = io.Discard
	}
	cfg, err := ServerConfig(CAPair(dir).Cert, ServerPair(dir).Cert, ServerPair(dir).Key, WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

func mustClientConfig(tb testing.TB, caFile string, p Pair) *tls.Config {
	tb.Helper()
	cfg, err := ClientConfig(caFile, p.Cert, p.Key)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// serve starts an HTTPS server with cfg that answers every request with the
// protocol and the client's CN.
func serve(t *testing.T, cfg *tls.Config) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Proto, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	ts.EnableHTTP2 = true
	ts.TLS = cfg
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshakes
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

// get makes one request on a new connection and returns the body of a 200.
func get(url string, cfg *tls.Config) (string, error) {
	// A Transport adds "h2" to its TLSClientConfig, so each gets its own.
	tr := &http.Transport{TLSClientConfig: cfg.Clone(), ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("got status %d, want 200", resp.StatusCode)
	}
	return string(body), err
}

// firstError connects to ts and returns the first error the client sees:
// from the handshake or, because a TLS 1.3 client learns that the server
// rejected its certificate only after its side of the handshake, from the
// first read. An accepted client reads nothing and times out.
func firstError(ts *httptest.Server, cfg *tls.Config) error {
	conn, err := tls.Dial("tcp", ts.Listener.Addr().String(), cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	return err
}

// serverCert returns the certificate ts presents in a new handshake.
func serverCert(t *testing.T, ts *httptest.Server, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", ts.Listener.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// mint issues tmpl from the CA in caDir for a new key, writing the pair to p.
func mint(tb testing.TB, caDir string, tmpl *x509.Certificate, p Pair) {
	tb.Helper()
	ca, err := loadAuthority(CAPair(caDir))
	if err != nil {
		tb.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := ca.issue(tmpl, key.Public())
	if err != nil {
		tb.Fatal(err)
	}
	if err := writeKey(p.Key, key); err != nil {
		tb.Fatal(err)
	}
	if err := writeCert(p.Cert, der, false); err != nil {
		tb.Fatal(err)
	}
}

// replace puts a copy of from at to the way a careful rotation does: whole,
// by rename.
func replace(tb testing.TB, from, to string) {
	tb.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	if err := writeFile(to, data, 0o600, true); err != nil {
		tb.Fatal(err)
	}
}

func TestMutualTLS(t *testing.T) {
	dir := mustInit(t)
	ts := serve(t, mustServerConfig(t, dir, nil))
	client := mustClientConfig(t, CAPair(dir).Cert, ClientPair(dir, DevClient))
	body, err := get(ts.URL, client)
	if err != nil {
		t.Fatal(err)
	}
	if want := "HTTP/2.0 dev"; body != want {
		t.Errorf("got %q, want %q", body, want)
	}
	if _, err := AddClient(dir, "alice"); err != nil {
		t.Fatal(err)
	}
	body, err = get(strings.Replace(ts.URL, "127.0.0.1", "localhost", 1), mustClientConfig(t, CAPair(dir).Cert, ClientPair(dir, "alice")))
	if want := "HTTP/2.0 alice"; err != nil || body != want {
		t.Errorf("got %q, %v; want %q", body, err, want)
	}
}

func TestServerRejects(t *testing.T) {
	dir := mustInit(t)
	other := mustInit(t)
	ts := serve(t, mustServerConfig(t, dir, nil))
	ca := CAPair(dir).Cert

	expired := ClientPair(t.TempDir(), "old")
	tmpl := clientTemplate("old", time.Now().Add(-2*leafLifetime))
	tmpl.NotAfter = time.Now().Add(-time.Hour)
	mint(t, dir, tmpl, expired)

	noCert := mustClientConfig(t, ca, ClientPair(dir, DevClient))
	noCert.Certificates = nil
	tls12 := mustClientConfig(t, ca, ClientPair(dir, DevClient))
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12

	tests := []struct {
		name   string
		client *tls.Config
		alert  string
	}{
		{"NoClientCert", noCert, "tls: certificate required"},
		{"OtherCA", mustClientConfig(t, ca, ClientPair(other, DevClient)), "tls: unknown certificate authority"},
		{"Expired", mustClientConfig(t, ca, expired), "tls: expired certificate"},
		{"ServerCertAsClientCert", mustClientConfig(t, ca, ServerPair(dir)), "tls: bad certificate"},
		{"TLS12", tls12, "tls: protocol version not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := firstError(ts, tt.client)
			if opErr, ok := errors.AsType[*net.OpError](err); !ok || opErr.Op != "remote error" || opErr.Err.Error() != tt.alert {
				t.Errorf("got %v, want the server's alert %q", err, tt.alert)
			}
		})
	}
}

func TestClientRejects(t *testing.T) {
	dir := mustInit(t)
	client := mustClientConfig(t, CAPair(dir).Cert, ClientPair(dir, DevClient))

	t.Run("ServerFromOtherCA", func(t *testing.T) {
		ts := serve(t, mustServerConfig(t, mustInit(t), nil))
		_, err := get(ts.URL, client)
		if _, ok := errors.AsType[x509.UnknownAuthorityError](err); !ok {
			t.Errorf("got %v, want x509.UnknownAuthorityError", err)
		}
	})

	t.Run("NameNotInCert", func(t *testing.T) {
		ts := serve(t, mustServerConfig(t, dir, nil))
		named := client.Clone()
		named.ServerName = "db.example.org"
		err := firstError(ts, named)
		if _, ok := errors.AsType[x509.HostnameError](err); !ok {
			t.Errorf("got %v, want x509.HostnameError", err)
		}
	})
}

func TestServerConfigReloadsServerCert(t *testing.T) {
	dir := mustInit(t)
	var logs logBuffer
	ts := serve(t, mustServerConfig(t, dir, &logs))
	client := mustClientConfig(t, CAPair(dir).Cert, ClientPair(dir, DevClient))
	named := client.Clone()
	named.ServerName = "db.example.org"

	first := serverCert(t, ts, client)
	if want := mustReadCert(t, ServerPair(dir).Cert); first.SerialNumber.Cmp(want.SerialNumber) != 0 {
		t.Fatalf("got serial %x, want %x", first.SerialNumber, want.SerialNumber)
	}
	if err := ReissueServer(dir, []string{"db.example.org"}); err != nil {
		t.Fatal(err)
	}
	second := serverCert(t, ts, named)
	if want := mustReadCert(t, ServerPair(dir).Cert); second.SerialNumber.Cmp(want.SerialNumber) != 0 {
		t.Errorf("got serial %x, want the reissued %x", second.SerialNumber, want.SerialNumber)
	}
	if _, err := get(ts.URL, client); err != nil {
		t.Error(err)
	}
	if n := strings.Count(logs.String(), "reloaded TLS files"); n != 1 {
		t.Errorf("reported %d reloads, want 1:\n%s", n, logs.String())
	}
}

func TestServerConfigReloadsCA(t *testing.T) {
	dir := mustInit(t)
	other := mustInit(t)
	ts := serve(t, mustServerConfig(t, dir, nil))
	ca := CAPair(dir).Cert
	oldClient := mustClientConfig(t, ca, ClientPair(dir, DevClient))
	newClient := mustClientConfig(t, ca, ClientPair(other, DevClient))

	if _, err := get(ts.URL, oldClient); err != nil {
		t.Fatal(err)
	}
	if err := firstError(ts, newClient); err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Fatalf("got %v before the rotation, want unknown certificate authority", err)
	}
	replace(t, CAPair(other).Cert, ca)
	if _, err := get(ts.URL, newClient); err != nil {
		t.Errorf("client of the new CA: %v", err)
	}
	if err := firstError(ts, oldClient); err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Errorf("client of the old CA: got %v, want unknown certificate authority", err)
	}
}

func TestServerConfigKeepsLastGoodFiles(t *testing.T) {
	dir := mustInit(t)
	var logs logBuffer
	ts := serve(t, mustServerConfig(t, dir, &logs))
	client := mustClientConfig(t, CAPair(dir).Cert, ClientPair(dir, DevClient))
	p := ServerPair(dir)
	original := mustReadCert(t, p.Cert).SerialNumber

	staged := ServerPair(t.TempDir())
	names, _ := ServerHosts()
	mint(t, dir, serverTemplate(names, time.Now()), staged)
	next := mustReadCert(t, staged.Cert).SerialNumber

	failures := func() int { return strings.Count(logs.String(), "do not load") }
	steps := []struct {
		name     string
		change   func()
		serial   string
		failures int
	}{
		{"KeyRemoved", func() { os.Remove(p.Key) }, original.String(), 1},
		{"NoChange", func() {}, original.String(), 1},
		{"HalfRotated", func() { replace(t, staged.Cert, p.Cert) }, original.String(), 2},
		{"Rotated", func() { replace(t, staged.Key, p.Key) }, next.String(), 2},
		{"CAGarbled", func() { os.WriteFile(CAPair(dir).Cert, []byte("garbage"), 0o644) }, next.String(), 3},
	}
	for _, step := range steps {
		step.change()
		for range 2 {
			if got := serverCert(t, ts, client).SerialNumber.String(); got != step.serial {
				t.Errorf("%s: got serial %s, want %s", step.name, got, step.serial)
			}
			if _, err := get(ts.URL, client); err != nil {
				t.Errorf("%s: %v", step.name, err)
			}
		}
		if got := failures(); got != step.failures {
			t.Errorf("%s: %d failures reported, want %d:\n%s", step.name, got, step.failures, logs.String())
		}
	}
	assertNoKeyIn(t, errors.New(logs.String()), dir, filepath.Dir(staged.Key))
}

// TestServerConfigRotationUnderLoad runs handshakes while the certificate
// changes, for the race detector and to see that no handshake fails.
func TestServerConfigRotationUnderLoad(t *testing.T) {
	dir := mustInit(t)
	ts := serve(t, mustServerConfig(t, dir, nil))
	client := mustClientConfig(t, CAPair(dir).Cert, ClientPair(dir, DevClient))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				if _, err := get(ts.URL, client); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range 5 {
		if err := ReissueServer(dir, []string{fmt.Sprintf("host%d.example.org", i)}); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

// TestStampsSeeReplacement covers a rotation that keeps the size and lands
// within the file system's timestamp granularity.
func TestStampsSeeReplacement(t *testing.T) {
	dir := mustInit(t)
	p := ServerPair(dir)
	r := &reloader{ca: CAPair(dir).Cert, cert: p.Cert, key: p.Key}
	before := r.stat()
	if !r.stat().same(before) {
		t.Fatal("unchanged files look changed")
	}
	replace(t, p.Cert, p.Cert)
	mtime := before[1].ModTime()
	if err := os.Chtimes(p.Cert, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if r.stat().same(before) {
		t.Error("a file replaced by rename looks unchanged")
	}
}

func TestServerConfigHTTP1Only(t *testing.T) {
	dir := mustInit(t)
	cfg := mustServerConfig(t, dir, nil)
	cfg.NextProtos = []string{"http/1.1"}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Proto)
	}))
	ts.TLS = cfg
	ts.Config.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){} // as -http1 does
	ts.StartTLS()
	defer ts.Close()
	body, err := get(ts.URL, mustClientConfig(t, CAPair(dir).Cert, ClientPair(dir, DevClient)))
	if err != nil || body != "HTTP/1.1" {
		t.Errorf("got %q, %v; want HTTP/1.1", body, err)
	}
}

func TestServerConfigMissingFiles(t *testing.T) {
	for _, name := range []string{"ca.crt", "server.crt", "server.key"} {
		t.Run(name, func(t *testing.T) {
			dir := mustInit(t)
			path := filepath.Join(dir, name)
			os.Remove(path)
			_, err := ServerConfig(CAPair(dir).Cert, ServerPair(dir).Cert, ServerPair(dir).Key)
			if err == nil || !strings.Contains(err.Error(), path+" does not exist") ||
				!strings.Contains(err.Error(), "./run.sh certs") || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line naming %s and ./run.sh certs", err, path)
			}
		})
	}
	t.Run("KeyMismatch", func(t *testing.T) {
		dir := mustInit(t)
		copyFile(t, ServerPair(mustInit(t)).Key, ServerPair(dir).Key)
		_, err := ServerConfig(CAPair(dir).Cert, ServerPair(dir).Cert, ServerPair(dir).Key)
		if err == nil || !strings.Contains(err.Error(), ServerPair(dir).Key) || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("got %v, want a mismatch naming the key", err)
		}
	})
}

func TestClientConfig(t *testing.T) {
	dir := mustInit(t)
	cfg := mustClientConfig(t, CAPair(dir).Cert, ClientPair(dir, DevClient))
	roots := x509.NewCertPool()
	roots.AddCert(mustReadCert(t, CAPair(dir).Cert))
	if !cfg.RootCAs.Equal(roots) {
		t.Error("RootCAs is not exactly the CA file")
	}
	if cfg.MinVersion != tls.VersionTLS13 {
		t.Errorf("got MinVersion %x, want TLS 1.3", cfg.MinVersion)
	}
	if len(cfg.Certificates) != 1 || cfg.Certificates[0].Leaf.Subject.CommonName != DevClient {
		t.Errorf("got %d certificates, want the dev one", len(cfg.Certificates))
	}

	for _, name := range []string{"ca.crt", "dev.crt", "dev.key"} {
		t.Run(name, func(t *testing.T) {
			dir := mustInit(t)
			path := filepath.Join(dir, name)
			os.Remove(path)
			_, err := ClientConfig(CAPair(dir).Cert, ClientPair(dir, DevClient).Cert, ClientPair(dir, DevClient).Key)
			if err == nil || !strings.Contains(err.Error(), path+" does not exist") || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line naming %s", err, path)
			}
		})
	}
	t.Run("Unreadable", func(t *testing.T) {
		dir := mustInit(t)
		key := ClientPair(dir, DevClient).Key
		// A folder in its place: unreadable even to root, unlike mode 0.
		if err := os.Remove(key); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(key, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := ClientConfig(CAPair(dir).Cert, ClientPair(dir, DevClient).Cert, key)
		if err == nil || !strings.HasPrefix(err.Error(), "read client key: ") || !strings.Contains(err.Error(), key) {
			t.Errorf("got %v, want a read error naming %s", err, key)
		}
	})
}

// BenchmarkHandshake measures a new mutual-TLS connection: TCP connect, TLS
// 1.3 handshake with both certificates verified, and one byte each way.
func BenchmarkHandshake(b *testing.B) {
	dir := mustInit(b)
	srv := mustServerConfig(b, dir, nil)
	client := mustClientConfig(b, CAPair(dir).Cert, ClientPair(dir, DevClient))
	client.ServerName = "localhost"
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				buf := make([]byte, 1)
				if _, err := conn.Read(buf); err == nil {
					conn.Write(buf)
				}
			}()
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		conn, err := tls.Dial("tcp", ln.Addr().String(), client)
		if err != nil {
			b.Fatal(err)
		}
		buf := []byte{1}
		if _, err := conn.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Read(buf); err != nil {
			b.Fatal(err)
		}
		conn.Close()
	}
}

// BenchmarkReloadCheck measures what ServerConfig adds to every handshake
// when no file changed: three stats and a copy of the config.
func BenchmarkReloadCheck(b *testing.B) {
	cfg := mustServerConfig(b, mustInit(b), nil)
	hello := &tls.ClientHelloInfo{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cfg.GetConfigForClient(hello); err != nil {
			b.Fatal(err)
		}
	}
}
