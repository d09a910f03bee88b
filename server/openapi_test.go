package server

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"musicdb/certs"
)

// routeList is a router that lists what is added to it, noting which routes
// pass through the token check.
type routeList struct {
	patterns []string
	public   map[string]bool
}

func (l *routeList) Handle(pattern string, h http.Handler) {
	l.patterns = append(l.patterns, pattern)
	if _, ok := h.(tokenChecked); !ok {
		l.public[pattern] = true
	}
}

type tokenChecked struct{ http.Handler }

// listRoutes returns the routes of addRoutes, the built-in issuer's
// included.
func listRoutes(t *testing.T) *routeList {
	t.Helper()
	l := &routeList{public: map[string]bool{}}
	addRoutes(l, nil, NewMetrics(), mustOpenIssuer(t, t.TempDir()), func(h http.Handler) http.Handler { return tokenChecked{h} })
	return l
}

func routePatterns(t *testing.T) []string {
	t.Helper()
	return listRoutes(t).patterns
}

// openAPIDoc is the part of the OpenAPI document the tests read.
type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

type openAPIOperation struct {
	Security  *[]map[string][]any        `json:"security"` // nil: the document's default, which needs a token
	Responses map[string]json.RawMessage `json:"responses"`
}

// operations returns the document's operations as "METHOD /path".
func operations(t *testing.T, doc openAPIDoc) map[string]openAPIOperation {
	t.Helper()
	ops := map[string]openAPIOperation{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	return ops
}

// TestOpenAPIMatchesRoutes fails when a route is missing from openapi.json or
// the document describes a route the server does not have, and when the two
// disagree on which routes need no token.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	documented := map[string]bool{}
	documentedPublic := map[string]bool{}
	for name, op := range operations(t, doc) {
		documented[name] = true
		if op.Security != nil && !slices.ContainsFunc(*op.Security, func(s map[string][]any) bool { _, ok := s["bearer"]; return ok }) {
			documentedPublic[name] = true
			continue
		}
		// What the token check may answer.
		for _, status := range []string{"401", "403", "429"} {
			if _, ok := op.Responses[status]; !ok {
				t.Errorf("%s needs a token but does not document %s", name, status)
			}
		}
	}
	routes := listRoutes(t)
	served := map[string]bool{}
	for _, p := range routes.patterns {
		served[p] = true
	}
	for _, name := range slices.Sorted(maps.Keys(served)) {
		if !documented[name] {
			t.Errorf("route %s is not in openapi.json", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(documented)) {
		if !served[name] {
			t.Errorf("openapi.json documents %s, which the server does not serve", name)
		}
	}
	if got, want := slices.Sorted(maps.Keys(routes.public)), slices.Sorted(maps.Keys(documentedPublic)); !slices.Equal(got, want) {
		t.Errorf("routes without a token check: %q; openapi.json says %q", got, want)
	}
}

// TestOpenAPIServed checks that the document is served whole as JSON.
func TestOpenAPIServed(t *testing.T) {
	ts := newTestServer(t, serverSetup{})
	r := do(t, ts.plainClient(t, certs.DevClient, "h2"), ts.URL, "GET", "/openapi.json", "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q, want 200 application/json", r.status, r.header.Get("Content-Type"))
	}
	if !json.Valid(r.body) || !bytes.Equal(r.body, openAPI) {
		t.Errorf("the body is not the embedded document")
	}
}
