package route

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means ErrInvalidPath
	}{
		{"root", "/", "/"},
		{"plain", "/orders/123", "/orders/123"},
		{"high bytes kept", "/caf\xc3\xa9", "/caf\xc3\xa9"},

		{"query cut", "/a?x=1", "/a"},
		{"query and fragment cut", "/a?x=1#f", "/a"},
		{"fragment before query", "/a#f?x=1", "/a"},
		{"query on root", "/?x=1", "/"},
		{"query is not validated", "/a?%zz\\", "/a"},
		{"dot segments in query kept out", "/a?/../b", "/a"},

		{"empty", "", ""},
		{"relative", "orders", ""},
		{"asterisk form", "*", ""},
		{"query only", "?x=1", ""},
		{"fragment only", "#f", ""},

		{"dot-dot", "/orders/../admin", "/admin"},
		{"dot", "/a/./b", "/a/b"},
		{"dot-dot twice", "/a/b/../../c", "/c"},
		{"dot then dot-dot", "/a/./../b", "/b"},
		{"dot-dot above root", "/../../a", "/a"},
		{"dot-dot to root", "/a/..", "/"},
		{"lone dot-dot", "/..", "/"},
		{"lone dot", "/.", "/"},
		{"trailing dot-dot", "/a/b/..", "/a/"},
		{"trailing dot", "/a/b/.", "/a/b/"},
		{"dot then slash", "/a/./", "/a/"},
		{"dot-prefixed segments kept", "/.well-known/..x", "/.well-known/..x"},
		{"three dots kept", "/a/.../b", "/a/.../b"},

		{"double slash", "/a//b", "/a/b"},
		{"dot-dot removes an empty segment first, as Envoy does", "/a//../b", "/a/b"},
		{"dot-dot over an empty segment stays in its API", "/orders/X//../docs/y", "/orders/X/docs/y"},
		{"dot-dot with parameters", "/orders/docs/..;/1", ""},
		{"encoded dot-dot with parameters", "/orders/docs/%2e%2e;/pending", ""},
		{"dot with parameters", "/a/.;x/b", ""},
		{"parameters on a plain segment are kept", "/a/b;v=1/c", "/a/b;v=1/c"},
		{"parameters after a dot-dot segment elsewhere", "/a/../b;x", "/b;x"},
		{"leading double slash", "//a", "/a"},
		{"many slashes", "/a///b////c", "/a/b/c"},
		{"only slashes", "///", "/"},
		{"trailing slash", "/a/b/", "/a/b/"},
		{"trailing double slash", "/a//", "/a/"},

		{"tilde decoded", "/%7Euser", "/~user"},
		{"lower-case tilde decoded", "/%7euser", "/~user"},
		{"unreserved decoded", "/%41%62%30%2D%2E%5F%7E", "/Ab0-._~"},
		{"encoded slash upper-cased", "/a%2fb", "/a%2Fb"},
		{"encoded slash kept", "/a%2Fb", "/a%2Fb"},
		{"encoded slash is one segment", "/a%2Fb/../c", "/c"},
		{"encoded dot-dot", "/%2e%2e/x", "/x"},
		{"encoded dot-dot mixed case", "/a/b/%2E%2e", "/a/"},
		{"encoded dot", "/a/%2E/b", "/a/b"},
		{"half-encoded dot-dot", "/a/.%2e/b", "/b"},
		{"space kept encoded", "/a%20b", "/a%20b"},
		{"question mark kept encoded", "/a%3fb", "/a%3Fb"},
		{"hash kept encoded", "/a%23b", "/a%23b"},
		{"percent kept encoded", "/a%25", "/a%25"},
		{"no double decoding", "/%2541", "/%2541"},
		{"utf-8 escapes upper-cased", "/caf%c3%a9", "/caf%C3%A9"},
		{"encoded control char kept", "/a%01", "/a%01"},

		{"bad hex", "/a%zz", ""},
		{"one hex digit", "/a%0", ""},
		{"lone percent", "/a%", ""},
		{"percent at segment end", "/a%/b", ""},
		{"second digit not hex", "/a%4g", ""},
		{"encoded NUL", "/a%00", ""},
		{"raw NUL", "/a\x00", ""},
		{"raw backslash", "/a\\b", ""},
		{"encoded backslash", "/a%5cb", ""},
		{"encoded backslash upper-case", "/a%5Cb", ""},
		{"control char", "/\x01", ""},
		{"tab", "/a\tb", ""},
		{"newline", "/a\nb", ""},
		{"DEL", "/a\x7f", ""},
		{"bad escape after dot segments", "/a/../%zz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidPath) || got != "" {
					t.Fatalf("Normalize(%q) = %q, %v; want ErrInvalidPath", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNormalizeNoAllocWhenClean(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Normalize("/orders/123/items"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Normalize of a clean path allocates %v times; want 0", allocs)
	}
}
