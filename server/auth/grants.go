package auth

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"musicdb/store/journal"
)

// The grant table is the built-in issuer's state: one grant per login, kept
// in a journal (package journal) in the issuer's folder. Each grant holds
// the SHA-256 hashes of its tokens, never the tokens. The journal's records
// are JSON lines:
//
//	{"op":"put","grant":{...}}        a new grant, or one whose tokens were rotated
//	{"op":"revoke","id":"…"}          a grant revoked: by the client, or for refresh token reuse
//	{"op":"sweep","before":"<time>"}  every grant whose refresh token expired by then is dropped
//
// and its snapshot is {"grants":[{...}, ...]}, ordered by id. A grant is
//
//	{"id":"<16 hex digits>","sub":"<CN>","x5t#S256":"<thumbprint>",
//	 "client_id":"musicdb-console","scope":"musicdb","created":"<time>",
//	 "access":"<hash>","access_exp":"<time>","refresh":"<hash>","refresh_exp":"<time>",
//	 "retired":["<hash>", ...]}
//
// where a hash is the unpadded base64url SHA-256 of a token, times are RFC
// 3339, and retired holds the hashes of the last refresh tokens that
// rotation replaced, so that their reuse is noticed.

// retiredKept is how many replaced refresh tokens a grant remembers.
const retiredKept = 8

// grant is one login at the built-in issuer: the tokens it issued last and
// who they are for.
type grant struct {
	ID         string     `json:"id"`
	Subject    string     `json:"sub"`
	Thumbprint string     `json:"x5t#S256"`
	ClientID   string     `json:"client_id"`
	Scope      string     `json:"scope"`
	Created    time.Time  `json:"created"`
	Access     tokenKey   `json:"access"`
	AccessExp  time.Time  `json:"access_exp"`
	Refresh    tokenKey   `json:"refresh"`
	RefreshExp time.Time  `json:"refresh_exp"`
	Retired    []tokenKey `json:"retired,omitempty"`
}

// grantRecord is one change to the grant table.
type grantRecord struct {
	Op     string    `json:"op"`
	Grant  *grant    `json:"grant,omitempty"` // put
	ID     string    `json:"id,omitempty"`    // revoke
	Before time.Time `json:"before,omitzero"` // sweep
}

// grantTable is every live grant, found by id and by the hash of each of
// its tokens. It is the journal.State of the issuer's journal.
type grantTable struct {
	byID      map[string]*grant
	byAccess  map[tokenKey]*grant
	byRefresh map[tokenKey]*grant
	byRetired map[tokenKey]*grant
}

func newGrantTable() *grantTable {
	return &grantTable{
		byID:      map[string]*grant{},
		byAccess:  map[tokenKey]*grant{},
		byRefresh: map[tokenKey]*grant{},
		byRetired: map[tokenKey]*grant{},
	}
}

// Apply changes the table by one record.
func (t *grantTable) Apply(raw json.RawMessage) error {
	var rec grantRecord
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return err
	}
	return t.apply(rec)
}

func (t *grantTable) apply(rec grantRecord) error {
	switch rec.Op {
	case "put":
		if rec.Grant == nil {
			return errors.New("put without a grant")
		}
		return t.put(rec.Grant)
	case "revoke":
		g := t.byID[rec.ID]
		if g == nil {
			return fmt.Errorf("revoke %q: no such grant", rec.ID)
		}
		t.remove(g)
	case "sweep":
		for _, g := range t.byID {
			if !g.RefreshExp.After(rec.Before) {
				t.remove(g)
			}
		}
	default:
		return fmt.Errorf("unknown op %q", rec.Op)
	}
	return nil
}

// put adds g, or replaces the grant with its id.
func (t *grantTable) put(g *grant) error {
	if g.ID == "" || g.Subject == "" || g.Thumbprint == "" {
		return fmt.Errorf("grant %q lacks its id, subject or thumbprint", g.ID)
	}
	for _, k := range append([]tokenKey{g.Access, g.Refresh}, g.Retired...) {
		for _, owner := range []*grant{t.byAccess[k], t.byRefresh[k], t.byRetired[k]} {
			if owner != nil && owner.ID != g.ID {
				return fmt.Errorf("grant %q: a token hash of grant %q", g.ID, owner.ID)
			}
		}
	}
	if old := t.byID[g.ID]; old != nil {
		t.remove(old)
	}
	t.byID[g.ID] = g
	t.byAccess[g.Access] = g
	t.byRefresh[g.Refresh] = g
	for _, k := range g.Retired {
		t.byRetired[k] = g
	}
	return nil
}

func (t *grantTable) remove(g *grant) {
	delete(t.byID, g.ID)
	delete(t.byAccess, g.Access)
	delete(t.byRefresh, g.Refresh)
	for _, k := range g.Retired {
		delete(t.byRetired, k)
	}
}

// expiredBy reports whether any grant's refresh token expired by now.
func (t *grantTable) expiredBy(now time.Time) bool {
	for _, g := range t.byID {
		if !g.RefreshExp.After(now) {
			return true
		}
	}
	return false
}

type grantSnapshot struct {
	Grants []*grant `json:"grants"`
}

// WriteSnapshot writes every grant, ordered by id.
func (t *grantTable) WriteSnapshot(w io.Writer) error {
	s := grantSnapshot{Grants: make([]*grant, 0, len(t.byID))}
	for _, g := range t.byID {
		s.Grants = append(s.Grants, g)
	}
	slices.SortFunc(s.Grants, func(a, b *grant) int { return cmp.Compare(a.ID, b.ID) })
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(s)
}

// ReadSnapshot loads what WriteSnapshot wrote into an empty table.
func (t *grantTable) ReadSnapshot(r io.Reader) error {
	var s grantSnapshot
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the grants")
	}
	for _, g := range s.Grants {
		if g == nil {
			return errors.New("a null grant")
		}
		if t.byID[g.ID] != nil {
			return fmt.Errorf("grant %q twice", g.ID)
		}
		if err := t.put(g); err != nil {
			return err
		}
	}
	return nil
}

var _ journal.State = (*grantTable)(nil)

// Token prefixes say what a token is to a person who finds one; the
// issuer does not rely on them.
const (
	accessPrefix  = "mdb_at_"
	refreshPrefix = "mdb_rt_"
	devicePrefix  = "mdb_dc_"
)

// newToken returns a new token: prefix and 256 random bits, in base64url.
func newToken(prefix string) string {
	return prefix + base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return b
}

func hashToken(token string) tokenKey { return sha256.Sum256([]byte(token)) }

// MarshalText gives a hash as unpadded base64url.
func (k tokenKey) MarshalText() ([]byte, error) {
	return base64.RawURLEncoding.AppendEncode(nil, k[:]), nil
}

// UnmarshalText reads what MarshalText wrote.
func (k *tokenKey) UnmarshalText(b []byte) error {
	if n := base64.RawURLEncoding.DecodedLen(len(b)); n != len(k) {
		return fmt.Errorf("a token hash is %d bytes, want %d", n, len(k))
	}
	_, err := base64.RawURLEncoding.Decode(k[:], b)
	return err
}
