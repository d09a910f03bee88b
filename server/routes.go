package server

import (
	"net/http"

	"musicdb/server/auth"
	"musicdb/store"
)

// router is where routes are added: an *http.ServeMux, or in tests a list.
type router interface {
	Handle(pattern string, handler http.Handler)
}

// addRoutes adds the whole API to mux, one line per route, and the built-in
// issuer's endpoints when iss is not nil. Every route that needs a bearer
// token passes through token; /healthz, /openapi.json and the issuer's
// endpoints but userinfo do not.
func addRoutes(mux router, st *store.Store, m *Metrics, iss *auth.Issuer, token func(http.Handler) http.Handler) {
	mux.Handle("POST /users", token(handleUserCreate(st)))
	mux.Handle("GET /users", token(handleUserList(st)))
	mux.Handle("DELETE /users", token(handleUserDeleteAll(st)))
	mux.Handle("GET /users/{id}", token(handleUserGet(st)))
	mux.Handle("PATCH /users/{id}", token(handleUserPasswordChange(st)))
	mux.Handle("DELETE /users/{id}", token(handleUserDelete(st)))

	mux.Handle("GET /users/{id}/albums", token(handleRatingList(st)))
	mux.Handle("POST /users/{id}/albums", token(handleRatingCreate(st)))
	mux.Handle("DELETE /users/{id}/albums", token(handleRatingDeleteAll(st)))
	mux.Handle("PATCH /users/{uid}/albums/{aid}", token(handleRatingChange(st)))
	mux.Handle("DELETE /users/{uid}/albums/{aid}", token(handleRatingDelete(st)))

	mux.Handle("POST /bands", token(handleBandCreate(st)))
	mux.Handle("GET /bands", token(handleBandList(st)))
	mux.Handle("DELETE /bands", token(handleBandDeleteAll(st)))
	mux.Handle("GET /bands/{id}", token(handleBandGet(st)))
	mux.Handle("DELETE /bands/{id}", token(handleBandDelete(st)))
	mux.Handle("GET /bands/{id}/albums", token(handleBandAlbumList(st)))
	mux.Handle("DELETE /bands/{id}/albums", token(handleBandAlbumDeleteAll(st)))

	mux.Handle("POST /albums", token(handleAlbumCreate(st)))
	mux.Handle("GET /albums", token(handleAlbumList(st)))
	mux.Handle("DELETE /albums", token(handleAlbumDeleteAll(st)))
	mux.Handle("GET /albums/{id}", token(handleAlbumGet(st)))
	mux.Handle("DELETE /albums/{id}", token(handleAlbumDelete(st)))

	mux.Handle("GET /metrics", token(handleMetrics(m)))
	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("GET /openapi.json", handleOpenAPI())

	if iss != nil {
		mux.Handle("GET /.well-known/oauth-authorization-server", iss.HandleMetadata())
		mux.Handle("POST /oauth/device", iss.HandleDevice())
		mux.Handle("POST /oauth/token", iss.HandleToken())
		mux.Handle("GET /oauth/userinfo", token(auth.HandleUserInfo()))
		mux.Handle("POST /oauth/revoke", iss.HandleRevoke())
	}
}
