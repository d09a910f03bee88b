package login

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/oauth2"
)

// cacheName is the token cache's file name inside the musicdb folder of the
// user's configuration folder.
const cacheName = "tokens.json"

// tokenCache is the file that keeps tokens between runs, one per server URL
// and provider. Every change is a read-modify-write under an flock of a lock
// file beside it, and replaces the file atomically (a temporary file, fsync,
// rename), so that two consoles at once neither corrupt it nor lose each
// other's entries. Readers need no lock: they see one whole version or the
// other.
type tokenCache struct {
	path string
}

// cacheFile is the content of the token cache.
type cacheFile struct {
	// Tokens holds the entries by server URL, then by provider name.
	Tokens map[string]map[string]entry `json:"tokens"`
}

// entry is one cached token, with the issuer and client it came from, so
// that a token is not used with a provider set up differently since.
type entry struct {
	Issuer       string    `json:"issuer"`
	ClientID     string    `json:"client_id"`
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

func (e entry) token() *oauth2.Token {
	return &oauth2.Token{AccessToken: e.AccessToken, TokenType: e.TokenType, RefreshToken: e.RefreshToken, Expiry: e.Expiry}
}

// cachePath returns where the token cache lives: musicdb/tokens.json in
// the user's configuration folder.
func cachePath(getenv func(string) string) (string, error) {
	dir, err := configDir(getenv)
	if err != nil {
		return "", fmt.Errorf("cannot find a folder for the token cache: %w", err)
	}
	return filepath.Join(dir, "musicdb", cacheName), nil
}

// configDir is os.UserConfigDir, reading the environment through getenv:
// $XDG_CONFIG_HOME, else $HOME/.config; on macOS, $HOME/Library/Application
// Support.
func configDir(getenv func(string) string) (string, error) {
	home := getenv("HOME")
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		if home == "" {
			return "", errors.New("$HOME is not set")
		}
		return filepath.Join(home, "Library", "Application Support"), nil
	}
	if dir := getenv("XDG_CONFIG_HOME"); dir != "" {
		if !filepath.IsAbs(dir) {
			return "", fmt.Errorf("$XDG_CONFIG_HOME (%s) is not an absolute path", dir)
		}
		return dir, nil
	}
	if home == "" {
		return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME is set")
	}
	return filepath.Join(home, ".config"), nil
}

// get returns the entry of server and provider.
func (f *cacheFile) get(server, provider string) (entry, bool) {
	e, ok := f.Tokens[server][provider]
	return e, ok
}

func (f *cacheFile) put(server, provider string, e entry) {
	if f.Tokens == nil {
		f.Tokens = map[string]map[string]entry{}
	}
	if f.Tokens[server] == nil {
		f.Tokens[server] = map[string]entry{}
	}
	f.Tokens[server][provider] = e
}

func (f *cacheFile) remove(server, provider string) {
	delete(f.Tokens[server], provider)
	if len(f.Tokens[server]) == 0 {
		delete(f.Tokens, server)
	}
}

// read returns what the cache holds; nothing when the file does not exist.
func (c *tokenCache) read() (*cacheFile, error) {
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &cacheFile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the token cache: %w", err)
	}
	var f cacheFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("the token cache %s is damaged (%v); delete it and log in again", c.path, err)
	}
	return &f, nil
}

// update runs change on what the cache holds, holding the cache's lock,
// and writes the result back when change reports that it changed it, even
// when change also returns an error. It returns change's error, or the
// error of reading or writing the cache.
func (c *tokenCache) update(change func(f *cacheFile) (changed bool, err error)) error {
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot make the token cache's folder: %w", err)
	}
	// The folder is ours; a token cache must not sit in one that others
	// can list or write into.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("cannot protect the token cache's folder: %w", err)
	}
	lock, err := os.OpenFile(c.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("cannot lock the token cache: %w", err)
	}
	defer lock.Close() // drops the lock too
	if err := flock(lock, syscall.LOCK_EX); err != nil {
		return fmt.Errorf("cannot lock the token cache: %w", err)
	}
	f, err := c.read()
	if err != nil {
		return err
	}
	changed, changeErr := change(f)
	if changed {
		if err := c.write(f); err != nil {
			return err
		}
	}
	return changeErr
}

// write replaces the cache file with f: a new file of mode 0600, synced,
// renamed over the old one, and the folder synced.
func (c *tokenCache) write(f *cacheFile) (err error) {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(c.path)
	tmp, err := os.CreateTemp(dir, cacheName+".*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("cannot write the token cache: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("cannot write the token cache: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot write the token cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write the token cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("cannot write the token cache: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil // the file is in place; only its durability is in doubt
	}
	defer d.Close()
	d.Sync()
	return nil
}

func flock(f *os.File, how int) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = conn.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if ferr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return ferr
}
