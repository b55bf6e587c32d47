package sts

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
)

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func grant(extra ...string) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

type oauthBody struct {
	Error       string  `json:"error"`
	Description string  `json:"error_description"`
	AccessToken string  `json:"access_token"`
	TokenType   string  `json:"token_type"`
	ExpiresIn   int     `json:"expires_in"`
	Scope       *string `json:"scope"`
}

func decode(t *testing.T, res *http.Response) oauthBody {
	t.Helper()
	var b oauthBody
	if err := json.NewDecoder(res.Body).Decode(&b); err != nil {
		t.Fatalf("%d response is not JSON: %v", res.StatusCode, err)
	}
	return b
}

func TestTokenEndpointErrors(t *testing.T) {
	// Every case fails from one address: a burst that outlasts the table.
	f := newFixture(t, func(c *config.STS) { c.FailedAuth.Burst = 1000 })
	web := f.creds["shop-web/production"]
	rep := f.creds["reporting/production"]
	tests := []struct {
		name    string
		body    string
		headers []string
		status  int
		code    string
	}{
		{"bad secret", grant().Encode(), []string{"Authorization", basic(web.id, "tgs_wrong")}, 401, "invalid_client"},
		{"bad secret by post", grant("client_id", web.id, "client_secret", "tgs_wrong").Encode(), nil, 401, "invalid_client"},
		{"unknown client", grant().Encode(), []string{"Authorization", basic("nobody", web.secret)}, 401, "invalid_client"},
		{"no client authentication", grant().Encode(), nil, 401, "invalid_client"},
		{"client_id without secret", grant("client_id", web.id).Encode(), nil, 401, "invalid_client"},
		{"missing grant_type", url.Values{"scope": {"orders:read"}}.Encode(), []string{"Authorization", basic(web.id, web.secret)}, 400, "invalid_request"},
		{"password grant", grant("grant_type", "password", "username", "u", "password", "p").Encode(),
			[]string{"Authorization", basic(web.id, web.secret)}, 400, "unsupported_grant_type"},
		{"authorization_code grant", grant("grant_type", "authorization_code").Encode(),
			[]string{"Authorization", basic(web.id, web.secret)}, 400, "unsupported_grant_type"},
		{"scope not grantable", grant("scope", "payments:read").Encode(), []string{"Authorization", basic(web.id, web.secret)}, 400, "invalid_scope"},
		{"scope of a prod_only_blocked API from production", grant("scope", "orders:read").Encode(),
			[]string{"Authorization", basic(rep.id, rep.secret)}, 400, "invalid_scope"},
		{"scope with a forbidden character", grant("scope", `orders:"read"`).Encode(), []string{"Authorization", basic(web.id, web.secret)}, 400, "invalid_scope"},
		{"Basic and form secret both", grant("client_id", web.id, "client_secret", web.secret).Encode(),
			[]string{"Authorization", basic(web.id, web.secret)}, 400, "invalid_request"},
		{"Basic and a different form client_id", grant("client_id", "other").Encode(),
			[]string{"Authorization", basic(web.id, web.secret)}, 400, "invalid_request"},
		{"malformed Basic: not base64", grant().Encode(), []string{"Authorization", "Basic %%%"}, 401, "invalid_client"},
		{"malformed Basic: no colon", grant().Encode(), []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(web.id))}, 401, "invalid_client"},
		{"malformed Basic: empty secret", grant().Encode(), []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(web.id+":"))}, 401, "invalid_client"},
		{"Bearer instead of Basic", grant().Encode(), []string{"Authorization", "Bearer abc"}, 401, "invalid_client"},
		{"oversized body", grant("padding", strings.Repeat("a", MaxBodyBytes)).Encode(), []string{"Authorization", basic(web.id, web.secret)}, 400, "invalid_request"},
		{"repeated parameter", grant().Encode() + "&grant_type=client_credentials", []string{"Authorization", basic(web.id, web.secret)}, 400, "invalid_request"},
		{"not form encoded", `{"grant_type":"client_credentials"}`, []string{"Authorization", basic(web.id, web.secret), "Content-Type", "application/json"}, 400, "invalid_request"},
		{"bad form encoding", "grant_type=%zz", []string{"Authorization", basic(web.id, web.secret)}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.postRaw(t, tt.body, tt.headers...)
			b := decode(t, res)
			if res.StatusCode != tt.status || b.Error != tt.code {
				t.Fatalf("got %d %q (%s), want %d %q", res.StatusCode, b.Error, b.Description, tt.status, tt.code)
			}
			if b.Description == "" || b.AccessToken != "" {
				t.Errorf("body = %+v", b)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
			if challenge := res.Header.Get("WWW-Authenticate"); (tt.status == 401) != strings.HasPrefix(challenge, "Basic ") {
				t.Errorf("status %d with WWW-Authenticate %q", tt.status, challenge)
			}
		})
	}

	t.Run("parameters in the URL", func(t *testing.T) {
		res, err := http.Post(f.http.URL+"/oauth2/token?client_secret="+web.secret, "application/x-www-form-urlencoded", strings.NewReader(grant().Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if b := decode(t, res); res.StatusCode != 400 || b.Error != "invalid_request" {
			t.Errorf("got %d %q", res.StatusCode, b.Error)
		}
	})
	t.Run("GET", func(t *testing.T) {
		res, err := http.Get(f.http.URL + "/oauth2/token")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
			t.Errorf("GET: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
		}
	})
	if strings.Contains(f.logs.String(), web.secret) {
		t.Error("a client secret reached the log")
	}
}

func TestTokenEndpointGrants(t *testing.T) {
	f := newFixture(t, nil)
	web := f.creds["shop-web/production"]
	repSandbox := f.creds["reporting/sandbox"]
	str := func(s string) *string { return &s }
	tests := []struct {
		name    string
		form    url.Values
		headers []string
		scope   *string // the response's scope member; nil when absent
		claim   string  // the token's scope claim
		app     string
		env     string
	}{
		{"none requested: every grantable scope", grant(), []string{"Authorization", basic(web.id, web.secret)},
			str("orders:read orders:write"), "orders:read orders:write", "shop-web", "production"},
		{"by client_secret_post", grant("client_id", web.id, "client_secret", web.secret), nil,
			str("orders:read orders:write"), "orders:read orders:write", "shop-web", "production"},
		{"exactly what was requested: no scope member", grant("scope", "orders:read"), []string{"Authorization", basic(web.id, web.secret)},
			nil, "orders:read", "shop-web", "production"},
		{"part of the request", grant("scope", "orders:read payments:read"), []string{"Authorization", basic(web.id, web.secret)},
			str("orders:read"), "orders:read", "shop-web", "production"},
		{"prod_only_blocked from sandbox", grant("scope", "orders:write"), []string{"Authorization", basic(repSandbox.id, repSandbox.secret)},
			nil, "orders:write", "reporting", "sandbox"},
		{"Basic with the same client_id in the form", grant("client_id", web.id, "scope", "orders:read"), []string{"Authorization", basic(web.id, web.secret)},
			nil, "orders:read", "shop-web", "production"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.post(t, tt.form, tt.headers...)
			b := decode(t, res)
			if res.StatusCode != 200 {
				t.Fatalf("status %d: %+v", res.StatusCode, b)
			}
			if b.TokenType != "Bearer" || b.ExpiresIn != 3600 || (b.Scope == nil) != (tt.scope == nil) || b.Scope != nil && *b.Scope != *tt.scope {
				t.Errorf("response = %+v (scope %v), want scope %v", b, deref(b.Scope), deref(tt.scope))
			}
			for name, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "Content-Type": "application/json;charset=UTF-8"} {
				if got := res.Header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			checkAccessToken(t, f, b.AccessToken, tt.claim, tt.app, tt.env)
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<absent>"
	}
	return *s
}

// checkAccessToken verifies tok with the published JWKS and checks it is the RFC 9068
// token of the application's credential.
func checkAccessToken(t *testing.T, f *fixture, tok, scope, app, env string) {
	t.Helper()
	keys := jwksKeys(t, f)
	claims := jwt.MapClaims{}
	parsed, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256", "ES256", "EdDSA"})).ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
		return keys[tk.Header["kid"].(string)], nil
	})
	if err != nil {
		t.Fatalf("token does not verify with the JWKS: %v", err)
	}
	if parsed.Header["typ"] != "at+jwt" || parsed.Header["kid"] == "" {
		t.Errorf("header = %v", parsed.Header)
	}
	cred := f.creds[app+"/"+env]
	want := map[string]any{
		"iss": fixtureIssuer, "sub": cred.id, "client_id": cred.id, "aud": "tollgate",
		"application": app, "environment": env,
	}
	if scope != "" {
		want["scope"] = scope
	}
	for name, v := range want {
		if claims[name] != v {
			t.Errorf("claim %s = %v, want %v", name, claims[name], v)
		}
	}
	if scope == "" && claims["scope"] != nil {
		t.Errorf("scope claim %v, want none", claims["scope"])
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if jti, _ := claims["jti"].(string); len(jti) < 16 || iat == nil || exp == nil || exp.Sub(iat.Time) != time.Hour {
		t.Errorf("jti %v, iat %v, exp %v", claims["jti"], iat, exp)
	}
}

// BenchmarkTokenEndpoint measures one token request through the handler: form and
// Basic parsing, the credential lookup, the HMAC, the grantable scopes, the signature.
func BenchmarkTokenEndpoint(b *testing.B) {
	for _, alg := range config.STSAlgorithms {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b, func(c *config.STS) {
				c.Algorithm, c.ClientRate = alg, config.Rate{Burst: 1 << 30, Every: time.Nanosecond}
			})
			c := f.creds["shop-web/production"]
			h, auth, body := f.srv.Handler(), basic(c.id, c.secret), grant("scope", "orders:read").Encode()
			b.ReportAllocs()
			for b.Loop() {
				if w := serveToken(h, auth, body); w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkFailedAuthentication measures a wrong secret once the client ID's failures
// are spent: the credential lookup and the HMAC, which run before any limit, and the
// 429.
func BenchmarkFailedAuthentication(b *testing.B) {
	f := newFixture(b, nil)
	h, auth, body := f.srv.Handler(), basic(f.creds["shop-web/production"].id, NewSecret()), grant().Encode()
	b.ReportAllocs()
	for b.Loop() {
		if w := serveToken(h, auth, body); w.Code != http.StatusUnauthorized && w.Code != http.StatusTooManyRequests {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// serveToken sends one token request through the handler, in process.
func serveToken(h http.Handler, auth, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", auth)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
