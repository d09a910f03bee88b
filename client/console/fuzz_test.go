package console

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"musicdb/store"
)

func FuzzParse(f *testing.F) {
	for _, line := range []string{
		"ADD USER alice secret-pw Alice Liddell",
		`ADD USER bob "pass word 1" Bob Smith`,
		`add user bob "a\"b\\c" "Bob"`,
		"ADD BAND rock Pink Floyd 1965",
		`ADD BAND Rock "Pink  Floyd" 2026`,
		"ADD ALBUM 3 The Wall 1979",
		`ADD ALBUM 3 "1999" 1982`,
		"ADD 1 2 5",
		"SHOW USER 1", "SHOW BAND 2", "SHOW ALBUM 3",
		"SHOW ALL USERS", "SHOW ALL BANDS", "SHOW ALL ALBUMS",
		"SHOW ALL ALBUMS_B 3", "SHOW ALL ALBUMS_U 2", "SHOW ALL ALBUMS 4",
		"REMOVE USER 1", "REMOVE BAND 2", "REMOVE ALBUM 3",
		"REMOVE ALL USERS", "REMOVE ALL BANDS", "REMOVE ALL ALBUMS",
		"REMOVE ALL ALBUMS_B 3", "REMOVE ALL ALBUMS_U 2", "REMOVE ALL ALBUMS 1",
		"UPDATE USER 3 new-secret", `UPDATE USER 3 "new secret"`,
		"UPDATE ALBUM 2 4 1",
		"HELP", "HELP add", "STATS", "LOGIN", "LOGIN google", "LOGOUT", "QUIT", "exit",
		"", "   # comment",
		"FOO", "ADD", "ADD USER bob short Bob", `ADD USER bob "unterminated`,
		`ADD USER bob "pw"x Bob`, "SHOW ALL ALBUMS 1 2", "ADD BAND jazz X 1999",
		"SHOW USER 9223372036854775808", "ADD 1 2 0", "UPDATE USER 0 secret-pw",
	} {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := Parse(line, now)
		switch {
		case errors.Is(err, ErrEmpty):
			if trimmed := strings.TrimSpace(line); trimmed != "" && trimmed[0] != '#' {
				t.Fatalf("Parse(%q): ErrEmpty for a command", line)
			}
		case err != nil:
			var uerr *UsageError
			if !errors.As(err, &uerr) {
				t.Fatalf("Parse(%q): %v is not a *UsageError", line, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse(%q): error is not one line: %q", line, err)
			}
			if (cmd != Command{Line: cmd.Line}) {
				t.Fatalf("Parse(%q) = %+v on error, want only Line", line, cmd)
			}
		default:
			checkCommand(t, line, cmd)
		}
		checkPasswordHidden(t, line, cmd, err)
	})
}

// checkCommand checks that a parsed command has a valid Op, that the fields
// its Op uses are in range, and that the others are zero.
func checkCommand(t *testing.T, line string, cmd Command) {
	t.Helper()
	bad := func(field, msg string) {
		if msg != "" {
			t.Fatalf("Parse(%q) = %+v: %s %s", line, cmd, field, msg)
		}
	}
	c := cmd // c loses each field once checked
	id := func(field string, v *int64) {
		bad(field, store.CheckID(*v))
		*v = 0
	}
	rate := func() {
		bad("rate", store.CheckRate(c.Rate))
		c.Rate = 0
	}
	switch cmd.Op {
	case AddUser:
		bad("username", store.CheckUsername(c.Username))
		bad("password", store.CheckPassword(c.Password))
		bad("name", store.CheckName(c.Name))
		c.Username, c.Password, c.Name = "", "", ""
	case AddBand:
		bad("genre", store.CheckGenre(c.Genre))
		bad("name", store.CheckName(c.Name))
		bad("year", store.CheckYear(c.Year, now))
		c.Genre, c.Name, c.Year = "", "", 0
	case AddAlbum:
		id("band_id", &c.BandID)
		bad("name", store.CheckName(c.Name))
		bad("year", store.CheckYear(c.Year, now))
		c.Name, c.Year = "", 0
	case AddRating:
		id("user_id", &c.UserID)
		id("album_id", &c.AlbumID)
		rate()
	case ShowUser, ShowBand, ShowAlbum, RemoveUser, RemoveBand, RemoveAlbum:
		id("id", &c.ID)
	case ShowBandAlbums, RemoveBandAlbums:
		id("band_id", &c.BandID)
	case ShowUserAlbums, RemoveUserAlbums:
		id("user_id", &c.UserID)
	case ShowAlbumsRated, RemoveAlbumsRated:
		rate()
	case UpdatePassword:
		id("user_id", &c.UserID)
		bad("password", store.CheckPassword(c.Password))
		c.Password = ""
	case UpdateRating:
		id("album_id", &c.AlbumID)
		id("user_id", &c.UserID)
		rate()
	case Help:
		if c.Topic != "" {
			bad("topic", checkChoice(c.Topic, topicWords()))
		}
		c.Topic = ""
	case Login:
		if c.Provider != "" {
			bad("provider", checkChoice(c.Provider, Providers))
		}
		c.Provider = ""
	case ShowUsers, ShowBands, ShowAlbums, RemoveUsers, RemoveBands, RemoveAlbums, Stats, Logout, Quit:
	default:
		t.Fatalf("Parse(%q) = %+v: invalid Op", line, cmd)
	}
	if (c != Command{Op: cmd.Op, Line: cmd.Line}) {
		t.Fatalf("Parse(%q) = %+v: fields set that %v does not use", line, cmd, cmd.Op)
	}
	if cmd.Password == "" && cmd.Line != strings.TrimSpace(line) {
		t.Fatalf("Parse(%q): Line = %q, want the trimmed line", line, cmd.Line)
	}
}

// checkPasswordHidden checks that on a line of ADD USER or UPDATE USER the
// password is masked in Line and leaves no trace in the error: with the
// password replaced by another of the same length, Parse must give the same
// Line and the same error.
func checkPasswordHidden(t *testing.T, line string, cmd Command, err error) {
	t.Helper()
	trimmed := strings.TrimSpace(line)
	toks, problem := tokenize(trimmed)
	const at = 3 // ADD USER <username> <password>, UPDATE USER <user_id> <password>
	if len(toks) <= at || !(isKeyword(toks[0].text, "ADD") || isKeyword(toks[0].text, "UPDATE")) || !isKeyword(toks[1].text, "USER") {
		return
	}
	pw := toks[at]
	if err == nil && cmd.Line != trimmed[:pw.start]+mask+trimmed[pw.end:] {
		t.Fatalf("Parse(%q): Line = %q, want the password masked", line, cmd.Line)
	}
	if problem != "" && len(toks)-1 == at {
		return // the password's own quote is broken: another would not be
	}
	other := trimmed[:pw.start] + `"` + strings.Repeat("x", utf8.RuneCountInString(pw.text)) + `"` + trimmed[pw.end:]
	cmd2, err2 := Parse(other, now)
	if cmd2.Line != cmd.Line {
		t.Fatalf("Line depends on the password: %q for %q, %q for %q", cmd.Line, line, cmd2.Line, other)
	}
	if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
		t.Fatalf("error depends on the password: %v for %q, %v for %q", err, line, err2, other)
	}
}
