package api

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// link is one link of a Link header (RFC 8288): its target as written, and
// its parameters with the names in lower case.
type link struct {
	Target string
	Params map[string]string
}

// hasRel reports whether l's rel parameter names the relation type rel,
// which must be in lower case. rel holds a space-separated list of relation
// types, compared without regard to case.
func (l link) hasRel(rel string) bool {
	for _, r := range strings.Fields(l.Params["rel"]) {
		if strings.ToLower(r) == rel {
			return true
		}
	}
	return false
}

// parseLinks parses the value of a Link header: comma-separated links of the
// form <target>; name=value; name="quoted value". A parameter given twice
// keeps its first value, as RFC 8288 asks for rel. It returns an error for
// anything that is not that grammar, rather than guessing.
func parseLinks(s string) ([]link, error) {
	p := linkParser{s: s}
	var links []link
	for {
		p.skipSpace()
		if p.done() {
			return links, nil
		}
		if p.peek() == ',' { // empty list elements are allowed (RFC 9110 §5.6.1)
			p.i++
			continue
		}
		l, err := p.linkValue()
		if err != nil {
			return nil, fmt.Errorf("bad Link header: %w", err)
		}
		links = append(links, l)
		p.skipSpace()
		if !p.done() && p.peek() != ',' {
			return nil, fmt.Errorf("bad Link header: %q after a link", p.peek())
		}
	}
}

type linkParser struct {
	s string
	i int
}

func (p *linkParser) done() bool { return p.i >= len(p.s) }
func (p *linkParser) peek() byte { return p.s[p.i] }

func (p *linkParser) skipSpace() {
	for !p.done() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

// linkValue parses one link-value, leaving p at the comma or the end after
// it.
func (p *linkParser) linkValue() (link, error) {
	if p.peek() != '<' {
		return link{}, errors.New("a link must start with <")
	}
	end := strings.IndexByte(p.s[p.i:], '>')
	if end < 0 {
		return link{}, errors.New("no > closes the link target")
	}
	l := link{Target: p.s[p.i+1 : p.i+end], Params: map[string]string{}}
	p.i += end + 1
	for {
		p.skipSpace()
		if p.done() || p.peek() == ',' {
			return l, nil
		}
		if p.peek() != ';' {
			return link{}, fmt.Errorf("%q where ; or , was expected", p.peek())
		}
		p.i++
		p.skipSpace()
		name := strings.ToLower(p.token())
		if name == "" {
			return link{}, errors.New("a link parameter has no name")
		}
		p.skipSpace()
		value := ""
		if !p.done() && p.peek() == '=' {
			p.i++
			p.skipSpace()
			var err error
			if value, err = p.value(); err != nil {
				return link{}, err
			}
		}
		if _, seen := l.Params[name]; !seen {
			l.Params[name] = value
		}
	}
}

// value parses a token or a quoted string.
func (p *linkParser) value() (string, error) {
	if p.done() || p.peek() != '"' {
		v := p.token()
		if v == "" {
			return "", errors.New("a link parameter has = but no value")
		}
		return v, nil
	}
	var b strings.Builder
	for p.i++; !p.done(); p.i++ {
		switch c := p.peek(); c {
		case '"':
			p.i++
			return b.String(), nil
		case '\\':
			p.i++
			if p.done() {
				return "", errors.New("unterminated quoted string")
			}
			b.WriteByte(p.peek())
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated quoted string")
}

// token parses an RFC 9110 token, possibly empty.
func (p *linkParser) token() string {
	start := p.i
	for !p.done() && isTokenChar(p.peek()) {
		p.i++
	}
	return p.s[start:p.i]
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// nextPage returns the URL of the rel="next" link among the Link header
// values of a response to the request for from, resolved against from, or
// nil when there is none. A next page on another origin is an error: the
// client certificate and credentials are meant for this server only.
func nextPage(values []string, from *url.URL) (*url.URL, error) {
	for _, v := range values {
		links, err := parseLinks(v)
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			if !l.hasRel("next") {
				continue
			}
			ref, err := url.Parse(l.Target)
			if err != nil {
				return nil, fmt.Errorf("bad next link %q: %w", l.Target, err)
			}
			next := from.ResolveReference(ref)
			if next.Scheme != from.Scheme || next.Host != from.Host {
				return nil, fmt.Errorf("the next page %s is on another server", next.Redacted())
			}
			return next, nil
		}
	}
	return nil, nil
}
