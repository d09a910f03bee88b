package store_test

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"musicdb/store"
)

// testNow is the clock of every test store: years up to 2027 are valid.
var testNow = time.Date(2026, time.June, 1, 12, 0, 0, 0, time.UTC)

// MustOpen opens the store in dir with a fixed clock and cheap password
// hashing, and closes it when the test ends.
func MustOpen(tb testing.TB, dir string) *store.Store {
	tb.Helper()
	s, err := store.Open(dir, store.Options{
		Now:                func() time.Time { return testNow },
		PasswordIterations: 1000,
	})
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// must returns v, or ends the test with a panic when err is not nil; it is
// for setup steps whose failure means the test cannot go on.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func mustOK(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// wantCode fails the test unless err carries the code and, for EINVALID, a
// message for each of fields.
func wantCode(tb testing.TB, err error, code string, fields ...string) {
	tb.Helper()
	if got := store.ErrorCode(err); got != code {
		tb.Fatalf("error %v: got code %q, want %q", err, got, code)
	}
	for _, f := range fields {
		if store.ErrorFields(err)[f] == "" {
			tb.Errorf("error %v: no message for field %q in %v", err, f, store.ErrorFields(err))
		}
	}
	if got, want := len(store.ErrorFields(err)), len(fields); got != want {
		tb.Errorf("error %v: got %d field messages %v, want %d", err, got, store.ErrorFields(err), want)
	}
}

func TestCreateUser(t *testing.T) {
	tests := []struct {
		name   string
		in     store.NewUser
		code   string
		fields []string
	}{
		{"OK", store.NewUser{"alice", "password1", "Alice Liddell"}, "", nil},
		{"OKShortest", store.NewUser{"a.b", "12345678", "A"}, "", nil},
		{"OKLongest", store.NewUser{strings.Repeat("z", 32), strings.Repeat("p", 128), strings.Repeat("é", 100)}, "", nil},
		{"OKUnicodeName", store.NewUser{"bjork", "password1", "Björk Guðmundsdóttir"}, "", nil},
		{"UsernameShort", store.NewUser{"al", "password1", "Al"}, store.EINVALID, []string{"username"}},
		{"UsernameLong", store.NewUser{strings.Repeat("z", 33), "password1", "Z"}, store.EINVALID, []string{"username"}},
		{"UsernameUpper", store.NewUser{"Alice", "password1", "Alice"}, store.EINVALID, []string{"username"}},
		{"UsernameSpace", store.NewUser{"al ice", "password1", "Alice"}, store.EINVALID, []string{"username"}},
		{"UsernameUnicode", store.NewUser{"björk", "password1", "Björk"}, store.EINVALID, []string{"username"}},
		{"PasswordShort", store.NewUser{"bob", "1234567", "Bob"}, store.EINVALID, []string{"password"}},
		{"PasswordLong", store.NewUser{"bob", strings.Repeat("p", 129), "Bob"}, store.EINVALID, []string{"password"}},
		{"NameEmpty", store.NewUser{"bob", "password1", ""}, store.EINVALID, []string{"name"}},
		{"NameBlank", store.NewUser{"bob", "password1", "   "}, store.EINVALID, []string{"name"}},
		{"NameLong", store.NewUser{"bob", "password1", strings.Repeat("é", 101)}, store.EINVALID, []string{"name"}},
		{"NameControl", store.NewUser{"bob", "password1", "Bob\nSmith"}, store.EINVALID, []string{"name"}},
		{"NameBadUTF8", store.NewUser{"bob", "password1", "Bob\xff"}, store.EINVALID, []string{"name"}},
		{"AllBad", store.NewUser{"", "", ""}, store.EINVALID, []string{"username", "password", "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustOpen(t, t.TempDir())
			u, err := s.CreateUser(tt.in)
			if tt.code != "" {
				wantCode(t, err, tt.code, tt.fields...)
				if users, _, _ := s.Users(store.Page{}); len(users) != 0 {
					t.Errorf("a refused user was stored: %v", users)
				}
				if strings.Contains(err.Error(), tt.in.Password) && tt.in.Password != "" {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			mustOK(t, err)
			want := store.User{ID: 1, Username: tt.in.Username, Name: tt.in.Name, CreatedAt: testNow}
			if u != want {
				t.Errorf("got %+v, want %+v", u, want)
			}
			if got := must(s.User(u.ID)); got != want {
				t.Errorf("User(%d): got %+v, want %+v", u.ID, got, want)
			}
		})
	}
	t.Run("ErrUsernameTaken", func(t *testing.T) {
		s := MustOpen(t, t.TempDir())
		must(s.CreateUser(store.NewUser{"alice", "password1", "Alice"}))
		_, err := s.CreateUser(store.NewUser{"alice", "password2", "Another Alice"})
		wantCode(t, err, store.ECONFLICT)
		if users := must3(t, s.Users)(store.Page{}); len(users) != 1 {
			t.Errorf("got %d users, want 1", len(users))
		}
	})
}

func bandAlbums(tb testing.TB, s *store.Store, id int64) []store.Album {
	tb.Helper()
	return must3(tb, func(p store.Page) ([]store.Album, bool, error) { return s.BandAlbums(id, p) })(store.Page{})
}

// must3 adapts a list method to return only its items, failing on error.
func must3[T any](tb testing.TB, list func(store.Page) ([]T, bool, error)) func(store.Page) []T {
	return func(p store.Page) []T {
		tb.Helper()
		items, _, err := list(p)
		if err != nil {
			tb.Fatal(err)
		}
		return items
	}
}

func TestPassword(t *testing.T) {
	dir := t.TempDir()
	s := MustOpen(t, dir)
	u := must(s.CreateUser(store.NewUser{"alice", "correct horse", "Alice"}))
	if ok := must(s.VerifyPassword(u.ID, "correct horse")); !ok {
		t.Error("VerifyPassword(right password) = false")
	}
	if ok := must(s.VerifyPassword(u.ID, "wrong horse")); ok {
		t.Error("VerifyPassword(wrong password) = true")
	}
	got := must(s.SetPassword(u.ID, "battery staple"))
	if got != u {
		t.Errorf("SetPassword returned %+v, want %+v", got, u)
	}
	if ok := must(s.VerifyPassword(u.ID, "battery staple")); !ok {
		t.Error("VerifyPassword(new password) = false")
	}
	if ok := must(s.VerifyPassword(u.ID, "correct horse")); ok {
		t.Error("VerifyPassword(old password) = true")
	}
	_, err := s.SetPassword(u.ID, "short")
	wantCode(t, err, store.EINVALID, "password")
	_, err = s.SetPassword(99, "long enough")
	wantCode(t, err, store.ENOTFOUND)
	_, err = s.VerifyPassword(99, "long enough")
	wantCode(t, err, store.ENOTFOUND)

	mustOK(t, s.Close())
	s = MustOpen(t, dir)
	if ok := must(s.VerifyPassword(u.ID, "battery staple")); !ok {
		t.Error("after reopening, VerifyPassword(new password) = false")
	}
	for _, name := range dirFiles(t, dir) {
		data := must(os.ReadFile(filepath.Join(dir, name)))
		for _, pw := range []string{"correct horse", "battery staple"} {
			if strings.Contains(string(data), pw) {
				t.Errorf("%s holds the password %q in clear", name, pw)
			}
		}
	}
}

func dirFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	entries := must(os.ReadDir(dir))
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestCreateBand(t *testing.T) {
	tests := []struct {
		name   string
		in     store.NewBand
		fields []string
	}{
		{"OK", store.NewBand{"Queen", "rock", 1970}, nil},
		{"OKEveryGenre", store.NewBand{"Any", "classic", 1000}, nil},
		{"OKNextYear", store.NewBand{"Future", "pop", 2027}, nil},
		{"YearAfterNext", store.NewBand{"Future", "pop", 2028}, []string{"year"}},
		{"YearTooOld", store.NewBand{"Ancient", "pop", 999}, []string{"year"}},
		{"YearMissing", store.NewBand{"Nowhen", "pop", 0}, []string{"year"}},
		{"GenreUnknown", store.NewBand{"Queen", "jazz", 1970}, []string{"genre"}},
		{"GenreUpper", store.NewBand{"Queen", "Rock", 1970}, []string{"genre"}},
		{"NameEmpty", store.NewBand{"", "rock", 1970}, []string{"name"}},
		{"AllBad", store.NewBand{"", "", 0}, []string{"name", "genre", "year"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustOpen(t, t.TempDir())
			b, err := s.CreateBand(tt.in)
			if tt.fields != nil {
				wantCode(t, err, store.EINVALID, tt.fields...)
				return
			}
			mustOK(t, err)
			want := store.Band{ID: 1, Name: tt.in.Name, Genre: tt.in.Genre, Year: tt.in.Year}
			if b != want {
				t.Errorf("got %+v, want %+v", b, want)
			}
			if got := must(s.Band(1)); got != want {
				t.Errorf("Band(1): got %+v, want %+v", got, want)
			}
		})
	}
}

func TestCreateAlbum(t *testing.T) {
	s := MustOpen(t, t.TempDir())
	band := must(s.CreateBand(store.NewBand{"Queen", "rock", 1970}))
	tests := []struct {
		name   string
		in     store.NewAlbum
		code   string
		fields []string
	}{
		{"OK", store.NewAlbum{band.ID, "A Night at the Opera", 1975}, "", nil},
		{"NoSuchBand", store.NewAlbum{band.ID + 1, "Ghost", 1975}, store.ENOTFOUND, nil},
		{"BandIDZero", store.NewAlbum{0, "Ghost", 1975}, store.EINVALID, []string{"band_id"}},
		{"BandIDNegative", store.NewAlbum{-1, "Ghost", 1975}, store.EINVALID, []string{"band_id"}},
		{"YearBad", store.NewAlbum{band.ID, "Ghost", 3000}, store.EINVALID, []string{"year"}},
		{"NameLong", store.NewAlbum{band.ID, strings.Repeat("x", 101), 1975}, store.EINVALID, []string{"name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := bandAlbums(t, s, band.ID)
			a, err := s.CreateAlbum(tt.in)
			if tt.code != "" {
				wantCode(t, err, tt.code, tt.fields...)
				if after := bandAlbums(t, s, band.ID); len(after) != len(before) {
					t.Errorf("a refused album was stored")
				}
				return
			}
			mustOK(t, err)
			want := store.Album{ID: a.ID, BandID: band.ID, Name: tt.in.Name, Year: tt.in.Year}
			if a != want || a.ID < 1 {
				t.Errorf("got %+v, want %+v", a, want)
			}
			if got := must(s.Album(a.ID)); got != want {
				t.Errorf("Album(%d): got %+v, want %+v", a.ID, got, want)
			}
		})
	}
}

// fixture is a small catalogue: two users, two bands, three albums and
// four ratings.
type fixture struct {
	s                *store.Store
	alice, bob       store.User
	queen, floyd     store.Band
	opera, day, wall store.Album
}

func newFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	f := &fixture{s: MustOpen(t, dir)}
	s := f.s
	f.alice = must(s.CreateUser(store.NewUser{"alice", "password1", "Alice"}))
	f.bob = must(s.CreateUser(store.NewUser{"bob", "password2", "Bob"}))
	f.queen = must(s.CreateBand(store.NewBand{"Queen", "rock", 1970}))
	f.floyd = must(s.CreateBand(store.NewBand{"Pink Floyd", "rock", 1965}))
	f.opera = must(s.CreateAlbum(store.NewAlbum{f.queen.ID, "A Night at the Opera", 1975}))
	f.day = must(s.CreateAlbum(store.NewAlbum{f.queen.ID, "A Day at the Races", 1976}))
	f.wall = must(s.CreateAlbum(store.NewAlbum{f.floyd.ID, "The Wall", 1979}))
	must(s.Rate(f.alice.ID, f.opera.ID, 5))
	must(s.Rate(f.bob.ID, f.opera.ID, 4))
	must(s.Rate(f.alice.ID, f.wall.ID, 3))
	must(s.Rate(f.bob.ID, f.day.ID, 2))
	return f
}

func TestRatings(t *testing.T) {
	t.Run("Summary", func(t *testing.T) {
		f := newFixture(t, t.TempDir())
		must(f.s.CreateUser(store.NewUser{"carol", "password3", "Carol"}))
		must(f.s.Rate(3, f.opera.ID, 4))
		got := must(f.s.Album(f.opera.ID)).Ratings
		if want := (store.Summary{Count: 3, Average: 4.33}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		if got := must(f.s.Album(f.day.ID)).Ratings; got != (store.Summary{Count: 1, Average: 2}) {
			t.Errorf("day: got %+v", got)
		}
	})
	t.Run("UserAlbums", func(t *testing.T) {
		f := newFixture(t, t.TempDir())
		got := must3(t, func(p store.Page) ([]store.RatedAlbum, bool, error) { return f.s.UserAlbums(f.alice.ID, p) })(store.Page{})
		want := []store.RatedAlbum{
			{must(f.s.Album(f.opera.ID)), 5},
			{must(f.s.Album(f.wall.ID)), 3},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
		_, _, err := f.s.UserAlbums(99, store.Page{})
		wantCode(t, err, store.ENOTFOUND)
	})
	t.Run("ErrAlreadyRated", func(t *testing.T) {
		f := newFixture(t, t.TempDir())
		_, err := f.s.Rate(f.alice.ID, f.opera.ID, 1)
		wantCode(t, err, store.ECONFLICT)
		if !strings.Contains(err.Error(), "already rated") {
			t.Errorf("message %q does not say the album was rated already", err)
		}
		if got := must(f.s.Album(f.opera.ID)).Ratings; got != (store.Summary{Count: 2, Average: 4.5}) {
			t.Errorf("a refused rating changed the summary: %+v", got)
		}
	})
	t.Run("ChangeRate", func(t *testing.T) {
		f := newFixture(t, t.TempDir())
		ra := must(f.s.ChangeRate(f.alice.ID, f.opera.ID, 1))
		if ra.Rate != 1 || ra.Ratings != (store.Summary{Count: 2, Average: 2.5}) {
			t.Errorf("got %+v, want rate 1 and summary {2 2.5}", ra)
		}
		_, err := f.s.ChangeRate(f.alice.ID, f.day.ID, 1)
		wantCode(t, err, store.ENOTFOUND)
		if !strings.Contains(err.Error(), "has not rated") {
			t.Errorf("message %q does not say there is no rating", err)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		f := newFixture(t, t.TempDir())
		for _, rate := range []int{0, 6, -1} {
			_, err := f.s.Rate(f.alice.ID, f.day.ID, rate)
			wantCode(t, err, store.EINVALID, "rate")
			_, err = f.s.ChangeRate(f.alice.ID, f.opera.ID, rate)
			wantCode(t, err, store.EINVALID, "rate")
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		f := newFixture(t, t.TempDir())
		for _, ids := range [][2]int64{{99, f.opera.ID}, {f.alice.ID, 99}, {0, 0}} {
			_, err := f.s.Rate(ids[0], ids[1], 3)
			wantCode(t, err, store.ENOTFOUND)
			_, err = f.s.ChangeRate(ids[0], ids[1], 3)
			wantCode(t, err, store.ENOTFOUND)
			wantCode(t, f.s.Unrate(ids[0], ids[1]), store.ENOTFOUND)
		}
		wantCode(t, f.s.Unrate(f.alice.ID, f.day.ID), store.ENOTFOUND)
		wantCode(t, f.s.ClearRates(99), store.ENOTFOUND)
	})
	t.Run("Unrate", func(t *testing.T) {
		f := newFixture(t, t.TempDir())
		mustOK(t, f.s.Unrate(f.bob.ID, f.opera.ID))
		if got := must(f.s.Album(f.opera.ID)).Ratings; got != (store.Summary{Count: 1, Average: 5}) {
			t.Errorf("got %+v", got)
		}
		must(f.s.Rate(f.bob.ID, f.opera.ID, 1)) // may rate again
	})
}

// catalogueState is everything a store holds, as seen through its API.
type catalogueState struct {
	Users   []store.User
	Bands   []store.Band
	Albums  []store.Album
	Ratings map[int64][]store.RatedAlbum
}

func stateOf(tb testing.TB, s *store.Store) catalogueState {
	tb.Helper()
	st := catalogueState{
		Users:   must3(tb, s.Users)(store.Page{Limit: store.MaxLimit}),
		Bands:   must3(tb, func(p store.Page) ([]store.Band, bool, error) { return s.Bands("", p) })(store.Page{Limit: store.MaxLimit}),
		Albums:  must3(tb, func(p store.Page) ([]store.Album, bool, error) { return s.Albums(0, p) })(store.Page{Limit: store.MaxLimit}),
		Ratings: map[int64][]store.RatedAlbum{},
	}
	for _, u := range st.Users {
		ra, _, err := s.UserAlbums(u.ID, store.Page{Limit: store.MaxLimit})
		mustOK(tb, err)
		if len(ra) > 0 {
			st.Ratings[u.ID] = ra
		}
	}
	return st
}

func TestCascades(t *testing.T) {
	tests := []struct {
		name string
		do   func(f *fixture) error
		// want names what must remain: user names, band names, album
		// names, and "user:album=rate" ratings.
		users, bands, albums, ratings []string
	}{
		{"DeleteUser", func(f *fixture) error { return f.s.DeleteUser(f.alice.ID) },
			[]string{"bob"}, []string{"Queen", "Pink Floyd"}, []string{"A Night at the Opera", "A Day at the Races", "The Wall"},
			[]string{"bob:A Night at the Opera=4", "bob:A Day at the Races=2"}},
		{"DeleteUsers", func(f *fixture) error { return f.s.DeleteUsers() },
			nil, []string{"Queen", "Pink Floyd"}, []string{"A Night at the Opera", "A Day at the Races", "The Wall"}, nil},
		{"DeleteBand", func(f *fixture) error { return f.s.DeleteBand(f.queen.ID) },
			[]string{"alice", "bob"}, []string{"Pink Floyd"}, []string{"The Wall"}, []string{"alice:The Wall=3"}},
		{"DeleteBands", func(f *fixture) error { return f.s.DeleteBands() },
			[]string{"alice", "bob"}, nil, nil, nil},
		{"DeleteAlbum", func(f *fixture) error { return f.s.DeleteAlbum(f.opera.ID) },
			[]string{"alice", "bob"}, []string{"Queen", "Pink Floyd"}, []string{"A Day at the Races", "The Wall"},
			[]string{"alice:The Wall=3", "bob:A Day at the Races=2"}},
		{"DeleteAlbums", func(f *fixture) error { return f.s.DeleteAlbums() },
			[]string{"alice", "bob"}, []string{"Queen", "Pink Floyd"}, nil, nil},
		{"DeleteBandAlbums", func(f *fixture) error { return f.s.DeleteBandAlbums(f.queen.ID) },
			[]string{"alice", "bob"}, []string{"Queen", "Pink Floyd"}, []string{"The Wall"}, []string{"alice:The Wall=3"}},
		{"ClearRates", func(f *fixture) error { return f.s.ClearRates(f.bob.ID) },
			[]string{"alice", "bob"}, []string{"Queen", "Pink Floyd"}, []string{"A Night at the Opera", "A Day at the Races", "The Wall"},
			[]string{"alice:A Night at the Opera=5", "alice:The Wall=3"}},
		{"DeleteAlbumsRated4", func(f *fixture) error { return f.s.DeleteAlbumsRated(4) },
			[]string{"alice", "bob"}, []string{"Queen", "Pink Floyd"}, []string{"A Day at the Races", "The Wall"},
			[]string{"alice:The Wall=3", "bob:A Day at the Races=2"}},
		{"DeleteAlbumsRated1", func(f *fixture) error { return f.s.DeleteAlbumsRated(1) },
			[]string{"alice", "bob"}, []string{"Queen", "Pink Floyd"}, []string{"A Night at the Opera", "A Day at the Races", "The Wall"},
			[]string{"alice:A Night at the Opera=5", "alice:The Wall=3", "bob:A Night at the Opera=4", "bob:A Day at the Races=2"}},
		{"Unrate", func(f *fixture) error { return f.s.Unrate(f.alice.ID, f.wall.ID) },
			[]string{"alice", "bob"}, []string{"Queen", "Pink Floyd"}, []string{"A Night at the Opera", "A Day at the Races", "The Wall"},
			[]string{"alice:A Night at the Opera=5", "bob:A Night at the Opera=4", "bob:A Day at the Races=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := newFixture(t, dir)
			mustOK(t, tt.do(f))
			check := func(s *store.Store) {
				t.Helper()
				st := stateOf(t, s)
				var users, bands, albums, ratings []string
				names := map[int64]string{}
				for _, u := range st.Users {
					users = append(users, u.Username)
					names[u.ID] = u.Username
				}
				for _, b := range st.Bands {
					bands = append(bands, b.Name)
				}
				counts := map[int64]int{}
				for _, u := range st.Users {
					for _, ra := range st.Ratings[u.ID] {
						ratings = append(ratings, fmt.Sprintf("%s:%s=%d", names[u.ID], ra.Name, ra.Rate))
						counts[ra.ID]++
					}
				}
				for _, a := range st.Albums {
					albums = append(albums, a.Name)
					if a.Ratings.Count != counts[a.ID] {
						t.Errorf("album %q: summary counts %d ratings, users hold %d", a.Name, a.Ratings.Count, counts[a.ID])
					}
				}
				for _, c := range []struct {
					what      string
					got, want []string
				}{{"users", users, tt.users}, {"bands", bands, tt.bands}, {"albums", albums, tt.albums}, {"ratings", ratings, tt.ratings}} {
					if !equalSorted(c.got, c.want) {
						t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
					}
				}
			}
			check(f.s)
			mustOK(t, f.s.Close())
			check(MustOpen(t, dir))
		})
	}
}

func equalSorted(a, b []string) bool {
	am, bm := map[string]int{}, map[string]int{}
	for _, s := range a {
		am[s]++
	}
	for _, s := range b {
		bm[s]++
	}
	return maps.Equal(am, bm)
}

func TestDeleteNotFound(t *testing.T) {
	s := MustOpen(t, t.TempDir())
	for name, err := range map[string]error{
		"DeleteUser":        s.DeleteUser(1),
		"DeleteBand":        s.DeleteBand(1),
		"DeleteAlbum":       s.DeleteAlbum(1),
		"DeleteBandAlbums":  s.DeleteBandAlbums(1),
		"DeleteAlbumsRated": s.DeleteAlbumsRated(9),
	} {
		want := store.ENOTFOUND
		if name == "DeleteAlbumsRated" {
			want = store.EINVALID
		}
		t.Run(name, func(t *testing.T) {
			wantCode(t, err, want, map[bool][]string{true: {"rate"}}[want == store.EINVALID]...)
		})
	}
	for name, get := range map[string]func(int64) error{
		"User":  func(id int64) error { _, err := s.User(id); return err },
		"Band":  func(id int64) error { _, err := s.Band(id); return err },
		"Album": func(id int64) error { _, err := s.Album(id); return err },
		"BandAlbums": func(id int64) error {
			_, _, err := s.BandAlbums(id, store.Page{})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			for _, id := range []int64{0, -1, 1, 1 << 62} {
				err := get(id)
				wantCode(t, err, store.ENOTFOUND)
				if !strings.Contains(err.Error(), fmt.Sprint(id)) {
					t.Errorf("message %q does not name id %d", err, id)
				}
			}
		})
	}
}

func TestIDsNeverReused(t *testing.T) {
	dir := t.TempDir()
	s := MustOpen(t, dir)
	u1 := must(s.CreateUser(store.NewUser{"alice", "password1", "Alice"}))
	b1 := must(s.CreateBand(store.NewBand{"Queen", "rock", 1970}))
	a1 := must(s.CreateAlbum(store.NewAlbum{b1.ID, "Queen II", 1974}))
	mustOK(t, s.DeleteUser(u1.ID))
	mustOK(t, s.DeleteBand(b1.ID))
	u2 := must(s.CreateUser(store.NewUser{"alice", "password1", "Alice"}))
	b2 := must(s.CreateBand(store.NewBand{"Queen", "rock", 1970}))
	a2 := must(s.CreateAlbum(store.NewAlbum{b2.ID, "Queen II", 1974}))
	if u2.ID != u1.ID+1 || b2.ID != b1.ID+1 || a2.ID != a1.ID+1 {
		t.Errorf("after deletes got ids %d %d %d, want %d %d %d", u2.ID, b2.ID, a2.ID, u1.ID+1, b1.ID+1, a1.ID+1)
	}
	mustOK(t, s.DeleteUsers())
	mustOK(t, s.DeleteBands())
	mustOK(t, s.Close())

	s = MustOpen(t, dir)
	u3 := must(s.CreateUser(store.NewUser{"alice", "password1", "Alice"}))
	b3 := must(s.CreateBand(store.NewBand{"Queen", "rock", 1970}))
	a3 := must(s.CreateAlbum(store.NewAlbum{b3.ID, "Queen II", 1974}))
	if u3.ID != u2.ID+1 || b3.ID != b2.ID+1 || a3.ID != a2.ID+1 {
		t.Errorf("after reopening got ids %d %d %d, want %d %d %d", u3.ID, b3.ID, a3.ID, u2.ID+1, b2.ID+1, a2.ID+1)
	}
}

func TestPaging(t *testing.T) {
	s := MustOpen(t, t.TempDir())
	const n = 250
	for i := range n {
		must(s.CreateBand(store.NewBand{fmt.Sprint("band ", i), store.Genres[i%len(store.Genres)], 1990}))
	}
	// Holes in the ids must not shorten a page.
	for id := int64(2); id <= n; id += 10 {
		mustOK(t, s.DeleteBand(id))
	}
	var all []store.Band
	after := int64(0)
	for pages := 0; ; pages++ {
		page, more, err := s.Bands("", store.Page{After: after})
		mustOK(t, err)
		if more && len(page) != store.DefaultLimit {
			t.Fatalf("page %d: got %d bands and more, want %d", pages, len(page), store.DefaultLimit)
		}
		all = append(all, page...)
		if !more {
			break
		}
		after = page[len(page)-1].ID
	}
	if want := n - n/10; len(all) != want {
		t.Errorf("got %d bands over all pages, want %d", len(all), want)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatalf("bands out of order: %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	page, more, err := s.Bands("", store.Page{Limit: 3, After: 1})
	mustOK(t, err)
	if !more || len(page) != 3 || page[0].ID != 3 || page[2].ID != 5 {
		t.Errorf("Limit 3 After 1: got %v more=%v, want ids 3 4 5 and more", page, more)
	}
	page, more, _ = s.Bands("", store.Page{After: n, Limit: 10})
	if len(page) != 0 || more {
		t.Errorf("after the last id: got %v more=%v, want none", page, more)
	}
	rock, _, err := s.Bands("rock", store.Page{Limit: store.MaxLimit})
	mustOK(t, err)
	for _, b := range rock {
		if b.Genre != "rock" {
			t.Errorf("genre filter let in %+v", b)
		}
	}
	if len(rock) == 0 {
		t.Error("genre filter found no rock band")
	}
	for _, p := range []store.Page{{Limit: -1}, {Limit: store.MaxLimit + 1}, {After: -1}} {
		_, _, err := s.Bands("", p)
		wantCode(t, err, store.EINVALID, map[bool]string{true: "limit", false: "after"}[p.After == 0])
	}
	_, _, err = s.Bands("jazz", store.Page{})
	wantCode(t, err, store.EINVALID, "genre")
	_, _, err = s.Albums(6, store.Page{})
	wantCode(t, err, store.EINVALID, "rate")
}

func TestAlbumsRated(t *testing.T) {
	f := newFixture(t, t.TempDir())
	for rate, want := range map[int][]int64{5: {f.opera.ID}, 4: {f.opera.ID}, 3: {f.wall.ID}, 2: {f.day.ID}, 1: nil} {
		albums, _, err := f.s.Albums(rate, store.Page{})
		mustOK(t, err)
		var got []int64
		for _, a := range albums {
			got = append(got, a.ID)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Albums(%d): got %v, want %v", rate, got, want)
		}
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, dir)
	mustOK(t, f.s.Unrate(f.bob.ID, f.day.ID))
	must(f.s.ChangeRate(f.alice.ID, f.wall.ID, 1))
	before := stateOf(t, f.s)
	mustOK(t, f.s.Close())
	if err := f.s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err := f.s.User(1)
	if err == nil {
		t.Error("a closed store answered a read")
	}
	_, err = f.s.CreateBand(store.NewBand{"Late", "pop", 2000})
	if err == nil {
		t.Error("a closed store took a write")
	}
	after := stateOf(t, MustOpen(t, dir))
	if !reflect.DeepEqual(before, after) {
		t.Errorf("after reopening:\n got %+v\nwant %+v", after, before)
	}
}

func TestSecondOpenRefused(t *testing.T) {
	dir := t.TempDir()
	MustOpen(t, dir)
	_, err := store.Open(dir, store.Options{})
	if err == nil {
		t.Fatal("a second Open of the same folder succeeded")
	}
	if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "open") {
		t.Errorf("error %q does not say the folder %s is open already", err, dir)
	}
}

// TestConcurrent runs writers and readers at once; under -race it checks
// the locking, and at the end that the summaries agree with the ratings.
func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	s := MustOpen(t, dir)
	const users, albumsPerWriter, writers = 8, 20, 8
	var uids []int64
	for i := range users {
		uids = append(uids, must(s.CreateUser(store.NewUser{fmt.Sprint("user", i), "password1", "U"})).ID)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := range writers {
		wg.Go(func() {
			b, err := s.CreateBand(store.NewBand{fmt.Sprint("band", w), "pop", 2000})
			if err != nil {
				errs <- err
				return
			}
			for i := range albumsPerWriter {
				a, err := s.CreateAlbum(store.NewAlbum{b.ID, fmt.Sprint("album", i), 2001})
				if err != nil {
					errs <- err
					return
				}
				for _, uid := range uids {
					if _, err := s.Rate(uid, a.ID, 1+(i+int(uid))%5); err != nil {
						errs <- err
					}
				}
				if i%5 == 0 {
					if err := s.DeleteAlbum(a.ID); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				albums, _, err := s.Albums(0, store.Page{Limit: store.MaxLimit})
				if err != nil {
					errs <- err
					return
				}
				for _, a := range albums {
					if a.Ratings.Count > users {
						errs <- fmt.Errorf("album %d has %d ratings from %d users", a.ID, a.Ratings.Count, users)
					}
				}
				s.UserAlbums(uids[0], store.Page{})
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := stateOf(t, s)
	if want := writers * (albumsPerWriter - albumsPerWriter/5); len(st.Albums) != want {
		t.Errorf("got %d albums, want %d", len(st.Albums), want)
	}
	for _, a := range st.Albums {
		if a.Ratings.Count != users {
			t.Errorf("album %d: got %d ratings, want %d", a.ID, a.Ratings.Count, users)
		}
	}
	mustOK(t, s.Close())
	if after := stateOf(t, MustOpen(t, dir)); !reflect.DeepEqual(after, st) {
		t.Error("reopened store differs from the one closed")
	}
}

func TestErrorHelpers(t *testing.T) {
	plain := errors.New("disk on fire at /var/data")
	if got := store.ErrorCode(plain); got != store.EINTERNAL {
		t.Errorf("ErrorCode(plain): got %q, want %q", got, store.EINTERNAL)
	}
	if got := store.ErrorMessage(plain); got != "internal error" {
		t.Errorf("ErrorMessage(plain) = %q shows internals", got)
	}
	wrapped := fmt.Errorf("context: %w", store.Errorf(store.ENOTFOUND, "no band %d", 7))
	if store.ErrorCode(wrapped) != store.ENOTFOUND || store.ErrorMessage(wrapped) != "no band 7" {
		t.Errorf("wrapped: got %q %q", store.ErrorCode(wrapped), store.ErrorMessage(wrapped))
	}
	if store.ErrorCode(nil) != "" || store.ErrorMessage(nil) != "" || store.Invalid(nil) != nil {
		t.Error("nil error helpers")
	}
}

// TestListAfterManyDeletes deletes most items, enough for the id lists to be
// compacted, and checks that every page still holds exactly the items left,
// in order, before and after reopening.
func TestListAfterManyDeletes(t *testing.T) {
	dir := t.TempDir()
	s := MustOpen(t, dir)
	const n = 300
	var want []int64
	for i := range n {
		b := must(s.CreateBand(store.NewBand{fmt.Sprint("band ", i), "pop", 1990}))
		if b.ID%3 == 0 {
			want = append(want, b.ID)
			continue
		}
		mustOK(t, s.DeleteBand(b.ID))
	}
	check := func(s *store.Store) {
		t.Helper()
		var got []int64
		for after := int64(0); ; {
			page, more, err := s.Bands("", store.Page{After: after, Limit: 7})
			mustOK(t, err)
			for _, b := range page {
				got = append(got, b.ID)
			}
			if !more {
				break
			}
			after = page[len(page)-1].ID
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got ids %v, want %v", got, want)
		}
	}
	check(s)
	mustOK(t, s.Close())
	check(MustOpen(t, dir))
}
