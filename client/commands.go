package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"musicdb/client/api"
	"musicdb/client/console"
	"musicdb/store"
)

// outcome is what a command that succeeded produced.
type outcome struct {
	status int    // the HTTP status of its answer, 0 when nothing was sent
	result any    // what -json prints as the result; nil for no body
	text   string // what the console prints without -json
}

// execute runs cmd, which parsed, and returns what it produced. The status
// of each call is the one its api method insists on, so it is the status the
// server answered.
func (s *session) execute(ctx context.Context, cmd console.Command) (outcome, error) {
	c := s.api
	switch cmd.Op {
	case console.AddUser:
		u, err := c.CreateUser(ctx, store.NewUser{Username: cmd.Username, Password: cmd.Password, Name: cmd.Name})
		return outcome{http.StatusCreated, u, fmt.Sprintf("created user %d\n", u.ID)}, err
	case console.AddBand:
		b, err := c.CreateBand(ctx, store.NewBand{Name: cmd.Name, Genre: cmd.Genre, Year: cmd.Year})
		return outcome{http.StatusCreated, b, fmt.Sprintf("created band %d\n", b.ID)}, err
	case console.AddAlbum:
		a, err := c.CreateAlbum(ctx, store.NewAlbum{BandID: cmd.BandID, Name: cmd.Name, Year: cmd.Year})
		return outcome{http.StatusCreated, a, fmt.Sprintf("created album %d\n", a.ID)}, err
	case console.AddRating:
		ra, err := c.Rate(ctx, cmd.UserID, cmd.AlbumID, cmd.Rate)
		return outcome{http.StatusCreated, ra, fmt.Sprintf("user %d rated album %d: %d\n", cmd.UserID, ra.ID, ra.Rate)}, err

	case console.ShowUser:
		u, err := c.User(ctx, cmd.ID)
		return outcome{http.StatusOK, u, userLine(u)}, err
	case console.ShowBand:
		b, err := c.Band(ctx, cmd.ID)
		return outcome{http.StatusOK, b, bandLine(b)}, err
	case console.ShowAlbum:
		a, err := c.Album(ctx, cmd.ID)
		return outcome{http.StatusOK, a, albumLine(a)}, err
	case console.ShowUsers:
		us, err := c.Users(ctx)
		return outcome{http.StatusOK, us, usersTable(us, "no users")}, err
	case console.ShowBands:
		bs, err := c.Bands(ctx, "")
		return outcome{http.StatusOK, bs, bandsTable(bs, "no bands")}, err
	case console.ShowAlbums:
		as, err := c.Albums(ctx, 0)
		return outcome{http.StatusOK, as, albumsTable(as, "no albums")}, err
	case console.ShowBandAlbums:
		as, err := c.BandAlbums(ctx, cmd.BandID)
		return outcome{http.StatusOK, as, albumsTable(as, fmt.Sprintf("band %d has no albums", cmd.BandID))}, err
	case console.ShowUserAlbums:
		ras, err := c.UserAlbums(ctx, cmd.UserID)
		return outcome{http.StatusOK, ras, ratedAlbumsTable(ras, fmt.Sprintf("user %d has rated no albums", cmd.UserID))}, err
	case console.ShowAlbumsRated:
		as, err := c.Albums(ctx, cmd.Rate)
		return outcome{http.StatusOK, as, albumsTable(as, fmt.Sprintf("no album is rated %d", cmd.Rate))}, err

	case console.RemoveUser:
		return deleted(c.DeleteUser(ctx, cmd.ID), "deleted user %d", cmd.ID)
	case console.RemoveBand:
		return deleted(c.DeleteBand(ctx, cmd.ID), "deleted band %d", cmd.ID)
	case console.RemoveAlbum:
		return deleted(c.DeleteAlbum(ctx, cmd.ID), "deleted album %d", cmd.ID)
	case console.RemoveUsers:
		return deleted(c.DeleteUsers(ctx), "deleted every user")
	case console.RemoveBands:
		return deleted(c.DeleteBands(ctx), "deleted every band")
	case console.RemoveAlbums:
		return deleted(c.DeleteAlbums(ctx), "deleted every album")
	case console.RemoveBandAlbums:
		return deleted(c.DeleteBandAlbums(ctx, cmd.BandID), "deleted every album of band %d", cmd.BandID)
	case console.RemoveUserAlbums:
		return deleted(c.ClearRates(ctx, cmd.UserID), "deleted every rating of user %d", cmd.UserID)
	case console.RemoveAlbumsRated:
		return deleted(c.DeleteAlbumsRated(ctx, cmd.Rate), "deleted every album rated %d", cmd.Rate)

	case console.UpdatePassword:
		u, err := c.ChangePassword(ctx, cmd.UserID, cmd.Password)
		return outcome{http.StatusOK, u, fmt.Sprintf("password of user %d changed\n", u.ID)}, err
	case console.UpdateRating:
		ra, err := c.ChangeRate(ctx, cmd.UserID, cmd.AlbumID, cmd.Rate)
		return outcome{http.StatusOK, ra, fmt.Sprintf("user %d now rates album %d: %d\n", cmd.UserID, ra.ID, ra.Rate)}, err

	case console.Help:
		text, err := console.HelpText(cmd.Topic)
		return outcome{result: text, text: text}, err
	case console.Stats:
		st := s.stats()
		return outcome{result: st, text: statsTable(st)}, nil
	case console.Login:
		return s.logIn(ctx, cmd.Provider)
	case console.Logout:
		msg, err := s.logins.Logout(ctx)
		return outcome{result: msg, text: msg + "\n"}, err
	}
	return outcome{}, fmt.Errorf("the console has no action for %v", cmd.Op)
}

// deleted is the outcome of a DELETE: 204 and no body.
func deleted(err error, format string, args ...any) (outcome, error) {
	return outcome{status: http.StatusNoContent, text: fmt.Sprintf(format, args...) + "\n"}, err
}

// logIn logs in anew at provider ("" for the one in use), which the
// requests use from then on.
func (s *session) logIn(ctx context.Context, provider string) (outcome, error) {
	id, err := s.logins.Login(ctx, provider)
	if err != nil {
		return outcome{}, err
	}
	text := fmt.Sprintf("logged in at %s\n", id.Provider)
	if id.Subject != "" {
		text = fmt.Sprintf("logged in as %s (%s)\n", id.Subject, id.Provider)
	}
	return outcome{result: id, text: text}, nil
}

// failure is what a command that failed reports.
type failure struct {
	status  int         // the HTTP status of the answer, 0 when none came
	problem api.Problem // what -json prints as the error
	message string      // what the console prints without -json
}

func (s *session) failure(cmd console.Command, err error) failure {
	var (
		usage  *console.UsageError
		status *api.StatusError
	)
	switch {
	case errors.As(err, &usage), errors.Is(err, errUnreadable):
		return failure{problem: api.Problem{Title: "invalid command", Detail: err.Error()}, message: err.Error()}
	case errors.As(err, &status):
		return failure{status: status.Status, problem: status.Problem, message: explain(cmd, status)}
	}
	msg := describe(err, s.cfg)
	return failure{problem: api.Problem{Title: "request failed", Detail: msg}, message: msg}
}

// explain turns the server's answer to cmd into one line for a person,
// pointing to the command to use instead where one rating command was used
// for the other.
func explain(cmd console.Command, e *api.StatusError) string {
	switch {
	case cmd.Op == console.AddRating && e.Err.Code == store.ECONFLICT:
		return fmt.Sprintf("user %d already rated album %d — use UPDATE ALBUM %d <rate> %d",
			cmd.UserID, cmd.AlbumID, cmd.AlbumID, cmd.UserID)
	case cmd.Op == console.UpdateRating && e.Err.Code == store.ENOTFOUND && strings.Contains(e.Err.Message, "not rated"):
		// The other 404s of this call name a missing user or album.
		return fmt.Sprintf("user %d has not rated album %d — use ADD %d %d <rate>",
			cmd.UserID, cmd.AlbumID, cmd.UserID, cmd.AlbumID)
	}
	if e.Status == http.StatusUnauthorized {
		// At the built-in issuer the console has logged in anew and
		// tried again already; another provider needs a person.
		return "your login expired; type LOGIN (" + e.Err.Message + ")"
	}
	msg := e.Err.Message
	if len(e.Err.Fields) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(e.Err.Fields)) {
			parts = append(parts, k+" "+e.Err.Fields[k])
		}
		msg += ": " + strings.Join(parts, "; ")
	}
	return msg
}
