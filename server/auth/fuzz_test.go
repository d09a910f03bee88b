package auth

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"musicdb/certs"
)

// FuzzBearerToken reads arbitrary Authorization headers: never a panic,
// and a token only when the header is Bearer and one token68.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b-c_d~e+f/g==", "Bearer", "Bearer  ", "Basic x", "Bearer a b", "Bearer =", "Bearer \x00", "Bearer é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/api", nil)
		r.Header.Set("Authorization", header)
		token, err := bearerToken(r)
		if err != nil {
			if token != "" {
				t.Errorf("%q: token %q with error %v", header, token, err)
			}
			return
		}
		if !isToken68(token) || !strings.HasSuffix(header, token) || len(header) < 7 || !strings.EqualFold(header[:7], "Bearer ") {
			t.Errorf("%q: token %q", header, token)
		}
	})
}

// FuzzGrantApply applies arbitrary journal records to a grant table: an
// error or a change, never a panic, and a table that survives a snapshot.
func FuzzGrantApply(f *testing.F) {
	g := grant{ID: "00112233aabbccdd", Subject: "dev", Thumbprint: "x5t", ClientID: ClientID, Scope: Scope,
		Access: hashToken("a"), Refresh: hashToken("r"), Retired: []tokenKey{hashToken("old")}}
	put, _ := json.Marshal(grantRecord{Op: "put", Grant: &g})
	f.Add(string(put))
	f.Add(`{"op":"revoke","id":"00112233aabbccdd"}`)
	f.Add(`{"op":"sweep","before":"2025-03-01T12:00:00Z"}`)
	f.Add(`{"op":"put","grant":null}`)
	f.Add(`{"op":"put","grant":{"id":"x","sub":"s","x5t#S256":"t","access":"AAAA"}}`)
	f.Fuzz(func(t *testing.T, rec string) {
		table := newGrantTable()
		if err := table.Apply(json.RawMessage(put)); err != nil {
			t.Fatal(err)
		}
		if table.Apply(json.RawMessage(rec)) != nil {
			return
		}
		var snap bytes.Buffer
		if err := table.WriteSnapshot(&snap); err != nil {
			t.Fatal(err)
		}
		again := newGrantTable()
		if err := again.ReadSnapshot(&snap); err != nil {
			t.Fatalf("after %s: the snapshot does not load: %v", rec, err)
		}
		if len(again.byID) != len(table.byID) || len(again.byAccess) != len(table.byAccess) || len(again.byRetired) != len(table.byRetired) {
			t.Errorf("after %s: the snapshot changed the table", rec)
		}
	})
}

// FuzzTokenEndpoint posts arbitrary forms to the token endpoint: 200 or
// 400, never a panic or a 5xx.
func FuzzTokenEndpoint(f *testing.F) {
	for _, s := range []string{
		"grant_type=refresh_token&refresh_token=mdb_rt_x",
		"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=x&client_id=musicdb-console",
		"grant_type=refresh_token&grant_type=refresh_token", "%zz", "", "client_id=%00",
	} {
		f.Add(s)
	}
	pki := mustPKI(f)
	iss, err := OpenIssuer(f.TempDir(), IssuerOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { iss.Close() })
	h := iss.HandleToken()
	cert := pki.cert(f, certs.DevClient)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(body))
		r.TLS = requestWith("", cert).TLS
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 && w.Code != 400 {
			t.Errorf("%q: %d %s", body, w.Code, w.Body)
		}
	})
}
