package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"musicdb/server/auth"
)

// bodyRoutes are the routes that read a request body, with a body each
// accepts (on the seeded catalogue, with album 2 rated by user 1 first).
var bodyRoutes = []struct{ method, path, valid string }{
	{"POST", "/users", `{"username":"carol","password":"secret123","name":"Carol"}`},
	{"PATCH", "/users/1", `{"password":"secret123"}`},
	{"POST", "/bands", `{"name":"Can","genre":"rock","year":1968}`},
	{"POST", "/albums", `{"band_id":1,"name":"Animals","year":1977}`},
	{"POST", "/users/2/albums", `{"album_id":3,"rate":4}`},
	{"PATCH", "/users/1/albums/1", `{"rate":3}`},
}

// TestMalformedBodies sends every body route bodies that are wrong in form,
// and checks each gets exactly the 4xx it should, in problem+json.
func TestMalformedBodies(t *testing.T) {
	ts := newTestServer(t, serverSetup{})
	seed(t, ts.store)
	big := `{"name":"` + strings.Repeat("a", maxBody) + `"}`
	deep := strings.Repeat("[", 100_000)
	tests := []struct {
		name        string
		body        string
		contentType string // "" sends application/json; "-" sends none
		status      int
	}{
		{"Empty", "", "", 400},
		{"Blank", " \r\n\t ", "", 400},
		{"NotJSON", "hello", "", 400},
		{"Truncated", `{"name":`, "", 400},
		{"UnterminatedString", `{"name":"abc`, "", 400},
		{"Array", `[{"name":"x"}]`, "", 400},
		{"Null", `null`, "", 400},
		{"String", `"x"`, "", 400},
		{"Number", `42`, "", 400},
		{"UnknownField", `{"nickname":"x"}`, "", 400},
		{"TrailingObject", `{}{}`, "", 400},
		{"TrailingGarbage", `{} x`, "", 400},
		{"TrailingComma", `{"a":1,}`, "", 400},
		{"RawNUL", "{\"name\":\"a\x00b\"}", "", 400},
		{"BareNUL", "\x00", "", 400},
		{"InvalidUTF8", "{\"name\":\"Ca\xffn\"}", "", 400},
		{"InvalidUTF8Key", "{\"n\xc3me\":\"Can\"}", "", 400},
		{"DeepNesting", `{"name":` + deep, "", 400},
		{"NoContentType", `{}`, "-", 415},
		{"TextPlain", `{}`, "text/plain", 415},
		{"FormEncoded", `a=b`, "application/x-www-form-urlencoded", 415},
		{"JSONLookalike", `{}`, "application/jsonp", 415},
		{"BadMediaType", `{}`, "application/json; charset", 415},
		{"TooLarge", big, "", 413},
	}
	for _, route := range bodyRoutes {
		for _, tt := range tests {
			t.Run(route.method+route.path+"/"+tt.name, func(t *testing.T) {
				hdr := []string{}
				switch tt.contentType {
				case "":
					hdr = append(hdr, "Content-Type", "application/json")
				case "-":
					hdr = append(hdr, "Content-Type", "")
				default:
					hdr = append(hdr, "Content-Type", tt.contentType)
				}
				r := ts.rawDo(t, route.method, route.path, tt.body, hdr...)
				checkProblem(t, r, tt.status)
			})
		}
	}
}

// TestFieldValues sends bodies whose form is right but whose values are not:
// wrong JSON types, huge numbers, huge strings, control characters and
// invalid UTF-8. Each must get exactly the status listed, never a 5xx.
func TestFieldValues(t *testing.T) {
	ts := newTestServer(t, serverSetup{})
	seed(t, ts.store)
	long := strings.Repeat("é", 101)
	huge := strings.Repeat("x", 512<<10)
	tests := []struct {
		name, method, path, body string
		status                   int
		fields                   []string
	}{
		{"YearString", "POST", "/bands", `{"name":"Can","genre":"rock","year":"1968"}`, 422, []string{"year"}},
		{"YearFraction", "POST", "/bands", `{"name":"Can","genre":"rock","year":1968.5}`, 422, []string{"year"}},
		{"YearExponent", "POST", "/bands", `{"name":"Can","genre":"rock","year":1e30}`, 422, []string{"year"}},
		{"YearHuge", "POST", "/bands", `{"name":"Can","genre":"rock","year":99999999999999999999999}`, 422, []string{"year"}},
		{"YearInt64", "POST", "/bands", `{"name":"Can","genre":"rock","year":9223372036854775807}`, 422, []string{"year"}},
		{"YearNull", "POST", "/bands", `{"name":"Can","genre":"rock","year":null}`, 422, []string{"year"}},
		{"YearNegative", "POST", "/bands", `{"name":"Can","genre":"rock","year":-1968}`, 422, []string{"year"}},
		{"NameNumber", "POST", "/bands", `{"name":7,"genre":"rock","year":1968}`, 422, []string{"name"}},
		{"NameObject", "POST", "/bands", `{"name":{"a":1},"genre":"rock","year":1968}`, 422, []string{"name"}},
		{"NameArray", "POST", "/albums", `{"band_id":1,"name":["x"],"year":1977}`, 422, []string{"name"}},
		{"NameTooLong", "POST", "/bands", `{"name":"` + long + `","genre":"rock","year":1968}`, 422, []string{"name"}},
		{"NameHuge", "POST", "/bands", `{"name":"` + huge + `","genre":"rock","year":1968}`, 422, []string{"name"}},
		{"NameNUL", "POST", "/bands", `{"name":"Ca\u0000n","genre":"rock","year":1968}`, 422, []string{"name"}},
		{"NameControl", "POST", "/albums", `{"band_id":1,"name":"A\nB","year":1977}`, 422, []string{"name"}},
		{"NameBlank", "POST", "/albums", `{"band_id":1,"name":"   ","year":1977}`, 422, []string{"name"}},
		{"BandIDString", "POST", "/albums", `{"band_id":"1","name":"Animals","year":1977}`, 422, []string{"band_id"}},
		{"BandIDHuge", "POST", "/albums", `{"band_id":1e100,"name":"Animals","year":1977}`, 422, []string{"band_id"}},
		{"BandIDNegative", "POST", "/albums", `{"band_id":-1,"name":"Animals","year":1977}`, 422, []string{"band_id"}},
		{"BandIDMax", "POST", "/albums", `{"band_id":9223372036854775807,"name":"Animals","year":1977}`, 404, nil},
		{"UsernameBool", "POST", "/users", `{"username":true,"password":"secret123","name":"Carol"}`, 422, []string{"username"}},
		{"UsernameUpper", "POST", "/users", `{"username":"Carol","password":"secret123","name":"Carol"}`, 422, []string{"username"}},
		{"UsernameNUL", "POST", "/users", `{"username":"car\u0000ol","password":"secret123","name":"Carol"}`, 422, []string{"username"}},
		{"PasswordNumber", "PATCH", "/users/1", `{"password":12345678}`, 422, []string{"password"}},
		{"PasswordTooLong", "PATCH", "/users/1", `{"password":"` + strings.Repeat("p", 129) + `"}`, 422, []string{"password"}},
		{"RateString", "POST", "/users/2/albums", `{"album_id":3,"rate":"4"}`, 422, []string{"rate"}},
		{"RateFraction", "PATCH", "/users/1/albums/1", `{"rate":4.5}`, 422, []string{"rate"}},
		{"RateHuge", "PATCH", "/users/1/albums/1", `{"rate":1e400}`, 422, []string{"rate"}},
		{"AlbumIDFraction", "POST", "/users/2/albums", `{"album_id":3.0,"rate":4}`, 422, []string{"album_id"}},
		{"AlbumIDMissing", "POST", "/users/2/albums", `{"rate":4}`, 422, []string{"album_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, tt.method, tt.path, tt.body)
			p := checkProblem(t, r, tt.status)
			if got := slices.Sorted(maps.Keys(p.Errors)); !slices.Equal(got, tt.fields) {
				t.Errorf("errors for %q, want %q (%+v)", got, tt.fields, p)
			}
			for _, msg := range p.Errors {
				if strings.Contains(msg, "secret") || strings.Contains(msg, "1968") {
					t.Errorf("message %q quotes the value", msg)
				}
			}
		})
	}
}

// TestBadParameters checks path ids and query values that are malformed or
// out of range: each is a 400 naming the parameter.
func TestBadParameters(t *testing.T) {
	ts := newTestServer(t, serverSetup{})
	seed(t, ts.store)
	tests := []struct {
		name, method, path string
		fields             []string
	}{
		{"IDZero", "GET", "/users/0", []string{"id"}},
		{"IDNegative", "GET", "/bands/-3", []string{"id"}},
		{"IDLetters", "DELETE", "/albums/abc", []string{"id"}},
		{"IDFraction", "GET", "/albums/1.5", []string{"id"}},
		{"IDPlus", "GET", "/users/+1", []string{"id"}},
		{"IDSpace", "GET", "/users/%201", []string{"id"}},
		{"IDHex", "GET", "/users/0x1", []string{"id"}},
		{"IDOverflow", "GET", "/bands/99999999999999999999", []string{"id"}},
		{"IDNUL", "GET", "/bands/1%00", []string{"id"}},
		{"IDUnicodeDigit", "GET", "/bands/%D9%A1", []string{"id"}},
		{"RatingIDs", "DELETE", "/users/0/albums/x", []string{"aid", "uid"}},
		{"RatingAlbumID", "PATCH", "/users/1/albums/-1", []string{"aid"}},
		{"UserAlbumsID", "GET", "/users/x/albums", []string{"id"}},
		{"LimitZero", "GET", "/users?limit=0", []string{"limit"}},
		{"LimitOver", "GET", "/bands?limit=1001", []string{"limit"}},
		{"LimitWord", "GET", "/albums?limit=ten", []string{"limit"}},
		{"LimitNegative", "GET", "/users/1/albums?limit=-5", []string{"limit"}},
		{"LimitHuge", "GET", "/bands/1/albums?limit=99999999999999999999", []string{"limit"}},
		{"AfterNegative", "GET", "/users?after=-1", []string{"after"}},
		{"AfterWord", "GET", "/bands?after=x", []string{"after"}},
		{"GenreUnknown", "GET", "/bands?genre=jazz", []string{"genre"}},
		{"GenreCase", "GET", "/bands?genre=Rock", []string{"genre"}},
		{"RateZero", "GET", "/albums?rate=0", []string{"rate"}},
		{"RateSix", "GET", "/albums?rate=6", []string{"rate"}},
		{"RateWord", "DELETE", "/albums?rate=five", []string{"rate"}},
		{"RateAndLimit", "GET", "/albums?rate=9&limit=0", []string{"limit", "rate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := checkProblem(t, ts.do(t, tt.method, tt.path, ""), 400)
			if got := slices.Sorted(maps.Keys(p.Errors)); !slices.Equal(got, tt.fields) {
				t.Errorf("errors for %q, want %q", got, tt.fields)
			}
		})
	}
	// Nothing was deleted on the way.
	if r := ts.do(t, "GET", "/albums", ""); !sameJSON(r.body, []byte(list(jsonMoon, jsonWish, jsonDisco))) {
		t.Errorf("albums after the bad requests: %s", r.body)
	}
}

// rawDo is do without its Content-Type default: the header pairs say it all.
func (ts *testServer) rawDo(tb testing.TB, method, path, body string, header ...string) response {
	tb.Helper()
	return do(tb, ts.dev(tb), ts.URL, method, path, body, append([]string{"Content-Type", ""}, header...)...)
}

// FuzzDecode sends arbitrary bodies to every route that reads one and checks
// that the answer is never a 5xx and that every failure is problem+json.
func FuzzDecode(f *testing.F) {
	for _, route := range bodyRoutes {
		f.Add(route.valid)
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"year":"1970"}`, `{"year":1e30}`, `{"year":1970.5}`,
		`{"name":"\u0000"}`, "{\"name\":\"\xff\"}", `{"a":1}`, `{}{}`, `{"rate":-0}`,
		`{"album_id":9223372036854775808}`, `{"password":null}`, `{"name":"x","name":"y"}`,
		`{"band_id":1,"name":"A","year":2000,"band_id":2}`,
	} {
		f.Add(s)
	}
	st := mustOpenStore(f, f.TempDir(), nil)
	seed(f, st)
	h := NewServer(Config{Store: st, Logger: slog.New(slog.DiscardHandler), Auth: allowAll{}})
	f.Fuzz(func(t *testing.T, body string) {
		for _, route := range bodyRoutes {
			req := httptest.NewRequest(route.method, route.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s %s %q: status %d: %s", route.method, route.path, body, w.Code, w.Body)
			}
			if w.Code >= 400 && w.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s %s %q: status %d with Content-Type %q", route.method, route.path, body, w.Code, w.Header().Get("Content-Type"))
			}
		}
	})
}

// allowAll is an Authenticator that lets every request in as "tester".
type allowAll struct{}

func (allowAll) Authenticate(*http.Request) (auth.Identity, error) {
	return auth.Identity{Subject: "tester"}, nil
}

// TestDecodeProblemDetails pins the details that tell a client what is wrong
// with a body, since the client shows them as they are.
func TestDecodeProblemDetails(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"nickname":"x"}`, `unknown field "nickname"`},
		{``, "the body is empty; send a JSON object"},
		{`[]`, "the body must be a JSON object"},
		{`{} {}`, "the body has data after the JSON object"},
		{`{"name":`, "the JSON object is cut short"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/bands", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
			_, err := decode[struct {
				Name string `json:"name"`
			}](httptest.NewRecorder(), req)
			if got := fmt.Sprint(err); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	var b bytes.Buffer
	b.WriteString(`{"name":"x"}`)
	req := httptest.NewRequest("POST", "/bands", &b)
	req.Header.Set("Content-Type", "Application/JSON; charset=utf-8")
	if _, err := decode[struct {
		Name string `json:"name"`
	}](httptest.NewRecorder(), req); err != nil {
		t.Errorf("application/json with a charset and in capitals: %v", err)
	}
}
