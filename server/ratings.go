package server

import (
	"context"
	"fmt"
	"net/http"

	"musicdb/store"
)

// newRating is the body with which a user rates an album.
type newRating struct {
	AlbumID int64 `json:"album_id"`
	Rate    int   `json:"rate"`
}

// Valid checks the album id here, so that a missing or zero one is a bad
// value (422) rather than an album that does not exist (404).
func (nr newRating) Valid(context.Context) map[string]string {
	bad := map[string]string{}
	if msg := store.CheckID(nr.AlbumID); msg != "" {
		bad["album_id"] = msg
	}
	if msg := store.CheckRate(nr.Rate); msg != "" {
		bad["rate"] = msg
	}
	return bad
}

func handleRatingList(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			writeError(w, r, err)
			return
		}
		q := readQuery(r)
		p := q.page()
		if err := q.err(); err != nil {
			writeError(w, r, err)
			return
		}
		albums, more, err := st.UserAlbums(id, p)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writePage(w, r, p, albums, more, func(a store.RatedAlbum) int64 { return a.ID })
	})
}

func handleRatingCreate(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		userID, err := pathID(r, "id")
		if err != nil {
			writeError(w, r, err)
			return
		}
		in, err := decode[newRating](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		ra, err := st.Rate(userID, in.AlbumID, in.Rate)
		if err != nil {
			writeError(w, r, err)
			return
		}
		created(w, r, fmt.Sprintf("/users/%d/albums/%d", userID, ra.ID), ra)
	})
}

func handleRatingDeleteAll(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			writeError(w, r, err)
			return
		}
		if err := st.ClearRates(id); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleRatingChange(st *store.Store) http.Handler {
	type request struct {
		Rate int `json:"rate"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		userID, albumID, err := pathIDs(r, "uid", "aid")
		if err != nil {
			writeError(w, r, err)
			return
		}
		in, err := decode[request](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		ra, err := st.ChangeRate(userID, albumID, in.Rate)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, ra)
	})
}

func handleRatingDelete(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		userID, albumID, err := pathIDs(r, "uid", "aid")
		if err != nil {
			writeError(w, r, err)
			return
		}
		if err := st.Unrate(userID, albumID); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
