package auth

import (
	"fmt"
	"strings"
)

// AllowList is who may use the API once their token is verified: identities
// and whole email domains. The zero value allows anyone the provider vouches
// for.
type AllowList struct {
	names   map[string]bool // lower case
	domains map[string]bool // lower case, without the @
}

// ParseAllowList reads the server's -allow flag: identities and @domain
// entries separated by commas, such as "alice,bob@example.com,@example.org".
// Spaces around entries are dropped; an empty string allows anyone. An entry
// that is only "@", or that holds a space or a second @ in a domain, is an
// error, since it would never match and most likely is a typing mistake.
func ParseAllowList(s string) (AllowList, error) {
	var a AllowList
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if strings.ContainsAny(entry, " \t\"") {
			return AllowList{}, fmt.Errorf("-allow entry %q: an identity has no spaces or quotes", entry)
		}
		entry = strings.ToLower(entry)
		if domain, ok := strings.CutPrefix(entry, "@"); ok {
			if domain == "" || strings.Contains(domain, "@") {
				return AllowList{}, fmt.Errorf("-allow entry %q: want @domain, such as @example.com", entry)
			}
			if a.domains == nil {
				a.domains = map[string]bool{}
			}
			a.domains[domain] = true
			continue
		}
		if a.names == nil {
			a.names = map[string]bool{}
		}
		a.names[entry] = true
	}
	return a, nil
}

// Allows reports whether subject may use the API: the list is empty, names
// subject, or names the domain of subject's email address. Case is ignored.
func (a AllowList) Allows(subject string) bool {
	if a.Empty() {
		return true
	}
	subject = strings.ToLower(subject)
	if a.names[subject] {
		return true
	}
	at := strings.LastIndexByte(subject, '@')
	return at > 0 && a.domains[subject[at+1:]]
}

// Empty reports whether the list allows anyone.
func (a AllowList) Empty() bool { return len(a.names) == 0 && len(a.domains) == 0 }
