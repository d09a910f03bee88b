package store

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Genres lists the genres a band may have, in the order users see them.
var Genres = []string{"pop", "rock", "indy", "metal", "trance", "classic"}

// Bounds of the values users give. The server checks them; the client checks
// them too, before sending, so a mistake costs no round trip.
const (
	MinUsername = 3
	MaxUsername = 32
	MinName     = 1
	MaxName     = 100
	MinPassword = 8
	MaxPassword = 128
	MinYear     = 1000
	MinRate     = 1
	MaxRate     = 5
)

// The field checks below return "" when the value is acceptable, else a short
// message for the user that does not repeat the value (it may be a password).

// CheckUsername checks a username: 3–32 characters of a–z, 0–9, '_', '.', '-'.
func CheckUsername(s string) string {
	if len(s) < MinUsername || len(s) > MaxUsername {
		return fmt.Sprintf("must be %d to %d characters long", MinUsername, MaxUsername)
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '_' || r == '.' || r == '-') {
			return "may hold only lower-case letters a-z, digits and _ . -"
		}
	}
	return ""
}

// CheckName checks a person's, band's or album's name: 1–100 characters of
// any script, not blank, with no control characters.
func CheckName(s string) string {
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		return "must be valid UTF-8 text"
	case strings.TrimSpace(s) == "":
		return "must not be blank"
	case n > MaxName:
		return fmt.Sprintf("must be at most %d characters long", MaxName)
	case strings.ContainsFunc(s, unicode.IsControl):
		return "must not hold control characters"
	}
	return ""
}

// CheckPassword checks a password: 8–128 characters.
func CheckPassword(s string) string {
	if n := utf8.RuneCountInString(s); n < MinPassword || n > MaxPassword {
		return fmt.Sprintf("must be %d to %d characters long", MinPassword, MaxPassword)
	}
	return ""
}

// CheckGenre checks a band's genre against Genres.
func CheckGenre(s string) string {
	if !slices.Contains(Genres, s) {
		return "must be one of " + strings.Join(Genres, " ")
	}
	return ""
}

// CheckYear checks a year: from 1000 up to the year after now.
func CheckYear(year int, now time.Time) string {
	if last := now.Year() + 1; year < MinYear || year > last {
		return fmt.Sprintf("must be from %d to %d", MinYear, last)
	}
	return ""
}

// CheckRate checks a rate: a whole number from 1 to 5.
func CheckRate(rate int) string {
	if rate < MinRate || rate > MaxRate {
		return fmt.Sprintf("must be from %d to %d", MinRate, MaxRate)
	}
	return ""
}

// CheckID checks an id: a positive integer.
func CheckID(id int64) string {
	if id <= 0 {
		return "must be a positive integer"
	}
	return ""
}

// Valid returns the per-field problems of u, or nil when there are none.
func (u NewUser) Valid() map[string]string {
	return fields(
		"username", CheckUsername(u.Username),
		"password", CheckPassword(u.Password),
		"name", CheckName(u.Name),
	)
}

// Valid returns the per-field problems of b in the year of now, or nil.
func (b NewBand) Valid(now time.Time) map[string]string {
	return fields(
		"name", CheckName(b.Name),
		"genre", CheckGenre(b.Genre),
		"year", CheckYear(b.Year, now),
	)
}

// Valid returns the per-field problems of a in the year of now, or nil.
func (a NewAlbum) Valid(now time.Time) map[string]string {
	return fields(
		"band_id", CheckID(a.BandID),
		"name", CheckName(a.Name),
		"year", CheckYear(a.Year, now),
	)
}

// fields builds a field → message map from name, message pairs, leaving out
// the empty messages. It returns nil when every message is empty.
func fields(pairs ...string) map[string]string {
	var m map[string]string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		if m == nil {
			m = make(map[string]string)
		}
		m[pairs[i]] = pairs[i+1]
	}
	return m
}
