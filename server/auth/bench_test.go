package auth

import (
	"testing"

	"musicdb/certs"
)

// BenchmarkAuthenticate measures the token check of one request that
// passes: with the built-in issuer (a lookup in the grant table and the
// certificate's thumbprint), and with a provider whose answer is cached.
//
//	go test -run '^$' -bench Authenticate -count 6 ./server/auth
func BenchmarkAuthenticate(b *testing.B) {
	pki := mustPKI(b)
	s := newIssuerServer(b, pki, b.TempDir(), newClock())
	tok := s.login(b, pki.client(b, certs.DevClient))
	dev := pki.cert(b, certs.DevClient)
	cached := NewChecker(&fakeVerifier{tokens: map[string]TokenInfo{tok.AccessToken: {Subject: "bob"}}}, CheckerOptions{CacheTTL: DefaultCacheTTL})
	for _, bb := range []struct {
		name string
		c    *Checker
	}{
		{"local", NewChecker(s.iss, CheckerOptions{Now: s.clock.now})},
		{"cached", cached},
	} {
		b.Run(bb.name, func(b *testing.B) {
			r := requestWith("Bearer "+tok.AccessToken, dev)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bb.c.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
