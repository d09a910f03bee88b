package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
)

// catalogue is the store's data in memory. It changes only through apply,
// which the live write path and the journal's replay share, so a store
// rebuilt from its journal is the one that wrote it.
type catalogue struct {
	last lastIDs // the greatest id ever given, per kind

	users     map[int64]*userRow
	usernames map[string]int64
	userIDs   idList

	bands   map[int64]*Band
	bandIDs idList

	albums     map[int64]*albumRow
	albumIDs   idList
	bandAlbums map[int64][]int64 // band id → its album ids, ascending

	userRates  map[int64]map[int64]int // user id → album id → rate
	albumRates map[int64]map[int64]int // album id → user id → rate
}

// lastIDs are the greatest ids given so far. They only grow, even when items
// are deleted, so an id is never given twice.
type lastIDs struct {
	User  int64 `json:"user"`
	Band  int64 `json:"band"`
	Album int64 `json:"album"`
}

type userRow struct {
	User
	hash string
}

type albumRow struct {
	id, bandID int64
	name       string
	year       int
	rates      [MaxRate + 1]int // rates[r] counts the ratings equal to r
}

func newCatalogue() *catalogue {
	c := &catalogue{}
	c.clearUsers()
	c.clearBands()
	return c
}

// The operations of the journal. Each names one mutation; a record holds the
// operation and its outcome (ids, hashes, times), never anything that must
// be computed again on replay.
const (
	opCreateUser        = "create_user"
	opSetPassword       = "set_password"
	opDeleteUser        = "delete_user"
	opDeleteUsers       = "delete_users"
	opCreateBand        = "create_band"
	opDeleteBand        = "delete_band"
	opDeleteBands       = "delete_bands"
	opCreateAlbum       = "create_album"
	opDeleteAlbum       = "delete_album"
	opDeleteAlbums      = "delete_albums"
	opDeleteBandAlbums  = "delete_band_albums"
	opDeleteAlbumsRated = "delete_albums_rated"
	opRate              = "rate"
	opUnrate            = "unrate"
	opClearRates        = "clear_rates"
)

// record is one line of the journal.
type record struct {
	Op        string    `json:"op"`
	ID        int64     `json:"id,omitempty"`
	UserID    int64     `json:"user_id,omitempty"`
	AlbumID   int64     `json:"album_id,omitempty"`
	BandID    int64     `json:"band_id,omitempty"`
	Username  string    `json:"username,omitempty"`
	Name      string    `json:"name,omitempty"`
	Genre     string    `json:"genre,omitempty"`
	Year      int       `json:"year,omitempty"`
	Rate      int       `json:"rate,omitempty"`
	Hash      string    `json:"password_hash,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Apply decodes one journal record and applies it. It is the journal's
// replay entry point.
func (c *catalogue) Apply(raw json.RawMessage) error {
	var rec record
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return fmt.Errorf("bad record: %w", err)
	}
	return c.apply(rec)
}

// apply makes the change rec describes, or returns an error and changes
// nothing when rec does not fit the catalogue. The live write path checks
// first, so there an error is a bug; on replay it means a damaged journal.
func (c *catalogue) apply(rec record) error {
	switch rec.Op {
	case opCreateUser:
		if rec.ID <= c.last.User || rec.Hash == "" || CheckUsername(rec.Username) != "" {
			return fmt.Errorf("%s: bad user %d", rec.Op, rec.ID)
		}
		if _, taken := c.usernames[rec.Username]; taken {
			return fmt.Errorf("%s: username %q taken", rec.Op, rec.Username)
		}
		c.last.User = rec.ID
		c.users[rec.ID] = &userRow{User{ID: rec.ID, Username: rec.Username, Name: rec.Name, CreatedAt: rec.CreatedAt}, rec.Hash}
		c.usernames[rec.Username] = rec.ID
		c.userIDs.add(rec.ID)
	case opSetPassword:
		u := c.users[rec.ID]
		if u == nil || rec.Hash == "" {
			return fmt.Errorf("%s: no user %d", rec.Op, rec.ID)
		}
		u.hash = rec.Hash
	case opDeleteUser:
		if c.users[rec.ID] == nil {
			return fmt.Errorf("%s: no user %d", rec.Op, rec.ID)
		}
		c.deleteUser(rec.ID)
	case opDeleteUsers:
		c.clearUsers()
	case opCreateBand:
		if rec.ID <= c.last.Band || CheckGenre(rec.Genre) != "" {
			return fmt.Errorf("%s: bad band %d", rec.Op, rec.ID)
		}
		c.last.Band = rec.ID
		c.bands[rec.ID] = &Band{ID: rec.ID, Name: rec.Name, Genre: rec.Genre, Year: rec.Year}
		c.bandIDs.add(rec.ID)
	case opDeleteBand:
		if c.bands[rec.ID] == nil {
			return fmt.Errorf("%s: no band %d", rec.Op, rec.ID)
		}
		c.deleteBandAlbums(rec.ID)
		delete(c.bands, rec.ID)
		delete(c.bandAlbums, rec.ID)
		c.bandIDs.removed(c.hasBand)
	case opDeleteBands:
		c.clearBands()
	case opCreateAlbum:
		if rec.ID <= c.last.Album || c.bands[rec.BandID] == nil {
			return fmt.Errorf("%s: bad album %d of band %d", rec.Op, rec.ID, rec.BandID)
		}
		c.last.Album = rec.ID
		c.albums[rec.ID] = &albumRow{id: rec.ID, bandID: rec.BandID, name: rec.Name, year: rec.Year}
		c.albumIDs.add(rec.ID)
		c.bandAlbums[rec.BandID] = append(c.bandAlbums[rec.BandID], rec.ID)
	case opDeleteAlbum:
		a := c.albums[rec.ID]
		if a == nil {
			return fmt.Errorf("%s: no album %d", rec.Op, rec.ID)
		}
		ids := c.bandAlbums[a.bandID]
		if i, ok := slices.BinarySearch(ids, rec.ID); ok {
			c.bandAlbums[a.bandID] = slices.Delete(ids, i, i+1)
		}
		c.deleteAlbum(rec.ID)
	case opDeleteAlbums:
		c.clearAlbums()
	case opDeleteBandAlbums:
		if c.bands[rec.BandID] == nil {
			return fmt.Errorf("%s: no band %d", rec.Op, rec.BandID)
		}
		c.deleteBandAlbums(rec.BandID)
	case opDeleteAlbumsRated:
		if CheckRate(rec.Rate) != "" {
			return fmt.Errorf("%s: bad rate %d", rec.Op, rec.Rate)
		}
		// Collect first: deleting compacts albumIDs under the loop.
		var doomed []int64
		for id, a := range c.albums {
			if a.rates[rec.Rate] > 0 {
				doomed = append(doomed, id)
			}
		}
		for _, id := range doomed {
			c.apply(record{Op: opDeleteAlbum, ID: id})
		}
	case opRate:
		a := c.albums[rec.AlbumID]
		if c.users[rec.UserID] == nil || a == nil || CheckRate(rec.Rate) != "" {
			return fmt.Errorf("%s: bad rating of album %d by user %d", rec.Op, rec.AlbumID, rec.UserID)
		}
		if old, ok := c.userRates[rec.UserID][rec.AlbumID]; ok {
			a.rates[old]--
		}
		a.rates[rec.Rate]++
		setRate(c.userRates, rec.UserID, rec.AlbumID, rec.Rate)
		setRate(c.albumRates, rec.AlbumID, rec.UserID, rec.Rate)
	case opUnrate:
		if _, ok := c.userRates[rec.UserID][rec.AlbumID]; !ok {
			return fmt.Errorf("%s: user %d has not rated album %d", rec.Op, rec.UserID, rec.AlbumID)
		}
		c.unrate(rec.UserID, rec.AlbumID)
	case opClearRates:
		if c.users[rec.UserID] == nil {
			return fmt.Errorf("%s: no user %d", rec.Op, rec.UserID)
		}
		for albumID := range c.userRates[rec.UserID] {
			c.unrate(rec.UserID, albumID)
		}
	default:
		return fmt.Errorf("unknown operation %q", rec.Op)
	}
	return nil
}

func setRate(m map[int64]map[int64]int, k1, k2 int64, rate int) {
	inner := m[k1]
	if inner == nil {
		inner = make(map[int64]int)
		m[k1] = inner
	}
	inner[k2] = rate
}

// unrate removes one rating, which must exist, from both indexes.
func (c *catalogue) unrate(userID, albumID int64) {
	c.albums[albumID].rates[c.userRates[userID][albumID]]--
	delete(c.userRates[userID], albumID)
	if len(c.userRates[userID]) == 0 {
		delete(c.userRates, userID)
	}
	delete(c.albumRates[albumID], userID)
	if len(c.albumRates[albumID]) == 0 {
		delete(c.albumRates, albumID)
	}
}

// deleteUser removes a user and their ratings.
func (c *catalogue) deleteUser(id int64) {
	for albumID := range c.userRates[id] {
		c.unrate(id, albumID)
	}
	delete(c.usernames, c.users[id].Username)
	delete(c.users, id)
	c.userIDs.removed(c.hasUser)
}

// deleteAlbum removes an album and its ratings, but not its entry in
// bandAlbums, which the caller keeps right.
func (c *catalogue) deleteAlbum(id int64) {
	for userID := range c.albumRates[id] {
		c.unrate(userID, id)
	}
	delete(c.albums, id)
	c.albumIDs.removed(c.hasAlbum)
}

// deleteBandAlbums removes a band's albums and their ratings.
func (c *catalogue) deleteBandAlbums(bandID int64) {
	for _, id := range c.bandAlbums[bandID] {
		c.deleteAlbum(id)
	}
	delete(c.bandAlbums, bandID)
}

func (c *catalogue) clearUsers() {
	c.users = make(map[int64]*userRow)
	c.usernames = make(map[string]int64)
	c.userIDs.reset()
	c.clearRates()
}

func (c *catalogue) clearBands() {
	c.bands = make(map[int64]*Band)
	c.bandIDs.reset()
	c.clearAlbums()
}

func (c *catalogue) clearAlbums() {
	c.albums = make(map[int64]*albumRow)
	c.albumIDs.reset()
	c.bandAlbums = make(map[int64][]int64)
	c.clearRates()
}

func (c *catalogue) clearRates() {
	c.userRates = make(map[int64]map[int64]int)
	c.albumRates = make(map[int64]map[int64]int)
	for _, a := range c.albums {
		a.rates = [MaxRate + 1]int{}
	}
}

func (c *catalogue) hasUser(id int64) bool  { return c.users[id] != nil }
func (c *catalogue) hasBand(id int64) bool  { return c.bands[id] != nil }
func (c *catalogue) hasAlbum(id int64) bool { return c.albums[id] != nil }

// album returns the public view of an album row.
func (a *albumRow) album() Album {
	var n, sum int
	for rate, count := range a.rates {
		n += count
		sum += rate * count
	}
	s := Summary{Count: n}
	if n > 0 {
		s.Average = math.Round(float64(sum)/float64(n)*100) / 100
	}
	return Album{ID: a.id, BandID: a.bandID, Name: a.name, Year: a.year, Ratings: s}
}
