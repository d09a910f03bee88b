package store

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// A snapshot is one JSON object a person can read, one item per line:
//
//	{"users":[
//	{"id":1,"username":"alice","name":"Alice","created_at":"…","password_hash":"pbkdf2-sha256$…"}
//	],"bands":[…],"albums":[…],"ratings":[…],
//	"last_ids":{"user":1,"band":0,"album":0}}
//
// Items are in id order, and ratings come last, so reading replays them
// through apply, which checks every reference on the way in.

type snapshotUser struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Hash      string    `json:"password_hash"`
}

type snapshotAlbum struct {
	ID     int64  `json:"id"`
	BandID int64  `json:"band_id"`
	Name   string `json:"name"`
	Year   int    `json:"year"`
}

// WriteSnapshot writes the whole catalogue to w.
func (c *catalogue) WriteSnapshot(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	var err error
	section := func(name string, first bool, items func(yield func(any) bool)) {
		if err != nil {
			return
		}
		sep := ","
		if first {
			sep = "{"
		}
		fmt.Fprintf(bw, "%s%q:[\n", sep, name)
		n := 0
		items(func(item any) bool {
			if n > 0 {
				bw.WriteByte(',')
			}
			n++
			err = enc.Encode(item) // ends the line
			return err == nil
		})
		bw.WriteString("]\n")
	}
	section("users", true, func(yield func(any) bool) {
		c.userIDs.page(0, c.hasUser, func(id int64) bool {
			u := c.users[id]
			return yield(snapshotUser{u.ID, u.Username, u.Name, u.CreatedAt, u.hash})
		})
	})
	section("bands", false, func(yield func(any) bool) {
		c.bandIDs.page(0, c.hasBand, func(id int64) bool { return yield(c.bands[id]) })
	})
	section("albums", false, func(yield func(any) bool) {
		c.albumIDs.page(0, c.hasAlbum, func(id int64) bool {
			a := c.albums[id]
			return yield(snapshotAlbum{a.id, a.bandID, a.name, a.year})
		})
	})
	section("ratings", false, func(yield func(any) bool) {
		c.albumIDs.page(0, c.hasAlbum, func(albumID int64) bool {
			rates := c.albumRates[albumID]
			for _, userID := range slices.Sorted(maps.Keys(rates)) {
				if !yield(Rating{UserID: userID, AlbumID: albumID, Rate: rates[userID]}) {
					return false
				}
			}
			return true
		})
	})
	if err != nil {
		return err
	}
	last, err := json.Marshal(c.last)
	if err != nil {
		return err
	}
	fmt.Fprintf(bw, ",\"last_ids\":%s}\n", last)
	return bw.Flush()
}

// ReadSnapshot loads a snapshot written by WriteSnapshot into c, which must
// be empty.
func (c *catalogue) ReadSnapshot(r io.Reader) error {
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.DisallowUnknownFields()
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	var last lastIDs
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch key, _ := tok.(string); key {
		case "users":
			err = readItems(dec, func(u snapshotUser) error {
				return c.apply(record{Op: opCreateUser, ID: u.ID, Username: u.Username, Name: u.Name, CreatedAt: u.CreatedAt, Hash: u.Hash})
			})
		case "bands":
			err = readItems(dec, func(b Band) error {
				return c.apply(record{Op: opCreateBand, ID: b.ID, Name: b.Name, Genre: b.Genre, Year: b.Year})
			})
		case "albums":
			err = readItems(dec, func(a snapshotAlbum) error {
				return c.apply(record{Op: opCreateAlbum, ID: a.ID, BandID: a.BandID, Name: a.Name, Year: a.Year})
			})
		case "ratings":
			err = readItems(dec, func(r Rating) error {
				if _, dup := c.userRates[r.UserID][r.AlbumID]; dup {
					return fmt.Errorf("user %d rated album %d twice", r.UserID, r.AlbumID)
				}
				return c.apply(record{Op: opRate, UserID: r.UserID, AlbumID: r.AlbumID, Rate: r.Rate})
			})
		case "last_ids":
			err = dec.Decode(&last)
		default:
			err = fmt.Errorf("unknown section %v", tok)
		}
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("snapshot: data after the end")
	}
	if last.User < c.last.User || last.Band < c.last.Band || last.Album < c.last.Album {
		return fmt.Errorf("snapshot: last_ids %+v below the ids in use %+v", last, c.last)
	}
	c.last = last
	return nil
}

// readItems reads a JSON array of T, calling add for each item.
func readItems[T any](dec *json.Decoder, add func(T) error) error {
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	for dec.More() {
		var item T
		if err := dec.Decode(&item); err != nil {
			return err
		}
		if err := add(item); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if tok != want {
		return fmt.Errorf("snapshot: got %v, want %v", tok, want)
	}
	return nil
}
