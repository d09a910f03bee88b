// Package console parses the command lines of the musicdb console.
//
// Parse turns one line into a Command. It checks the syntax and, with the
// store's own field checks, the ranges of the values, so a mistake is answered
// with the command's expected form before anything is sent. HelpText gives
// the HELP text. Both are built from one table of command forms, so HELP and
// the usage errors never disagree.
//
// The package must stay pure: no I/O, no network, no clock reads (the caller
// passes the time the year check needs). A password never leaves it except in
// Command.Password: not in Command.Line, not in an error.
package console

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Op is the kind of a console command, one per command form.
// The zero Op is no command.
type Op int

// The command forms, in the order HELP lists them.
const (
	AddUser           Op = iota + 1 // ADD USER <username> <password> <name>
	AddBand                         // ADD BAND <genre> <name> <year>
	AddAlbum                        // ADD ALBUM <band_id> <name> <year>
	AddRating                       // ADD <user_id> <album_id> <rate>
	ShowUser                        // SHOW USER <id>
	ShowBand                        // SHOW BAND <id>
	ShowAlbum                       // SHOW ALBUM <id>
	ShowUsers                       // SHOW ALL USERS
	ShowBands                       // SHOW ALL BANDS
	ShowAlbums                      // SHOW ALL ALBUMS
	ShowBandAlbums                  // SHOW ALL ALBUMS_B <band_id>
	ShowUserAlbums                  // SHOW ALL ALBUMS_U <user_id>
	ShowAlbumsRated                 // SHOW ALL ALBUMS <rate>
	RemoveUser                      // REMOVE USER <id>
	RemoveBand                      // REMOVE BAND <id>
	RemoveAlbum                     // REMOVE ALBUM <id>
	RemoveUsers                     // REMOVE ALL USERS
	RemoveBands                     // REMOVE ALL BANDS
	RemoveAlbums                    // REMOVE ALL ALBUMS
	RemoveBandAlbums                // REMOVE ALL ALBUMS_B <band_id>
	RemoveUserAlbums                // REMOVE ALL ALBUMS_U <user_id>
	RemoveAlbumsRated               // REMOVE ALL ALBUMS <rate>
	UpdatePassword                  // UPDATE USER <user_id> <password>
	UpdateRating                    // UPDATE ALBUM <album_id> <rate> <user_id>
	Help                            // HELP [topic]
	Stats                           // STATS
	Login                           // LOGIN [provider]
	Logout                          // LOGOUT
	Quit                            // QUIT or EXIT
)

var opNames = [...]string{
	AddUser:           "AddUser",
	AddBand:           "AddBand",
	AddAlbum:          "AddAlbum",
	AddRating:         "AddRating",
	ShowUser:          "ShowUser",
	ShowBand:          "ShowBand",
	ShowAlbum:         "ShowAlbum",
	ShowUsers:         "ShowUsers",
	ShowBands:         "ShowBands",
	ShowAlbums:        "ShowAlbums",
	ShowBandAlbums:    "ShowBandAlbums",
	ShowUserAlbums:    "ShowUserAlbums",
	ShowAlbumsRated:   "ShowAlbumsRated",
	RemoveUser:        "RemoveUser",
	RemoveBand:        "RemoveBand",
	RemoveAlbum:       "RemoveAlbum",
	RemoveUsers:       "RemoveUsers",
	RemoveBands:       "RemoveBands",
	RemoveAlbums:      "RemoveAlbums",
	RemoveBandAlbums:  "RemoveBandAlbums",
	RemoveUserAlbums:  "RemoveUserAlbums",
	RemoveAlbumsRated: "RemoveAlbumsRated",
	UpdatePassword:    "UpdatePassword",
	UpdateRating:      "UpdateRating",
	Help:              "Help",
	Stats:             "Stats",
	Login:             "Login",
	Logout:            "Logout",
	Quit:              "Quit",
}

// String returns the Go name of o, such as "AddUser".
func (o Op) String() string {
	if o.valid() {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

func (o Op) valid() bool { return o > 0 && int(o) < len(opNames) }

// Providers are the login providers LOGIN accepts.
var Providers = []string{"local", "google", "spotify", "oidc"}

// Command is one parsed console command. Only the fields its Op uses are set.
type Command struct {
	Op Op

	// ID is the item of SHOW and REMOVE USER|BAND|ALBUM <id>; the other
	// ids are set where the form names them (<user_id>, <album_id>, <band_id>).
	ID, UserID, AlbumID, BandID int64

	Rate, Year int

	Username, Password, Name string

	// Genre is in lower case, one of store.Genres.
	Genre string

	// Topic is the HELP keyword in upper case, or "" for every command.
	Topic string

	// Provider is the LOGIN provider in lower case, one of Providers, or
	// "" for the client's default.
	Provider string

	// Line is the line as typed, trimmed, with the password replaced by
	// "********": what the console may echo. When the line does not parse,
	// every argument after ADD USER or UPDATE USER is masked, since the
	// password's place is then uncertain.
	Line string
}

// mask stands for a password in Command.Line.
const mask = "********"

// Destructive reports whether c deletes every item of a kind, or every item
// that matches (REMOVE ALL …), and so deserves a confirmation on a terminal.
func (c Command) Destructive() bool {
	switch c.Op {
	case RemoveUsers, RemoveBands, RemoveAlbums, RemoveBandAlbums, RemoveUserAlbums, RemoveAlbumsRated:
		return true
	}
	return false
}

// ErrEmpty is returned by Parse for a blank line or a comment (a line whose
// first non-blank character is '#'): not a command, nothing to do.
var ErrEmpty = errors.New("console: no command")

// UsageError is a mistake in a command line: what is wrong, then the form the
// command expects or where HELP describes it. Its text is one line and never
// holds a password.
type UsageError struct {
	Problem string // what is wrong, e.g. "rate must be from 1 to 5"
	Hint    string // e.g. "usage: ADD <user_id> <album_id> <rate>"
}

// Error returns the problem and the hint as one line.
func (e *UsageError) Error() string { return e.Problem + "; " + e.Hint }

// Parse parses one console line. Keywords are case-insensitive; words are
// separated by runs of spaces and tabs; a word in double quotes is taken
// whole, spaces included, with \" and \\ standing for a quote and a backslash
// inside the quotes. A name takes every word its form leaves over, joined by
// single spaces. now gives the latest year allowed: the year after it.
//
// Parse returns ErrEmpty for a blank line or a comment, and a *UsageError for
// a mistake. On a mistake the Command holds only Line, for the caller to echo.
func Parse(line string, now time.Time) (Command, error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return Command{}, ErrEmpty
	}
	toks, problem := tokenize(line)
	f, uerr := match(toks)
	if problem != "" {
		// A broken quote spoils whatever follows it; say so first, with the
		// form the line was heading for when that is known.
		if uerr == nil {
			uerr = &UsageError{Hint: f.hint("")}
		}
		uerr.Problem = problem
	}
	if uerr != nil {
		return Command{Line: maskArgs(line, toks, f)}, uerr
	}
	args := toks[len(f.words):]
	cmd, secret, uerr := f.bind(args, now)
	if uerr != nil {
		return Command{Line: maskArgs(line, toks, f)}, uerr
	}
	cmd.Line = line
	if secret >= 0 {
		t := args[secret]
		cmd.Line = line[:t.start] + mask + line[t.end:]
	}
	return cmd, nil
}

// maskArgs returns line with every argument of f masked when f takes a
// password, for a line that did not parse; else line as it is.
func maskArgs(line string, toks []token, f *form) string {
	if f == nil || !f.takesSecret() || len(toks) <= len(f.words) {
		return line
	}
	return line[:toks[len(f.words)-1].end] + " " + mask
}
