package console

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// now is the time every test parses at: years up to 2026 are allowed.
var now = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Command
	}{
		{"AddUser", "ADD USER alice secret-pw Alice",
			Command{Op: AddUser, Username: "alice", Password: "secret-pw", Name: "Alice", Line: "ADD USER alice ******** Alice"}},
		{"AddUserMultiWordName", "add user bob.s_1-x p4ssw0rd!  Bob \t van  Smith",
			Command{Op: AddUser, Username: "bob.s_1-x", Password: "p4ssw0rd!", Name: "Bob van Smith", Line: "add user bob.s_1-x ********  Bob \t van  Smith"}},
		{"AddUserQuotedPassword", `ADD USER bob "pass word 1" Bob Smith`,
			Command{Op: AddUser, Username: "bob", Password: "pass word 1", Name: "Bob Smith", Line: "ADD USER bob ******** Bob Smith"}},
		{"AddUserEscapedPassword", `ADD USER bob "a\"b\\c d e" Bob`,
			Command{Op: AddUser, Username: "bob", Password: `a"b\c d e`, Name: "Bob", Line: "ADD USER bob ******** Bob"}},
		{"AddUserPasswordWithInnerQuote", `ADD USER bob pass"word Bob`,
			Command{Op: AddUser, Username: "bob", Password: `pass"word`, Name: "Bob", Line: "ADD USER bob ******** Bob"}},
		{"AddUserOtherBackslashKept", `ADD USER bob "C:\dir\x" Bob`,
			Command{Op: AddUser, Username: "bob", Password: `C:\dir\x`, Name: "Bob", Line: "ADD USER bob ******** Bob"}},
		{"AddUserShortestAndLongest", "ADD USER abc " + strings.Repeat("p", 128) + " " + strings.Repeat("n", 100),
			Command{Op: AddUser, Username: "abc", Password: strings.Repeat("p", 128), Name: strings.Repeat("n", 100),
				Line: "ADD USER abc ******** " + strings.Repeat("n", 100)}},
		{"AddUserLongestUsername", "ADD USER " + strings.Repeat("u", 32) + " 12345678 U",
			Command{Op: AddUser, Username: strings.Repeat("u", 32), Password: "12345678", Name: "U", Line: "ADD USER " + strings.Repeat("u", 32) + " ******** U"}},
		{"AddUserPasswordCountsRunes", "ADD USER zoe ünïcödé! Zoë",
			Command{Op: AddUser, Username: "zoe", Password: "ünïcödé!", Name: "Zoë", Line: "ADD USER zoe ******** Zoë"}},
		{"AddBand", "ADD BAND rock Pink Floyd 1965",
			Command{Op: AddBand, Genre: "rock", Name: "Pink Floyd", Year: 1965, Line: "ADD BAND rock Pink Floyd 1965"}},
		{"AddBandSpacesCollapse", "  ADD\tBAND   rock  Pink \t Floyd   1965  ",
			Command{Op: AddBand, Genre: "rock", Name: "Pink Floyd", Year: 1965, Line: "ADD\tBAND   rock  Pink \t Floyd   1965"}},
		{"AddBandQuotedKeepsSpaces", `ADD BAND rock "Pink  Floyd" 1965`,
			Command{Op: AddBand, Genre: "rock", Name: "Pink  Floyd", Year: 1965, Line: `ADD BAND rock "Pink  Floyd" 1965`}},
		{"AddBandGenreAnyCase", "Add Band CLASSIC Berliner Philharmoniker 1882",
			Command{Op: AddBand, Genre: "classic", Name: "Berliner Philharmoniker", Year: 1882, Line: "Add Band CLASSIC Berliner Philharmoniker 1882"}},
		{"AddBandEveryGenre", "ADD BAND Trance x 2000",
			Command{Op: AddBand, Genre: "trance", Name: "x", Year: 2000, Line: "ADD BAND Trance x 2000"}},
		{"AddBandFirstYear", "ADD BAND pop Old 1000",
			Command{Op: AddBand, Genre: "pop", Name: "Old", Year: 1000, Line: "ADD BAND pop Old 1000"}},
		{"AddBandNextYear", "ADD BAND metal New 2026",
			Command{Op: AddBand, Genre: "metal", Name: "New", Year: 2026, Line: "ADD BAND metal New 2026"}},
		{"AddBandNameHoldsKeywordsAndNumbers", "ADD BAND indy ADD USER 1 2 3 2001",
			Command{Op: AddBand, Genre: "indy", Name: "ADD USER 1 2 3", Year: 2001, Line: "ADD BAND indy ADD USER 1 2 3 2001"}},
		{"AddBandLongestNonASCIIName", "ADD BAND rock " + strings.Repeat("ü", 100) + " 1990",
			Command{Op: AddBand, Genre: "rock", Name: strings.Repeat("ü", 100), Year: 1990, Line: "ADD BAND rock " + strings.Repeat("ü", 100) + " 1990"}},
		{"AddBandNameOfWordsCountsSpaces", "ADD BAND rock " + strings.Repeat("ab ", 33) + "x 1990",
			Command{Op: AddBand, Genre: "rock", Name: strings.Repeat("ab ", 33) + "x", Year: 1990, Line: "ADD BAND rock " + strings.Repeat("ab ", 33) + "x 1990"}},
		{"AddAlbum", "ADD ALBUM 3 The Wall 1979",
			Command{Op: AddAlbum, BandID: 3, Name: "The Wall", Year: 1979, Line: "ADD ALBUM 3 The Wall 1979"}},
		{"AddAlbumNumericName", `ADD ALBUM 3 "1999" 1982`,
			Command{Op: AddAlbum, BandID: 3, Name: "1999", Year: 1982, Line: `ADD ALBUM 3 "1999" 1982`}},
		{"AddAlbumEscapedQuoteInName", `add album 7 "The \"Best\" Of" 2001`,
			Command{Op: AddAlbum, BandID: 7, Name: `The "Best" Of`, Year: 2001, Line: `add album 7 "The \"Best\" Of" 2001`}},
		{"AddAlbumLeadingZerosAndLargestID", "ADD ALBUM 9223372036854775807 X 02001",
			Command{Op: AddAlbum, BandID: 9223372036854775807, Name: "X", Year: 2001, Line: "ADD ALBUM 9223372036854775807 X 02001"}},
		{"AddRating", "ADD 1 2 5",
			Command{Op: AddRating, UserID: 1, AlbumID: 2, Rate: 5, Line: "ADD 1 2 5"}},
		{"AddRatingLowest", "add 10 20 1",
			Command{Op: AddRating, UserID: 10, AlbumID: 20, Rate: 1, Line: "add 10 20 1"}},
		{"ShowUser", "SHOW USER 4", Command{Op: ShowUser, ID: 4, Line: "SHOW USER 4"}},
		{"ShowBand", "show band 5", Command{Op: ShowBand, ID: 5, Line: "show band 5"}},
		{"ShowAlbum", "Show Album 6", Command{Op: ShowAlbum, ID: 6, Line: "Show Album 6"}},
		{"ShowUsers", "SHOW ALL USERS", Command{Op: ShowUsers, Line: "SHOW ALL USERS"}},
		{"ShowBands", "show all bands", Command{Op: ShowBands, Line: "show all bands"}},
		{"ShowAlbums", "SHOW ALL ALBUMS", Command{Op: ShowAlbums, Line: "SHOW ALL ALBUMS"}},
		{"ShowBandAlbums", "SHOW ALL ALBUMS_B 3", Command{Op: ShowBandAlbums, BandID: 3, Line: "SHOW ALL ALBUMS_B 3"}},
		{"ShowUserAlbums", "show all albums_u 2", Command{Op: ShowUserAlbums, UserID: 2, Line: "show all albums_u 2"}},
		{"ShowAlbumsRated", "SHOW ALL ALBUMS 4", Command{Op: ShowAlbumsRated, Rate: 4, Line: "SHOW ALL ALBUMS 4"}},
		{"RemoveUser", "REMOVE USER 1", Command{Op: RemoveUser, ID: 1, Line: "REMOVE USER 1"}},
		{"RemoveBand", "remove band 2", Command{Op: RemoveBand, ID: 2, Line: "remove band 2"}},
		{"RemoveAlbum", "REMOVE ALBUM 3", Command{Op: RemoveAlbum, ID: 3, Line: "REMOVE ALBUM 3"}},
		{"RemoveUsers", "REMOVE ALL USERS", Command{Op: RemoveUsers, Line: "REMOVE ALL USERS"}},
		{"RemoveBands", "remove all bands", Command{Op: RemoveBands, Line: "remove all bands"}},
		{"RemoveAlbums", "REMOVE ALL ALBUMS", Command{Op: RemoveAlbums, Line: "REMOVE ALL ALBUMS"}},
		{"RemoveBandAlbums", "REMOVE ALL ALBUMS_B 8", Command{Op: RemoveBandAlbums, BandID: 8, Line: "REMOVE ALL ALBUMS_B 8"}},
		{"RemoveUserAlbums", "REMOVE ALL ALBUMS_U 9", Command{Op: RemoveUserAlbums, UserID: 9, Line: "REMOVE ALL ALBUMS_U 9"}},
		{"RemoveAlbumsRated", "remove all albums 1", Command{Op: RemoveAlbumsRated, Rate: 1, Line: "remove all albums 1"}},
		{"UpdatePassword", "UPDATE USER 3 new-secret",
			Command{Op: UpdatePassword, UserID: 3, Password: "new-secret", Line: "UPDATE USER 3 ********"}},
		{"UpdatePasswordQuoted", `update user 3 "new secret" `,
			Command{Op: UpdatePassword, UserID: 3, Password: "new secret", Line: "update user 3 ********"}},
		{"UpdateRating", "UPDATE ALBUM 2 4 1",
			Command{Op: UpdateRating, AlbumID: 2, Rate: 4, UserID: 1, Line: "UPDATE ALBUM 2 4 1"}},
		{"Help", "HELP", Command{Op: Help, Line: "HELP"}},
		{"HelpTopic", "help add", Command{Op: Help, Topic: "ADD", Line: "help add"}},
		{"HelpTopicExit", "HELP Exit", Command{Op: Help, Topic: "EXIT", Line: "HELP Exit"}},
		{"Stats", "stats", Command{Op: Stats, Line: "stats"}},
		{"Login", "LOGIN", Command{Op: Login, Line: "LOGIN"}},
		{"LoginProvider", "login Google", Command{Op: Login, Provider: "google", Line: "login Google"}},
		{"LoginOIDC", "LOGIN OIDC", Command{Op: Login, Provider: "oidc", Line: "LOGIN OIDC"}},
		{"Logout", "LogOut", Command{Op: Logout, Line: "LogOut"}},
		{"Quit", "QUIT", Command{Op: Quit, Line: "QUIT"}},
		{"Exit", "exit", Command{Op: Quit, Line: "exit"}},
		{"QuotedKeyword", `"SHOW" USER 1`, Command{Op: ShowUser, ID: 1, Line: `"SHOW" USER 1`}},
		{"TrailingNewline", "STATS\r\n", Command{Op: Stats, Line: "STATS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.line, now)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.line, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseYearFollowsNow(t *testing.T) {
	later := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := Parse("ADD BAND rock X 2031", later); err != nil {
		t.Errorf("in 2030, year 2031: %v", err)
	}
	_, err := Parse("ADD BAND rock X 2032", later)
	if want := "year must be from 1000 to 2031; usage: ADD BAND <genre> <name> <year>  (genre: pop rock indy metal trance classic)"; err == nil || err.Error() != want {
		t.Errorf("in 2030, year 2032: got %v, want %s", err, want)
	}
}

func TestParseErrors(t *testing.T) {
	const (
		addUser         = "usage: ADD USER <username> <password> <name>"
		addBand         = "usage: ADD BAND <genre> <name> <year>  (genre: pop rock indy metal trance classic)"
		addBandNoGenres = "usage: ADD BAND <genre> <name> <year>"
		addAlbum        = "usage: ADD ALBUM <band_id> <name> <year>"
		addRating       = "usage: ADD <user_id> <album_id> <rate>"
		showUser        = "usage: SHOW USER <id>"
		updateUser      = "usage: UPDATE USER <user_id> <password>"
		updateAlbum     = "usage: UPDATE ALBUM <album_id> <rate> <user_id>"
	)
	long := strings.Repeat("ü", 101)
	tests := []struct {
		name string
		line string
		want string
	}{
		{"UnknownCommand", "FOO bar", `unknown command "FOO"; type HELP for the list`},
		{"UnknownCommandLongCut", strings.Repeat("x", 40), `unknown command "xxxxxxxxxxxxxxxxxxxxxxxx…"; type HELP for the list`},
		{"UnknownCommandControlQuoted", "FO\x1bO", `unknown command "FO\x1bO"; type HELP for the list`},
		{"LongSIsNotS", "ſHOW ALL USERS", `unknown command "ſHOW"; type HELP for the list`},
		{"EmptyQuotedCommand", `"" USER 1`, `unknown command ""; type HELP for the list`},
		{"AddAlone", "ADD", "ADD needs USER, BAND, ALBUM or <user_id>; type HELP ADD for its forms"},
		{"AddUnknownForm", "add song x 1999", `ADD takes USER, BAND, ALBUM or <user_id>, not "song"; type HELP ADD for its forms`},
		{"ShowAlone", "SHOW", "SHOW needs USER, BAND, ALBUM or ALL; type HELP SHOW for its forms"},
		{"ShowUnknown", "SHOW SONG 1", `SHOW takes USER, BAND, ALBUM or ALL, not "SONG"; type HELP SHOW for its forms`},
		{"ShowAllAlone", "show all", "SHOW ALL needs USERS, BANDS, ALBUMS, ALBUMS_B or ALBUMS_U; type HELP SHOW for its forms"},
		{"ShowAllUnknown", "SHOW ALL SONGS", `SHOW ALL takes USERS, BANDS, ALBUMS, ALBUMS_B or ALBUMS_U, not "SONGS"; type HELP SHOW for its forms`},
		{"RemoveAllAlone", "REMOVE ALL", "REMOVE ALL needs USERS, BANDS, ALBUMS, ALBUMS_B or ALBUMS_U; type HELP REMOVE for its forms"},
		{"UpdateUnknown", "UPDATE BAND 1 x", `UPDATE takes USER or ALBUM, not "BAND"; type HELP UPDATE for its forms`},
		{"ShowAllAlbumsTooMany", "SHOW ALL ALBUMS 1 2", "too many arguments; usage: SHOW ALL ALBUMS or SHOW ALL ALBUMS <rate>"},
		{"RemoveAllAlbumsTooMany", "REMOVE ALL ALBUMS 1 2", "too many arguments; usage: REMOVE ALL ALBUMS or REMOVE ALL ALBUMS <rate>"},
		{"ShowUserMissingID", "SHOW USER", "missing <id>; " + showUser},
		{"ShowUserTooMany", "SHOW USER 1 2", "too many arguments; " + showUser},
		{"ShowUsersTooMany", "SHOW ALL USERS now", "too many arguments; usage: SHOW ALL USERS"},
		{"StatsTooMany", "STATS 1", "too many arguments; usage: STATS"},
		{"QuitTooMany", "QUIT now", "too many arguments; usage: QUIT"},
		{"HelpTooMany", "HELP ADD USER", "too many arguments; usage: HELP [topic]  (topic: ADD SHOW REMOVE UPDATE HELP STATS LOGIN LOGOUT QUIT EXIT)"},
		{"HelpUnknownTopic", "HELP FOO", "topic must be one of ADD SHOW REMOVE UPDATE HELP STATS LOGIN LOGOUT QUIT EXIT; usage: HELP [topic]"},
		{"LoginUnknownProvider", "LOGIN github", "provider must be one of local google spotify oidc; usage: LOGIN [provider]"},
		{"LoginTooMany", "LOGIN google now", "too many arguments; usage: LOGIN [provider]  (provider: local google spotify oidc)"},
		{"AddUserMissingAll", "ADD USER", "missing <username> <password> <name>; " + addUser},
		{"AddUserMissingPassword", "ADD USER bob", "missing <password> <name>; " + addUser},
		{"AddUserMissingName", "ADD USER bob secret-pw", "missing <name>; " + addUser},
		{"UsernameShort", "ADD USER bo secret-pw Bo", "username must be 3 to 32 characters long; " + addUser},
		{"UsernameLong", "ADD USER " + strings.Repeat("u", 33) + " secret-pw U", "username must be 3 to 32 characters long; " + addUser},
		{"UsernameUpperCase", "ADD USER Bob secret-pw Bob", "username may hold only lower-case letters a-z, digits and _ . -; " + addUser},
		{"UsernameQuotedSpace", `ADD USER "bob x" secret-pw Bob`, "username may hold only lower-case letters a-z, digits and _ . -; " + addUser},
		{"PasswordShort", "ADD USER bob 1234567 Bob", "password must be 8 to 128 characters long; " + addUser},
		{"PasswordLong", "ADD USER bob " + strings.Repeat("p", 129) + " Bob", "password must be 8 to 128 characters long; " + addUser},
		{"PasswordEmptyQuoted", `ADD USER bob "" Bob`, "password must be 8 to 128 characters long; " + addUser},
		{"NameLongNonASCII", "ADD USER bob secret-pw " + long, "name must be at most 100 characters long; " + addUser},
		{"NameBlankQuoted", `ADD USER bob secret-pw "  "`, "name must not be blank; " + addUser},
		{"NameControl", "ADD USER bob secret-pw \"Bob\x01\"", "name must not hold control characters; " + addUser},
		{"NameTabInQuotes", "ADD BAND rock \"Pink\tFloyd\" 1965", "name must not hold control characters; " + addBand},
		{"NameInvalidUTF8", "ADD BAND rock Pink\xff 1965", "name must be valid UTF-8 text; " + addBand},
		{"AddBandMissingAll", "ADD BAND", "missing <genre> <name> <year>; " + addBand},
		{"AddBandMissingNameAndYear", "ADD BAND rock", "missing <name> <year>; " + addBand},
		{"AddBandTooFew", "ADD BAND rock 1965", "too few arguments; " + addBand},
		{"AddBandMissingYear", "ADD BAND rock Pink Floyd", "year must be from 1000 to 2026; " + addBand},
		{"GenreUnknown", "ADD BAND jazz Miles 1950", "genre must be one of pop rock indy metal trance classic; " + addBandNoGenres},
		{"GenreKelvinSign", "ADD BAND ROC\u212A Band 1950", "genre must be one of pop rock indy metal trance classic; " + addBandNoGenres},
		{"YearTooEarly", "ADD BAND rock Old 999", "year must be from 1000 to 2026; " + addBand},
		{"YearTooLate", "ADD BAND rock New 2027", "year must be from 1000 to 2026; " + addBand},
		{"YearNotNumber", "ADD BAND rock New 19x5", "year must be from 1000 to 2026; " + addBand},
		{"YearSigned", "ADD BAND rock New +1965", "year must be from 1000 to 2026; " + addBand},
		{"YearHuge", "ADD BAND rock New 4294968296", "year must be from 1000 to 2026; " + addBand},
		{"YearOverflow", "ADD BAND rock New 99999999999999999999999", "year must be from 1000 to 2026; " + addBand},
		{"AddAlbumBandIDZero", "ADD ALBUM 0 X 1999", "band_id must be a positive integer; " + addAlbum},
		{"AddAlbumTooFew", "ADD ALBUM 1 1999", "too few arguments; " + addAlbum},
		{"AddRatingMissing", "ADD 1 2", "missing <rate>; " + addRating},
		{"AddRatingTooMany", "ADD 1 2 3 4", "too many arguments; " + addRating},
		{"RateZero", "ADD 1 2 0", "rate must be from 1 to 5; " + addRating},
		{"RateSix", "ADD 1 2 6", "rate must be from 1 to 5; " + addRating},
		{"RateNotNumber", "ADD 1 2 five", "rate must be from 1 to 5; " + addRating},
		{"RateDecimal", "ADD 1 2 4.5", "rate must be from 1 to 5; " + addRating},
		{"ShowAlbumsRatedSix", "SHOW ALL ALBUMS 6", "rate must be from 1 to 5; usage: SHOW ALL ALBUMS <rate>"},
		{"RemoveAlbumsRatedZero", "REMOVE ALL ALBUMS 0", "rate must be from 1 to 5; usage: REMOVE ALL ALBUMS <rate>"},
		{"IDZero", "SHOW USER 0", "id must be a positive integer; " + showUser},
		{"IDNegative", "ADD -1 2 3", "user_id must be a positive integer; " + addRating},
		{"IDPlus", "SHOW USER +1", "id must be a positive integer; " + showUser},
		{"IDExponent", "SHOW USER 1e3", "id must be a positive integer; " + showUser},
		{"IDHex", "SHOW USER 0x10", "id must be a positive integer; " + showUser},
		{"IDUnderscore", "SHOW USER 1_000", "id must be a positive integer; " + showUser},
		{"IDOverflow", "SHOW USER 9223372036854775808", "id must be a positive integer; " + showUser},
		{"IDFullWidthDigit", "SHOW USER １", "id must be a positive integer; " + showUser},
		{"AlbumIDBad", "ADD 1 x 3", "album_id must be a positive integer; " + addRating},
		{"BandAlbumsID", "SHOW ALL ALBUMS_B 0", "band_id must be a positive integer; usage: SHOW ALL ALBUMS_B <band_id>"},
		{"UserAlbumsID", "REMOVE ALL ALBUMS_U x", "user_id must be a positive integer; usage: REMOVE ALL ALBUMS_U <user_id>"},
		{"UpdateUserMissing", "UPDATE USER 3", "missing <password>; " + updateUser},
		{"UpdateUserTooMany", "UPDATE USER 3 new secret", "too many arguments; " + updateUser},
		{"UpdateUserShort", "UPDATE USER 3 short", "password must be 8 to 128 characters long; " + updateUser},
		{"UpdateUserBadID", "UPDATE USER x new-secret", "user_id must be a positive integer; " + updateUser},
		{"UpdateAlbumMissing", "UPDATE ALBUM 1 2", "missing <user_id>; " + updateAlbum},
		{"UpdateAlbumRate", "UPDATE ALBUM 1 9 2", "rate must be from 1 to 5; " + updateAlbum},
		{"UpdateAlbumUserID", "UPDATE ALBUM 1 2 0", "user_id must be a positive integer; " + updateAlbum},
		{"UnterminatedQuote", `ADD BAND rock "Pink Floyd 1965`, "unterminated quote; " + addBand},
		{"UnterminatedAfterEscape", `ADD BAND rock "Pink\" 1965`, "unterminated quote; " + addBand},
		{"UnterminatedCommand", `"SHOW ALL USERS`, "unterminated quote; type HELP for the list"},
		{"UnterminatedKeyword", `SHOW "ALL USERS`, "unterminated quote; type HELP SHOW for its forms"},
		{"TextAfterQuote", `ADD BAND rock "Pink"Floyd 1965`, "a closing quote must be followed by a space; " + addBand},
		{"TextAfterQuoteBeforeError", `ADD BAND jazz "Pink"Floyd 1965`, "a closing quote must be followed by a space; " + addBand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.line, now)
			var uerr *UsageError
			if !errors.As(err, &uerr) {
				t.Fatalf("Parse(%q) = %+v, %v; want a *UsageError", tt.line, got, err)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse(%q) error\n got %s\nwant %s", tt.line, err, tt.want)
			}
			if want := (Command{Line: got.Line}); got != want {
				t.Errorf("Parse(%q) = %+v on error, want only Line", tt.line, got)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, line := range []string{"", "   ", "\t \t", "\r\n", "#", "# SHOW ALL USERS", "   #ADD USER bob secret-pw Bob", "\t# comment"} {
		t.Run(line, func(t *testing.T) {
			got, err := Parse(line, now)
			if !errors.Is(err, ErrEmpty) {
				t.Errorf("Parse(%q) = %+v, %v; want ErrEmpty", line, got, err)
			}
		})
	}
}

// TestParseHidesPassword checks that a password reaches neither Line nor
// the error, whether or not the line parses.
func TestParseHidesPassword(t *testing.T) {
	const pw = "Sw0rdfish-Secret"
	tests := []struct {
		name  string
		line  string
		line2 string // the Line wanted
	}{
		{"AddUser", "ADD USER bob " + pw + " Bob", "ADD USER bob ******** Bob"},
		{"AddUserQuoted", `ADD USER bob "` + pw + ` x" Bob`, "ADD USER bob ******** Bob"},
		{"AddUserNoName", "ADD USER bob " + pw, "ADD USER ********"},
		{"AddUserBadUsername", "ADD USER B " + pw + " Bob", "ADD USER ********"},
		{"AddUserBadName", "ADD USER bob " + pw + ` "Bob` + "\x01" + `"`, "ADD USER ********"},
		{"AddUserUnterminatedPassword", `ADD USER bob "` + pw + ` Bob`, "ADD USER ********"},
		{"AddUserUnterminatedName", `ADD USER bob ` + pw + ` "Bob`, "ADD USER ********"},
		{"AddUserTextAfterQuote", `ADD USER bob "` + pw + `"x Bob`, "ADD USER ********"},
		{"AddUserLongPassword", "add user bob " + pw + strings.Repeat("x", 120) + " Bob", "add user ********"},
		{"UpdateUser", "UPDATE USER 3 " + pw, "UPDATE USER 3 ********"},
		{"UpdateUserBadID", "update user 0 " + pw, "update user ********"},
		{"UpdateUserTooMany", "UPDATE USER 3 " + pw + " more", "UPDATE USER ********"},
		{"UpdateUserNoID", "UPDATE USER " + pw, "UPDATE USER ********"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.line, now)
			if got.Line != tt.line2 {
				t.Errorf("Line = %q, want %q", got.Line, tt.line2)
			}
			if err != nil && strings.Contains(err.Error(), pw) {
				t.Errorf("error holds the password: %v", err)
			}
		})
	}
}

func TestDestructive(t *testing.T) {
	destructive := map[Op]bool{
		RemoveUsers: true, RemoveBands: true, RemoveAlbums: true,
		RemoveBandAlbums: true, RemoveUserAlbums: true, RemoveAlbumsRated: true,
	}
	for op := Op(1); op.valid(); op++ {
		t.Run(op.String(), func(t *testing.T) {
			if got := (Command{Op: op}).Destructive(); got != destructive[op] {
				t.Errorf("Destructive() = %v, want %v", got, destructive[op])
			}
		})
	}
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   Op
		want string
	}{
		{AddUser, "AddUser"},
		{ShowAlbumsRated, "ShowAlbumsRated"},
		{Quit, "Quit"},
		{0, "Op(0)"},
		{Quit + 1, "Op(30)"},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("Op(%d).String() = %q, want %q", int(tt.op), got, tt.want)
		}
	}
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    []token
		problem string
	}{
		{"Words", "a  bc\td", []token{{"a", 0, 1}, {"bc", 3, 5}, {"d", 6, 7}}, ""},
		{"Quoted", `a "b c" d`, []token{{"a", 0, 1}, {"b c", 2, 7}, {"d", 8, 9}}, ""},
		{"Empty", `""`, []token{{"", 0, 2}}, ""},
		{"Escapes", `"\"\\\n"`, []token{{`"\\n`, 0, 8}}, ""},
		{"QuoteInsideWord", `a"b c"`, []token{{`a"b`, 0, 3}, {`c"`, 4, 6}}, ""},
		{"BackslashOutsideQuotes", `a\"`, []token{{`a\"`, 0, 3}}, ""},
		{"Unterminated", `a "b c`, []token{{"a", 0, 1}, {"b c", 2, 6}}, "unterminated quote"},
		{"EscapedClose", `"b\"`, []token{{`b"`, 0, 4}}, "unterminated quote"},
		{"TextAfterClose", `"b"c d`, []token{{"b", 0, 4}}, "a closing quote must be followed by a space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problem := tokenize(tt.line)
			if problem != tt.problem {
				t.Errorf("problem = %q, want %q", problem, tt.problem)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("token %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestForms checks the grammar table for what the parser takes for granted.
func TestForms(t *testing.T) {
	parsed := make(map[Op]bool)
	for _, f := range forms {
		parsed[f.op] = true
		t.Run(f.usage(), func(t *testing.T) {
			for i, a := range f.args {
				if a.optional && i != len(f.args)-1 {
					t.Errorf("optional argument <%s> is not the last", a.name)
				}
				if a.rest && f.minArgs() != len(f.args) {
					t.Errorf("a name with optional arguments cannot be split")
				}
			}
			if strings.Count(f.usage(), "<name>") > 1 {
				t.Errorf("two names cannot be split")
			}
			if !slices.ContainsFunc(topics, func(tp struct{ word, about string }) bool { return tp.word == f.words[0] }) {
				t.Errorf("no HELP topic for %s", f.words[0])
			}
		})
	}
	for op := Op(1); op.valid(); op++ {
		if !parsed[op] {
			t.Errorf("no form parses to %v", op)
		}
	}
	for _, tp := range topics {
		if !slices.ContainsFunc(forms, func(f form) bool { return f.words[0] == tp.word }) {
			t.Errorf("HELP topic %s has no form", tp.word)
		}
	}
}
