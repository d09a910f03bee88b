package server

import (
	"strings"
	"testing"
)

// TestJSONKeepsMarkup checks that names come back as they were sent: the API
// is read by programs and people, not embedded in HTML, so <, > and & are
// not escaped.
func TestJSONKeepsMarkup(t *testing.T) {
	ts := newTestServer(t, serverSetup{})
	const name = `Guns <N'> Roses & "Friends"`
	r := ts.do(t, "POST", "/bands", `{"name":"Guns <N'> Roses & \"Friends\"","genre":"rock","year":1985}`)
	if r.status != 201 {
		t.Fatalf("POST /bands: %d %s", r.status, r.body)
	}
	if want := `"name":"Guns <N'> Roses & \"Friends\""`; !strings.Contains(string(r.body), want) {
		t.Errorf("body %s: want it to hold %s for the name %s", r.body, want, name)
	}
}
