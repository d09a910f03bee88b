package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"musicdb/certs"
	"musicdb/server"
	"musicdb/server/auth"
	"musicdb/store"
)

var testNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// pki is the dev PKI of the tests, made once.
var pki struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pki.dir != "" {
		os.RemoveAll(pki.dir)
	}
	os.Exit(code)
}

func pkiDir(tb testing.TB) string {
	tb.Helper()
	pki.once.Do(func() {
		if pki.dir, pki.err = os.MkdirTemp("", "musicdb-api-test-"); pki.err == nil {
			_, pki.err = certs.Init(filepath.Join(pki.dir, "certs"))
		}
	})
	if pki.err != nil {
		tb.Fatal(pki.err)
	}
	return filepath.Join(pki.dir, "certs")
}

// serve starts h on loopback over TLS 1.3 with required client certificates,
// offering HTTP/2 unless http1 is set. It returns the server and the number
// of connections it accepted so far.
func serve(tb testing.TB, h http.Handler, http1 bool, opts ...func(*httptest.Server)) (*httptest.Server, *atomic.Int64) {
	tb.Helper()
	dir := pkiDir(tb)
	sp := certs.ServerPair(dir)
	cfg, err := certs.ServerConfig(certs.CAPair(dir).Cert, sp.Cert, sp.Key, certs.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.TLS = cfg
	ts.EnableHTTP2 = !http1
	if http1 {
		cfg.NextProtos = []string{"http/1.1"}
	}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	conns := new(atomic.Int64)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	for _, opt := range opts {
		opt(ts)
	}
	ts.StartTLS()
	tb.Cleanup(ts.Close)
	return ts, conns
}

// mustServer starts the real API with a fresh store.
func mustServer(tb testing.TB, http1 bool) (*httptest.Server, *store.Store) {
	tb.Helper()
	st, err := store.Open(tb.TempDir(), store.Options{Now: func() time.Time { return testNow }, PasswordIterations: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	ts, _ := serve(tb, server.NewServer(server.Config{Store: st, Auth: certificateAuth{}}), http1)
	return ts, st
}

// certificateAuth lets in every request over a verified client certificate,
// as its CN: these tests are about the API calls, and the console's
// tokens are package login's.
type certificateAuth struct{}

func (certificateAuth) Authenticate(r *http.Request) (auth.Identity, error) {
	return auth.Identity{Subject: r.TLS.VerifiedChains[0][0].Subject.CommonName}, nil
}

// mustClient returns a client of ts over a Transport of its own.
func mustClient(tb testing.TB, ts *httptest.Server) (*Client, *Transport) {
	tb.Helper()
	dir := pkiDir(tb)
	dev := certs.ClientPair(dir, certs.DevClient)
	cfg, err := certs.ClientConfig(certs.CAPair(dir).Cert, dev.Cert, dev.Key)
	if err != nil {
		tb.Fatal(err)
	}
	tr := NewTransport(cfg, true)
	tb.Cleanup(tr.CloseIdleConnections)
	c, err := New(ts.URL, &http.Client{Transport: tr})
	if err != nil {
		tb.Fatal(err)
	}
	return c, tr
}

func must[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

// TestCalls makes every API call against the real server and checks what
// each returns, and what it did to the store.
func TestCalls(t *testing.T) {
	ts, st := mustServer(t, false)
	c, tr := mustClient(t, ts)
	ctx := context.Background()

	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	alice := must[store.User](t)(c.CreateUser(ctx, store.NewUser{Username: "alice", Password: "s3cret-pass", Name: "Alice"}))
	if want := (store.User{ID: 1, Username: "alice", Name: "Alice", CreatedAt: testNow}); alice != want {
		t.Errorf("CreateUser: got %+v, want %+v", alice, want)
	}
	bob := must[store.User](t)(c.CreateUser(ctx, store.NewUser{Username: "bob", Password: "s3cret-pass", Name: "Bob"}))
	if got := must[store.User](t)(c.User(ctx, bob.ID)); got != bob {
		t.Errorf("User: got %+v, want %+v", got, bob)
	}
	if got := must[store.User](t)(c.ChangePassword(ctx, bob.ID, "n3w-password")); got != bob {
		t.Errorf("ChangePassword: got %+v, want %+v", got, bob)
	}
	if ok, err := st.VerifyPassword(bob.ID, "n3w-password"); !ok || err != nil {
		t.Errorf("after ChangePassword the new password does not verify: %v, %v", ok, err)
	}
	if got := must[[]store.User](t)(c.Users(ctx)); !reflect.DeepEqual(got, []store.User{alice, bob}) {
		t.Errorf("Users: got %+v", got)
	}

	queen := must[store.Band](t)(c.CreateBand(ctx, store.NewBand{Name: "Queen", Genre: "rock", Year: 1970}))
	abba := must[store.Band](t)(c.CreateBand(ctx, store.NewBand{Name: "ABBA", Genre: "pop", Year: 1972}))
	if got := must[store.Band](t)(c.Band(ctx, abba.ID)); got != abba {
		t.Errorf("Band: got %+v, want %+v", got, abba)
	}
	if got := must[[]store.Band](t)(c.Bands(ctx, "")); !reflect.DeepEqual(got, []store.Band{queen, abba}) {
		t.Errorf("Bands: got %+v", got)
	}
	if got := must[[]store.Band](t)(c.Bands(ctx, "pop")); !reflect.DeepEqual(got, []store.Band{abba}) {
		t.Errorf("Bands(pop): got %+v", got)
	}

	opera := must[store.Album](t)(c.CreateAlbum(ctx, store.NewAlbum{BandID: queen.ID, Name: "A Night at the Opera", Year: 1975}))
	news := must[store.Album](t)(c.CreateAlbum(ctx, store.NewAlbum{BandID: queen.ID, Name: "News of the World", Year: 1977}))
	arrival := must[store.Album](t)(c.CreateAlbum(ctx, store.NewAlbum{BandID: abba.ID, Name: "Arrival", Year: 1976}))
	if got := must[store.Album](t)(c.Album(ctx, news.ID)); got != news {
		t.Errorf("Album: got %+v, want %+v", got, news)
	}
	if got := must[[]store.Album](t)(c.BandAlbums(ctx, queen.ID)); !reflect.DeepEqual(got, []store.Album{opera, news}) {
		t.Errorf("BandAlbums: got %+v", got)
	}

	ra := must[store.RatedAlbum](t)(c.Rate(ctx, alice.ID, opera.ID, 5))
	if ra.ID != opera.ID || ra.Rate != 5 || ra.Ratings != (store.Summary{Count: 1, Average: 5}) {
		t.Errorf("Rate: got %+v", ra)
	}
	must[store.RatedAlbum](t)(c.Rate(ctx, bob.ID, opera.ID, 4))
	must[store.RatedAlbum](t)(c.Rate(ctx, alice.ID, arrival.ID, 2))
	ra = must[store.RatedAlbum](t)(c.ChangeRate(ctx, bob.ID, opera.ID, 3))
	if ra.Rate != 3 || ra.Ratings != (store.Summary{Count: 2, Average: 4}) {
		t.Errorf("ChangeRate: got %+v", ra)
	}
	if got := must[[]store.RatedAlbum](t)(c.UserAlbums(ctx, alice.ID)); len(got) != 2 || got[0].Rate != 5 || got[1].Rate != 2 {
		t.Errorf("UserAlbums: got %+v", got)
	}
	if got := must[[]store.Album](t)(c.Albums(ctx, 3)); len(got) != 1 || got[0].ID != opera.ID {
		t.Errorf("Albums(3): got %+v", got)
	}
	if got := must[[]store.Album](t)(c.Albums(ctx, 0)); len(got) != 3 {
		t.Errorf("Albums(0): got %+v", got)
	}

	if err := c.Unrate(ctx, bob.ID, opera.ID); err != nil {
		t.Error(err)
	}
	if got := must[store.Album](t)(c.Album(ctx, opera.ID)); got.Ratings != (store.Summary{Count: 1, Average: 5}) {
		t.Errorf("after Unrate: got %+v", got)
	}
	if err := c.ClearRates(ctx, alice.ID); err != nil {
		t.Error(err)
	}
	if got := must[[]store.RatedAlbum](t)(c.UserAlbums(ctx, alice.ID)); len(got) != 0 {
		t.Errorf("after ClearRates: got %+v", got)
	}
	must[store.RatedAlbum](t)(c.Rate(ctx, alice.ID, arrival.ID, 1))
	if err := c.DeleteAlbumsRated(ctx, 1); err != nil {
		t.Error(err)
	}
	if _, err := st.Album(arrival.ID); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("after DeleteAlbumsRated(1) the album rated 1 is still there: %v", err)
	}
	if err := c.DeleteAlbum(ctx, news.ID); err != nil {
		t.Error(err)
	}
	if err := c.DeleteBandAlbums(ctx, queen.ID); err != nil {
		t.Error(err)
	}
	if got := must[[]store.Album](t)(c.Albums(ctx, 0)); len(got) != 0 {
		t.Errorf("albums left: %+v", got)
	}
	if err := c.DeleteBand(ctx, abba.ID); err != nil {
		t.Error(err)
	}
	if err := c.DeleteUser(ctx, bob.ID); err != nil {
		t.Error(err)
	}
	if got := must[[]store.User](t)(c.Users(ctx)); len(got) != 1 {
		t.Errorf("users left: %+v", got)
	}
	must[store.Album](t)(c.CreateAlbum(ctx, store.NewAlbum{BandID: queen.ID, Name: "Jazz", Year: 1978}))
	for _, del := range []func(context.Context) error{c.DeleteAlbums, c.DeleteBands, c.DeleteUsers} {
		if err := del(ctx); err != nil {
			t.Error(err)
		}
	}
	if got := must[[]store.Band](t)(c.Bands(ctx, "")); got == nil || len(got) != 0 {
		t.Errorf("Bands of an empty store: got %#v, want an empty list", got)
	}

	st2 := tr.Stats()
	if st2.Connections != 1 || st2.TLSHandshakes != 1 || st2.Reused != st2.Requests-1 || st2.Protocol != "HTTP/2.0" {
		t.Errorf("Stats: got %+v, want every request on one HTTP/2 connection", st2)
	}
}

// TestPagination checks that lists are followed page by page to their end.
func TestPagination(t *testing.T) {
	for _, http1 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http1=%v", http1), func(t *testing.T) {
			ts, st := mustServer(t, http1)
			c, tr := mustClient(t, ts)
			c.PageSize = 2
			ctx := context.Background()
			for i := range 5 {
				if _, err := st.CreateBand(store.NewBand{Name: fmt.Sprintf("Band %d", i), Genre: "rock", Year: 1970 + i}); err != nil {
					t.Fatal(err)
				}
			}
			bands, err := c.Bands(ctx, "rock")
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, b := range bands {
				ids = append(ids, b.ID)
			}
			if !reflect.DeepEqual(ids, []int64{1, 2, 3, 4, 5}) {
				t.Errorf("Bands: got ids %v, want 1 to 5", ids)
			}
			// Pages of 2, 2 and 1: three requests, all on one connection,
			// so every body was read to its end.
			if s := tr.Stats(); s.Requests != 3 || s.Connections != 1 {
				t.Errorf("Stats: got %+v, want 3 requests on 1 connection", s)
			}

			// A last page that is full carries no next link: the server
			// looked one item ahead.
			c.PageSize = 5
			if bands, err = c.Bands(ctx, ""); err != nil || len(bands) != 5 {
				t.Errorf("Bands with a page of 5: got %d bands, %v", len(bands), err)
			}
		})
	}
}

// TestErrors checks that error answers come back as the store's error codes,
// with the status and the server's problem details.
func TestErrors(t *testing.T) {
	ts, _ := mustServer(t, false)
	c, _ := mustClient(t, ts)
	ctx := context.Background()
	must[store.User](t)(c.CreateUser(ctx, store.NewUser{Username: "alice", Password: "s3cret-pass", Name: "Alice"}))
	must[store.Band](t)(c.CreateBand(ctx, store.NewBand{Name: "Queen", Genre: "rock", Year: 1970}))
	must[store.Album](t)(c.CreateAlbum(ctx, store.NewAlbum{BandID: 1, Name: "Jazz", Year: 1978}))
	must[store.RatedAlbum](t)(c.Rate(ctx, 1, 1, 5))

	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		code   string
		detail string
		fields map[string]string
	}{
		{"NotFound", func() error { _, err := c.Album(ctx, 42); return err }, 404, store.ENOTFOUND, "no album 42", nil},
		{"NotRated", func() error { _, err := c.ChangeRate(ctx, 1, 42, 3); return err }, 404, store.ENOTFOUND, "no album 42", nil},
		{"Conflict", func() error { _, err := c.Rate(ctx, 1, 1, 4); return err }, 409, store.ECONFLICT, "user 1 already rated album 1", nil},
		{"UsernameTaken", func() error {
			_, err := c.CreateUser(ctx, store.NewUser{Username: "alice", Password: "0ther-pass", Name: "A"})
			return err
		}, 409, store.ECONFLICT, `username "alice" is taken`, nil},
		{"Invalid", func() error {
			_, err := c.CreateBand(ctx, store.NewBand{Name: " ", Genre: "jazz", Year: 1970})
			return err
		}, 422, store.EINVALID, "invalid input", map[string]string{"name": "must not be blank", "genre": "must be one of pop rock indy metal trance classic"}},
		{"BadParameter", func() error { _, err := c.Albums(ctx, 9); return err }, 400, store.EINVALID, "invalid parameters", map[string]string{"rate": "must be from 1 to 5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("got %v (%T), want a *StatusError", err, err)
			}
			if se.Status != tc.status || store.ErrorCode(err) != tc.code || err.Error() != tc.detail {
				t.Errorf("got %d %s %q, want %d %s %q", se.Status, store.ErrorCode(err), err, tc.status, tc.code, tc.detail)
			}
			if !reflect.DeepEqual(store.ErrorFields(err), tc.fields) {
				t.Errorf("fields: got %v, want %v", store.ErrorFields(err), tc.fields)
			}
			if se.Problem.Status != tc.status || se.Problem.Detail != tc.detail || se.Problem.Type != "about:blank" {
				t.Errorf("problem: got %+v", se.Problem)
			}
		})
	}
}

// TestStatusCodes checks the status → code table, with bodies that are
// problem+json and bodies that are not.
func TestStatusCodes(t *testing.T) {
	for _, tc := range []struct {
		status  int
		problem bool
		code    string
	}{
		{400, true, store.EINVALID},
		{401, true, store.EUNAUTHORIZED},
		{403, true, store.EFORBIDDEN},
		{404, true, store.ENOTFOUND},
		{405, true, store.EINVALID},
		{409, true, store.ECONFLICT},
		{413, true, store.EINVALID},
		{415, true, store.EINVALID},
		{422, true, store.EINVALID},
		{500, true, store.EINTERNAL},
		{502, false, store.EINTERNAL},
		{503, true, store.EUNAVAILABLE},
		{504, false, store.EINTERNAL},
		{200, false, store.EINTERNAL}, // a success status other than the call's
	} {
		ts, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.problem {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(tc.status)
				fmt.Fprintf(w, `{"type":"about:blank","title":%q,"status":%d,"detail":"what went wrong"}`, http.StatusText(tc.status), tc.status)
				return
			}
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(tc.status)
			io.WriteString(w, "<h1>oops</h1>")
		}), false)
		c, _ := mustClient(t, ts)
		_, err := c.CreateBand(context.Background(), store.NewBand{Name: "Queen", Genre: "rock", Year: 1970})
		var se *StatusError
		if !errors.As(err, &se) || se.Status != tc.status || store.ErrorCode(err) != tc.code {
			t.Errorf("%d: got %v (%T), code %s; want a StatusError with code %s", tc.status, err, err, store.ErrorCode(err), tc.code)
			continue
		}
		wantDetail := "what went wrong"
		if !tc.problem {
			wantDetail = fmt.Sprintf("the server answered %d %s", tc.status, http.StatusText(tc.status))
		}
		if se.Problem.Detail != wantDetail || se.Problem.Status != tc.status {
			t.Errorf("%d: problem %+v, want detail %q", tc.status, se.Problem, wantDetail)
		}
	}
}

// TestReplay checks what is sent again when a reused connection fails after
// the request was written: a DELETE or a PATCH is, once; a POST never is.
func TestReplay(t *testing.T) {
	for _, tc := range []struct {
		method string
		call   func(c *Client) error
		want   int // how many times the server gets the request
		ok     bool
	}{
		{"DELETE", func(c *Client) error { return c.DeleteBand(context.Background(), 1) }, 2, true},
		{"PATCH", func(c *Client) error { _, err := c.ChangeRate(context.Background(), 1, 1, 5); return err }, 2, true},
		{"POST", func(c *Client) error {
			_, err := c.CreateBand(context.Background(), store.NewBand{Name: "Queen", Genre: "rock", Year: 1970})
			return err
		}, 1, false},
	} {
		t.Run(tc.method, func(t *testing.T) {
			// The server reads the first request of that method in full,
			// then drops the connection without answering, as a server
			// going away might. It answers every other request.
			var got atomic.Int64
			ts, conns := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if r.Method == tc.method && got.Add(1) == 1 {
					conn, _, err := http.NewResponseController(w).Hijack()
					if err != nil {
						panic(err)
					}
					conn.Close()
					return
				}
				switch r.Method {
				case http.MethodGet:
					w.Write([]byte(`{"status":"ok"}`))
				case http.MethodDelete:
					w.WriteHeader(http.StatusNoContent)
				default:
					w.WriteHeader(http.StatusOK)
					w.Write([]byte(`{"id":1}`))
				}
			}), true)
			c, tr := mustClient(t, ts)
			if err := c.Health(context.Background()); err != nil { // so that the connection is reused
				t.Fatal(err)
			}
			err := tc.call(c)
			if tc.ok && err != nil {
				t.Errorf("got %v, want success after one replay", err)
			}
			if !tc.ok && err == nil {
				t.Error("got success, want the error of the lost answer")
			}
			if n := got.Load(); n != int64(tc.want) {
				t.Errorf("the server got the %s %d times, want %d", tc.method, n, tc.want)
			}
			if s := tr.Stats(); s.Connections != conns.Load() {
				t.Errorf("the client counted %d connections, the server %d", s.Connections, conns.Load())
			}
		})
	}
}

func TestNew(t *testing.T) {
	for _, u := range []string{"http://localhost:8443", "localhost:8443", "https://", "https://u:p@localhost", "https://localhost/?q=1", "https://[::1"} {
		if _, err := New(u, http.DefaultClient); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
	c, err := New("https://localhost:8443", http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.url(nil, "users", "7", "albums").String(); got != "https://localhost:8443/users/7/albums" {
		t.Errorf("url: got %s", got)
	}
}

// TestTransportTLS checks that the transport verifies the server against the
// CA and speaks TLS 1.3.
func TestTransportTLS(t *testing.T) {
	ts, _ := mustServer(t, false)
	c, _ := mustClient(t, ts)
	if err := c.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if _, err := certs.Init(other); err != nil {
		t.Fatal(err)
	}
	dev := certs.ClientPair(pkiDir(t), certs.DevClient)
	cfg, err := certs.ClientConfig(certs.CAPair(other).Cert, dev.Cert, dev.Key)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTransport(cfg, true)
	defer tr.CloseIdleConnections()
	c2, err := New(ts.URL, &http.Client{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	err = c2.Health(context.Background())
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Errorf("a server of another CA: got %v, want a certificate verification error", err)
	}
	if s := tr.Stats(); s.Connections != 1 || s.TLSHandshakes != 0 {
		t.Errorf("Stats: got %+v, want 1 connection and no handshake", s)
	}
}

// TestConcurrentRequests checks that requests made at the same time share
// the one connection rather than opening more.
func TestConcurrentRequests(t *testing.T) {
	for _, http1 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http1=%v", http1), func(t *testing.T) {
			st, err := store.Open(t.TempDir(), store.Options{Now: func() time.Time { return testNow }})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ts, conns := serve(t, server.NewServer(server.Config{Store: st, Auth: certificateAuth{}}), http1)
			c, tr := mustClient(t, ts)
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for range 20 {
				wg.Go(func() { errs <- c.Health(context.Background()) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if s := tr.Stats(); s.Connections != 1 || conns.Load() != 1 {
				t.Errorf("20 requests at once: the client opened %d connections, the server accepted %d; want 1", s.Connections, conns.Load())
			}
		})
	}
}
