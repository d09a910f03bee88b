package server

import "net/http"

// handleHealth reports that the server is up. It needs no token, so load
// balancers and scripts can probe it with a client certificate alone.
func handleHealth() http.Handler {
	type response struct {
		Status string `json:"status"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, r, http.StatusOK, response{Status: "ok"})
	})
}
