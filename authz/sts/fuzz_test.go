package sts

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzTokenRequest feeds hostile Authorization headers and bodies to the parsing half
// of the token endpoint: it never panics, and what it accepts keeps its promises.
func FuzzTokenRequest(f *testing.F) {
	f.Add("Basic Y2xpZW50OnNlY3JldA==", "grant_type=client_credentials&scope=a%20b")
	f.Add("", "grant_type=client_credentials&client_id=c&client_secret=s")
	f.Add("Basic %%%", "grant_type=client_credentials")
	f.Add("basic OnNlY3JldA==", "scope=%22&scope=x")
	f.Add("Bearer x", "client_id=c&client_secret=s&client_id=d")
	f.Fuzz(func(t *testing.T, auth, body string) {
		r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		form, e := readForm(httptest.NewRecorder(), r)
		if e != nil {
			return
		}
		for name, v := range form {
			if len(v) != 1 {
				t.Fatalf("parameter %q accepted %d times", name, len(v))
			}
		}
		if a, e := readClientAuth(r, form); e == nil && (a.id == "" || a.secret == "" || len(a.id) > maxClientIDBytes) {
			t.Fatalf("accepted client authentication %+v", a)
		}
		scopes, e := parseScope(form.Get("scope"))
		if e != nil {
			return
		}
		for _, sc := range scopes {
			if sc == "" || strings.ContainsAny(sc, " \"\\") {
				t.Fatalf("accepted scope %q", sc)
			}
		}
	})
}
