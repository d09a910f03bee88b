package store

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestSnapshotRoundTrip makes the journal fold itself into snapshots, then
// checks that a store loaded from them is the one that wrote them: every
// item, rating and password, and ids that are never given again, even those
// of items deleted before the snapshot.
func TestSnapshotRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{PasswordIterations: 1, compactBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var users []int64
	for i := range 5 {
		u, err := s.CreateUser(NewUser{Username: fmt.Sprint("user", i), Password: fmt.Sprint("password", i), Name: "U"})
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u.ID)
	}
	var lastBand, lastAlbum int64
	for i := range 60 {
		b, err := s.CreateBand(NewBand{Name: fmt.Sprint("band ", i), Genre: Genres[i%len(Genres)], Year: 1990})
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.CreateAlbum(NewAlbum{BandID: b.ID, Name: fmt.Sprint("album ", i), Year: 1991})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users[:1+i%len(users)] {
			if _, err := s.Rate(u, a.ID, 1+(i+int(u))%5); err != nil {
				t.Fatal(err)
			}
		}
		lastBand, lastAlbum = b.ID, a.ID
	}
	// The newest band and user go: their ids must stay spent.
	if err := s.DeleteBand(lastBand); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(users[len(users)-1]); err != nil {
		t.Fatal(err)
	}
	// Write on until a snapshot holds the deletes, so that only the
	// snapshot's last ids can tell that those ids were given.
	deleted := s.journal.Stats().Seq
	for i := 0; s.journal.Stats().SnapshotSeq < deleted; i++ {
		if i == 10000 {
			t.Fatal("no snapshot came to hold the deletes")
		}
		if _, err := s.ChangeRate(users[0], lastAlbum-1, 1+i%5); err != nil {
			t.Fatal(err)
		}
	}
	before := dump(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshot.json")); err != nil {
		t.Fatalf("no snapshot was written: %v", err)
	}

	s, err = Open(dir, Options{PasswordIterations: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if after := dump(t, s); !reflect.DeepEqual(after, before) {
		t.Errorf("after reopening from the snapshot:\n got %+v\nwant %+v", after, before)
	}
	if ok, err := s.VerifyPassword(users[0], "password0"); err != nil || !ok {
		t.Errorf("VerifyPassword after the snapshot: %v, %v", ok, err)
	}
	b, err := s.CreateBand(NewBand{Name: "new", Genre: "pop", Year: 2000})
	if err != nil || b.ID != lastBand+1 {
		t.Errorf("new band: got id %d (%v), want %d", b.ID, err, lastBand+1)
	}
	a, err := s.CreateAlbum(NewAlbum{BandID: b.ID, Name: "new", Year: 2000})
	if err != nil || a.ID != lastAlbum+1 {
		t.Errorf("new album: got id %d (%v), want %d", a.ID, err, lastAlbum+1)
	}
	u, err := s.CreateUser(NewUser{Username: "newuser", Password: "password", Name: "N"})
	if err != nil || u.ID != users[len(users)-1]+1 {
		t.Errorf("new user: got id %d (%v), want %d", u.ID, err, users[len(users)-1]+1)
	}
}

// dump is everything s holds, as its API shows it.
func dump(t *testing.T, s *Store) map[string]any {
	t.Helper()
	all := Page{Limit: MaxLimit}
	users, _, err1 := s.Users(all)
	bands, _, err2 := s.Bands("", all)
	albums, _, err3 := s.Albums(0, all)
	if err := firstError(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	rated := map[int64][]RatedAlbum{}
	for _, u := range users {
		ra, _, err := s.UserAlbums(u.ID, all)
		if err != nil {
			t.Fatal(err)
		}
		rated[u.ID] = ra
	}
	return map[string]any{"users": users, "bands": bands, "albums": albums, "rated": rated}
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
