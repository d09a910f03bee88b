package console

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"musicdb/store"
)

// form is one command form: its keywords, its arguments and what it does.
type form struct {
	op    Op
	words []string // the keywords, in upper case
	args  []arg
	about string // what it does, for HELP; short enough for 80 columns
}

// forms is the console's grammar, in the order HELP lists it. Parse, the
// usage errors and HELP all read it.
var forms = []form{
	{AddUser, kw("ADD USER"), []arg{argUsername, argPassword, argName}, "create a user"},
	{AddBand, kw("ADD BAND"), []arg{argGenre, argName, argYear}, "create a band"},
	{AddAlbum, kw("ADD ALBUM"), []arg{argBandID, argName, argYear}, "create an album of a band"},
	{AddRating, kw("ADD"), []arg{argUserID, argAlbumID, argRate}, "rate an album as a user"},
	{ShowUser, kw("SHOW USER"), []arg{argID}, "show a user"},
	{ShowBand, kw("SHOW BAND"), []arg{argID}, "show a band"},
	{ShowAlbum, kw("SHOW ALBUM"), []arg{argID}, "show an album and its ratings"},
	{ShowUsers, kw("SHOW ALL USERS"), nil, "list every user"},
	{ShowBands, kw("SHOW ALL BANDS"), nil, "list every band"},
	{ShowAlbums, kw("SHOW ALL ALBUMS"), nil, "list every album"},
	{ShowBandAlbums, kw("SHOW ALL ALBUMS_B"), []arg{argBandID}, "list a band's albums"},
	{ShowUserAlbums, kw("SHOW ALL ALBUMS_U"), []arg{argUserID}, "list the albums a user rated"},
	{ShowAlbumsRated, kw("SHOW ALL ALBUMS"), []arg{argRate}, "list albums someone rated <rate>"},
	{RemoveUser, kw("REMOVE USER"), []arg{argID}, "delete a user and their ratings"},
	{RemoveBand, kw("REMOVE BAND"), []arg{argID}, "delete a band and its albums"},
	{RemoveAlbum, kw("REMOVE ALBUM"), []arg{argID}, "delete an album and its ratings"},
	{RemoveUsers, kw("REMOVE ALL USERS"), nil, "delete every user"},
	{RemoveBands, kw("REMOVE ALL BANDS"), nil, "delete every band and album"},
	{RemoveAlbums, kw("REMOVE ALL ALBUMS"), nil, "delete every album"},
	{RemoveBandAlbums, kw("REMOVE ALL ALBUMS_B"), []arg{argBandID}, "delete a band's albums"},
	{RemoveUserAlbums, kw("REMOVE ALL ALBUMS_U"), []arg{argUserID}, "clear a user's ratings"},
	{RemoveAlbumsRated, kw("REMOVE ALL ALBUMS"), []arg{argRate}, "delete albums someone rated <rate>"},
	{UpdatePassword, kw("UPDATE USER"), []arg{argUserID, argPassword}, "change a user's password"},
	{UpdateRating, kw("UPDATE ALBUM"), []arg{argAlbumID, argRate, argUserID}, "change a user's rating"},
	{Help, kw("HELP"), []arg{argTopic}, "list every command, or a keyword's"},
	{Stats, kw("STATS"), nil, "show the connection statistics"},
	{Login, kw("LOGIN"), []arg{argProvider}, "log in again"},
	{Logout, kw("LOGOUT"), nil, "log out and forget the token"},
	{Quit, kw("QUIT"), nil, "leave the console"},
	{Quit, kw("EXIT"), nil, "leave the console"},
}

func kw(words string) []string { return strings.Fields(words) }

// arg is one argument of a form.
type arg struct {
	name     string   // as HELP shows it: <name>, or [name] when optional
	rest     bool     // takes every word the other arguments leave over
	optional bool     // may be left out; only ever the last argument
	secret   bool     // a password: masked in Command.Line
	choices  []string // the values allowed, listed by HELP and usage errors
	// set stores s in c and returns what is wrong with it, or "".
	set func(c *Command, s string, now time.Time) string
}

func (a arg) String() string {
	if a.optional {
		return "[" + a.name + "]"
	}
	return "<" + a.name + ">"
}

var (
	argID      = idArg("id", func(c *Command) *int64 { return &c.ID })
	argUserID  = idArg("user_id", func(c *Command) *int64 { return &c.UserID })
	argAlbumID = idArg("album_id", func(c *Command) *int64 { return &c.AlbumID })
	argBandID  = idArg("band_id", func(c *Command) *int64 { return &c.BandID })

	argUsername = arg{name: "username", set: func(c *Command, s string, _ time.Time) string {
		c.Username = s
		return store.CheckUsername(s)
	}}
	argPassword = arg{name: "password", secret: true, set: func(c *Command, s string, _ time.Time) string {
		c.Password = s
		return store.CheckPassword(s)
	}}
	argName = arg{name: "name", rest: true, set: func(c *Command, s string, _ time.Time) string {
		c.Name = s
		return store.CheckName(s)
	}}
	argGenre = arg{name: "genre", choices: store.Genres, set: func(c *Command, s string, _ time.Time) string {
		c.Genre = lowerASCII(s)
		return store.CheckGenre(c.Genre)
	}}
	argYear = arg{name: "year", set: func(c *Command, s string, now time.Time) string {
		c.Year = smallNumber(s)
		return store.CheckYear(c.Year, now)
	}}
	argRate = arg{name: "rate", set: func(c *Command, s string, _ time.Time) string {
		c.Rate = smallNumber(s)
		return store.CheckRate(c.Rate)
	}}
	argTopic = arg{name: "topic", optional: true, choices: topicWords(), set: func(c *Command, s string, _ time.Time) string {
		c.Topic = upperASCII(s)
		return checkChoice(c.Topic, topicWords())
	}}
	argProvider = arg{name: "provider", optional: true, choices: Providers, set: func(c *Command, s string, _ time.Time) string {
		c.Provider = lowerASCII(s)
		return checkChoice(c.Provider, Providers)
	}}
)

func idArg(name string, field func(*Command) *int64) arg {
	return arg{name: name, set: func(c *Command, s string, _ time.Time) string {
		id := field(c)
		*id = number(s)
		return store.CheckID(*id)
	}}
}

func checkChoice(s string, choices []string) string {
	if !slices.Contains(choices, s) {
		return "must be one of " + strings.Join(choices, " ")
	}
	return ""
}

// usage returns the form as HELP shows it, e.g. "SHOW USER <id>".
func (f *form) usage() string {
	parts := slices.Clone(f.words)
	for _, a := range f.args {
		parts = append(parts, a.String())
	}
	return strings.Join(parts, " ")
}

// hint returns the usage line of a usage error for the forms fs, with the
// choices of their arguments except those of the argument named except (the
// problem lists those already).
func hint(except string, fs ...*form) string {
	usages := make([]string, len(fs))
	for i, f := range fs {
		usages[i] = f.usage()
	}
	var b strings.Builder
	b.WriteString("usage: " + strings.Join(usages, " or "))
	for _, a := range choiceArgs(fs) {
		if a.name != except {
			fmt.Fprintf(&b, "  (%s: %s)", a.name, strings.Join(a.choices, " "))
		}
	}
	return b.String()
}

func (f *form) hint(except string) string { return hint(except, f) }

// choiceArgs returns the arguments of fs that take a fixed set of values,
// each once, in order.
func choiceArgs(fs []*form) []arg {
	var out []arg
	for _, f := range fs {
		for _, a := range f.args {
			if a.choices != nil && !slices.ContainsFunc(out, func(b arg) bool { return b.name == a.name }) {
				out = append(out, a)
			}
		}
	}
	return out
}

func (f *form) takesSecret() bool {
	return slices.ContainsFunc(f.args, func(a arg) bool { return a.secret })
}

// minArgs and maxArgs bound the number of words f takes after its keywords;
// maxArgs is -1 when f takes a name of any length.
func (f *form) minArgs() int {
	n := 0
	for _, a := range f.args {
		if !a.optional {
			n++
		}
	}
	return n
}

func (f *form) maxArgs() int {
	if f.restIndex() >= 0 {
		return -1
	}
	return len(f.args)
}

func (f *form) restIndex() int {
	return slices.IndexFunc(f.args, func(a arg) bool { return a.rest })
}

func (f *form) takes(n int) bool {
	return n >= f.minArgs() && (f.maxArgs() < 0 || n <= f.maxArgs())
}

// match finds the form whose keywords begin toks, which must not be empty.
// When the keywords lead to two forms (SHOW ALL ALBUMS [<rate>]), the number
// of words left chooses between them.
func match(toks []token) (*form, *UsageError) {
	var cands []*form
	for i := range forms {
		if isKeyword(toks[0].text, forms[i].words[0]) {
			cands = append(cands, &forms[i])
		}
	}
	if len(cands) == 0 {
		return nil, &UsageError{
			Problem: "unknown command " + quote(toks[0].text),
			Hint:    "type HELP for the list",
		}
	}
	depth := 1
	for depth < len(toks) {
		var deeper []*form
		for _, f := range cands {
			if len(f.words) > depth && isKeyword(toks[depth].text, f.words[depth]) {
				deeper = append(deeper, f)
			}
		}
		if deeper == nil {
			break
		}
		cands, depth = deeper, depth+1
	}
	var done, longer []*form
	for _, f := range cands {
		if len(f.words) == depth {
			done = append(done, f)
		} else {
			longer = append(longer, f)
		}
	}
	n := len(toks) - depth
	// A keyword is wanted when no form ends here, or when the line ends here
	// or goes on with a word rather than a number (ADD FOO …, not ADD 1 2 3).
	if longer != nil && (done == nil || n == 0 || startsWithLetter(toks[depth].text)) {
		return nil, keywordError(toks, depth, done, longer)
	}
	for _, f := range done {
		if f.takes(n) {
			return f, nil
		}
	}
	if len(done) == 1 {
		return done[0], nil // bind says what is missing or too many
	}
	// Forms that share their keywords differ in taking an argument or
	// none, so a count that fits neither is too many.
	return nil, &UsageError{Problem: "too many arguments", Hint: hint("", done...)}
}

// keywordError says which keywords may follow the first depth words of toks:
// those that the forms longer take next, or the first argument of the forms
// done, which end there.
func keywordError(toks []token, depth int, done, longer []*form) *UsageError {
	var want []string
	for _, f := range longer {
		if !slices.Contains(want, f.words[depth]) {
			want = append(want, f.words[depth])
		}
	}
	for _, f := range done {
		if len(f.args) > 0 {
			want = append(want, f.args[0].String())
		}
	}
	prefix := strings.Join(longer[0].words[:depth], " ")
	problem := prefix + " needs " + orList(want)
	if depth < len(toks) {
		problem = prefix + " takes " + orList(want) + ", not " + quote(toks[depth].text)
	}
	return &UsageError{
		Problem: problem,
		Hint:    "type HELP " + longer[0].words[0] + " for its forms",
	}
}

// orList joins words as "A, B or C".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// bind sets the arguments of f from toks, the words after its keywords. It
// returns the command and the index in toks of the password, or -1.
func (f *form) bind(toks []token, now time.Time) (Command, int, *UsageError) {
	if len(toks) < f.minArgs() {
		problem := "too few arguments"
		// Which are missing is plain unless a name in the middle may have
		// taken words meant for the arguments after it.
		if r := f.restIndex(); r < 0 || len(toks) <= r {
			var missing []string
			for _, a := range f.args[len(toks):] {
				if !a.optional {
					missing = append(missing, a.String())
				}
			}
			problem = "missing " + strings.Join(missing, " ")
		}
		return Command{}, -1, &UsageError{Problem: problem, Hint: f.hint("")}
	}
	if most := f.maxArgs(); most >= 0 && len(toks) > most {
		return Command{}, -1, &UsageError{Problem: "too many arguments", Hint: f.hint("")}
	}
	cmd := Command{Op: f.op}
	secret := -1
	next := 0
	for _, a := range f.args {
		if next == len(toks) {
			break // the optional arguments left out
		}
		n := 1
		if a.rest {
			n = len(toks) - len(f.args) + 1
		}
		words := make([]string, n)
		for i, t := range toks[next : next+n] {
			words[i] = t.text
		}
		if a.secret {
			secret = next
		}
		if msg := a.set(&cmd, strings.Join(words, " "), now); msg != "" {
			return Command{}, -1, &UsageError{Problem: a.name + " " + msg, Hint: f.hint(a.name)}
		}
		next += n
	}
	return cmd, secret, nil
}
