package server

import (
	"fmt"
	"net/http"

	"musicdb/store"
)

func handleUserCreate(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nu, err := decode[store.NewUser](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		u, err := st.CreateUser(nu)
		if err != nil {
			writeError(w, r, err)
			return
		}
		created(w, r, fmt.Sprintf("/users/%d", u.ID), u)
	})
}

func handleUserList(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := readQuery(r)
		p := q.page()
		if err := q.err(); err != nil {
			writeError(w, r, err)
			return
		}
		users, more, err := st.Users(p)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writePage(w, r, p, users, more, func(u store.User) int64 { return u.ID })
	})
}

func handleUserDeleteAll(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := st.DeleteUsers(); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleUserGet(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			writeError(w, r, err)
			return
		}
		u, err := st.User(id)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, u)
	})
}

func handleUserPasswordChange(st *store.Store) http.Handler {
	type request struct {
		Password string `json:"password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			writeError(w, r, err)
			return
		}
		in, err := decode[request](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		u, err := st.SetPassword(id, in.Password)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, u)
	})
}

func handleUserDelete(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			writeError(w, r, err)
			return
		}
		if err := st.DeleteUser(id); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
