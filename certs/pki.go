// Package certs makes the musicdb development PKI — a CA, a server
// certificate and client certificates, as PEM files in one folder — and builds
// the mutual-TLS configurations that the server and the client use.
//
// It never overwrites an existing CA or private key, never issues a
// certificate from a CA whose key does not match it, writes keys only to
// files of mode 0600, and never puts key material in an error or a log.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

const (
	caLifetime = 10 * 365 * 24 * time.Hour
	// leafLifetime stays under the 397 days that browsers accept for a
	// server certificate.
	leafLifetime = 365 * 24 * time.Hour
	// clockSkew backdates NotBefore so that a peer whose clock is a little
	// behind accepts a certificate made a moment ago.
	clockSkew = 5 * time.Minute
)

var clientName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// Init makes whatever is missing in dir of the CA, the server certificate and
// the dev client certificate, and returns the paths of the files it wrote.
// It creates dir, and any missing parent, with mode 0700.
//
// It never overwrites a file. A key found without its certificate (left by a
// crash between the two writes) gets a new certificate; a certificate found
// without its key is an error. Existing pairs are checked: a key that does
// not match its certificate, or a certificate not issued by the CA, is an
// error. hosts are extra server names (DNS names or IP addresses), used only
// when the server certificate is made; ReissueServer changes an existing one.
func Init(dir string, hosts ...string) (created []string, err error) {
	names, err := ServerHosts(hosts...)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	now := time.Now()
	ca, created, err := ensureCA(CAPair(dir), now)
	if err != nil {
		return created, err
	}
	more, err := ensureLeaf(ServerPair(dir), ca, serverTemplate(names, now))
	created = append(created, more...)
	if err != nil {
		return created, err
	}
	more, err = ensureLeaf(ClientPair(dir, DevClient), ca, clientTemplate(DevClient, now))
	return append(created, more...), err
}

// AddClient makes the client certificate NAME.crt and key NAME.key in dir,
// issued by the CA there, and reports whether it wrote anything: an existing
// client is left as it is. The name becomes the certificate's CN, which the
// server takes as the client's identity; it must be 1 to 64 characters of
// a-z, 0-9, '_', '.' and '-', starting with a letter or digit, and not "ca"
// or "server" (see CheckClientName).
func AddClient(dir, name string) (created bool, err error) {
	if err := CheckClientName(name); err != nil {
		return false, err
	}
	ca, err := loadAuthority(CAPair(dir))
	if err != nil {
		return false, err
	}
	files, err := ensureLeaf(ClientPair(dir, name), ca, clientTemplate(name, time.Now()))
	return len(files) > 0, err
}

// ReissueServer replaces server.crt in dir with a certificate for localhost,
// 127.0.0.1, ::1 and exactly the given hosts (names from the previous
// certificate are not carried over), for the key in server.key, which it
// keeps. A server using ServerConfig picks the new certificate up at its next
// handshake.
func ReissueServer(dir string, hosts []string) error {
	names, err := ServerHosts(hosts...)
	if err != nil {
		return err
	}
	ca, err := loadAuthority(CAPair(dir))
	if err != nil {
		return err
	}
	p := ServerPair(dir)
	if ok, err := exists(p.Key); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%s does not exist; make the dev certificates with ./run.sh certs", p.Key)
	}
	key, err := readKey(p.Key)
	if err != nil {
		return err
	}
	der, err := ca.issue(serverTemplate(names, time.Now()), key.Public())
	if err != nil {
		return err
	}
	return writeCert(p.Cert, der, true)
}

// ServerHosts returns the names a server certificate is issued for:
// localhost, 127.0.0.1 and ::1, then each extra DNS name (lower-cased) or IP
// address not already listed. A host that is neither, such as a URL or a
// name with a port, is an error.
func ServerHosts(extra ...string) ([]string, error) {
	names := []string{"localhost", "127.0.0.1", "::1"}
	for _, h := range extra {
		name, err := canonicalHost(h)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

func canonicalHost(h string) (string, error) {
	if ip := net.ParseIP(h); ip != nil {
		return ip.String(), nil
	}
	name := strings.ToLower(h)
	if len(name) == 0 || len(name) > 253 {
		return "", fmt.Errorf("host %q is not a DNS name or IP address", h)
	}
	for _, label := range strings.Split(name, ".") {
		if !validLabel(label) {
			return "", fmt.Errorf("host %q is not a DNS name or IP address", h)
		}
	}
	return name, nil
}

func validLabel(label string) bool {
	if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
		return false
	}
	for _, c := range label {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// CheckClientName returns an error saying what is wrong with name if AddClient
// would refuse it.
func CheckClientName(name string) error {
	if !clientName.MatchString(name) {
		return fmt.Errorf("client name %q must be 1 to 64 characters of a-z 0-9 _ . - starting with a letter or digit", name)
	}
	if name == "ca" || name == "server" {
		return fmt.Errorf("client name %q is taken by the %s's own files", name, name)
	}
	return nil
}

// Thumbprint returns the certificate's SHA-256 thumbprint as RFC 8705 defines
// it for the "x5t#S256" confirmation claim: the base64url encoding, without
// padding, of the SHA-256 digest of the DER certificate.
func Thumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authority is a CA certificate with its private key, checked to match.
type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// issue signs tmpl for pub with a fresh serial and returns the DER certificate.
func (ca *authority) issue(tmpl *x509.Certificate, pub crypto.PublicKey) ([]byte, error) {
	return sign(tmpl, ca.cert, pub, ca.key)
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) ([]byte, error) {
	// 128 random bits, plus one so that the serial is never zero.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
}

func caTemplate(now time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: "musicdb dev CA"},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		// The dev CA signs only end-entity certificates.
		MaxPathLenZero: true,
		KeyUsage:       x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

// serverTemplate is for names as ServerHosts returns them.
func serverTemplate(names []string, now time.Time) *x509.Certificate {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "musicdb server"},
		NotBefore:   now.Add(-clockSkew),
		NotAfter:    now.Add(leafLifetime),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, name := range names {
		if ip := net.ParseIP(name); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, name)
		}
	}
	return tmpl
}

func clientTemplate(name string, now time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		NotBefore:   now.Add(-clockSkew),
		NotAfter:    now.Add(leafLifetime),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// ensureCA loads the CA of p, making whatever of it is missing.
func ensureCA(p Pair, now time.Time) (*authority, []string, error) {
	hasCert, hasKey, err := present(p)
	if err != nil {
		return nil, nil, err
	}
	if hasCert && hasKey {
		ca, err := loadAuthority(p)
		return ca, nil, err
	}
	if hasCert {
		return nil, nil, fmt.Errorf("%s exists but %s does not; refusing to issue (restore the key, or remove %s to start a new CA)", p.Cert, p.Key, p.Cert)
	}
	key, created, err := ensureKey(p.Key, hasKey)
	if err != nil {
		return nil, created, err
	}
	tmpl := caTemplate(now)
	der, err := sign(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, created, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, created, err
	}
	if err := writeCert(p.Cert, der, false); err != nil {
		return nil, created, err
	}
	return &authority{cert: cert, key: key}, append(created, p.Cert), nil
}

// ensureLeaf makes whatever is missing of the pair p, issuing its certificate
// from ca with tmpl, or checks the pair if it is whole.
func ensureLeaf(p Pair, ca *authority, tmpl *x509.Certificate) ([]string, error) {
	hasCert, hasKey, err := present(p)
	if err != nil {
		return nil, err
	}
	if hasCert && hasKey {
		return nil, checkLeaf(p, ca)
	}
	if hasCert {
		return nil, fmt.Errorf("%s exists but %s does not; restore the key, or remove %s to issue a new pair", p.Cert, p.Key, p.Cert)
	}
	key, created, err := ensureKey(p.Key, hasKey)
	if err != nil {
		return created, err
	}
	der, err := ca.issue(tmpl, key.Public())
	if err != nil {
		return created, err
	}
	if err := writeCert(p.Cert, der, false); err != nil {
		return created, err
	}
	return append(created, p.Cert), nil
}

// ensureKey reads the key at path if it exists, or makes and writes a new
// P-256 key, reporting the path as created.
func ensureKey(path string, exists bool) (crypto.Signer, []string, error) {
	if exists {
		key, err := readKey(path)
		return key, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKey(path, key); err != nil {
		return nil, nil, err
	}
	return key, []string{path}, nil
}

// loadAuthority reads the CA of p and checks that it can issue certificates.
func loadAuthority(p Pair) (*authority, error) {
	hasCert, hasKey, err := present(p)
	if err != nil {
		return nil, err
	}
	switch {
	case !hasCert && !hasKey:
		return nil, fmt.Errorf("no CA in %s (%s does not exist); make one with ./run.sh certs", filepath.Dir(p.Cert), p.Cert)
	case !hasKey:
		return nil, fmt.Errorf("%s exists but %s does not; refusing to issue", p.Cert, p.Key)
	case !hasCert:
		return nil, fmt.Errorf("%s exists but %s does not; run ./run.sh certs to issue it", p.Key, p.Cert)
	}
	cert, err := readCert(p.Cert)
	if err != nil {
		return nil, err
	}
	key, err := readKey(p.Key)
	if err != nil {
		return nil, err
	}
	if !matches(cert, key) {
		return nil, fmt.Errorf("%s does not match %s; refusing to issue", p.Key, p.Cert)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate; refusing to issue", p.Cert)
	}
	if time.Now().After(cert.NotAfter) {
		return nil, fmt.Errorf("%s expired on %s; refusing to issue", p.Cert, cert.NotAfter.Format(time.DateOnly))
	}
	return &authority{cert: cert, key: key}, nil
}

// checkLeaf reports whether the whole pair p belongs together and to ca.
func checkLeaf(p Pair, ca *authority) error {
	cert, err := readCert(p.Cert)
	if err != nil {
		return err
	}
	key, err := readKey(p.Key)
	if err != nil {
		return err
	}
	if !matches(cert, key) {
		return fmt.Errorf("%s does not match %s", p.Key, p.Cert)
	}
	if err := cert.CheckSignatureFrom(ca.cert); err != nil {
		return fmt.Errorf("%s was not issued by the CA in %s; remove %s and %s to issue a new pair", p.Cert, filepath.Dir(p.Cert), p.Cert, p.Key)
	}
	return nil
}

func matches(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}
