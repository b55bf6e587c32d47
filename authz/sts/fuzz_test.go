package sts

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzTokenRequest feeds hostile Authorization headers and bodies to the parsing half
// of the token endpoint: it never panics, what it accepts keeps its promises, and what
// it refuses it describes in RFC 6749's characters.
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
			checkDescription(t, e)
			return
		}
		for name, v := range form {
			if len(v) != 1 {
				t.Fatalf("parameter %q accepted %d times", name, len(v))
			}
		}
		a, e := readClientAuth(r, form)
		if e == nil && (a.id == "" || a.secret == "" || len(a.id) > maxClientIDBytes) {
			t.Fatalf("accepted client authentication %+v", a)
		}
		checkDescription(t, e)
		scopes, e := parseScope(form.Get("scope"))
		if e != nil {
			checkDescription(t, e)
			return
		}
		for _, sc := range scopes {
			if sc == "" || strings.ContainsAny(sc, " \"\\") {
				t.Fatalf("accepted scope %q", sc)
			}
		}
	})
}

// checkDescription fails t if e, when not nil, has a description RFC 6749 section 5.2
// does not allow.
func checkDescription(t *testing.T, e *oauthError) {
	t.Helper()
	if e != nil && strings.IndexFunc(e.Description, func(r rune) bool { return !rfc6749ErrorChar(r) }) >= 0 {
		t.Fatalf("error_description %q", e.Description)
	}
}
