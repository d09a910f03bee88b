package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// mustInit makes a fresh dev PKI in a temporary folder and returns the folder.
func mustInit(tb testing.TB, hosts ...string) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "certs")
	if _, err := Init(dir, hosts...); err != nil {
		tb.Fatal(err)
	}
	return dir
}

func mustReadCert(tb testing.TB, path string) *x509.Certificate {
	tb.Helper()
	cert, err := readCert(path)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}

// snapshot returns the content of every file in dir by name.
func snapshot(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		files[e.Name()] = string(data)
	}
	return files
}

// assertKept fails if a file in before changed or went away.
func assertKept(tb testing.TB, dir string, before map[string]string) map[string]string {
	tb.Helper()
	after := snapshot(tb, dir)
	for name, data := range before {
		if after[name] != data {
			tb.Errorf("%s changed", name)
		}
	}
	return after
}

// assertUnchanged fails unless dir holds exactly the files in before.
func assertUnchanged(tb testing.TB, dir string, before map[string]string) {
	tb.Helper()
	for name := range assertKept(tb, dir, before) {
		if _, ok := before[name]; !ok {
			tb.Errorf("%s appeared", name)
		}
	}
}

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		tb.Fatal(err)
	}
}

func verify(cert, ca *x509.Certificate, usage x509.ExtKeyUsage, host string) error {
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: host})
	return err
}

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	start := time.Now()
	created, err := Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	ca, server, dev := CAPair(dir), ServerPair(dir), ClientPair(dir, DevClient)
	want := []string{ca.Key, ca.Cert, server.Key, server.Cert, dev.Key, dev.Cert}
	if !slices.Equal(created, want) {
		t.Errorf("created %q, want %q", created, want)
	}

	t.Run("Modes", func(t *testing.T) {
		modes := map[string]os.FileMode{dir: 0o700}
		for _, p := range []Pair{ca, server, dev} {
			modes[p.Cert], modes[p.Key] = 0o644, 0o600
		}
		for path, want := range modes {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: got mode %04o, want %04o", path, got, want)
			}
		}
	})

	t.Run("KeysArePKCS8P256", func(t *testing.T) {
		for _, p := range []Pair{ca, server, dev} {
			data, err := os.ReadFile(p.Key)
			if err != nil {
				t.Fatal(err)
			}
			if block, _ := pem.Decode(data); block == nil || block.Type != "PRIVATE KEY" {
				t.Errorf("%s: want one PEM \"PRIVATE KEY\" block", p.Key)
			}
			key, err := readKey(p.Key)
			if err != nil {
				t.Fatal(err)
			}
			if k, ok := key.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
				t.Errorf("%s: got %T, want a P-256 ECDSA key", p.Key, key)
			}
			if !matches(mustReadCert(t, p.Cert), key) {
				t.Errorf("%s does not match %s", p.Key, p.Cert)
			}
		}
	})

	caCert := mustReadCert(t, ca.Cert)
	serverCert := mustReadCert(t, server.Cert)
	devCert := mustReadCert(t, dev.Cert)
	day := 24 * time.Hour

	t.Run("CA", func(t *testing.T) {
		c := caCert
		if !c.IsCA || !c.BasicConstraintsValid || !c.MaxPathLenZero {
			t.Errorf("got IsCA %v, BasicConstraintsValid %v, MaxPathLenZero %v; want all true", c.IsCA, c.BasicConstraintsValid, c.MaxPathLenZero)
		}
		if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; c.KeyUsage != want {
			t.Errorf("got KeyUsage %v, want %v", c.KeyUsage, want)
		}
		if c.Subject.CommonName != "musicdb dev CA" {
			t.Errorf("got CN %q, want %q", c.Subject.CommonName, "musicdb dev CA")
		}
		if life := c.NotAfter.Sub(start); life < 3649*day || life > 3651*day {
			t.Errorf("got a lifetime of %v, want 10 years", life)
		}
		if err := c.CheckSignatureFrom(c); err != nil {
			t.Errorf("not self-signed: %v", err)
		}
	})

	t.Run("Server", func(t *testing.T) {
		c := serverCert
		if !slices.Equal(c.DNSNames, []string{"localhost"}) {
			t.Errorf("got DNS names %q, want [localhost]", c.DNSNames)
		}
		if len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || !c.IPAddresses[1].Equal(net.IPv6loopback) {
			t.Errorf("got IP addresses %v, want [127.0.0.1 ::1]", c.IPAddresses)
		}
		if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || c.KeyUsage != x509.KeyUsageDigitalSignature {
			t.Errorf("got ExtKeyUsage %v, KeyUsage %v; want ServerAuth only, DigitalSignature", c.ExtKeyUsage, c.KeyUsage)
		}
		if c.IsCA {
			t.Error("server certificate is a CA")
		}
		if life := c.NotAfter.Sub(c.NotBefore); life > 397*day || c.NotAfter.Sub(start) < 364*day {
			t.Errorf("got a lifetime of %v, want about a year and at most 397 days", life)
		}
		for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
			if err := verify(c, caCert, x509.ExtKeyUsageServerAuth, host); err != nil {
				t.Errorf("verify for %s: %v", host, err)
			}
		}
		if err := verify(c, caCert, x509.ExtKeyUsageClientAuth, ""); err == nil {
			t.Error("server certificate verifies for client authentication")
		}
	})

	t.Run("DevClient", func(t *testing.T) {
		c := devCert
		if c.Subject.CommonName != DevClient {
			t.Errorf("got CN %q, want %q", c.Subject.CommonName, DevClient)
		}
		if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
			t.Errorf("got ExtKeyUsage %v, want ClientAuth only", c.ExtKeyUsage)
		}
		if life := c.NotAfter.Sub(start); life < 364*day || life > 366*day {
			t.Errorf("got a lifetime of %v, want a year", life)
		}
		if err := verify(c, caCert, x509.ExtKeyUsageClientAuth, ""); err != nil {
			t.Error(err)
		}
		if err := verify(c, caCert, x509.ExtKeyUsageServerAuth, ""); err == nil {
			t.Error("client certificate verifies for server authentication")
		}
	})

	t.Run("SerialsAndClockSkew", func(t *testing.T) {
		seen := map[string]bool{}
		for _, c := range []*x509.Certificate{caCert, serverCert, devCert} {
			// 128 random bits: fewer than 100 happens once in 2^28 runs.
			if n := c.SerialNumber.BitLen(); n < 100 || n > 129 || c.SerialNumber.Sign() <= 0 {
				t.Errorf("%s: serial %x is not a positive 128-bit number", c.Subject.CommonName, c.SerialNumber)
			}
			seen[c.SerialNumber.String()] = true
			if !c.NotBefore.Before(start.Add(-time.Minute)) {
				t.Errorf("%s: NotBefore %v is not backdated for clock skew", c.Subject.CommonName, c.NotBefore)
			}
		}
		if len(seen) != 3 {
			t.Error("serials repeat")
		}
	})
}

func TestInitIsIdempotent(t *testing.T) {
	dir := mustInit(t)
	before := snapshot(t, dir)
	created, err := Init(dir, "db.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 0 {
		t.Errorf("created %q, want nothing", created)
	}
	assertUnchanged(t, dir, before)
}

func TestInitBadHost(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	_, err := Init(dir, "https://db.example.org")
	if want := `host "https://db.example.org" is not a DNS name or IP address`; err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("made the folder all the same")
	}
}

func TestInitMakesWhatIsMissing(t *testing.T) {
	t.Run("DevClient", func(t *testing.T) {
		dir := mustInit(t)
		dev := ClientPair(dir, DevClient)
		os.Remove(dev.Cert)
		os.Remove(dev.Key)
		before := snapshot(t, dir)
		created, err := Init(dir)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{dev.Key, dev.Cert}; !slices.Equal(created, want) {
			t.Errorf("created %q, want %q", created, want)
		}
		assertKept(t, dir, before)
	})

	// A crash between writing a key and its certificate leaves the key alone.
	for _, name := range []string{"ca", "server", DevClient} {
		t.Run("CertOf"+name, func(t *testing.T) {
			dir := mustInit(t)
			p := pairIn(dir, name)
			os.Remove(p.Cert)
			before := snapshot(t, dir)
			created, err := Init(dir)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{p.Cert}; !slices.Equal(created, want) {
				t.Errorf("created %q, want %q", created, want)
			}
			assertKept(t, dir, before)
			key, err := readKey(p.Key)
			if err != nil {
				t.Fatal(err)
			}
			if !matches(mustReadCert(t, p.Cert), key) {
				t.Errorf("new %s does not match the kept %s", p.Cert, p.Key)
			}
			ca := mustReadCert(t, CAPair(dir).Cert)
			if err := verify(mustReadCert(t, ServerPair(dir).Cert), ca, x509.ExtKeyUsageServerAuth, "localhost"); err != nil {
				t.Errorf("server certificate no longer verifies: %v", err)
			}
		})
	}
}

func TestInitRefuses(t *testing.T) {
	other := mustInit(t)
	tests := []struct {
		name  string
		spoil func(dir string)
		want  string // with dir for the folder
	}{
		{"CACertWithoutKey", func(dir string) { os.Remove(CAPair(dir).Key) },
			"dir/ca.crt exists but dir/ca.key does not; refusing to issue"},
		{"CAKeyMismatch", func(dir string) { copyFile(t, CAPair(other).Key, CAPair(dir).Key) },
			"dir/ca.key does not match dir/ca.crt; refusing to issue"},
		{"CAKeyNotPEM", func(dir string) { os.WriteFile(CAPair(dir).Key, []byte("not a key"), 0o600) },
			"dir/ca.key holds no PEM \"PRIVATE KEY\" block"},
		{"NotACA", func(dir string) {
			copyFile(t, ServerPair(dir).Cert, CAPair(dir).Cert)
			copyFile(t, ServerPair(dir).Key, CAPair(dir).Key)
		}, "dir/ca.crt is not a CA certificate; refusing to issue"},
		{"ServerCertWithoutKey", func(dir string) { os.Remove(ServerPair(dir).Key) },
			"dir/server.crt exists but dir/server.key does not"},
		{"ServerKeyMismatch", func(dir string) { copyFile(t, ServerPair(other).Key, ServerPair(dir).Key) },
			"dir/server.key does not match dir/server.crt"},
		{"ServerFromOtherCA", func(dir string) {
			copyFile(t, ServerPair(other).Cert, ServerPair(dir).Cert)
			copyFile(t, ServerPair(other).Key, ServerPair(dir).Key)
		}, "dir/server.crt was not issued by the CA in dir"},
		{"DevFromOtherCA", func(dir string) {
			copyFile(t, ClientPair(other, DevClient).Cert, ClientPair(dir, DevClient).Cert)
			copyFile(t, ClientPair(other, DevClient).Key, ClientPair(dir, DevClient).Key)
		}, "dir/dev.crt was not issued by the CA in dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := mustInit(t)
			tt.spoil(dir)
			before := snapshot(t, dir)
			_, err := Init(dir)
			want := strings.ReplaceAll(tt.want, "dir", dir)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("got error %v, want one containing %q", err, want)
			}
			assertUnchanged(t, dir, before)
			assertNoKeyIn(t, err, dir, other)
		})
	}
}

// assertNoKeyIn fails if err quotes any line of a private key in dirs.
func assertNoKeyIn(tb testing.TB, err error, dirs ...string) {
	tb.Helper()
	if err == nil {
		return
	}
	for _, dir := range dirs {
		keys, _ := filepath.Glob(filepath.Join(dir, "*.key"))
		for _, key := range keys {
			data, _ := os.ReadFile(key)
			for _, line := range strings.Split(string(data), "\n") {
				if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(err.Error(), line) {
					tb.Errorf("error %q quotes %s", err, key)
				}
			}
		}
	}
}

func TestAddClient(t *testing.T) {
	dir := mustInit(t)
	created, err := AddClient(dir, "alice")
	if err != nil || !created {
		t.Fatalf("got %v, %v; want true, nil", created, err)
	}
	p := ClientPair(dir, "alice")
	cert := mustReadCert(t, p.Cert)
	if cert.Subject.CommonName != "alice" {
		t.Errorf("got CN %q, want alice", cert.Subject.CommonName)
	}
	if err := verify(cert, mustReadCert(t, CAPair(dir).Cert), x509.ExtKeyUsageClientAuth, ""); err != nil {
		t.Error(err)
	}
	for path, want := range map[string]os.FileMode{p.Cert: 0o644, p.Key: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: got %v, %v; want mode %04o", path, fi.Mode(), err, want)
		}
	}

	t.Run("Again", func(t *testing.T) {
		before := snapshot(t, dir)
		created, err := AddClient(dir, "alice")
		if err != nil || created {
			t.Errorf("got %v, %v; want false, nil", created, err)
		}
		assertUnchanged(t, dir, before)
	})

	t.Run("Names", func(t *testing.T) {
		for _, name := range []string{"a", "0", "bob_2", "alice.smith", "x-1", strings.Repeat("a", 64)} {
			if created, err := AddClient(dir, name); err != nil || !created {
				t.Errorf("AddClient(%q): got %v, %v; want true, nil", name, created, err)
			}
		}
	})

	t.Run("BadNames", func(t *testing.T) {
		before := snapshot(t, dir)
		for _, name := range []string{"", "Alice", "-x", ".x", "_x", "a/b", "../x", "a b", "é", "a\x00", strings.Repeat("a", 65), "ca", "server"} {
			if _, err := AddClient(dir, name); err == nil || !strings.Contains(err.Error(), "client name") {
				t.Errorf("AddClient(%q): got error %v, want a client name error", name, err)
			}
		}
		assertUnchanged(t, dir, before)
	})

	t.Run("CAKeyMismatch", func(t *testing.T) {
		dir := mustInit(t)
		copyFile(t, CAPair(mustInit(t)).Key, CAPair(dir).Key)
		before := snapshot(t, dir)
		_, err := AddClient(dir, "bob")
		want := CAPair(dir).Key + " does not match " + CAPair(dir).Cert + "; refusing to issue"
		if err == nil || err.Error() != want {
			t.Errorf("got error %v, want %q", err, want)
		}
		assertUnchanged(t, dir, before)
	})

	t.Run("NoCA", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := AddClient(dir, "bob"); err == nil || !strings.Contains(err.Error(), "no CA in "+dir) {
			t.Errorf("got error %v, want no CA", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("wrote %v", entries)
		}
	})
}

func TestReissueServer(t *testing.T) {
	dir := mustInit(t, "old.example.org")
	p := ServerPair(dir)
	old := mustReadCert(t, p.Cert)
	key := snapshot(t, dir)["server.key"]

	if err := ReissueServer(dir, []string{"DB.example.org", "10.0.0.7", "localhost"}); err != nil {
		t.Fatal(err)
	}
	if snapshot(t, dir)["server.key"] != key {
		t.Error("server.key changed")
	}
	cert := mustReadCert(t, p.Cert)
	if cert.SerialNumber.Cmp(old.SerialNumber) == 0 {
		t.Error("serial did not change")
	}
	if want := []string{"localhost", "db.example.org"}; !slices.Equal(cert.DNSNames, want) {
		t.Errorf("got DNS names %q, want %q (the old names are not kept)", cert.DNSNames, want)
	}
	if len(cert.IPAddresses) != 3 || !cert.IPAddresses[2].Equal(net.ParseIP("10.0.0.7")) {
		t.Errorf("got IP addresses %v, want [127.0.0.1 ::1 10.0.0.7]", cert.IPAddresses)
	}
	if k, _ := readKey(p.Key); !matches(cert, k) {
		t.Error("new server.crt does not match the kept server.key")
	}
	if fi, _ := os.Stat(p.Cert); fi.Mode().Perm() != 0o644 {
		t.Errorf("got mode %04o, want 0644", fi.Mode().Perm())
	}
	if err := verify(cert, mustReadCert(t, CAPair(dir).Cert), x509.ExtKeyUsageServerAuth, "db.example.org"); err != nil {
		t.Error(err)
	}

	t.Run("BadHost", func(t *testing.T) {
		before := snapshot(t, dir)
		if err := ReissueServer(dir, []string{"db.example.org:8443"}); err == nil {
			t.Error("got no error")
		}
		assertUnchanged(t, dir, before)
	})

	t.Run("CAKeyMismatch", func(t *testing.T) {
		dir := mustInit(t)
		copyFile(t, CAPair(mustInit(t)).Key, CAPair(dir).Key)
		before := snapshot(t, dir)
		err := ReissueServer(dir, nil)
		if err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("got error %v, want a mismatch", err)
		}
		assertUnchanged(t, dir, before)
	})

	t.Run("NoKey", func(t *testing.T) {
		dir := mustInit(t)
		os.Remove(ServerPair(dir).Key)
		before := snapshot(t, dir)
		err := ReissueServer(dir, nil)
		if want := ServerPair(dir).Key + " does not exist"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got error %v, want %q", err, want)
		}
		assertUnchanged(t, dir, before)
	})
}

func TestServerHosts(t *testing.T) {
	base := []string{"localhost", "127.0.0.1", "::1"}
	tests := []struct {
		in   []string
		want []string // nil for an error
	}{
		{nil, base},
		{[]string{"db.example.org"}, append(base, "db.example.org")},
		{[]string{"DB.Example.ORG", "db.example.org"}, append(base, "db.example.org")},
		{[]string{"LOCALHOST", "::0001", "127.0.0.1"}, base},
		{[]string{"10.1.2.3", "fe80::1", "my-host", "x1"}, append(base, "10.1.2.3", "fe80::1", "my-host", "x1")},
		{[]string{""}, nil},
		{[]string{"https://db.example.org"}, nil},
		{[]string{"db.example.org:8443"}, nil},
		{[]string{"db.example.org."}, nil},
		{[]string{"-db.example.org"}, nil},
		{[]string{"db_1.example.org"}, nil},
		{[]string{"*.example.org"}, nil},
		{[]string{"a b"}, nil},
		{[]string{strings.Repeat("a", 64) + ".org"}, nil},
	}
	for _, tt := range tests {
		got, err := ServerHosts(tt.in...)
		if tt.want == nil {
			if err == nil {
				t.Errorf("ServerHosts(%q): got %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ServerHosts(%q): got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCheckDir(t *testing.T) {
	dir := mustInit(t)
	if err := CheckDir(dir); err != nil {
		t.Errorf("got %v for a fresh folder", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckDir(dir); err == nil || !strings.Contains(err.Error(), "chmod 700 "+dir) {
		t.Errorf("got %v, want advice to chmod 700", err)
	}
	// Init warns through CheckDir rather than changing a folder it did not make.
	if _, err := Init(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
		t.Errorf("Init changed the mode to %04o", fi.Mode().Perm())
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.crt")
	if err := writeFile(path, []byte("one"), 0o644, false); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, []byte("two"), 0o644, false); err == nil {
		t.Error("overwrote a file without replace")
	}
	if data, _ := os.ReadFile(path); string(data) != "one" {
		t.Errorf("got %q, want one", data)
	}
	if err := writeFile(path, []byte("three"), 0o600, true); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "three" {
		t.Errorf("got %q, want three", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("got mode %04o, want 0600", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestThumbprint(t *testing.T) {
	// The SHA-256 of nothing, in base64url without padding.
	if got, want := Thumbprint(&x509.Certificate{}), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	a := mustReadCert(t, ClientPair(mustInit(t), DevClient).Cert)
	b := mustReadCert(t, ClientPair(mustInit(t), DevClient).Cert)
	if Thumbprint(a) == Thumbprint(b) {
		t.Error("two certificates share a thumbprint")
	}
	if bytes.ContainsAny([]byte(Thumbprint(a)), "+/=") {
		t.Errorf("%q is not base64url without padding", Thumbprint(a))
	}
}
