package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"musicdb/store"
)

// The methods below are the API calls, one each. Their errors are
// *StatusError for an answer other than the call's success status, with the
// code of the store method the route serves (ENOTFOUND, ECONFLICT, EINVALID,
// and EUNAUTHORIZED, EFORBIDDEN or EUNAVAILABLE from the server's guard), or
// an error of the connection.

// CreateUser creates a user: POST /users.
func (c *Client) CreateUser(ctx context.Context, nu store.NewUser) (store.User, error) {
	var u store.User
	_, err := c.call(ctx, http.MethodPost, c.url(nil, "users"), nu, http.StatusCreated, &u)
	return u, err
}

// User returns a user: GET /users/{id}.
func (c *Client) User(ctx context.Context, userID int64) (store.User, error) {
	var u store.User
	_, err := c.call(ctx, http.MethodGet, c.url(nil, "users", id(userID)), nil, http.StatusOK, &u)
	return u, err
}

// Users returns every user: GET /users, every page.
func (c *Client) Users(ctx context.Context) ([]store.User, error) {
	return list[store.User](ctx, c, c.url(nil, "users"))
}

// ChangePassword changes a user's password: PATCH /users/{id}.
func (c *Client) ChangePassword(ctx context.Context, userID int64, password string) (store.User, error) {
	in := struct {
		Password string `json:"password"`
	}{password}
	var u store.User
	_, err := c.call(ctx, http.MethodPatch, c.url(nil, "users", id(userID)), in, http.StatusOK, &u)
	return u, err
}

// DeleteUser deletes a user and their ratings: DELETE /users/{id}.
func (c *Client) DeleteUser(ctx context.Context, userID int64) error {
	_, err := c.call(ctx, http.MethodDelete, c.url(nil, "users", id(userID)), nil, http.StatusNoContent, nil)
	return err
}

// DeleteUsers deletes every user and every rating: DELETE /users.
func (c *Client) DeleteUsers(ctx context.Context) error {
	_, err := c.call(ctx, http.MethodDelete, c.url(nil, "users"), nil, http.StatusNoContent, nil)
	return err
}

// CreateBand creates a band: POST /bands.
func (c *Client) CreateBand(ctx context.Context, nb store.NewBand) (store.Band, error) {
	var b store.Band
	_, err := c.call(ctx, http.MethodPost, c.url(nil, "bands"), nb, http.StatusCreated, &b)
	return b, err
}

// Band returns a band: GET /bands/{id}.
func (c *Client) Band(ctx context.Context, bandID int64) (store.Band, error) {
	var b store.Band
	_, err := c.call(ctx, http.MethodGet, c.url(nil, "bands", id(bandID)), nil, http.StatusOK, &b)
	return b, err
}

// Bands returns every band, or with genre other than "" every band of that
// genre: GET /bands?genre=, every page.
func (c *Client) Bands(ctx context.Context, genre string) ([]store.Band, error) {
	q := url.Values{}
	if genre != "" {
		q.Set("genre", genre)
	}
	return list[store.Band](ctx, c, c.url(q, "bands"))
}

// DeleteBand deletes a band, its albums and their ratings: DELETE
// /bands/{id}.
func (c *Client) DeleteBand(ctx context.Context, bandID int64) error {
	_, err := c.call(ctx, http.MethodDelete, c.url(nil, "bands", id(bandID)), nil, http.StatusNoContent, nil)
	return err
}

// DeleteBands deletes every band, album and rating: DELETE /bands.
func (c *Client) DeleteBands(ctx context.Context) error {
	_, err := c.call(ctx, http.MethodDelete, c.url(nil, "bands"), nil, http.StatusNoContent, nil)
	return err
}

// BandAlbums returns every album of a band: GET /bands/{id}/albums, every
// page.
func (c *Client) BandAlbums(ctx context.Context, bandID int64) ([]store.Album, error) {
	return list[store.Album](ctx, c, c.url(nil, "bands", id(bandID), "albums"))
}

// DeleteBandAlbums deletes a band's albums and their ratings; the band
// stays: DELETE /bands/{id}/albums.
func (c *Client) DeleteBandAlbums(ctx context.Context, bandID int64) error {
	_, err := c.call(ctx, http.MethodDelete, c.url(nil, "bands", id(bandID), "albums"), nil, http.StatusNoContent, nil)
	return err
}

// CreateAlbum creates an album of an existing band: POST /albums.
func (c *Client) CreateAlbum(ctx context.Context, na store.NewAlbum) (store.Album, error) {
	var a store.Album
	_, err := c.call(ctx, http.MethodPost, c.url(nil, "albums"), na, http.StatusCreated, &a)
	return a, err
}

// Album returns an album with its rating summary: GET /albums/{id}.
func (c *Client) Album(ctx context.Context, albumID int64) (store.Album, error) {
	var a store.Album
	_, err := c.call(ctx, http.MethodGet, c.url(nil, "albums", id(albumID)), nil, http.StatusOK, &a)
	return a, err
}

// Albums returns every album, or with rate other than 0 every album that at
// least one user rated so: GET /albums?rate=, every page.
func (c *Client) Albums(ctx context.Context, rate int) ([]store.Album, error) {
	return list[store.Album](ctx, c, c.url(rateQuery(rate), "albums"))
}

// DeleteAlbum deletes an album and its ratings: DELETE /albums/{id}.
func (c *Client) DeleteAlbum(ctx context.Context, albumID int64) error {
	_, err := c.call(ctx, http.MethodDelete, c.url(nil, "albums", id(albumID)), nil, http.StatusNoContent, nil)
	return err
}

// DeleteAlbums deletes every album and rating: DELETE /albums.
func (c *Client) DeleteAlbums(ctx context.Context) error {
	_, err := c.call(ctx, http.MethodDelete, c.url(nil, "albums"), nil, http.StatusNoContent, nil)
	return err
}

// DeleteAlbumsRated deletes the albums that at least one user rated rate,
// with all their ratings: DELETE /albums?rate=N.
func (c *Client) DeleteAlbumsRated(ctx context.Context, rate int) error {
	_, err := c.call(ctx, http.MethodDelete, c.url(rateQuery(rate), "albums"), nil, http.StatusNoContent, nil)
	return err
}

func rateQuery(rate int) url.Values {
	q := url.Values{}
	if rate != 0 {
		q.Set("rate", strconv.Itoa(rate))
	}
	return q
}

// UserAlbums returns every album a user rated, each with the user's rate:
// GET /users/{id}/albums, every page.
func (c *Client) UserAlbums(ctx context.Context, userID int64) ([]store.RatedAlbum, error) {
	return list[store.RatedAlbum](ctx, c, c.url(nil, "users", id(userID), "albums"))
}

// Rate records a user's rate of an album: POST /users/{id}/albums. It is
// ECONFLICT when the user rated the album already (see ChangeRate).
func (c *Client) Rate(ctx context.Context, userID, albumID int64, rate int) (store.RatedAlbum, error) {
	in := struct {
		AlbumID int64 `json:"album_id"`
		Rate    int   `json:"rate"`
	}{albumID, rate}
	var ra store.RatedAlbum
	_, err := c.call(ctx, http.MethodPost, c.url(nil, "users", id(userID), "albums"), in, http.StatusCreated, &ra)
	return ra, err
}

// ChangeRate changes a user's rate of an album: PATCH
// /users/{uid}/albums/{aid}. It is ENOTFOUND when the user has not rated the
// album (see Rate).
func (c *Client) ChangeRate(ctx context.Context, userID, albumID int64, rate int) (store.RatedAlbum, error) {
	in := struct {
		Rate int `json:"rate"`
	}{rate}
	var ra store.RatedAlbum
	_, err := c.call(ctx, http.MethodPatch, c.url(nil, "users", id(userID), "albums", id(albumID)), in, http.StatusOK, &ra)
	return ra, err
}

// Unrate deletes a user's rating of an album; the album stays: DELETE
// /users/{uid}/albums/{aid}.
func (c *Client) Unrate(ctx context.Context, userID, albumID int64) error {
	_, err := c.call(ctx, http.MethodDelete, c.url(nil, "users", id(userID), "albums", id(albumID)), nil, http.StatusNoContent, nil)
	return err
}

// ClearRates deletes every rating of a user; the albums stay: DELETE
// /users/{id}/albums.
func (c *Client) ClearRates(ctx context.Context, userID int64) error {
	_, err := c.call(ctx, http.MethodDelete, c.url(nil, "users", id(userID), "albums"), nil, http.StatusNoContent, nil)
	return err
}
