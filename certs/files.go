package certs

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultDir is the folder of the dev PKI, relative to the repository root.
const DefaultDir = "var/certs"

// DevClient is the name of the default client certificate, dev.crt/dev.key.
const DevClient = "dev"

// A Pair is the paths of a certificate file and of its private key file.
type Pair struct {
	Cert string
	Key  string
}

// CAPair returns the paths of the CA certificate and key in dir: ca.crt, ca.key.
func CAPair(dir string) Pair { return pairIn(dir, "ca") }

// ServerPair returns the paths of the server certificate and key in dir:
// server.crt, server.key.
func ServerPair(dir string) Pair { return pairIn(dir, "server") }

// ClientPair returns the paths of the named client's certificate and key in
// dir: NAME.crt, NAME.key. It does not check the name; AddClient does.
func ClientPair(dir, name string) Pair { return pairIn(dir, name) }

func pairIn(dir, name string) Pair {
	return Pair{
		Cert: filepath.Join(dir, name+".crt"),
		Key:  filepath.Join(dir, name+".key"),
	}
}

// CheckDir returns an error when dir cannot be examined or when users other
// than its owner may read, write or enter it. The keys inside are 0600 in any
// case, so this is a warning to pass on: Init creates dir as 0700 but leaves
// the mode of an existing folder alone, since it may be one the user shares
// on purpose.
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s is open to other users (mode %04o) and holds private keys; chmod 700 %s", dir, perm, dir)
	}
	return nil
}

// present reports which of a pair's two files exist.
func present(p Pair) (cert, key bool, err error) {
	if cert, err = exists(p.Cert); err != nil {
		return false, false, err
	}
	if key, err = exists(p.Key); err != nil {
		return false, false, err
	}
	return cert, key, nil
}

func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// readFile reads a PEM file, naming it by what it holds when it is missing so
// that the user knows what to make.
func readFile(what, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s %s does not exist; make the dev certificates with ./run.sh certs", what, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return data, nil
}

// readCert returns the first certificate in a PEM file.
func readCert(path string) (*x509.Certificate, error) {
	data, err := readFile("certificate", path)
	if err != nil {
		return nil, err
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return cert, nil
		}
	}
	return nil, fmt.Errorf("%s holds no PEM certificate", path)
}

// readKey returns the PKCS #8 private key in a PEM file. Its errors never
// quote the file's content.
func readKey(path string) (crypto.Signer, error) {
	data, err := readFile("private key", path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s holds no PEM \"PRIVATE KEY\" block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, which cannot sign", path, key)
	}
	return signer, nil
}

// writeKey writes key as a PKCS #8 PEM file of mode 0600, failing if path
// exists: a key is never overwritten.
func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600, false)
}

// writeCert writes a DER certificate as a PEM file of mode 0644. It replaces
// an existing file only when replace is set.
func writeCert(path string, der []byte, replace bool) error {
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644, replace)
}

// writeFile puts data at path through a synced temporary file in the same
// folder, so that after a crash path holds either nothing, its old content or
// all of data. Without replace it links the file into place, which fails if
// path exists; two runs racing to make the same file cannot both win.
func writeFile(path string, data []byte, perm fs.FileMode, replace bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path)
		if errors.Is(err, fs.ErrExist) {
			err = fmt.Errorf("%s appeared while it was being written (is another musicdb-certs running?); run again", path)
		}
	}
	if err != nil {
		return err
	}
	if !replace {
		if err = os.Remove(tmp); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
