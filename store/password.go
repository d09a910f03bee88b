package store

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// DefaultPasswordIterations is the PBKDF2-HMAC-SHA256 iteration count that
// OWASP's Password Storage Cheat Sheet recommends (600,000). The count is
// stored with each hash, so it can be raised later without breaking old ones.
const DefaultPasswordIterations = 600_000

const (
	passwordScheme  = "pbkdf2-sha256"
	passwordSaltLen = 16
	passwordKeyLen  = 32
)

var b64 = base64.RawStdEncoding

// hashPassword returns a salted hash of password in the form
// "pbkdf2-sha256$<iterations>$<salt>$<key>", salt and key in base64.
func hashPassword(password string, iterations int) (string, error) {
	salt := make([]byte, passwordSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, iterations, passwordKeyLen)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s$%d$%s$%s", passwordScheme, iterations, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// matchPassword reports whether password matches hash, a string made by
// hashPassword. It takes time independent of where the keys differ.
func matchPassword(hash, password string) (bool, error) {
	iterations, salt, want, err := parsePasswordHash(hash)
	if err != nil {
		return false, err
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iterations, len(want))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// parsePasswordHash splits a hash made by hashPassword into its parts.
func parsePasswordHash(hash string) (iterations int, salt, key []byte, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != passwordScheme {
		return 0, nil, nil, fmt.Errorf("password hash: unknown format")
	}
	if iterations, err = strconv.Atoi(parts[1]); err != nil || iterations < 1 {
		return 0, nil, nil, fmt.Errorf("password hash: bad iteration count")
	}
	if salt, err = b64.DecodeString(parts[2]); err != nil || len(salt) == 0 {
		return 0, nil, nil, fmt.Errorf("password hash: bad salt")
	}
	if key, err = b64.DecodeString(parts[3]); err != nil || len(key) == 0 {
		return 0, nil, nil, fmt.Errorf("password hash: bad key")
	}
	return iterations, salt, key, nil
}
