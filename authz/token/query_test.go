package token

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzInQuery checks InQuery against the readings a backend may make of a query: a
// query Go's url.ParseQuery reads with an access_token key, split on "&" or on ";",
// always carries one, and a query that mentions access_token is either found to carry
// one or refused, unless every pair decodes.
func FuzzInQuery(f *testing.F) {
	for _, s := range []string{
		"access_token=x", "a=1;access_token=x", "access_token=%zz", "access%5Ftoken=x",
		"x=access_token", "x=%zz&y=access_token", "ACCESS_TOKEN=1", "a=1&b=2", "", "access_token",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		found, err := InQuery(q)
		if found && err != nil {
			t.Fatalf("InQuery(%q) = %v, %v: found and refused", q, found, err)
		}
		for _, sep := range []string{"&", ";"} {
			v, perr := url.ParseQuery(strings.ReplaceAll(q, sep, "&"))
			if perr == nil && v.Has("access_token") && !found {
				t.Fatalf("InQuery(%q) = false; splitting on %q finds access_token", q, sep)
			}
		}
		if !found && err == nil && mentionsTokenParam(q) {
			for _, pair := range strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' }) {
				k, v, _ := strings.Cut(pair, "=")
				if _, e1 := url.QueryUnescape(k); e1 != nil {
					t.Fatalf("InQuery(%q) accepted a query that mentions access_token with key %q that does not decode", q, k)
				}
				if _, e2 := url.QueryUnescape(v); e2 != nil {
					t.Fatalf("InQuery(%q) accepted a query that mentions access_token with value %q that does not decode", q, v)
				}
			}
		}
	})
}
