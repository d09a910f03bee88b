package auth

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"musicdb/store/journal"
)

// Settings of the built-in issuer.
const (
	// ClientID is the one client the built-in issuer serves: the musicdb
	// console.
	ClientID = "musicdb-console"
	// Scope is the one scope the built-in issuer grants: the whole API.
	Scope = "musicdb"
	// AccessTTL is how long an access token is valid.
	AccessTTL = time.Hour
	// RefreshTTL is how long a refresh token is valid. Each refresh
	// replaces it with a new one valid as long, so a login lasts while it
	// is used at least once in this time.
	RefreshTTL = 30 * 24 * time.Hour
	// DeviceCodeTTL is how long a device code waits for its redemption.
	DeviceCodeTTL = 10 * time.Minute

	pendingDeviceCodes = 10000     // device codes kept at most
	sweepEvery         = time.Hour // how often expired grants are dropped, at most
)

// IssuerOptions configure OpenIssuer. The zero value is ready for use.
type IssuerOptions struct {
	// Logger receives what the issuer's journal reports and the failures
	// of its disk. Nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Issuer is musicdb's built-in OAuth2 issuer. It approves a device
// authorization (RFC 8628) at once for the client certificate of the
// connection that asks, names the login after the certificate's CN, and
// binds every token of the login to that certificate (RFC 8705). Access
// tokens last AccessTTL; refresh tokens last RefreshTTL and are replaced on
// each use, and the reuse of a replaced one revokes the login (RFC 9700
// section 4.14.2).
//
// Its grant table is kept in a folder of its own, durable before a token
// is handed out or a revocation is confirmed, so tokens survive restarts.
// It is a Verifier of its access tokens, and serves the OAuth endpoints
// (HandleMetadata and the others). Open one with OpenIssuer and close it
// with Close; its methods are safe for concurrent use.
type Issuer struct {
	journal *journal.Journal
	log     *slog.Logger
	now     func() time.Time

	// mu guards the fields below. Writers hold it while they change the
	// table and append to the journal, never while they wait for the disk.
	mu        sync.RWMutex
	table     *grantTable
	devices   *deviceCodes
	lastSweep time.Time
}

// OpenIssuer opens the grant table kept in the folder dir, creating it if
// needed. Only one Issuer may have a folder open at a time, in any process.
func OpenIssuer(dir string, o IssuerOptions) (*Issuer, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	j, state, err := journal.Open(dir, journal.Options{
		NewState: func() journal.State { return newGrantTable() },
		Logger:   o.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	return &Issuer{
		journal: j,
		log:     o.Logger,
		now:     o.Now,
		table:   state.(*grantTable),
		devices: newDeviceCodes(pendingDeviceCodes, DeviceCodeTTL),
	}, nil
}

// Close makes every change durable and releases the folder.
func (iss *Issuer) Close() error { return iss.journal.Close() }

// Verify looks up an access token in the grant table: it makes no network
// call. The TokenInfo it returns binds the token to the certificate that
// obtained it.
func (iss *Issuer) Verify(_ context.Context, token string) (TokenInfo, error) {
	key := hashToken(token)
	iss.mu.RLock()
	g := iss.table.byAccess[key]
	var info TokenInfo
	if g != nil {
		info = TokenInfo{Subject: g.Subject, Expiry: g.AccessExp, Thumbprint: g.Thumbprint}
	}
	iss.mu.RUnlock()
	switch {
	case g == nil:
		return TokenInfo{}, InvalidToken("the token is not valid: unknown, revoked, or replaced by a refresh")
	case !iss.now().Before(info.Expiry):
		return TokenInfo{}, InvalidToken("the token expired")
	}
	return info, nil
}

// tokens are what the token endpoint hands out.
type tokens struct {
	access, refresh string
	scope           string
}

// oauthError is an error response of an OAuth endpoint (RFC 6749 section
// 5.2): its code and a description for a person.
type oauthError struct {
	code, description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func oauthErrorf(code, format string, args ...any) *oauthError {
	return &oauthError{code: code, description: fmt.Sprintf(format, args...)}
}

// authorizeDevice approves a device authorization for the certificate
// thumbprint names, as subject, and returns its device code and user code.
func (iss *Issuer) authorizeDevice(subject, thumbprint, clientID string) (code, userCode string) {
	code = newToken(devicePrefix)
	now := iss.now()
	iss.mu.Lock()
	iss.devices.add(&deviceCode{
		key: hashToken(code), subject: subject, thumbprint: thumbprint,
		clientID: clientID, expires: now.Add(DeviceCodeTTL),
	}, now)
	iss.mu.Unlock()
	return code, newUserCode()
}

// redeemDevice exchanges a device code for the first tokens of a new grant.
// The code must be presented over a connection with the certificate it was
// issued to, by the client it was issued to; it is good once.
func (iss *Issuer) redeemDevice(code, clientID, thumbprint string) (tokens, error) {
	key := hashToken(code)
	now := iss.now()
	iss.mu.Lock()
	dc := iss.devices.find(key, now)
	switch {
	case dc == nil:
		iss.mu.Unlock()
		return tokens{}, oauthErrorf("invalid_grant", "the device code is not valid: unknown or used already")
	case !now.Before(dc.expires):
		iss.devices.take(key)
		iss.mu.Unlock()
		return tokens{}, oauthErrorf("expired_token", "the device code expired; log in again")
	case dc.thumbprint != thumbprint:
		iss.mu.Unlock()
		return tokens{}, oauthErrorf("invalid_grant", "the device code was issued to another client certificate")
	case dc.clientID != clientID:
		iss.mu.Unlock()
		return tokens{}, oauthErrorf("invalid_grant", "the device code was issued to another client")
	}
	iss.devices.take(key)
	g := &grant{
		ID:         iss.newGrantID(),
		Subject:    dc.subject,
		Thumbprint: dc.thumbprint,
		ClientID:   dc.clientID,
		Scope:      Scope,
		Created:    now,
	}
	t := issueTokens(g, now)
	seq, err := iss.write(now, grantRecord{Op: "put", Grant: g})
	iss.mu.Unlock()
	if err == nil {
		err = iss.journal.Wait(seq)
	}
	if err != nil {
		return tokens{}, fmt.Errorf("issuer: grant for %s: %w", g.Subject, err)
	}
	return t, nil
}

// refresh rotates the tokens of the grant whose refresh token is given:
// new access and refresh tokens replace the old ones, which stop working.
// A refresh token that rotation replaced already, presented again by the
// certificate of its grant, means the tokens were copied: the grant is
// revoked. Presented with another certificate it proves nothing, since the
// tokens would not work there anyway.
func (iss *Issuer) refresh(refreshToken, clientID, thumbprint string) (tokens, error) {
	key := hashToken(refreshToken)
	now := iss.now()
	iss.mu.Lock()
	if g := iss.table.byRetired[key]; g != nil && g.Thumbprint == thumbprint {
		seq, err := iss.write(now, grantRecord{Op: "revoke", ID: g.ID})
		iss.mu.Unlock()
		iss.log.Warn("issuer: a replaced refresh token was used again; grant revoked", "grant", g.ID, "sub", g.Subject)
		if err == nil {
			err = iss.journal.Wait(seq)
		}
		if err != nil {
			return tokens{}, fmt.Errorf("issuer: revoke grant %s: %w", g.ID, err)
		}
		return tokens{}, oauthErrorf("invalid_grant", "the refresh token was used already, so the login is revoked; log in again")
	}
	old := iss.table.byRefresh[key]
	switch {
	case old == nil:
		iss.mu.Unlock()
		return tokens{}, oauthErrorf("invalid_grant", "the refresh token is not valid: unknown, revoked or replaced")
	case old.Thumbprint != thumbprint:
		iss.mu.Unlock()
		return tokens{}, oauthErrorf("invalid_grant", "the refresh token was issued to another client certificate")
	case clientID != "" && clientID != old.ClientID:
		iss.mu.Unlock()
		return tokens{}, oauthErrorf("invalid_grant", "the refresh token was issued to another client")
	case !now.Before(old.RefreshExp):
		iss.mu.Unlock()
		return tokens{}, oauthErrorf("invalid_grant", "the refresh token expired; log in again")
	}
	g := *old
	g.Retired = append(slices.Clone(old.Retired), old.Refresh)
	if len(g.Retired) > retiredKept {
		g.Retired = g.Retired[len(g.Retired)-retiredKept:]
	}
	t := issueTokens(&g, now)
	seq, err := iss.write(now, grantRecord{Op: "put", Grant: &g})
	iss.mu.Unlock()
	if err == nil {
		err = iss.journal.Wait(seq)
	}
	if err != nil {
		return tokens{}, fmt.Errorf("issuer: refresh grant %s: %w", g.ID, err)
	}
	return t, nil
}

// revoke revokes the grant of token, an access token or a current refresh
// token, when the certificate thumbprint names is the one it is bound to.
// Any other token is left as it is without an error, as RFC 7009 asks.
func (iss *Issuer) revoke(token, thumbprint string) error {
	key := hashToken(token)
	now := iss.now()
	iss.mu.Lock()
	g := iss.table.byAccess[key]
	if g == nil {
		g = iss.table.byRefresh[key]
	}
	if g == nil || g.Thumbprint != thumbprint {
		iss.mu.Unlock()
		return nil
	}
	seq, err := iss.write(now, grantRecord{Op: "revoke", ID: g.ID})
	iss.mu.Unlock()
	if err == nil {
		err = iss.journal.Wait(seq)
	}
	if err != nil {
		return fmt.Errorf("issuer: revoke grant %s: %w", g.ID, err)
	}
	return nil
}

// issueTokens gives g new access and refresh tokens, valid from now, and
// returns them. Only their hashes stay in g.
func issueTokens(g *grant, now time.Time) tokens {
	t := tokens{access: newToken(accessPrefix), refresh: newToken(refreshPrefix), scope: g.Scope}
	g.Access, g.AccessExp = hashToken(t.access), now.Add(AccessTTL)
	g.Refresh, g.RefreshExp = hashToken(t.refresh), now.Add(RefreshTTL)
	return t
}

// write applies rec to the table and appends it to the journal, after a
// sweep of the expired grants when one is due, and returns the sequence
// number to wait for. iss.mu is held.
func (iss *Issuer) write(now time.Time, rec grantRecord) (uint64, error) {
	recs := []grantRecord{rec}
	if now.Sub(iss.lastSweep) >= sweepEvery {
		iss.lastSweep = now
		if iss.table.expiredBy(now) {
			recs = []grantRecord{{Op: "sweep", Before: now}, rec}
		}
	}
	var seq uint64
	for _, r := range recs {
		line, err := json.Marshal(r)
		if err != nil {
			return 0, err
		}
		if err := iss.table.apply(r); err != nil {
			return 0, err
		}
		seq = iss.journal.Append(line)
	}
	return seq, nil
}

// newGrantID returns an id that no grant has. iss.mu is held.
func (iss *Issuer) newGrantID() string {
	for {
		id := hex.EncodeToString(randomBytes(8))
		if iss.table.byID[id] == nil {
			return id
		}
	}
}

// userCodeAlphabet has no vowels, so that user codes spell no words, and no
// letters that look alike (RFC 8628 section 6.1).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// newUserCode returns a code for a person to type, such as WDJB-MJHT. The
// built-in issuer never asks anyone for it, but RFC 8628 requires one.
func newUserCode() string {
	var b strings.Builder
	for i, r := range randomBytes(8) {
		if i == 4 {
			b.WriteByte('-')
		}
		b.WriteByte(userCodeAlphabet[int(r)%len(userCodeAlphabet)])
	}
	return b.String()
}
