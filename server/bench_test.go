package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"musicdb/certs"
	"musicdb/store"
)

// The benchmarks serve each route twice over the same TLS setup on loopback:
// stack=full is the whole API (NewServer over the store, with its log,
// metrics and the built-in issuer's token check), stack=baseline a bare
// handler that answers the same bytes. Both clients send a bearer token. Run
//
//	go test -run '^$' -bench . -benchtime 2s -count 6 ./server > bench.txt
//	benchstat -col /stack bench.txt
//
// to see each full-stack figure against its baseline.

// benchProtos are the client setups: HTTP/1.1 keep-alive and HTTP/2.
var benchProtos = []string{"h1", "h2"}

// benchClients are the numbers of concurrent clients.
var benchClients = []int{1, 32}

// benchTarget is one server and, per protocol, the one transport that all
// the benchmark's clients share.
type benchTarget struct {
	ts      *testServer
	clients map[string]*http.Client
}

func newBenchTarget(b *testing.B, setup serverSetup) *benchTarget {
	setup.quiet = true
	ts := newTestServer(b, setup)
	t := &benchTarget{ts: ts, clients: map[string]*http.Client{}}
	for _, proto := range benchProtos {
		if ts.issuer == nil {
			// The baseline: the same header, not checked.
			tr := transport(b, ts.pki.clientConfig(b, certs.DevClient), proto)
			t.clients[proto] = &http.Client{Transport: bearer{"mdb_at_" + strings.Repeat("x", 43), tr}}
			continue
		}
		t.clients[proto], _ = ts.clientAs(b, certs.DevClient, proto)
	}
	return t
}

// send makes one request and drains the answer, which must have status want.
func send(c *http.Client, method, url, body string, want int) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s, want %d", method, url, resp.Status, want)
	}
	return nil
}

// parallel runs op b.N times over n clients, each a goroutine, after one
// round of warm-up requests that opens the connections. ready, if not nil,
// runs after the warm-up, just before the timer starts.
func parallel(b *testing.B, n int, warmup func() error, ready func(), op func(i int64) error) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if err := warmup(); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	if ready != nil {
		ready()
	}
	b.ReportAllocs()
	b.ResetTimer()
	var next atomic.Int64
	for range n {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// bareHandler answers every request with status and body, as the API would,
// after reading the request body.
func bareHandler(status int, location string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		if location != "" {
			h.Set("Location", location)
		}
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		w.Write(body)
	})
}

// BenchmarkReadBandAlbums measures GET /bands/{id}/albums on a band with 10
// albums, some rated.
func BenchmarkReadBandAlbums(b *testing.B) {
	full := newBenchTarget(b, serverSetup{})
	st := full.ts.store
	band, err := st.CreateBand(store.NewBand{Name: "Pink Floyd", Genre: "rock", Year: 1965})
	if err != nil {
		b.Fatal(err)
	}
	u, err := st.CreateUser(store.NewUser{Username: "alice", Password: "wonderland", Name: "Alice"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10 {
		a, err := st.CreateAlbum(store.NewAlbum{BandID: band.ID, Name: fmt.Sprintf("Album %d", i+1), Year: 1967 + i})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Rate(u.ID, a.ID, 1+i%5); err != nil {
			b.Fatal(err)
		}
	}
	albums, _, err := st.BandAlbums(band.ID, store.Page{Limit: store.DefaultLimit})
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(albums)
	body = append(body, '\n')
	if err != nil {
		b.Fatal(err)
	}
	baseline := newBenchTarget(b, serverSetup{handler: bareHandler(http.StatusOK, "", body)})
	path := fmt.Sprintf("/bands/%d/albums", band.ID)

	for _, proto := range benchProtos {
		for _, clients := range benchClients {
			for _, stack := range []struct {
				name   string
				target *benchTarget
			}{{"baseline", baseline}, {"full", full}} {
				b.Run(fmt.Sprintf("proto=%s/clients=%d/stack=%s", proto, clients, stack.name), func(b *testing.B) {
					c, url := stack.target.clients[proto], stack.target.ts.URL+path
					get := func() error { return send(c, "GET", url, "", http.StatusOK) }
					parallel(b, clients, get, nil, func(int64) error { return get() })
				})
			}
		}
	}
}

// BenchmarkWriteRating measures POST /users/{id}/albums. Every operation
// rates a pair of user and album not rated before: before the timer starts,
// each run makes k users and k albums with k² ≥ b.N, and operation i rates
// album i mod k as user i div k. The baseline reads the same body and
// answers the same bytes without touching a store, so the difference is
// mostly the journal's fsync; fsyncs/op and fsync-ms/op say how much.
func BenchmarkWriteRating(b *testing.B) {
	full := newBenchTarget(b, serverSetup{})
	st := full.ts.store
	band, err := st.CreateBand(store.NewBand{Name: "Pink Floyd", Genre: "rock", Year: 1965})
	if err != nil {
		b.Fatal(err)
	}
	rated, err := st.CreateAlbum(store.NewAlbum{BandID: band.ID, Name: "Animals", Year: 1977})
	if err != nil {
		b.Fatal(err)
	}
	answer, err := json.Marshal(store.RatedAlbum{Album: rated, Rate: 4})
	answer = append(answer, '\n')
	if err != nil {
		b.Fatal(err)
	}
	baseline := newBenchTarget(b, serverSetup{handler: bareHandler(http.StatusCreated, "/users/1/albums/1", answer)})
	var made atomic.Int64 // users made so far, for unique usernames

	for _, proto := range benchProtos {
		for _, clients := range benchClients {
			b.Run(fmt.Sprintf("proto=%s/clients=%d/stack=baseline", proto, clients), func(b *testing.B) {
				c, url := baseline.clients[proto], baseline.ts.URL+"/users/1/albums"
				post := func() error { return send(c, "POST", url, `{"album_id":1,"rate":4}`, http.StatusCreated) }
				parallel(b, clients, post, nil, func(int64) error { return post() })
			})
			b.Run(fmt.Sprintf("proto=%s/clients=%d/stack=full", proto, clients), func(b *testing.B) {
				users, albums := ratingPairs(b, st, band.ID, b.N+clients, &made)
				k := int64(len(albums))
				c, base := full.clients[proto], full.ts.URL
				rate := func(i int64) error {
					return send(c, "POST", fmt.Sprintf("%s/users/%d/albums", base, users[i/k]),
						fmt.Sprintf(`{"album_id":%d,"rate":%d}`, albums[i%k], 1+i%5), http.StatusCreated)
				}
				var warm atomic.Int64
				m := full.ts.metrics
				var syncs0 uint64
				var seconds0 float64
				parallel(b, clients,
					func() error { return rate(int64(b.N) + warm.Add(1) - 1) },
					func() { syncs0, seconds0 = m.syncTotals() },
					rate)
				b.StopTimer()
				syncs, seconds := m.syncTotals()
				b.ReportMetric(float64(syncs-syncs0)/float64(b.N), "fsyncs/op")
				b.ReportMetric((seconds-seconds0)*1000/float64(b.N), "fsync-ms/op")
			})
		}
	}
}

// syncTotals returns the journal fsyncs counted so far and their time.
func (m *Metrics) syncTotals() (uint64, float64) {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	return m.syncSeconds.count, m.syncSeconds.sum
}

// ratingPairs makes k users and k albums of band, with k² ≥ n, and returns
// their ids. It makes them from many goroutines, so the journal syncs them
// in batches.
func ratingPairs(b *testing.B, st *store.Store, band int64, n int, made *atomic.Int64) (users, albums []int64) {
	k := 1
	for k*k < n {
		k++
	}
	users, albums = make([]int64, k), make([]int64, k)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := range k {
		wg.Go(func() {
			u, err := st.CreateUser(store.NewUser{Username: fmt.Sprintf("user%d", made.Add(1)), Password: "password", Name: "User"})
			a, err2 := st.CreateAlbum(store.NewAlbum{BandID: band, Name: "Album", Year: 2000})
			users[i], albums[i] = u.ID, a.ID
			if err := errors.Join(err, err2); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	return users, albums
}
