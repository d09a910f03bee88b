package store

import "time"

// User is a person who rates albums. The password is write-only: it is kept
// as a salted hash and never leaves the store.
type User struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Band is a group of musicians playing one genre (see Genres).
type Band struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Genre string `json:"genre"`
	Year  int    `json:"year"`
}

// Album is a record by one band, with a summary of its ratings.
type Album struct {
	ID      int64   `json:"id"`
	BandID  int64   `json:"band_id"`
	Name    string  `json:"name"`
	Year    int     `json:"year"`
	Ratings Summary `json:"ratings"`
}

// Summary counts an album's ratings. Average is rounded to two decimals and
// is 0 when Count is 0.
type Summary struct {
	Count   int     `json:"count"`
	Average float64 `json:"average"`
}

// RatedAlbum is an album as seen by one user: the album and that user's rate.
type RatedAlbum struct {
	Album
	Rate int `json:"rate"`
}

// Rating is one user's rate (1–5) of one album.
type Rating struct {
	UserID  int64 `json:"user_id"`
	AlbumID int64 `json:"album_id"`
	Rate    int   `json:"rate"`
}

// NewUser is the input that creates a user.
type NewUser struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// NewBand is the input that creates a band.
type NewBand struct {
	Name  string `json:"name"`
	Genre string `json:"genre"`
	Year  int    `json:"year"`
}

// NewAlbum is the input that creates an album of an existing band.
type NewAlbum struct {
	BandID int64  `json:"band_id"`
	Name   string `json:"name"`
	Year   int    `json:"year"`
}

// Page selects a slice of a list ordered by id: at most Limit items whose id
// is greater than After. A Limit of 0 means DefaultLimit.
type Page struct {
	After int64
	Limit int
}

// Limits on a Page.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)
