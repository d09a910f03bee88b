package client

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"musicdb/client/api"
	"musicdb/store"
)

// The console's text output: one line for one item, an aligned table with a
// header row for a list, and a sentence instead of a table for an empty one.
// Names cannot hold tabs or line breaks (store.CheckName), so they cannot
// break a table.

func userLine(u store.User) string {
	return fmt.Sprintf("user %d: %s (%s), created %s\n", u.ID, u.Username, u.Name, timestamp(u.CreatedAt))
}

func bandLine(b store.Band) string {
	return fmt.Sprintf("band %d: %s (%s, %d)\n", b.ID, b.Name, b.Genre, b.Year)
}

func albumLine(a store.Album) string {
	return fmt.Sprintf("album %d: %s (band %d, %d), %s\n", a.ID, a.Name, a.BandID, a.Year, summary(a.Ratings))
}

// summary says how an album was rated, in words.
func summary(s store.Summary) string {
	switch s.Count {
	case 0:
		return "no ratings"
	case 1:
		return "1 rating, average " + average(s)
	}
	return fmt.Sprintf("%d ratings, average %s", s.Count, average(s))
}

// average is the average rate with two decimals, or "-" with no ratings.
func average(s store.Summary) string {
	if s.Count == 0 {
		return "-"
	}
	return strconv.FormatFloat(s.Average, 'f', 2, 64)
}

// timestamp writes t as the server gave it, to the second.
func timestamp(t time.Time) string { return t.Format(time.RFC3339) }

func usersTable(us []store.User, none string) string {
	if len(us) == 0 {
		return none + "\n"
	}
	t := newTable("ID", "USERNAME", "NAME", "CREATED")
	for _, u := range us {
		t.row(u.ID, u.Username, u.Name, timestamp(u.CreatedAt))
	}
	return t.String()
}

func bandsTable(bs []store.Band, none string) string {
	if len(bs) == 0 {
		return none + "\n"
	}
	t := newTable("ID", "NAME", "GENRE", "YEAR")
	for _, b := range bs {
		t.row(b.ID, b.Name, b.Genre, b.Year)
	}
	return t.String()
}

func albumsTable(as []store.Album, none string) string {
	if len(as) == 0 {
		return none + "\n"
	}
	t := newTable("ID", "BAND", "NAME", "YEAR", "RATINGS", "AVERAGE")
	for _, a := range as {
		t.row(a.ID, a.BandID, a.Name, a.Year, a.Ratings.Count, average(a.Ratings))
	}
	return t.String()
}

func ratedAlbumsTable(ras []store.RatedAlbum, none string) string {
	if len(ras) == 0 {
		return none + "\n"
	}
	t := newTable("ID", "BAND", "NAME", "YEAR", "RATINGS", "AVERAGE", "RATE")
	for _, a := range ras {
		t.row(a.ID, a.BandID, a.Name, a.Year, a.Ratings.Count, average(a.Ratings), a.Rate)
	}
	return t.String()
}

func statsTable(st api.Stats) string {
	t := newTable()
	t.row("requests", st.Requests)
	t.row("connections", st.Connections)
	t.row("TLS handshakes", st.TLSHandshakes)
	t.row("reused", st.Reused)
	t.row("protocol", protocol(st))
	return t.String()
}

// statsLine is what -v prints at exit.
func statsLine(st api.Stats) string {
	return fmt.Sprintf("requests %d, connections %d, TLS handshakes %d, reused %d, protocol %s",
		st.Requests, st.Connections, st.TLSHandshakes, st.Reused, protocol(st))
}

func protocol(st api.Stats) string {
	if st.Protocol == "" {
		return "-"
	}
	return st.Protocol
}

// table lays out rows in columns two spaces apart.
type table struct {
	b strings.Builder
	w *tabwriter.Writer
}

// newTable starts a table with the given header row, or none.
func newTable(header ...any) *table {
	t := &table{}
	t.w = tabwriter.NewWriter(&t.b, 0, 0, 2, ' ', 0)
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...any) {
	for i, c := range cells {
		if i > 0 {
			fmt.Fprint(t.w, "\t")
		}
		fmt.Fprint(t.w, c)
	}
	fmt.Fprint(t.w, "\n")
}

// String returns the table laid out.
func (t *table) String() string {
	t.w.Flush()
	return t.b.String()
}
