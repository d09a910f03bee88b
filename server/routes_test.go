package server

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"musicdb/store"
)

// The seeded catalogue as the API shows it.
const (
	jsonAlice  = `{"id":1,"username":"alice","name":"Alice Liddell","created_at":"2025-03-01T12:00:00Z"}`
	jsonBob    = `{"id":2,"username":"bob","name":"Bob","created_at":"2025-03-01T12:00:00Z"}`
	jsonFloyd  = `{"id":1,"name":"Pink Floyd","genre":"rock","year":1965}`
	jsonDaft   = `{"id":2,"name":"Daft Punk","genre":"pop","year":1993}`
	jsonMoon   = `{"id":1,"band_id":1,"name":"The Dark Side of the Moon","year":1973,"ratings":{"count":2,"average":4.5}}`
	jsonWish   = `{"id":2,"band_id":1,"name":"Wish You Were Here","year":1975,"ratings":{"count":0,"average":0}}`
	jsonDisco  = `{"id":3,"band_id":2,"name":"Discovery","year":2001,"ratings":{"count":1,"average":2}}`
	jsonMoon5  = `{"id":1,"band_id":1,"name":"The Dark Side of the Moon","year":1973,"ratings":{"count":2,"average":4.5},"rate":5}`
	jsonDisco2 = `{"id":3,"band_id":2,"name":"Discovery","year":2001,"ratings":{"count":1,"average":2},"rate":2}`
)

func list(items ...string) string { return "[" + strings.Join(items, ",") + "]" }

// step is one request and what its answer must be.
type step struct {
	method, path, body string
	status             int
	want               string            // the JSON body; "" skips the check
	header             map[string]string // headers; a "" value must be absent
	fields             []string          // for a problem: the fields of errors
}

func (s step) run(t *testing.T, ts *testServer) {
	t.Helper()
	r := ts.do(t, s.method, s.path, s.body)
	what := s.method + " " + s.path
	switch {
	case s.status >= 400:
		p := checkProblem(t, r, s.status)
		if got := slices.Sorted(maps.Keys(p.Errors)); !slices.Equal(got, s.fields) {
			t.Errorf("%s: errors for %q, want %q (%+v)", what, got, s.fields, p)
		}
	case r.status != s.status:
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, s.status, r.body)
	case s.status == http.StatusNoContent || s.method == http.MethodHead:
		if len(r.body) != 0 {
			t.Errorf("%s: body %q, want none", what, r.body)
		}
	default:
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q, want application/json", what, ct)
		}
		if s.want != "" && !sameJSON(r.body, []byte(s.want)) {
			t.Errorf("%s: body\n%s\nwant\n%s", what, r.body, s.want)
		}
	}
	for name, want := range s.header {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s: %s: got %q, want %q", what, name, got, want)
		}
	}
}

// TestRoutes runs every route's success path and its error statuses, each
// case on a fresh server seeded by seed, and checks cascades through the API.
func TestRoutes(t *testing.T) {
	noLink := map[string]string{"Link": ""}
	tests := []struct {
		name  string
		steps []step
		check func(t *testing.T, st *store.Store)
	}{
		// Users.
		{name: "CreateUser", steps: []step{
			{method: "POST", path: "/users", body: `{"username":"carol","password":"secret123","name":"Carol"}`, status: 201,
				want:   `{"id":3,"username":"carol","name":"Carol","created_at":"2025-03-01T12:00:00Z"}`,
				header: map[string]string{"Location": "/users/3"}},
			{method: "GET", path: "/users/3", status: 200, want: `{"id":3,"username":"carol","name":"Carol","created_at":"2025-03-01T12:00:00Z"}`},
		}},
		{name: "ErrUsernameTaken", steps: []step{
			{method: "POST", path: "/users", body: `{"username":"alice","password":"secret123","name":"Alice 2"}`, status: 409},
		}},
		{name: "ErrUserInvalid", steps: []step{
			{method: "POST", path: "/users", body: `{"username":"A!","password":"short","name":" "}`, status: 422, fields: []string{"name", "password", "username"}},
		}},
		{name: "ListUsers", steps: []step{
			{method: "GET", path: "/users", status: 200, want: list(jsonAlice, jsonBob), header: noLink},
		}},
		{name: "ListUsersPaged", steps: []step{
			{method: "GET", path: "/users?limit=1", status: 200, want: list(jsonAlice),
				header: map[string]string{"Link": `</users?after=1&limit=1>; rel="next"`}},
			{method: "GET", path: "/users?after=1&limit=1", status: 200, want: list(jsonBob), header: noLink},
			{method: "GET", path: "/users?after=2", status: 200, want: `[]`, header: noLink},
		}},
		{name: "GetUser", steps: []step{
			{method: "GET", path: "/users/1", status: 200, want: jsonAlice},
			{method: "HEAD", path: "/users/1", status: 200},
		}},
		{name: "ErrUserNotFound", steps: []step{
			{method: "GET", path: "/users/9", status: 404},
			{method: "PATCH", path: "/users/9", body: `{"password":"secret123"}`, status: 404},
			{method: "DELETE", path: "/users/9", status: 404},
		}},
		{name: "ChangePassword", steps: []step{
			{method: "PATCH", path: "/users/1", body: `{"password":"looking-glass"}`, status: 200, want: jsonAlice},
		}, check: func(t *testing.T, st *store.Store) {
			if ok, err := st.VerifyPassword(1, "looking-glass"); !ok || err != nil {
				t.Errorf("VerifyPassword(new) = %v, %v; want true", ok, err)
			}
		}},
		{name: "ErrPasswordInvalid", steps: []step{
			{method: "PATCH", path: "/users/1", body: `{"password":"short"}`, status: 422, fields: []string{"password"}},
			{method: "PATCH", path: "/users/1", body: `{}`, status: 422, fields: []string{"password"}},
		}},
		{name: "DeleteUserCascades", steps: []step{
			{method: "DELETE", path: "/users/1", status: 204},
			{method: "GET", path: "/users/1", status: 404},
			{method: "GET", path: "/users/1/albums", status: 404},
			{method: "GET", path: "/albums/1", status: 200, want: `{"id":1,"band_id":1,"name":"The Dark Side of the Moon","year":1973,"ratings":{"count":1,"average":4}}`},
			{method: "GET", path: "/albums?rate=2", status: 200, want: `[]`},
		}},
		{name: "DeleteAllUsers", steps: []step{
			{method: "DELETE", path: "/users", status: 204},
			{method: "GET", path: "/users", status: 200, want: `[]`},
			{method: "GET", path: "/albums/1", status: 200, want: `{"id":1,"band_id":1,"name":"The Dark Side of the Moon","year":1973,"ratings":{"count":0,"average":0}}`},
			{method: "POST", path: "/users", body: `{"username":"alice","password":"secret123","name":"Alice"}`, status: 201,
				header: map[string]string{"Location": "/users/3"}},
		}},

		// Bands.
		{name: "CreateBand", steps: []step{
			{method: "POST", path: "/bands", body: `{"name":"Can","genre":"rock","year":1968}`, status: 201,
				want: `{"id":3,"name":"Can","genre":"rock","year":1968}`, header: map[string]string{"Location": "/bands/3"}},
			{method: "GET", path: "/bands?genre=rock&limit=1", status: 200, want: list(jsonFloyd),
				header: map[string]string{"Link": `</bands?after=1&genre=rock&limit=1>; rel="next"`}},
			{method: "GET", path: "/bands?genre=rock&after=1&limit=1", status: 200, want: `[{"id":3,"name":"Can","genre":"rock","year":1968}]`, header: noLink},
		}},
		{name: "ErrBandInvalid", steps: []step{
			{method: "POST", path: "/bands", body: `{"name":"X","genre":"jazz","year":999}`, status: 422, fields: []string{"genre", "year"}},
			{method: "POST", path: "/bands", body: `{"name":"X","genre":"rock","year":2027}`, status: 422, fields: []string{"year"}},
		}},
		{name: "ListBands", steps: []step{
			{method: "GET", path: "/bands", status: 200, want: list(jsonFloyd, jsonDaft), header: noLink},
			{method: "GET", path: "/bands?genre=pop", status: 200, want: list(jsonDaft)},
			{method: "GET", path: "/bands?genre=metal", status: 200, want: `[]`},
		}},
		{name: "GetBand", steps: []step{
			{method: "GET", path: "/bands/2", status: 200, want: jsonDaft},
			{method: "GET", path: "/bands/3", status: 404},
			{method: "DELETE", path: "/bands/3", status: 404},
		}},
		{name: "DeleteBandCascades", steps: []step{
			{method: "DELETE", path: "/bands/1", status: 204},
			{method: "GET", path: "/bands/1", status: 404},
			{method: "GET", path: "/albums/1", status: 404},
			{method: "GET", path: "/albums/2", status: 404},
			{method: "GET", path: "/albums", status: 200, want: list(jsonDisco)},
			{method: "GET", path: "/users/1/albums", status: 200, want: list(jsonDisco2)},
			{method: "GET", path: "/users/2/albums", status: 200, want: `[]`},
		}},
		{name: "DeleteAllBands", steps: []step{
			{method: "DELETE", path: "/bands", status: 204},
			{method: "GET", path: "/bands", status: 200, want: `[]`},
			{method: "GET", path: "/albums", status: 200, want: `[]`},
			{method: "GET", path: "/users/1/albums", status: 200, want: `[]`},
			{method: "GET", path: "/users", status: 200, want: list(jsonAlice, jsonBob)},
		}},
		{name: "BandAlbums", steps: []step{
			{method: "GET", path: "/bands/1/albums", status: 200, want: list(jsonMoon, jsonWish), header: noLink},
			{method: "GET", path: "/bands/1/albums?limit=1", status: 200, want: list(jsonMoon),
				header: map[string]string{"Link": `</bands/1/albums?after=1&limit=1>; rel="next"`}},
			{method: "GET", path: "/bands/1/albums?after=1&limit=1", status: 200, want: list(jsonWish), header: noLink},
			{method: "GET", path: "/bands/9/albums", status: 404},
		}},
		{name: "DeleteBandAlbums", steps: []step{
			{method: "DELETE", path: "/bands/1/albums", status: 204},
			{method: "GET", path: "/bands/1", status: 200, want: jsonFloyd},
			{method: "GET", path: "/bands/1/albums", status: 200, want: `[]`},
			{method: "GET", path: "/users/2/albums", status: 200, want: `[]`},
			{method: "GET", path: "/albums", status: 200, want: list(jsonDisco)},
			{method: "DELETE", path: "/bands/9/albums", status: 404},
		}},

		// Albums.
		{name: "CreateAlbum", steps: []step{
			{method: "POST", path: "/albums", body: `{"band_id":2,"name":"Homework","year":1997}`, status: 201,
				want:   `{"id":4,"band_id":2,"name":"Homework","year":1997,"ratings":{"count":0,"average":0}}`,
				header: map[string]string{"Location": "/albums/4"}},
			{method: "GET", path: "/bands/2/albums", status: 200, want: list(jsonDisco, `{"id":4,"band_id":2,"name":"Homework","year":1997,"ratings":{"count":0,"average":0}}`)},
		}},
		{name: "ErrAlbumBandNotFound", steps: []step{
			{method: "POST", path: "/albums", body: `{"band_id":9,"name":"Homework","year":1997}`, status: 404},
		}},
		{name: "ErrAlbumInvalid", steps: []step{
			{method: "POST", path: "/albums", body: `{"band_id":0,"name":"","year":1997}`, status: 422, fields: []string{"band_id", "name"}},
		}},
		{name: "ListAlbums", steps: []step{
			{method: "GET", path: "/albums", status: 200, want: list(jsonMoon, jsonWish, jsonDisco)},
			{method: "GET", path: "/albums?rate=5", status: 200, want: list(jsonMoon)},
			{method: "GET", path: "/albums?rate=2", status: 200, want: list(jsonDisco)},
			{method: "GET", path: "/albums?rate=3", status: 200, want: `[]`},
			{method: "GET", path: "/albums?rate=4&limit=1", status: 200, want: list(jsonMoon), header: noLink},
			{method: "GET", path: "/albums?limit=2", status: 200, want: list(jsonMoon, jsonWish),
				header: map[string]string{"Link": `</albums?after=2&limit=2>; rel="next"`}},
		}},
		{name: "GetAlbum", steps: []step{
			{method: "GET", path: "/albums/1", status: 200, want: jsonMoon},
			{method: "GET", path: "/albums/9", status: 404},
			{method: "DELETE", path: "/albums/9", status: 404},
		}},
		{name: "DeleteAlbumCascades", steps: []step{
			{method: "DELETE", path: "/albums/1", status: 204},
			{method: "GET", path: "/albums/1", status: 404},
			{method: "GET", path: "/users/1/albums", status: 200, want: list(jsonDisco2)},
			{method: "GET", path: "/users/2/albums", status: 200, want: `[]`},
			{method: "GET", path: "/bands/1/albums", status: 200, want: list(jsonWish)},
		}},
		{name: "DeleteAllAlbums", steps: []step{
			{method: "DELETE", path: "/albums", status: 204},
			{method: "GET", path: "/albums", status: 200, want: `[]`},
			{method: "GET", path: "/users/1/albums", status: 200, want: `[]`},
			{method: "GET", path: "/bands", status: 200, want: list(jsonFloyd, jsonDaft)},
		}},
		{name: "DeleteAlbumsRated", steps: []step{
			{method: "DELETE", path: "/albums?rate=4", status: 204},
			{method: "GET", path: "/albums", status: 200, want: list(jsonWish, jsonDisco)},
			{method: "GET", path: "/users/1/albums", status: 200, want: list(jsonDisco2)},
			{method: "DELETE", path: "/albums?rate=3", status: 204},
			{method: "GET", path: "/albums", status: 200, want: list(jsonWish, jsonDisco)},
		}},

		// Ratings.
		{name: "ListUserAlbums", steps: []step{
			{method: "GET", path: "/users/1/albums", status: 200, want: list(jsonMoon5, jsonDisco2), header: noLink},
			{method: "GET", path: "/users/1/albums?limit=1", status: 200, want: list(jsonMoon5),
				header: map[string]string{"Link": `</users/1/albums?after=1&limit=1>; rel="next"`}},
			{method: "GET", path: "/users/1/albums?after=1", status: 200, want: list(jsonDisco2)},
			{method: "GET", path: "/users/9/albums", status: 404},
		}},
		{name: "RateAlbum", steps: []step{
			{method: "POST", path: "/users/2/albums", body: `{"album_id":3,"rate":4}`, status: 201,
				want:   `{"id":3,"band_id":2,"name":"Discovery","year":2001,"ratings":{"count":2,"average":3},"rate":4}`,
				header: map[string]string{"Location": "/users/2/albums/3"}},
			{method: "GET", path: "/albums?rate=4", status: 200, want: list(jsonMoon, `{"id":3,"band_id":2,"name":"Discovery","year":2001,"ratings":{"count":2,"average":3}}`)},
		}},
		{name: "ErrRatedAlready", steps: []step{
			{method: "POST", path: "/users/1/albums", body: `{"album_id":1,"rate":3}`, status: 409},
		}},
		{name: "ErrRatingNotFound", steps: []step{
			{method: "POST", path: "/users/1/albums", body: `{"album_id":9,"rate":3}`, status: 404},
			{method: "POST", path: "/users/9/albums", body: `{"album_id":1,"rate":3}`, status: 404},
			{method: "PATCH", path: "/users/2/albums/3", body: `{"rate":3}`, status: 404},
			{method: "PATCH", path: "/users/9/albums/1", body: `{"rate":3}`, status: 404},
			{method: "DELETE", path: "/users/2/albums/3", status: 404},
			{method: "DELETE", path: "/users/9/albums", status: 404},
		}},
		{name: "ErrRatingInvalid", steps: []step{
			{method: "POST", path: "/users/1/albums", body: `{"album_id":0,"rate":9}`, status: 422, fields: []string{"album_id", "rate"}},
			{method: "POST", path: "/users/1/albums", body: `{}`, status: 422, fields: []string{"album_id", "rate"}},
			{method: "PATCH", path: "/users/1/albums/1", body: `{"rate":0}`, status: 422, fields: []string{"rate"}},
		}},
		{name: "ChangeRate", steps: []step{
			{method: "PATCH", path: "/users/1/albums/1", body: `{"rate":1}`, status: 200,
				want: `{"id":1,"band_id":1,"name":"The Dark Side of the Moon","year":1973,"ratings":{"count":2,"average":2.5},"rate":1}`},
			{method: "GET", path: "/albums?rate=5", status: 200, want: `[]`},
		}},
		{name: "DeleteRating", steps: []step{
			{method: "DELETE", path: "/users/1/albums/1", status: 204},
			{method: "GET", path: "/albums/1", status: 200, want: `{"id":1,"band_id":1,"name":"The Dark Side of the Moon","year":1973,"ratings":{"count":1,"average":4}}`},
			{method: "GET", path: "/users/1/albums", status: 200, want: list(jsonDisco2)},
		}},
		{name: "ClearRatings", steps: []step{
			{method: "DELETE", path: "/users/1/albums", status: 204},
			{method: "GET", path: "/users/1/albums", status: 200, want: `[]`},
			{method: "GET", path: "/albums", status: 200, want: list(
				`{"id":1,"band_id":1,"name":"The Dark Side of the Moon","year":1973,"ratings":{"count":1,"average":4}}`,
				jsonWish,
				`{"id":3,"band_id":2,"name":"Discovery","year":2001,"ratings":{"count":0,"average":0}}`)},
		}},

		// The service and the mux.
		{name: "Health", steps: []step{
			{method: "GET", path: "/healthz", status: 200, want: `{"status":"ok"}`},
		}},
		{name: "ErrMethodNotAllowed", steps: []step{
			{method: "PUT", path: "/users", body: `{}`, status: 405, header: map[string]string{"Allow": "DELETE, GET, HEAD, POST"}},
			{method: "POST", path: "/users/1", body: `{}`, status: 405, header: map[string]string{"Allow": "DELETE, GET, HEAD, PATCH"}},
			{method: "GET", path: "/users/1/albums/1", status: 405, header: map[string]string{"Allow": "DELETE, PATCH"}},
			{method: "DELETE", path: "/healthz", status: 405, header: map[string]string{"Allow": "GET, HEAD"}},
		}},
		{name: "ErrNoRoute", steps: []step{
			{method: "GET", path: "/nothing", status: 404},
			{method: "GET", path: "/users/1/bands", status: 404},
			{method: "GET", path: "/users/", status: 404},
		}},
		{name: "ErrBadPathID", steps: []step{
			{method: "GET", path: "/users/abc", status: 400, fields: []string{"id"}},
			{method: "DELETE", path: "/bands/0", status: 400, fields: []string{"id"}},
			{method: "GET", path: "/albums/-1", status: 400, fields: []string{"id"}},
			{method: "PATCH", path: "/users/x/albums/0", body: `{"rate":3}`, status: 400, fields: []string{"aid", "uid"}},
		}},
		{name: "ErrBadQuery", steps: []step{
			{method: "GET", path: "/users?limit=0", status: 400, fields: []string{"limit"}},
			{method: "GET", path: "/bands?genre=jazz&after=-1", status: 400, fields: []string{"after", "genre"}},
			{method: "GET", path: "/albums?rate=6", status: 400, fields: []string{"rate"}},
			{method: "DELETE", path: "/albums?rate=0", status: 400, fields: []string{"rate"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, serverSetup{})
			seed(t, ts.store)
			for _, s := range tt.steps {
				s.run(t, ts)
			}
			if tt.check != nil {
				tt.check(t, ts.store)
			}
		})
	}
}

// TestListDefaultLimit checks that a list without ?limit= stops at 100 and
// links to the rest.
func TestListDefaultLimit(t *testing.T) {
	ts := newTestServer(t, serverSetup{})
	var wg sync.WaitGroup
	for i := range 101 {
		wg.Go(func() {
			if _, err := ts.store.CreateBand(store.NewBand{Name: fmt.Sprint("Band ", i), Genre: "pop", Year: 2000}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	r := ts.do(t, "GET", "/bands", "")
	var bands []store.Band
	if err := json.Unmarshal(r.body, &bands); err != nil || len(bands) != 100 {
		t.Fatalf("GET /bands: %d bands (%v), want 100", len(bands), err)
	}
	if got, want := r.header.Get("Link"), `</bands?after=100&limit=100>; rel="next"`; got != want {
		t.Errorf("Link: got %q, want %q", got, want)
	}
	r = ts.do(t, "GET", "/bands?after=100", "")
	if err := json.Unmarshal(r.body, &bands); err != nil || len(bands) != 1 || bands[0].ID != 101 {
		t.Errorf("GET /bands?after=100: %s, want band 101 alone", r.body)
	}
	if r.header.Get("Link") != "" {
		t.Errorf("last page has Link %q", r.header.Get("Link"))
	}
}
