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

func FuzzExtract(f *testing.F) {
	for _, s := range []string{"", "Bearer abc", "bearer a.b.c", "Basic x, Bearer y", "Bearer a,b", "Bearer ", "Bearer =", "Bearer\tabc", "Digest a=\"b,c\""} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, header string, query bool) {
		tok, err := Extract(header, query, testMaxToken)
		if err != nil {
			if tok != "" || err.Code != CodeInvalidRequest {
				t.Fatalf("Extract(%q) = %q, %v: an error must come with no token and invalid_request", header, tok, err)
			}
			return
		}
		if tok != "" && (!isB64Token(tok) || len(tok) > testMaxToken) {
			t.Fatalf("Extract(%q) = %q, which is not a b64token", header, tok)
		}
	})
}
