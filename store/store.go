// Package store is musicdb's data — users, bands, albums and ratings — and
// the rules they obey. It keeps the catalogue in memory, where reads are
// served without touching the disk, and makes every change durable through a
// journal (package journal) before the call that made it returns.
//
// Every method is safe for concurrent use. Methods return *Error values with
// a code (ENOTFOUND, ECONFLICT, EINVALID) for the caller's mistakes; any other
// error is EINTERNAL. The store must never acknowledge a write that is not yet
// on stable storage, and never return or log a password or its hash.
package store

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"musicdb/store/journal"
)

// Options configure a Store. The zero value is ready for use.
type Options struct {
	// Logger receives what the store has to report (a torn journal line
	// dropped at open, a failed disk write). Nil discards it.
	Logger *slog.Logger

	// Now is the clock, for creation times and the year check; nil means
	// time.Now.
	Now func() time.Time

	// PasswordIterations is the PBKDF2 iteration count for new password
	// hashes; 0 means DefaultPasswordIterations. Lower it only in tests.
	PasswordIterations int

	// OnSync, when set, is called after each journal fsync with the number
	// of records it made durable and the time it took.
	OnSync func(records int, d time.Duration)

	// compactBytes, if set, replaces the journal's least size worth a
	// snapshot, so tests can make snapshots frequent.
	compactBytes int64
}

// Store is musicdb's catalogue, in memory and on disk. Open one with Open and
// close it with Close.
type Store struct {
	now        func() time.Time
	iterations int
	journal    *journal.Journal
	log        *slog.Logger
	broken     atomic.Bool // a journal write failed: refuse further writes

	// mu guards cat and closed. Writers hold it while they check, apply and
	// append to the journal in memory, never while they wait for the disk;
	// readers hold it for reading only.
	mu     sync.RWMutex
	cat    *catalogue
	closed bool
}

// Open opens the store kept in the folder dir, creating it if needed. Only
// one Store may have a folder open at a time, in any process; a second Open
// fails with an error that says so.
func Open(dir string, opts Options) (*Store, error) {
	s := &Store{now: opts.Now, iterations: opts.PasswordIterations, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.iterations == 0 {
		s.iterations = DefaultPasswordIterations
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	j, state, err := journal.Open(dir, journal.Options{
		NewState: func() journal.State { return newCatalogue() },
		Logger:   s.log,
		OnSync:   opts.OnSync,

		MinCompactBytes: opts.compactBytes,
	})
	if err != nil {
		return nil, err
	}
	s.journal, s.cat = j, state.(*catalogue)
	return s, nil
}

// Close makes every acknowledged write durable, closes the journal and
// releases the folder. Calling it again returns the same result; any other
// call on a closed Store fails.
func (s *Store) Close() error {
	// Not under the lock: closing the journal may wait for a snapshot under
	// way, and callers that hold the lock must not wait for that.
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.journal.Close()
}

// commit runs check under the write lock; if it returns a record, commit
// applies it, appends it to the journal and, after releasing the lock, waits
// until it is on stable storage. view, if not nil, runs under the lock right
// after the change, to read what the caller returns.
func (s *Store) commit(check func(c *catalogue) (record, error), view func(c *catalogue)) error {
	s.mu.Lock()
	rec, err := s.prepare(check)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	line, err := json.Marshal(rec)
	if err == nil {
		err = s.cat.apply(rec)
	}
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("store: %s: %w", rec.Op, err)
	}
	if view != nil {
		view(s.cat)
	}
	seq := s.journal.Append(line)
	s.mu.Unlock()

	if err := s.journal.Wait(seq); err != nil {
		if !s.broken.Swap(true) {
			s.log.Error("store: journal failed; refusing further writes", "err", err)
		}
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// prepare runs check unless the store cannot take writes. s.mu is held.
func (s *Store) prepare(check func(c *catalogue) (record, error)) (record, error) {
	switch {
	case s.closed:
		return record{}, fmt.Errorf("store: closed")
	case s.broken.Load():
		return record{}, fmt.Errorf("store: read-only after a failed disk write")
	}
	return check(s.cat)
}

// read runs fn under the read lock.
func (s *Store) read(fn func(c *catalogue) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("store: closed")
	}
	return fn(s.cat)
}

// collect gathers the first p.Limit items that each yields and reports
// whether more remain. n is how many items can come at most, or 0 when
// that is unknown; it sizes the list.
func collect[T any](p Page, n int, each func(yield func(T) bool)) ([]T, bool) {
	items := make([]T, 0, min(p.Limit, n)) // not nil: an empty list is [] in JSON, not null
	more := false
	each(func(item T) bool {
		if len(items) == p.Limit {
			more = true
			return false
		}
		items = append(items, item)
		return true
	})
	return items, more
}

// normal returns p with the default limit filled in, or an EINVALID error.
func (p Page) normal() (Page, error) {
	var after, limit string
	if p.After < 0 {
		after = "must be 0 or a positive id"
	}
	if p.Limit < 0 || p.Limit > MaxLimit {
		limit = fmt.Sprintf("must be from 1 to %d", MaxLimit)
	}
	if p.Limit == 0 {
		p.Limit = DefaultLimit
	}
	return p, Invalid(fields("after", after, "limit", limit))
}

func noUser(id int64) error  { return Errorf(ENOTFOUND, "no user %d", id) }
func noBand(id int64) error  { return Errorf(ENOTFOUND, "no band %d", id) }
func noAlbum(id int64) error { return Errorf(ENOTFOUND, "no album %d", id) }

// CreateUser adds a user. It returns EINVALID for bad fields and ECONFLICT
// when the username is taken.
func (s *Store) CreateUser(nu NewUser) (User, error) {
	if err := Invalid(nu.Valid()); err != nil {
		return User{}, err
	}
	taken := func(c *catalogue) error {
		if _, ok := c.usernames[nu.Username]; ok {
			return Errorf(ECONFLICT, "username %q is taken", nu.Username)
		}
		return nil
	}
	// Hashing is slow on purpose: spare it when the name is taken already,
	// and never do it under the write lock.
	if err := s.read(taken); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(nu.Password, s.iterations)
	if err != nil {
		return User{}, fmt.Errorf("store: %w", err)
	}
	var u User
	err = s.commit(func(c *catalogue) (record, error) {
		if err := taken(c); err != nil {
			return record{}, err
		}
		created := s.now().UTC().Truncate(time.Second)
		return record{Op: opCreateUser, ID: c.last.User + 1, Username: nu.Username, Name: nu.Name, Hash: hash, CreatedAt: created}, nil
	}, func(c *catalogue) { u = c.users[c.last.User].User })
	return u, err
}

// User returns the user with the given id, or ENOTFOUND.
func (s *Store) User(id int64) (User, error) {
	var u User
	err := s.read(func(c *catalogue) error {
		row := c.users[id]
		if row == nil {
			return noUser(id)
		}
		u = row.User
		return nil
	})
	return u, err
}

// Users returns a page of users in id order and whether more follow.
func (s *Store) Users(p Page) ([]User, bool, error) {
	p, err := p.normal()
	if err != nil {
		return nil, false, err
	}
	var users []User
	var more bool
	err = s.read(func(c *catalogue) error {
		users, more = collect(p, len(c.users), func(yield func(User) bool) {
			c.userIDs.page(p.After, c.hasUser, func(id int64) bool { return yield(c.users[id].User) })
		})
		return nil
	})
	return users, more, err
}

// SetPassword replaces a user's password. It returns EINVALID for a bad
// password and ENOTFOUND for an unknown user.
func (s *Store) SetPassword(id int64, password string) (User, error) {
	if err := Invalid(fields("password", CheckPassword(password))); err != nil {
		return User{}, err
	}
	if _, err := s.User(id); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(password, s.iterations)
	if err != nil {
		return User{}, fmt.Errorf("store: %w", err)
	}
	var u User
	err = s.commit(func(c *catalogue) (record, error) {
		if c.users[id] == nil {
			return record{}, noUser(id)
		}
		return record{Op: opSetPassword, ID: id, Hash: hash}, nil
	}, func(c *catalogue) { u = c.users[id].User })
	return u, err
}

// VerifyPassword reports whether password is the user's password. It
// returns ENOTFOUND for an unknown user.
func (s *Store) VerifyPassword(id int64, password string) (bool, error) {
	var hash string
	err := s.read(func(c *catalogue) error {
		row := c.users[id]
		if row == nil {
			return noUser(id)
		}
		hash = row.hash
		return nil
	})
	if err != nil {
		return false, err
	}
	return matchPassword(hash, password)
}

// DeleteUser deletes a user and their ratings, or returns ENOTFOUND.
func (s *Store) DeleteUser(id int64) error {
	return s.commit(func(c *catalogue) (record, error) {
		if c.users[id] == nil {
			return record{}, noUser(id)
		}
		return record{Op: opDeleteUser, ID: id}, nil
	}, nil)
}

// DeleteUsers deletes every user and every rating.
func (s *Store) DeleteUsers() error {
	return s.commit(func(*catalogue) (record, error) { return record{Op: opDeleteUsers}, nil }, nil)
}

// CreateBand adds a band, or returns EINVALID.
func (s *Store) CreateBand(nb NewBand) (Band, error) {
	if err := Invalid(nb.Valid(s.now())); err != nil {
		return Band{}, err
	}
	var b Band
	err := s.commit(func(c *catalogue) (record, error) {
		return record{Op: opCreateBand, ID: c.last.Band + 1, Name: nb.Name, Genre: nb.Genre, Year: nb.Year}, nil
	}, func(c *catalogue) { b = *c.bands[c.last.Band] })
	return b, err
}

// Band returns the band with the given id, or ENOTFOUND.
func (s *Store) Band(id int64) (Band, error) {
	var b Band
	err := s.read(func(c *catalogue) error {
		if c.bands[id] == nil {
			return noBand(id)
		}
		b = *c.bands[id]
		return nil
	})
	return b, err
}

// Bands returns a page of bands in id order and whether more follow. A genre
// other than "" keeps only the bands of that genre; an unknown genre is
// EINVALID.
func (s *Store) Bands(genre string, p Page) ([]Band, bool, error) {
	p, err := p.normal()
	if err == nil && genre != "" {
		err = Invalid(fields("genre", CheckGenre(genre)))
	}
	if err != nil {
		return nil, false, err
	}
	var bands []Band
	var more bool
	err = s.read(func(c *catalogue) error {
		n := len(c.bands)
		if genre != "" {
			n = 0 // how many match is unknown: let the list grow
		}
		bands, more = collect(p, n, func(yield func(Band) bool) {
			c.bandIDs.page(p.After, c.hasBand, func(id int64) bool {
				b := c.bands[id]
				return genre != "" && b.Genre != genre || yield(*b)
			})
		})
		return nil
	})
	return bands, more, err
}

// DeleteBand deletes a band, its albums and their ratings, or returns
// ENOTFOUND.
func (s *Store) DeleteBand(id int64) error {
	return s.commit(func(c *catalogue) (record, error) {
		if c.bands[id] == nil {
			return record{}, noBand(id)
		}
		return record{Op: opDeleteBand, ID: id}, nil
	}, nil)
}

// DeleteBands deletes every band, album and rating.
func (s *Store) DeleteBands() error {
	return s.commit(func(*catalogue) (record, error) { return record{Op: opDeleteBands}, nil }, nil)
}

// CreateAlbum adds an album to an existing band. It returns EINVALID for bad
// fields and ENOTFOUND when the band does not exist.
func (s *Store) CreateAlbum(na NewAlbum) (Album, error) {
	if err := Invalid(na.Valid(s.now())); err != nil {
		return Album{}, err
	}
	var a Album
	err := s.commit(func(c *catalogue) (record, error) {
		if c.bands[na.BandID] == nil {
			return record{}, noBand(na.BandID)
		}
		return record{Op: opCreateAlbum, ID: c.last.Album + 1, BandID: na.BandID, Name: na.Name, Year: na.Year}, nil
	}, func(c *catalogue) { a = c.albums[c.last.Album].album() })
	return a, err
}

// Album returns the album with the given id and its rating summary, or
// ENOTFOUND.
func (s *Store) Album(id int64) (Album, error) {
	var a Album
	err := s.read(func(c *catalogue) error {
		row := c.albums[id]
		if row == nil {
			return noAlbum(id)
		}
		a = row.album()
		return nil
	})
	return a, err
}

// Albums returns a page of albums in id order and whether more follow. A rate
// other than 0 keeps only the albums that at least one user rated so; a rate
// outside 1–5 is EINVALID.
func (s *Store) Albums(rate int, p Page) ([]Album, bool, error) {
	p, err := p.normal()
	if err == nil && rate != 0 {
		err = Invalid(fields("rate", CheckRate(rate)))
	}
	if err != nil {
		return nil, false, err
	}
	var albums []Album
	var more bool
	err = s.read(func(c *catalogue) error {
		n := len(c.albums)
		if rate != 0 {
			n = 0 // how many match is unknown: let the list grow
		}
		albums, more = collect(p, n, func(yield func(Album) bool) {
			c.albumIDs.page(p.After, c.hasAlbum, func(id int64) bool {
				a := c.albums[id]
				return rate != 0 && a.rates[rate] == 0 || yield(a.album())
			})
		})
		return nil
	})
	return albums, more, err
}

// BandAlbums returns a page of a band's albums in id order and whether more
// follow, or ENOTFOUND when the band does not exist.
func (s *Store) BandAlbums(bandID int64, p Page) ([]Album, bool, error) {
	p, err := p.normal()
	if err != nil {
		return nil, false, err
	}
	var albums []Album
	var more bool
	err = s.read(func(c *catalogue) error {
		if c.bands[bandID] == nil {
			return noBand(bandID)
		}
		ids := c.bandAlbums[bandID]
		i := sort.Search(len(ids), func(i int) bool { return ids[i] > p.After })
		albums, more = collect(p, len(ids)-i, func(yield func(Album) bool) {
			for _, id := range ids[i:] {
				if !yield(c.albums[id].album()) {
					return
				}
			}
		})
		return nil
	})
	return albums, more, err
}

// DeleteAlbum deletes an album and its ratings, or returns ENOTFOUND.
func (s *Store) DeleteAlbum(id int64) error {
	return s.commit(func(c *catalogue) (record, error) {
		if c.albums[id] == nil {
			return record{}, noAlbum(id)
		}
		return record{Op: opDeleteAlbum, ID: id}, nil
	}, nil)
}

// DeleteAlbums deletes every album and rating.
func (s *Store) DeleteAlbums() error {
	return s.commit(func(*catalogue) (record, error) { return record{Op: opDeleteAlbums}, nil }, nil)
}

// DeleteBandAlbums deletes a band's albums and their ratings; the band stays.
// It returns ENOTFOUND when the band does not exist.
func (s *Store) DeleteBandAlbums(bandID int64) error {
	return s.commit(func(c *catalogue) (record, error) {
		if c.bands[bandID] == nil {
			return record{}, noBand(bandID)
		}
		return record{Op: opDeleteBandAlbums, BandID: bandID}, nil
	}, nil)
}

// DeleteAlbumsRated deletes the albums that at least one user rated rate,
// with all their ratings. A rate outside 1–5 is EINVALID.
func (s *Store) DeleteAlbumsRated(rate int) error {
	if err := Invalid(fields("rate", CheckRate(rate))); err != nil {
		return err
	}
	return s.commit(func(*catalogue) (record, error) { return record{Op: opDeleteAlbumsRated, Rate: rate}, nil }, nil)
}

// UserAlbums returns a page of the albums a user rated, in album id order,
// each with the user's rate, and whether more follow. It returns ENOTFOUND
// when the user does not exist.
func (s *Store) UserAlbums(userID int64, p Page) ([]RatedAlbum, bool, error) {
	p, err := p.normal()
	if err != nil {
		return nil, false, err
	}
	var albums []RatedAlbum
	var more bool
	err = s.read(func(c *catalogue) error {
		if c.users[userID] == nil {
			return noUser(userID)
		}
		rates := c.userRates[userID]
		var ids []int64
		for id := range rates {
			if id > p.After {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		albums, more = collect(p, len(ids), func(yield func(RatedAlbum) bool) {
			for _, id := range ids {
				if !yield(RatedAlbum{c.albums[id].album(), rates[id]}) {
					return
				}
			}
		})
		return nil
	})
	return albums, more, err
}

// Rate records a user's rate of an album. It returns EINVALID for a bad rate,
// ENOTFOUND when the user or album does not exist, and ECONFLICT when the
// user rated the album already (see ChangeRate).
func (s *Store) Rate(userID, albumID int64, rate int) (RatedAlbum, error) {
	return s.rate(userID, albumID, rate, func(rated bool) error {
		if rated {
			return Errorf(ECONFLICT, "user %d already rated album %d", userID, albumID)
		}
		return nil
	})
}

// ChangeRate changes a user's rate of an album. It returns EINVALID for a bad
// rate and ENOTFOUND when the user, the album or the rating does not exist
// (see Rate).
func (s *Store) ChangeRate(userID, albumID int64, rate int) (RatedAlbum, error) {
	return s.rate(userID, albumID, rate, func(rated bool) error {
		if !rated {
			return Errorf(ENOTFOUND, "user %d has not rated album %d", userID, albumID)
		}
		return nil
	})
}

// rate sets a rating after checking the ids and asking allow whether the
// user's having rated the album already is fine.
func (s *Store) rate(userID, albumID int64, rate int, allow func(rated bool) error) (RatedAlbum, error) {
	if err := Invalid(fields("rate", CheckRate(rate))); err != nil {
		return RatedAlbum{}, err
	}
	var ra RatedAlbum
	err := s.commit(func(c *catalogue) (record, error) {
		if err := c.checkRating(userID, albumID); err != nil {
			return record{}, err
		}
		_, rated := c.userRates[userID][albumID]
		if err := allow(rated); err != nil {
			return record{}, err
		}
		return record{Op: opRate, UserID: userID, AlbumID: albumID, Rate: rate}, nil
	}, func(c *catalogue) { ra = RatedAlbum{c.albums[albumID].album(), rate} })
	return ra, err
}

// Unrate deletes a user's rating of an album, or returns ENOTFOUND.
func (s *Store) Unrate(userID, albumID int64) error {
	return s.commit(func(c *catalogue) (record, error) {
		if err := c.checkRating(userID, albumID); err != nil {
			return record{}, err
		}
		if _, rated := c.userRates[userID][albumID]; !rated {
			return record{}, Errorf(ENOTFOUND, "user %d has not rated album %d", userID, albumID)
		}
		return record{Op: opUnrate, UserID: userID, AlbumID: albumID}, nil
	}, nil)
}

// ClearRates deletes every rating of a user; the albums stay. It returns
// ENOTFOUND when the user does not exist.
func (s *Store) ClearRates(userID int64) error {
	return s.commit(func(c *catalogue) (record, error) {
		if c.users[userID] == nil {
			return record{}, noUser(userID)
		}
		return record{Op: opClearRates, UserID: userID}, nil
	}, nil)
}

// checkRating returns ENOTFOUND unless both the user and the album exist.
func (c *catalogue) checkRating(userID, albumID int64) error {
	if c.users[userID] == nil {
		return noUser(userID)
	}
	if c.albums[albumID] == nil {
		return noAlbum(albumID)
	}
	return nil
}
