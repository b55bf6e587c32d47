package token

import (
	"strings"
	"testing"
)

// testMaxToken is the token size cap of these tests.
const testMaxToken = 64

func TestExtract(t *testing.T) {
	tests := []struct {
		name       string
		header     string
		queryToken bool
		want       string
		wantErr    *Error
	}{
		{name: "no header", header: ""},
		{name: "bearer", header: "Bearer abc.def.ghi", want: "abc.def.ghi"},
		{name: "scheme is case-insensitive", header: "bEaReR abc", want: "abc"},
		{name: "several spaces after scheme", header: "Bearer   abc", want: "abc"},
		{name: "surrounding whitespace", header: "  Bearer abc \t", want: "abc"},
		{name: "b64token characters", header: "Bearer aZ09-._~+/==", want: "aZ09-._~+/=="},
		{name: "other scheme is no bearer token", header: "Basic dXNlcjpwYXNz"},
		{name: "digest with commas is no bearer token", header: `Digest username="a", realm="b"`},
		{name: "scheme alone", header: "Bearer", wantErr: ErrMalformedHeader},
		{name: "scheme and spaces", header: "Bearer   ", wantErr: ErrMalformedHeader},
		{name: "two tokens with a space", header: "Bearer abc def", wantErr: ErrMalformedHeader},
		{name: "padding inside", header: "Bearer ab=c", wantErr: ErrMalformedHeader},
		{name: "only padding", header: "Bearer ===", wantErr: ErrMalformedHeader},
		{name: "quote", header: `Bearer "abc"`, wantErr: ErrMalformedHeader},
		{name: "two bearer headers joined by Envoy", header: "Bearer abc,Bearer def", wantErr: ErrMultipleCredentials},
		{name: "two bearer headers joined with space", header: "Bearer abc, Bearer def", wantErr: ErrMultipleCredentials},
		{name: "basic then bearer", header: "Basic dXNlcg==, Bearer abc", wantErr: ErrMultipleCredentials},
		{name: "basic then lowercase bearer", header: "Basic x,bearer abc", wantErr: ErrMultipleCredentials},
		{name: "bearer and query token", header: "Bearer abc", queryToken: true, wantErr: ErrMultipleCredentials},
		{name: "query token only", queryToken: true, wantErr: ErrTokenInQuery},
		{name: "bearerx is another scheme", header: "Bearerx abc"},
		{name: "bearer then a comma", header: "Bearer,abc", wantErr: ErrMalformedHeader},
		{name: "bearer then a tab", header: "Bearer\tabc", wantErr: ErrMalformedHeader},
		{name: "basic then bearer with a tab", header: "Basic x, Bearer\tabc", wantErr: ErrMultipleCredentials},
		{name: "token at the size cap", header: "Bearer " + strings.Repeat("a", testMaxToken), want: strings.Repeat("a", testMaxToken)},
		{name: "token over the size cap", header: "Bearer " + strings.Repeat("a", testMaxToken+1), wantErr: ErrTokenTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Extract(tt.header, tt.queryToken, testMaxToken)
			if got != tt.want || err != tt.wantErr {
				t.Errorf("Extract(%q, %v) = %q, %v; want %q, %v", tt.header, tt.queryToken, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// FuzzExtract checks Extract against RFC 6750's rules: a token comes only from a lone,
// well-formed Bearer credential within the size cap; a query token makes any request
// carry one credential too many; and whitespace around the header changes nothing.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"", "Bearer abc", "bearer a.b.c", "Basic x, Bearer y", "Bearer a,b", "Bearer ", "Bearer =",
		"Bearer\tabc", "Digest a=\"b,c\"", "Bearer abc,Bearer def",
		"Bearer " + strings.Repeat("a", testMaxToken), "Bearer " + strings.Repeat("a", testMaxToken+1),
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, header string, query bool) {
		tok, err := Extract(header, query, testMaxToken)
		switch err {
		case nil:
		case ErrMalformedHeader, ErrMultipleCredentials, ErrTokenInQuery, ErrTokenTooLarge:
			if tok != "" {
				t.Fatalf("Extract(%q, %v) = %q, %v: an error must come with no token", header, query, tok, err)
			}
		default:
			t.Fatalf("Extract(%q, %v) = %q, %v: not one of Extract's errors", header, query, tok, err)
		}
		if tok != "" && !isLoneBearer(header, tok) {
			t.Fatalf("Extract(%q, %v) = %q: the header is not that token alone after Bearer", header, query, tok)
		}
		if tok == "" && err == nil && offersBearer(header) {
			t.Fatalf("Extract(%q, %v) found no bearer token and no error", header, query)
		}
		if again, againErr := Extract(" \t"+header+"\t ", query, testMaxToken); again != tok || againErr != err {
			t.Fatalf("Extract(%q, %v) = %q, %v, but with whitespace around it %q, %v", header, query, tok, err, again, againErr)
		}

		// A query token is a second credential; alone, it is refused for being in the query.
		headerTok, headerErr := Extract(header, false, testMaxToken)
		_, queryErr := Extract(header, true, testMaxToken)
		want := ErrMultipleCredentials
		if headerTok == "" && headerErr == nil {
			want = ErrTokenInQuery
		}
		if queryErr != want {
			t.Fatalf("Extract(%q) = %q, %v without a query token, but %v with one; want %v", header, headerTok, headerErr, queryErr, want)
		}

		// The cap only ever refuses a token over it.
		uncapped, uncappedErr := Extract(header, query, len(header))
		switch {
		case err != ErrTokenTooLarge && (uncapped != tok || uncappedErr != err):
			t.Fatalf("Extract(%q, %v) = %q, %v under the cap, but %q, %v without it", header, query, tok, err, uncapped, uncappedErr)
		case err == ErrTokenTooLarge && uncapped != "" && len(uncapped) <= testMaxToken:
			t.Fatalf("Extract(%q, %v) = %v, but the token %q is within the cap", header, query, err, uncapped)
		}
	})
}

// isLoneBearer reports whether header is, but for surrounding whitespace, a
// case-insensitive "Bearer", one or more spaces, and tok: a b64token within the cap.
func isLoneBearer(header, tok string) bool {
	v := strings.Trim(header, " \t")
	scheme, ok := strings.CutSuffix(v, tok)
	return ok && isB64Token(tok) && len(tok) <= testMaxToken && strings.IndexByte(v, ',') < 0 &&
		len(scheme) > 6 && strings.EqualFold(strings.TrimRight(scheme, " "), "bearer")
}

// offersBearer reports whether the header, trimmed, holds the word Bearer (in any case)
// followed by a space, a tab, a comma or its end, at its start or after a comma: a Bearer credential,
// well formed or not.
func offersBearer(header string) bool {
	v := strings.Trim(header, " \t")
	for {
		if len(v) >= 6 && strings.EqualFold(v[:6], "bearer") && (len(v) == 6 || strings.IndexByte(" \t,", v[6]) >= 0) {
			return true
		}
		i := strings.IndexByte(v, ',')
		if i < 0 {
			return false
		}
		v = strings.TrimLeft(v[i+1:], " \t")
	}
}
