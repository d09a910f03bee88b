package server

import (
	"fmt"
	"net/http"

	"musicdb/store"
)

func handleAlbumCreate(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		na, err := decode[store.NewAlbum](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		a, err := st.CreateAlbum(na)
		if err != nil {
			writeError(w, r, err)
			return
		}
		created(w, r, fmt.Sprintf("/albums/%d", a.ID), a)
	})
}

func handleAlbumList(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := readQuery(r)
		p, rate := q.page(), q.rate()
		if err := q.err(); err != nil {
			writeError(w, r, err)
			return
		}
		albums, more, err := st.Albums(rate, p)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writePage(w, r, p, albums, more, func(a store.Album) int64 { return a.ID })
	})
}

// handleAlbumDeleteAll deletes every album, or with ?rate=N those that at
// least one user rated N.
func handleAlbumDeleteAll(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := readQuery(r)
		rate := q.rate()
		if err := q.err(); err != nil {
			writeError(w, r, err)
			return
		}
		var err error
		if rate == 0 {
			err = st.DeleteAlbums()
		} else {
			err = st.DeleteAlbumsRated(rate)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleAlbumGet(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			writeError(w, r, err)
			return
		}
		a, err := st.Album(id)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, a)
	})
}

func handleAlbumDelete(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			writeError(w, r, err)
			return
		}
		if err := st.DeleteAlbum(id); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
