package auth

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// deviceGrant is the grant type of RFC 8628.
const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// maxForm is the largest form an OAuth endpoint reads.
const maxForm = 16 << 10

// HandleMetadata serves the issuer's metadata (RFC 8414) for
// GET /.well-known/oauth-authorization-server. The issuer is the server as
// the request reached it, https://<Host>, so that the server can be reached
// by any of its names.
func (iss *Issuer) HandleMetadata() http.Handler {
	type metadata struct {
		Issuer                            string   `json:"issuer"`
		DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
		TokenEndpoint                     string   `json:"token_endpoint"`
		UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
		RevocationEndpoint                string   `json:"revocation_endpoint"`
		GrantTypesSupported               []string `json:"grant_types_supported"`
		TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
		TLSClientCertificateBoundTokens   bool     `json:"tls_client_certificate_bound_access_tokens"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := "https://" + r.Host
		writeJSON(w, http.StatusOK, metadata{
			Issuer:                            base,
			DeviceAuthorizationEndpoint:       base + "/oauth/device",
			TokenEndpoint:                     base + "/oauth/token",
			UserinfoEndpoint:                  base + "/oauth/userinfo",
			RevocationEndpoint:                base + "/oauth/revoke",
			GrantTypesSupported:               []string{deviceGrant, "refresh_token"},
			TokenEndpointAuthMethodsSupported: []string{"none"},
			TLSClientCertificateBoundTokens:   true,
		})
	})
}

// HandleDevice serves POST /oauth/device, the device authorization endpoint
// (RFC 8628 section 3.1). It approves the request at once for the
// connection's client certificate, as its CN: holding a certificate of the
// server's CA is what proves who one is to the built-in issuer. The device
// code it returns is bound to that certificate.
func (iss *Issuer) HandleDevice() http.Handler {
	type response struct {
		DeviceCode      string `json:"device_code"`
		UserCode        string `json:"user_code"`
		VerificationURI string `json:"verification_uri"`
		ExpiresIn       int64  `json:"expires_in"`
		Interval        int    `json:"interval"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := readForm(w, r)
		if err == nil {
			err = checkClientID(form, true)
		}
		thumbprint := clientThumbprint(r)
		if err == nil && thumbprint == "" {
			err = oauthErrorf("invalid_client", "a client certificate of the server's CA is required")
		}
		var cn string
		if err == nil {
			if cn = r.TLS.VerifiedChains[0][0].Subject.CommonName; cn == "" {
				err = oauthErrorf("invalid_client", "the client certificate names no one: its CN is empty")
			}
		}
		if err != nil {
			iss.writeError(w, err)
			return
		}
		code, userCode := iss.authorizeDevice(cn, thumbprint, ClientID)
		writeJSON(w, http.StatusOK, response{
			DeviceCode:      code,
			UserCode:        userCode,
			VerificationURI: "https://" + r.Host + "/oauth/device",
			ExpiresIn:       int64(DeviceCodeTTL.Seconds()),
			Interval:        1,
		})
	})
}

// HandleToken serves POST /oauth/token, the token endpoint (RFC 6749
// section 3.2) for the device code grant (RFC 8628 section 3.4) and the
// refresh token grant (RFC 6749 section 6). Both need the connection's
// client certificate to be the one the code or token was issued to.
func (iss *Issuer) HandleToken() http.Handler {
	type response struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
		Scope        string `json:"scope"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := iss.token(w, r)
		if err != nil {
			iss.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, response{
			AccessToken:  t.access,
			TokenType:    "Bearer",
			ExpiresIn:    int64(AccessTTL.Seconds()),
			RefreshToken: t.refresh,
			Scope:        t.scope,
		})
	})
}

// token handles a token request and returns the tokens to answer it with.
func (iss *Issuer) token(w http.ResponseWriter, r *http.Request) (tokens, error) {
	form, err := readForm(w, r)
	if err != nil {
		return tokens{}, err
	}
	thumbprint := clientThumbprint(r)
	if thumbprint == "" {
		return tokens{}, oauthErrorf("invalid_client", "a client certificate of the server's CA is required")
	}
	switch grantType := form.Get("grant_type"); grantType {
	case "":
		return tokens{}, oauthErrorf("invalid_request", "grant_type is missing")
	case deviceGrant:
		if err := checkClientID(form, true); err != nil {
			return tokens{}, err
		}
		code := form.Get("device_code")
		if code == "" {
			return tokens{}, oauthErrorf("invalid_request", "device_code is missing")
		}
		return iss.redeemDevice(code, form.Get("client_id"), thumbprint)
	case "refresh_token":
		if err := checkClientID(form, false); err != nil {
			return tokens{}, err
		}
		rt := form.Get("refresh_token")
		if rt == "" {
			return tokens{}, oauthErrorf("invalid_request", "refresh_token is missing")
		}
		return iss.refresh(rt, form.Get("client_id"), thumbprint)
	default:
		return tokens{}, oauthErrorf("unsupported_grant_type", "the grant types are %s and refresh_token", deviceGrant)
	}
}

// HandleRevoke serves POST /oauth/revoke, the revocation endpoint (RFC
// 7009). Revoking either token of a login revokes the login. It answers 200
// for any well-formed request, for a token that is unknown, revoked already
// or bound to another client certificate too (which it leaves alone).
func (iss *Issuer) HandleRevoke() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := readForm(w, r)
		if err == nil {
			err = checkClientID(form, false)
		}
		if err == nil && form.Get("token") == "" {
			err = oauthErrorf("invalid_request", "token is missing")
		}
		if err == nil {
			err = iss.revoke(form.Get("token"), clientThumbprint(r))
		}
		if err != nil {
			iss.writeError(w, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	})
}

// HandleUserInfo serves GET /oauth/userinfo: {"sub": ...}, the identity of
// the request's bearer token. It must be served behind the token check,
// which puts the identity in the request's context (NewContext).
func HandleUserInfo() http.Handler {
	type response struct {
		Sub string `json:"sub"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := FromContext(r.Context())
		if !ok {
			panic("auth: HandleUserInfo is served without a token check")
		}
		writeJSON(w, http.StatusOK, response{Sub: id.Subject})
	})
}

// readForm reads the request's body as a form (application/x-www-form-
// urlencoded), the only place OAuth endpoints take parameters from.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, oauthErrorf("invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxForm))
	if err != nil {
		return nil, oauthErrorf("invalid_request", "the body is over %d bytes or could not be read", maxForm)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, oauthErrorf("invalid_request", "the body is not a valid form")
	}
	for name, values := range form {
		if len(values) > 1 {
			// RFC 6749 section 3.2.
			return nil, oauthErrorf("invalid_request", "the parameter %q is given more than once", name)
		}
	}
	return form, nil
}

// checkClientID checks the form's client_id, which must name the musicdb
// console; required says whether it may be left out.
func checkClientID(form url.Values, required bool) error {
	switch id := form.Get("client_id"); {
	case id == "" && required:
		return oauthErrorf("invalid_request", "client_id is missing")
	case id != "" && id != ClientID:
		return oauthErrorf("invalid_client", "the only client of this issuer is %s", ClientID)
	}
	return nil
}

// writeError answers an OAuth request that failed: 400 with the error's
// code for an *oauthError, and otherwise 500 server_error, logging the
// cause.
func (iss *Issuer) writeError(w http.ResponseWriter, err error) {
	type response struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if oe, ok := errors.AsType[*oauthError](err); ok {
		writeJSON(w, http.StatusBadRequest, response{oe.code, oe.description})
		return
	}
	iss.log.Error("issuer: request failed", "err", err)
	writeJSON(w, http.StatusInternalServerError, response{"server_error", "internal error"})
}

// writeJSON answers with v as JSON, never to be cached: it may hold tokens.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
