package auth

import (
	"errors"
	"sync"
	"time"
)

// tokenKey is the SHA-256 hash of a bearer token: the token itself is never
// kept.
type tokenKey [32]byte

// tokenCache remembers what providers said about tokens they accepted, so
// that a token costs one provider call per TTL, not one per request. It
// never holds a refusal.
type tokenCache struct {
	ttl time.Duration // 0: remember nothing
	max int           // entries

	// mu guards entries.
	mu      sync.Mutex
	entries map[tokenKey]cached
}

type cached struct {
	info  TokenInfo
	until time.Time // the entry's end: min(token expiry, when cached + ttl)
}

func newTokenCache(ttl time.Duration, max int) *tokenCache {
	return &tokenCache{ttl: ttl, max: max, entries: map[tokenKey]cached{}}
}

// get returns what the cache holds for key at time now.
func (c *tokenCache) get(key tokenKey, now time.Time) (TokenInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return TokenInfo{}, false
	}
	if !now.Before(e.until) {
		delete(c.entries, key)
		return TokenInfo{}, false
	}
	return e.info, true
}

// put remembers info for key from now until the token expires or the TTL
// ends, whichever is first. When the cache is full it drops the entries
// that ended and, if it is still full, an arbitrary one: a dropped entry
// costs only a provider call.
func (c *tokenCache) put(key tokenKey, info TokenInfo, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	until := now.Add(c.ttl)
	if !info.Expiry.IsZero() && info.Expiry.Before(until) {
		until = info.Expiry
	}
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = cached{info: info, until: until}
}

// errFlightPanicked is what the callers that waited for a call get when the
// call panicked instead of returning.
var errFlightPanicked = errors.New("auth: the token check panicked")

// flight runs one call per key at a time: callers that ask for a key while
// its call is under way wait for it and share its result.
type flight[K comparable, V any] struct {
	// mu guards calls.
	mu    sync.Mutex
	calls map[K]*flightCall[V]
}

type flightCall[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// do returns the result of fn for key, running fn unless a call for key is
// under way already.
func (f *flight[K, V]) do(key K, fn func() (V, error)) (V, error) {
	f.mu.Lock()
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		<-c.done
		return c.v, c.err
	}
	if f.calls == nil {
		f.calls = map[K]*flightCall[V]{}
	}
	c := &flightCall[V]{done: make(chan struct{}), err: errFlightPanicked}
	f.calls[key] = c
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.calls, key)
		f.mu.Unlock()
		close(c.done)
	}()
	c.v, c.err = fn()
	return c.v, c.err
}
