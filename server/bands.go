package server

import (
	"fmt"
	"net/http"

	"musicdb/store"
)

func handleBandCreate(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nb, err := decode[store.NewBand](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		b, err := st.CreateBand(nb)
		if err != nil {
			writeError(w, r, err)
			return
		}
		created(w, r, fmt.Sprintf("/bands/%d", b.ID), b)
	})
}

func handleBandList(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := readQuery(r)
		p, genre := q.page(), q.genre()
		if err := q.err(); err != nil {
			writeError(w, r, err)
			return
		}
		bands, more, err := st.Bands(genre, p)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writePage(w, r, p, bands, more, func(b store.Band) int64 { return b.ID })
	})
}

func handleBandDeleteAll(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := st.DeleteBands(); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleBandGet(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			writeError(w, r, err)
			return
		}
		b, err := st.Band(id)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, b)
	})
}

func handleBandDelete(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			writeError(w, r, err)
			return
		}
		if err := st.DeleteBand(id); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleBandAlbumList(st *store.Store) http.Handler {
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
		albums, more, err := st.BandAlbums(id, p)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writePage(w, r, p, albums, more, func(a store.Album) int64 { return a.ID })
	})
}

func handleBandAlbumDeleteAll(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			writeError(w, r, err)
			return
		}
		if err := st.DeleteBandAlbums(id); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
