package sts

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/config"
)

// marker is in every piece of client input the error cases send, so that an echo of
// it in an error is found.
const marker = "zqx"

// errCase is one request to an STS error path, sent over real HTTP.
type errCase struct {
	name    string
	f       *fixture
	method  string // POST when empty
	path    string // /oauth2/token when empty; may hold a query
	headers []string
	body    string
	spend   int // the request is first sent this many times, to spend a limit
	status  int
	code    string
}

// TestErrorDescriptionsAreRFC6749 drives every error of the STS through its handler
// and checks that error, error_description and error_uri use only the characters RFC
// 6749 section 5.2 allows (%x20-21 / %x23-5B / %x5D-7E) and that none echoes the
// client's input.
func TestErrorDescriptionsAreRFC6749(t *testing.T) {
	f := newFixture(t, func(c *config.STS) { c.FailedAuth.Burst = 1000 })
	limited := newFixture(t, func(c *config.STS) {
		c.FailedAuth = config.Rate{Burst: 1, Every: time.Hour}
		c.ClientRate = config.Rate{Burst: 1, Every: time.Hour}
	})
	closed := newFixture(t, nil)
	if err := closed.store.Close(); err != nil {
		t.Fatal(err)
	}
	unstarted := unstartedFixture(t, f)
	web, lim := f.creds["shop-web/production"], limited.creds["shop-web/production"]
	auth := []string{"Authorization", basic(web.id, web.secret)}
	ok := grant().Encode()
	cases := []errCase{
		{name: "GET", f: f, method: http.MethodGet, path: "/oauth2/token?" + marker, status: 405, code: "invalid_request"},
		{name: "PUT", f: f, method: http.MethodPut, body: marker, status: 405, code: "invalid_request"},
		{name: "a custom method", f: f, method: strings.ToUpper(marker), body: marker, status: 405, code: "invalid_request"},
		{name: "parameters in the URL", f: f, path: "/oauth2/token?client_secret=" + marker, headers: auth, body: ok, status: 400, code: "invalid_request"},
		{name: "no content type", f: f, headers: append([]string{"Content-Type", ""}, auth...), body: ok, status: 400, code: "invalid_request"},
		{name: "JSON", f: f, headers: append([]string{"Content-Type", "application/json"}, auth...), body: `{"grant_type":"` + marker + `"}`, status: 400, code: "invalid_request"},
		{name: "an odd media type", f: f, headers: append([]string{"Content-Type", "application/" + marker + `; q="\"`}, auth...), body: ok, status: 400, code: "invalid_request"},
		{name: "a malformed content type", f: f, headers: append([]string{"Content-Type", marker + `/"\`}, auth...), body: ok, status: 400, code: "invalid_request"},
		{name: "oversized body", f: f, headers: auth, body: ok + "&padding=" + strings.Repeat(marker, MaxBodyBytes/len(marker)), status: 400, code: "invalid_request"},
		{name: "bad form encoding", f: f, headers: auth, body: "grant_type=" + marker + "%zz", status: 400, code: "invalid_request"},
		{name: "repeated parameter", f: f, headers: auth, body: ok + "&" + marker + `"\=1&` + marker + `"\=2`, status: 400, code: "invalid_request"},
		{name: "repeated grant_type", f: f, headers: auth, body: ok + "&grant_type=" + marker, status: 400, code: "invalid_request"},
		{name: "no grant_type", f: f, headers: auth, body: "scope=" + marker, status: 400, code: "invalid_request"},
		{name: "empty grant_type", f: f, headers: auth, body: "grant_type=&scope=" + marker, status: 400, code: "invalid_request"},
		{name: "password grant", f: f, headers: auth, body: "grant_type=password&username=" + marker + "&password=" + marker, status: 400, code: "unsupported_grant_type"},
		{name: "a made-up grant", f: f, headers: auth, body: url.Values{"grant_type": {marker + `"\` + "\x01"}}.Encode(), status: 400, code: "unsupported_grant_type"},
		{name: "no client authentication", f: f, body: ok, status: 401, code: "invalid_client"},
		{name: "client_id without secret", f: f, body: ok + "&client_id=" + marker, status: 401, code: "invalid_client"},
		{name: "client_secret without id", f: f, body: ok + "&client_secret=" + marker, status: 401, code: "invalid_client"},
		{name: "client_id too long", f: f, body: ok + "&client_secret=x&client_id=" + strings.Repeat(marker, 100), status: 401, code: "invalid_client"},
		{name: "Basic and client_secret", f: f, headers: auth, body: ok + "&client_secret=" + marker, status: 400, code: "invalid_request"},
		{name: "Basic and another client_id", f: f, headers: auth, body: ok + "&client_id=" + marker, status: 400, code: "invalid_request"},
		{name: "another scheme", f: f, headers: []string{"Authorization", marker + ` "\`}, body: ok, status: 401, code: "invalid_client"},
		{name: "Bearer", f: f, headers: []string{"Authorization", "Bearer " + marker}, body: ok, status: 401, code: "invalid_client"},
		{name: "Basic not base64", f: f, headers: []string{"Authorization", "Basic " + marker + "%%"}, body: ok, status: 401, code: "invalid_client"},
		{name: "Basic without a colon", f: f, headers: []string{"Authorization", "Basic " + b64(marker)}, body: ok, status: 401, code: "invalid_client"},
		{name: "Basic with an empty secret", f: f, headers: []string{"Authorization", "Basic " + b64(marker+":")}, body: ok, status: 401, code: "invalid_client"},
		{name: "Basic with bad escaping", f: f, headers: []string{"Authorization", "Basic " + b64(marker+"%zz:"+marker)}, body: ok, status: 401, code: "invalid_client"},
		{name: "unknown client", f: f, headers: []string{"Authorization", basic(marker+`"\`, marker)}, body: ok, status: 401, code: "invalid_client"},
		{name: "wrong secret", f: f, headers: []string{"Authorization", basic(web.id, "tgs_"+marker)}, body: ok, status: 401, code: "invalid_client"},
		{name: "wrong secret by post", f: f, body: ok + "&client_id=" + web.id + "&client_secret=" + marker, status: 401, code: "invalid_client"},
		{name: "scope with a forbidden character", f: f, headers: auth, body: url.Values{"grant_type": {"client_credentials"}, "scope": {marker + `"\`}}.Encode(), status: 400, code: "invalid_scope"},
		{name: "scope with a control character", f: f, headers: auth, body: url.Values{"grant_type": {"client_credentials"}, "scope": {marker + "\x0b"}}.Encode(), status: 400, code: "invalid_scope"},
		{name: "no grantable scope", f: f, headers: auth, body: ok + "&scope=" + marker, status: 400, code: "invalid_scope"},
		{name: "failures over failed_auth", f: limited, headers: []string{"Authorization", basic(marker, marker)}, body: ok, spend: 1, status: 429, code: "temporarily_unavailable"},
		{name: "tokens over client_rate", f: limited, headers: []string{"Authorization", basic(lim.id, lim.secret)}, body: ok + "&scope=orders:read", spend: 1, status: 429, code: "temporarily_unavailable"},
		{name: "the store is unavailable", f: closed, headers: []string{"Authorization", basic(marker, marker)}, body: ok, status: 503, code: "temporarily_unavailable"},
		{name: "no signing key yet", f: unstarted, headers: auth, body: ok + "&scope=orders:read", status: 503, code: "temporarily_unavailable"},
		{name: "no JWKS yet", f: unstarted, method: http.MethodGet, path: "/oauth2/jwks", status: 503, code: "temporarily_unavailable"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			for range tt.spend {
				sendCase(t, tt).Body.Close()
			}
			res := sendCase(t, tt)
			defer res.Body.Close()
			raw, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("%d %s: not JSON: %v", res.StatusCode, raw, err)
			}
			if res.StatusCode != tt.status || body["error"] != tt.code {
				t.Errorf("got %d %v, want %d %s", res.StatusCode, body["error"], tt.status, tt.code)
			}
			desc, _ := body["error_description"].(string)
			if desc == "" {
				t.Errorf("no error_description in %s", raw)
			}
			for _, member := range []string{"error", "error_description", "error_uri"} {
				v, _ := body[member].(string)
				if i := strings.IndexFunc(v, func(r rune) bool { return !rfc6749ErrorChar(r) }); i >= 0 {
					t.Errorf("%s %q holds %q, which RFC 6749 section 5.2 does not allow", member, v, v[i:i+1])
				}
				if strings.Contains(strings.ToLower(v), marker) {
					t.Errorf("%s %q echoes the client's input", member, v)
				}
			}
		})
	}
}

// rfc6749ErrorChar reports whether r may appear in error_description and error_uri:
// %x20-21 / %x23-5B / %x5D-7E.
func rfc6749ErrorChar(r rune) bool {
	return r >= 0x20 && r <= 0x7e && r != '"' && r != '\\'
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// sendCase sends tt's request to its fixture's listener.
func sendCase(t *testing.T, tt errCase) *http.Response {
	t.Helper()
	method, path := tt.method, tt.path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/oauth2/token"
	}
	req, err := http.NewRequest(method, tt.f.http.URL+path, strings.NewReader(tt.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(tt.headers); i += 2 {
		req.Header.Set(tt.headers[i], tt.headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// unstartedFixture serves an STS over f's store that was never started: it has no
// signing key to sign or publish.
func unstartedFixture(t *testing.T, f *fixture) *fixture {
	t.Helper()
	u := *f
	u.srv = New(Options{Config: f.cfg, Store: f.store, Sealer: f.sealer, Log: f.srv.log, Now: f.clock.Now})
	u.http = httptest.NewServer(u.srv.Handler())
	t.Cleanup(u.http.Close)
	if u.srv.signerAt(time.Now()) != nil || u.srv.jwks.Load() != nil {
		t.Fatal("an STS that was not started has keys")
	}
	return &u
}
