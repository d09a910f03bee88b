package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"musicdb/store"
)

// pathID returns the path parameter name as an id, or a 400 error when it is
// not a positive integer.
func pathID(r *http.Request, name string) (int64, error) {
	id, ok := positive(r.PathValue(name))
	if !ok {
		return 0, badParams(map[string]string{name: store.CheckID(0)})
	}
	return id, nil
}

// natural parses s, a decimal number of ASCII digits only (no sign, no
// spaces), as an int64 of 0 or more.
func natural(s string) (int64, bool) {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// positive parses s as natural does, and wants more than 0.
func positive(s string) (int64, bool) {
	n, ok := natural(s)
	return n, ok && n > 0
}

// pathIDs returns the two id path parameters of a rating, or a 400 error
// naming each bad one.
func pathIDs(r *http.Request, a, b string) (int64, int64, error) {
	idA, okA := positive(r.PathValue(a))
	idB, okB := positive(r.PathValue(b))
	bad := map[string]string{}
	if !okA {
		bad[a] = store.CheckID(0)
	}
	if !okB {
		bad[b] = store.CheckID(0)
	}
	if len(bad) > 0 {
		return 0, 0, badParams(bad)
	}
	return idA, idB, nil
}

// query reads the query parameters of a list request. Its methods return
// the value of one parameter and note a message for each bad one; err
// returns them all as one 400 error.
type query struct {
	values url.Values
	bad    map[string]string
}

func readQuery(r *http.Request) *query {
	q := &query{}
	if r.URL.RawQuery != "" { // most requests have none: spare the map
		q.values = r.URL.Query()
	}
	return q
}

// fail notes that the parameter name is bad, and why.
func (q *query) fail(name, why string) {
	if q.bad == nil {
		q.bad = make(map[string]string)
	}
	q.bad[name] = why
}

// err returns the 400 error for the bad parameters read so far, or nil.
func (q *query) err() error {
	if len(q.bad) == 0 {
		return nil
	}
	return badParams(q.bad)
}

// page returns the page that ?limit= and ?after= ask for.
func (q *query) page() store.Page {
	p := store.Page{Limit: store.DefaultLimit}
	if s := q.values.Get("limit"); s != "" {
		n, ok := positive(s)
		if !ok || n > store.MaxLimit {
			q.fail("limit", fmt.Sprintf("must be a whole number from 1 to %d", store.MaxLimit))
		}
		p.Limit = int(n)
	}
	if s := q.values.Get("after"); s != "" {
		n, ok := natural(s)
		if !ok {
			q.fail("after", "must be 0 or a positive id")
		}
		p.After = n
	}
	return p
}

// rate returns ?rate=, or 0 when it is absent.
func (q *query) rate() int {
	s := q.values.Get("rate")
	if s == "" {
		return 0
	}
	n, ok := positive(s)
	if !ok || n > store.MaxRate {
		q.fail("rate", store.CheckRate(0))
	}
	return int(n)
}

// genre returns ?genre=, or "" when it is absent.
func (q *query) genre() string {
	g := q.values.Get("genre")
	if g == "" {
		return ""
	}
	if msg := store.CheckGenre(g); msg != "" {
		q.fail("genre", msg)
	}
	return g
}

// writePage answers a list request with one page of items and, when more
// follow, a Link to the next page that keeps the request's other query
// parameters. id returns an item's id.
func writePage[T any](w http.ResponseWriter, r *http.Request, p store.Page, items []T, more bool, id func(T) int64) {
	if more && len(items) > 0 {
		q := r.URL.Query()
		q.Set("after", strconv.FormatInt(id(items[len(items)-1]), 10))
		q.Set("limit", strconv.Itoa(p.Limit))
		w.Header().Set("Link", "<"+r.URL.EscapedPath()+"?"+q.Encode()+`>; rel="next"`)
	}
	encode(w, r, http.StatusOK, items)
}

// created answers a create request with the item and its Location.
func created[T any](w http.ResponseWriter, r *http.Request, location string, item T) {
	w.Header().Set("Location", location)
	encode(w, r, http.StatusCreated, item)
}
