package api

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseLinks(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []link
	}{
		{"", nil},
		{`</users?after=100&limit=100>; rel="next"`, []link{{"/users?after=100&limit=100", map[string]string{"rel": "next"}}}},
		{`<https://h/a>;rel=next`, []link{{"https://h/a", map[string]string{"rel": "next"}}}},
		{`<a>; REL = "prev next" ; title="x, \"y\"; z"`, []link{{"a", map[string]string{"rel": "prev next", "title": `x, "y"; z`}}}},
		{`<a,b>; rel=first, <c>; rel=next`, []link{
			{"a,b", map[string]string{"rel": "first"}},
			{"c", map[string]string{"rel": "next"}},
		}},
		{` , <a>; rel=next; rel=prev,`, []link{{"a", map[string]string{"rel": "next"}}}},
		{`<a>; crossorigin`, []link{{"a", map[string]string{"crossorigin": ""}}}},
	} {
		got, err := parseLinks(tc.in)
		if err != nil {
			t.Errorf("parseLinks(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseLinks(%q):\ngot  %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestParseLinksErrors(t *testing.T) {
	for _, in := range []string{
		`/users?after=1; rel="next"`,
		`<a; rel=next`,
		`<a> rel=next`,
		`<a>; rel="next`,
		`<a>; rel=`,
		`<a>; ="next"`,
		`<a>; rel=next <b>`,
		`<a>; rel="next\`,
	} {
		if links, err := parseLinks(in); err == nil {
			t.Errorf("parseLinks(%q) = %q, want an error", in, links)
		}
	}
}

func TestNextPage(t *testing.T) {
	from, _ := url.Parse("https://127.0.0.1:8443/users?limit=2")
	for _, tc := range []struct {
		values []string
		want   string // "" for none
		err    bool
	}{
		{nil, "", false},
		{[]string{`</users?after=2&limit=2>; rel="next"`}, "https://127.0.0.1:8443/users?after=2&limit=2", false},
		{[]string{`<?after=4>; rel=next`}, "https://127.0.0.1:8443/users?after=4", false},
		{[]string{`</users?after=0>; rel="prev"`, `</users?after=6>; rel="Next"`}, "https://127.0.0.1:8443/users?after=6", false},
		{[]string{`<https://127.0.0.1:8443/users?after=8>; rel="next"`}, "https://127.0.0.1:8443/users?after=8", false},
		{[]string{`</users?after=2>; rel="last"`}, "", false},
		{[]string{`<https://evil.example/users>; rel="next"`}, "", true},
		{[]string{`<http://127.0.0.1:8443/users?after=2>; rel="next"`}, "", true},
		{[]string{`<//127.0.0.1:9999/users>; rel="next"`}, "", true},
		{[]string{`garbage`}, "", true},
	} {
		got, err := nextPage(tc.values, from)
		switch {
		case tc.err && err == nil:
			t.Errorf("nextPage(%q) = %v, want an error", tc.values, got)
		case !tc.err && err != nil:
			t.Errorf("nextPage(%q): %v", tc.values, err)
		case !tc.err && tc.want == "" && got != nil:
			t.Errorf("nextPage(%q) = %v, want none", tc.values, got)
		case !tc.err && tc.want != "" && (got == nil || got.String() != tc.want):
			t.Errorf("nextPage(%q) = %v, want %s", tc.values, got, tc.want)
		}
	}
}

// formatLinks writes links back as a Link header value, quoting every
// parameter value.
func formatLinks(links []link) string {
	var parts []string
	for _, l := range links {
		s := "<" + l.Target + ">"
		for name, v := range l.Params {
			s += "; " + name + `="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// FuzzParseLinks checks that parseLinks never panics, and that what it
// parses reads back the same once written out again.
func FuzzParseLinks(f *testing.F) {
	for _, s := range []string{
		`</users?after=100&limit=100>; rel="next"`,
		`<a,b>; rel=first, <c>; rel="prev next"; title="x, \"y\""`,
		`<a>; crossorigin, , <b>`,
		`<a; rel=next`,
		"<\xff>; rel=\"\xfe\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		links, err := parseLinks(s)
		if err != nil {
			return
		}
		for _, l := range links {
			if strings.ContainsRune(l.Target, '>') {
				t.Fatalf("target %q holds a >", l.Target)
			}
			for name := range l.Params {
				if name == "" || name != strings.ToLower(name) {
					t.Fatalf("parameter name %q", name)
				}
			}
		}
		again, err := parseLinks(formatLinks(links))
		if err != nil {
			t.Fatalf("parseLinks(%s) parsed, but not written out again as %s: %v", strconv.Quote(s), formatLinks(links), err)
		}
		if len(again) != len(links) || (len(links) > 0 && !reflect.DeepEqual(again, links)) {
			t.Fatalf("parseLinks(%q) = %q, but again = %q", s, links, again)
		}
	})
}
