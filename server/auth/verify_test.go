package auth

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"musicdb/certs"
	"musicdb/store"
)

// fakeVerifier accepts the tokens it knows and counts its calls.
type fakeVerifier struct {
	calls  atomic.Int64
	delay  time.Duration
	tokens map[string]TokenInfo
	err    error // the answer for unknown tokens; nil means InvalidToken
}

func (v *fakeVerifier) Verify(_ context.Context, token string) (TokenInfo, error) {
	v.calls.Add(1)
	time.Sleep(v.delay)
	if info, ok := v.tokens[token]; ok {
		return info, nil
	}
	if v.err != nil {
		return TokenInfo{}, v.err
	}
	return TokenInfo{}, InvalidToken("unknown token")
}

// TestBearerToken checks how the Authorization header is read (RFC 6750
// section 2.1).
func TestBearerToken(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		url    string
		token  string // "" for an error
		code   string // the bearer error code, "" for none
	}{
		{"Bearer", []string{"Bearer abc.DEF-_~+/="}, "/api", "abc.DEF-_~+/=", ""},
		{"CaseInsensitive", []string{"bEaReR abc"}, "/api", "abc", ""},
		{"ExtraSpaces", []string{"Bearer   abc"}, "/api", "abc", ""},
		{"Missing", nil, "/api", "", ""},
		{"OtherScheme", []string{"Basic ZGV2OmRldg=="}, "/api", "", ""},
		{"SchemeOnly", []string{"Bearer"}, "/api", "", "invalid_token"},
		{"Empty", []string{"Bearer "}, "/api", "", "invalid_token"},
		{"TwoWords", []string{"Bearer abc def"}, "/api", "", "invalid_token"},
		{"BadCharacter", []string{"Bearer abc\"def"}, "/api", "", "invalid_token"},
		{"OnlyPadding", []string{"Bearer ==="}, "/api", "", "invalid_token"},
		{"TwoHeaders", []string{"Bearer abc", "Bearer def"}, "/api", "", "invalid_request"},
		{"InQuery", nil, "/api?access_token=abc", "", "invalid_request"},
		{"InQueryToo", []string{"Bearer abc"}, "/api?access_token=abc", "", "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "https://localhost"+tt.url, nil)
			for _, h := range tt.header {
				r.Header.Add("Authorization", h)
			}
			token, err := bearerToken(r)
			if token != tt.token {
				t.Errorf("token %q, want %q", token, tt.token)
			}
			if tt.token != "" {
				if err != nil {
					t.Errorf("error %v", err)
				}
				return
			}
			if store.ErrorCode(err) != store.EUNAUTHORIZED {
				t.Fatalf("error %v (code %q), want EUNAUTHORIZED", err, store.ErrorCode(err))
			}
			var code string
			if be, ok := errors.AsType[*bearerError](err); ok {
				code = be.BearerError()
			}
			if code != tt.code {
				t.Errorf("bearer error code %q, want %q", code, tt.code)
			}
		})
	}
}

// TestCheckerCache checks that a verified token costs one provider call
// per TTL, and never outlives its expiry.
func TestCheckerCache(t *testing.T) {
	c := newClock()
	pki := mustPKI(t)
	dev := pki.cert(t, certs.DevClient)
	v := &fakeVerifier{tokens: map[string]TokenInfo{
		"long":  {Subject: "bob", Expiry: c.now().Add(time.Hour)},
		"short": {Subject: "carol", Expiry: c.now().Add(time.Minute)},
		"never": {Subject: "dave"},
	}}
	ch := NewChecker(v, CheckerOptions{CacheTTL: DefaultCacheTTL, Now: c.now})
	auth := func(token string) (Identity, error) { return ch.Authenticate(requestWith("Bearer "+token, dev)) }

	for range 100 {
		if id, err := auth("long"); err != nil || id.Subject != "bob" {
			t.Fatalf("long: %v, %v", id, err)
		}
	}
	if n := v.calls.Load(); n != 1 {
		t.Errorf("100 requests with one token: %d calls, want 1", n)
	}
	c.advance(DefaultCacheTTL - time.Second)
	auth("long")
	if n := v.calls.Load(); n != 1 {
		t.Errorf("within the TTL: %d calls, want 1", n)
	}
	c.advance(time.Second)
	auth("long")
	if n := v.calls.Load(); n != 2 {
		t.Errorf("after the TTL: %d calls, want 2", n)
	}

	// A token cached until its own expiry, which comes before the TTL.
	v.calls.Store(0)
	auth("short")
	c.advance(time.Minute)
	if _, err := auth("short"); !isInvalidToken(err) {
		t.Errorf("after its expiry: %v, want invalid_token", err)
	}
	if n := v.calls.Load(); n != 2 {
		t.Errorf("short: %d calls, want 2: the expired token must not come from the cache", n)
	}

	// Without an expiry, the TTL alone.
	v.calls.Store(0)
	auth("never")
	c.advance(DefaultCacheTTL - time.Second)
	auth("never")
	if n := v.calls.Load(); n != 1 {
		t.Errorf("never: %d calls, want 1", n)
	}
}

func isLimited(err error) bool {
	_, ok := errors.AsType[*LimitError](err)
	return ok
}

func isInvalidToken(err error) bool {
	be, ok := errors.AsType[*bearerError](err)
	return ok && be.BearerError() == "invalid_token"
}

// TestCheckerNoCacheOfFailures checks that a refused token, or a provider
// that did not answer, is asked again next time.
func TestCheckerNoCacheOfFailures(t *testing.T) {
	pki := mustPKI(t)
	dev := pki.cert(t, certs.DevClient)
	v := &fakeVerifier{tokens: map[string]TokenInfo{}, err: Unavailable("Fake", errors.New("down"))}
	ch := NewChecker(v, CheckerOptions{CacheTTL: DefaultCacheTTL})
	if _, err := ch.Authenticate(requestWith("Bearer t", dev)); store.ErrorCode(err) != store.EUNAVAILABLE {
		t.Fatalf("provider down: %v, want EUNAVAILABLE", err)
	}
	v.err = nil
	for i := range 3 {
		if _, err := ch.Authenticate(requestWith("Bearer t", dev)); !isInvalidToken(err) {
			t.Fatalf("refused, try %d: %v, want invalid_token", i, err)
		}
	}
	v.tokens = map[string]TokenInfo{"t": {Subject: "bob"}}
	if id, err := ch.Authenticate(requestWith("Bearer t", dev)); err != nil || id.Subject != "bob" {
		t.Errorf("accepted at last: %v, %v", id, err)
	}
	if n := v.calls.Load(); n != 5 {
		t.Errorf("%d calls, want 5: one per try", n)
	}
}

// TestCheckerSingleFlight checks that a burst of concurrent requests with
// one token makes one provider call.
func TestCheckerSingleFlight(t *testing.T) {
	pki := mustPKI(t)
	dev := pki.cert(t, certs.DevClient)
	v := &fakeVerifier{delay: 50 * time.Millisecond, tokens: map[string]TokenInfo{"t": {Subject: "bob"}}}
	ch := NewChecker(v, CheckerOptions{CacheTTL: DefaultCacheTTL})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 1000 {
		wg.Go(func() {
			if _, err := ch.Authenticate(requestWith("Bearer t", dev)); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := v.calls.Load(); n != 1 || failed.Load() != 0 {
		t.Errorf("1000 concurrent requests: %d calls and %d failures, want 1 and 0", n, failed.Load())
	}
}

// TestCheckerFailureLimit checks that a client certificate gets
// DefaultMaxFailures failed verifications a minute, then a LimitError
// without a provider call, while other certificates go on.
func TestCheckerFailureLimit(t *testing.T) {
	c := newClock()
	pki := mustPKI(t)
	dev, alice := pki.cert(t, certs.DevClient), pki.cert(t, "alice")
	v := &fakeVerifier{tokens: map[string]TokenInfo{"good": {Subject: "bob"}}}
	ch := NewChecker(v, CheckerOptions{CacheTTL: DefaultCacheTTL, Now: c.now})
	try := func(token string, cert *x509.Certificate) error {
		_, err := ch.Authenticate(requestWith("Bearer "+token, cert))
		return err
	}

	// Successes do not count.
	for range 20 {
		if err := try("good", dev); err != nil {
			t.Fatal(err)
		}
	}
	for i := range DefaultMaxFailures {
		if err := try(fmt.Sprint("bad", i), dev); !isInvalidToken(err) {
			t.Fatalf("failure %d: %v, want invalid_token", i, err)
		}
		c.advance(time.Second)
	}
	calls := v.calls.Load()
	err := try("bad-again", dev)
	le, ok := errors.AsType[*LimitError](err)
	if !ok || le.RetryAfter != FailureWindow-DefaultMaxFailures*time.Second {
		t.Fatalf("one failure too many: %v, want a LimitError to retry in %v", err, FailureWindow-DefaultMaxFailures*time.Second)
	}
	if v.calls.Load() != calls {
		t.Errorf("the provider was asked about a token of a client over its limit")
	}
	if err := try("good", dev); err != nil {
		t.Errorf("a cached good token over the limit: %v", err)
	}
	if err := try("bad-alice", alice); !isInvalidToken(err) {
		t.Errorf("another certificate: %v, want invalid_token", err)
	}
	// Once the first failure leaves the window, one more try.
	c.advance(le.RetryAfter)
	if err := try("bad-late", dev); !isInvalidToken(err) {
		t.Errorf("after Retry-After: %v, want invalid_token", err)
	}
	if !isLimited(try("bad-later", dev)) {
		t.Errorf("the next one: want a LimitError again")
	}
}

// TestCheckerFailureLimitConcurrent checks that a burst of concurrent bad
// tokens cannot run more verifications than the limit.
func TestCheckerFailureLimitConcurrent(t *testing.T) {
	pki := mustPKI(t)
	dev := pki.cert(t, certs.DevClient)
	v := &fakeVerifier{delay: 20 * time.Millisecond}
	ch := NewChecker(v, CheckerOptions{CacheTTL: DefaultCacheTTL})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() { ch.Authenticate(requestWith(fmt.Sprint("Bearer bad", i), dev)) })
	}
	wg.Wait()
	if n := v.calls.Load(); n > DefaultMaxFailures {
		t.Errorf("200 concurrent bad tokens: %d provider calls, want at most %d", n, DefaultMaxFailures)
	}
}

// TestCheckerBinding checks that a token bound to a certificate is refused
// over another, and counts as a failure there.
func TestCheckerBinding(t *testing.T) {
	pki := mustPKI(t)
	dev, alice := pki.cert(t, certs.DevClient), pki.cert(t, "alice")
	v := &fakeVerifier{tokens: map[string]TokenInfo{"t": {Subject: "dev", Thumbprint: certs.Thumbprint(dev)}}}
	ch := NewChecker(v, CheckerOptions{})
	if id, err := ch.Authenticate(requestWith("Bearer t", dev)); err != nil || id.Subject != "dev" {
		t.Errorf("over its certificate: %v, %v", id, err)
	}
	for _, cert := range []*x509.Certificate{alice, nil} {
		if _, err := ch.Authenticate(requestWith("Bearer t", cert)); !isInvalidToken(err) {
			t.Errorf("over another certificate: %v, want invalid_token", err)
		}
	}
	for range DefaultMaxFailures {
		ch.Authenticate(requestWith("Bearer t", alice))
	}
	if _, err := ch.Authenticate(requestWith("Bearer t", alice)); !isLimited(err) {
		t.Errorf("misbound tokens do not count as failures")
	}
}

// TestCheckerAllow checks the allow list and the identity's way into the
// error.
func TestCheckerAllow(t *testing.T) {
	pki := mustPKI(t)
	dev := pki.cert(t, certs.DevClient)
	allow, err := ParseAllowList("alice, @Example.com")
	if err != nil {
		t.Fatal(err)
	}
	v := &fakeVerifier{tokens: map[string]TokenInfo{"a": {Subject: "alice"}, "b": {Subject: "bob@example.com"}, "c": {Subject: "carol@example.org"}}}
	ch := NewChecker(v, CheckerOptions{Allow: allow})
	for token, want := range map[string]string{"a": "", "b": "", "c": store.EFORBIDDEN} {
		_, err := ch.Authenticate(requestWith("Bearer "+token, dev))
		if got := store.ErrorCode(err); got != want {
			t.Errorf("%s: %v, want code %q", token, err, want)
		}
		if want != "" && !strings.Contains(err.Error(), "carol@example.org") {
			t.Errorf("%s: %q does not say who", token, err)
		}
	}
}

// TestAllowList checks -allow parsing and matching.
func TestAllowList(t *testing.T) {
	tests := []struct {
		allow string
		yes   []string
		no    []string
	}{
		{"", []string{"anyone", "bob@example.com"}, nil},
		{" , ", []string{"anyone"}, nil},
		{"alice,bob@example.com", []string{"alice", "Alice", "BOB@example.com"}, []string{"alic", "bob", "bob@example.co", "alice@example.com"}},
		{"@example.com", []string{"bob@example.com", "carol@EXAMPLE.COM"}, []string{"example.com", "bob@sub.example.com", "bob@example.com.evil", "@example.com"}},
	}
	for _, tt := range tests {
		a, err := ParseAllowList(tt.allow)
		if err != nil {
			t.Fatalf("%q: %v", tt.allow, err)
		}
		for _, s := range tt.yes {
			if !a.Allows(s) {
				t.Errorf("%q does not allow %q", tt.allow, s)
			}
		}
		for _, s := range tt.no {
			if a.Allows(s) {
				t.Errorf("%q allows %q", tt.allow, s)
			}
		}
	}
	for _, bad := range []string{"@", "alice,@", "@a@b", "carol smith", `"alice"`} {
		if _, err := ParseAllowList(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestTokenCacheBounded checks that the cache drops ended entries first
// and never holds more than its maximum.
func TestTokenCacheBounded(t *testing.T) {
	c := newClock()
	cache := newTokenCache(time.Minute, 2)
	key := func(s string) tokenKey { return hashToken(s) }
	cache.put(key("a"), TokenInfo{Subject: "a", Expiry: c.now().Add(time.Second)}, c.now())
	cache.put(key("b"), TokenInfo{Subject: "b"}, c.now())
	c.advance(time.Second)
	cache.put(key("c"), TokenInfo{Subject: "c"}, c.now())
	if _, ok := cache.get(key("b"), c.now()); !ok {
		t.Error("b was dropped before the ended a")
	}
	cache.put(key("d"), TokenInfo{Subject: "d"}, c.now())
	if n := len(cache.entries); n != 2 {
		t.Errorf("%d entries, want 2", n)
	}
	if _, ok := cache.get(key("d"), c.now()); !ok {
		t.Error("the newest entry is missing")
	}
}

// TestFailureLimitBounded checks that the failure table holds at most its
// number of clients, and refuses new ones while it is full of failures.
func TestFailureLimitBounded(t *testing.T) {
	c := newClock()
	l := newFailureLimit(3, time.Minute, 2)
	l.fail("a", c.now())
	l.fail("b", c.now())
	if _, ok := l.reserve("c", c.now()); ok {
		t.Error("a third client got in while the table was full of failures")
	}
	c.advance(time.Minute)
	if _, ok := l.reserve("c", c.now()); !ok {
		t.Error("a third client was refused after the failures left the window")
	}
	if n := len(l.byClient); n > 2 {
		t.Errorf("%d clients, want at most 2", n)
	}
}
