package route

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	var (
		malformed = ErrMalformedPath
		empty     = ErrEmptySegment
		dot       = ErrDotSegment
		backslash = ErrBackslash
		slash     = ErrEncodedSlash
	)
	tests := []struct {
		name string
		in   string
		want string
		err  error // the error, when want is ""
	}{
		{"root", "/", "/", nil},
		{"plain", "/orders/123", "/orders/123", nil},
		{"high bytes kept", "/caf\xc3\xa9", "/caf\xc3\xa9", nil},
		{"trailing slash", "/a/b/", "/a/b/", nil},
		{"dot-prefixed segments kept", "/.well-known/..x", "/.well-known/..x", nil},
		{"three dots kept", "/a/.../b", "/a/.../b", nil},
		{"parameters on a plain segment are kept", "/a/b;v=1/c", "/a/b;v=1/c", nil},

		{"query cut", "/a?x=1", "/a", nil},
		{"query and fragment cut", "/a?x=1#f", "/a", nil},
		{"fragment before query", "/a#f?x=1", "/a", nil},
		{"query on root", "/?x=1", "/", nil},
		{"query is not validated", "/a?%zz\\", "/a", nil},
		{"dot segments in query kept out", "/a?/../b", "/a", nil},

		{"empty", "", "", malformed},
		{"relative", "orders", "", malformed},
		{"asterisk form", "*", "", malformed},
		{"query only", "?x=1", "", malformed},
		{"fragment only", "#f", "", malformed},

		{"dot-dot", "/orders/../admin", "", dot},
		{"dot", "/a/./b", "", dot},
		{"dot-dot above root", "/../../a", "", dot},
		{"lone dot-dot", "/..", "", dot},
		{"lone dot", "/.", "", dot},
		{"trailing dot-dot", "/a/b/..", "", dot},
		{"trailing dot", "/a/b/.", "", dot},
		{"dot then slash", "/a/./", "", dot},
		{"dot-dot with parameters", "/orders/docs/..;/1", "", dot},
		{"encoded dot-dot with parameters", "/orders/docs/%2e%2e;/pending", "", dot},
		{"dot with parameters", "/a/.;x/b", "", dot},
		{"encoded dot-dot", "/%2e%2e/x", "", dot},
		{"encoded dot-dot mixed case", "/a/b/%2E%2e", "", dot},
		{"encoded dot", "/a/%2E/b", "", dot},
		{"half-encoded dot-dot", "/a/.%2e/b", "", dot},
		{"double-encoded dot-dot", "/a/%252e%252E/b", "", dot},
		{"triple-encoded dot-dot", "/a/%25252e%25252e/b", "", dot},
		{"double-encoded dot-dot with parameters", "/a/%252e%252e;x/b", "", dot},

		{"double slash", "/a//b", "", empty},
		{"double slash then dot-dot", "/orders/docs//../42", "", empty},
		{"leading double slash", "//a", "", empty},
		{"only slashes", "///", "", empty},
		{"trailing double slash", "/a//", "", empty},

		{"encoded slash", "/a%2Fb", "", slash},
		{"lower-case encoded slash", "/a%2fb", "", slash},
		{"encoded slash before dot-dot", "/orders/docs/..%2F42", "", slash},
		{"double-encoded slash", "/a%252Fb", "", slash},
		{"encoded percent then encoded 2F", "/a%25%32%46b", "", slash},

		{"raw backslash", "/a\\b", "", backslash},
		{"encoded backslash", "/a%5cb", "", backslash},
		{"encoded backslash upper-case", "/a%5Cb", "", backslash},
		{"double-encoded backslash", "/a%255Cb", "", backslash},

		{"tilde decoded", "/%7Euser", "/~user", nil},
		{"lower-case tilde decoded", "/%7euser", "/~user", nil},
		{"unreserved decoded", "/%41%62%30%2D%2E%5F%7E", "/Ab0-._~", nil},
		{"space kept encoded", "/a%20b", "/a%20b", nil},
		{"question mark kept encoded", "/a%3fb", "/a%3Fb", nil},
		{"hash kept encoded", "/a%23b", "/a%23b", nil},
		{"percent kept encoded", "/a%25", "/a%25", nil},
		{"no double decoding", "/%2541", "/%2541", nil},
		{"utf-8 escapes upper-cased", "/caf%c3%a9", "/caf%C3%A9", nil},
		{"encoded control char kept", "/a%01", "/a%01", nil},

		{"bad hex", "/a%zz", "", malformed},
		{"one hex digit", "/a%0", "", malformed},
		{"lone percent", "/a%", "", malformed},
		{"percent at segment end", "/a%/b", "", malformed},
		{"second digit not hex", "/a%4g", "", malformed},
		{"encoded NUL", "/a%00", "", malformed},
		{"double-encoded NUL", "/a%2500", "", malformed},
		{"raw NUL", "/a\x00", "", malformed},
		{"control char", "/\x01", "", malformed},
		{"tab", "/a\tb", "", malformed},
		{"newline", "/a\nb", "", malformed},
		{"DEL", "/a\x7f", "", malformed},
		{"bad escape after dot segments", "/a/../%zz", "", malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in, false)
			if tt.want == "" {
				if !errors.Is(err, tt.err) || !errors.Is(err, ErrInvalidPath) || got != "" {
					t.Fatalf("Normalize(%q) = %q, %v; want %v", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// With encoded slashes allowed, %2F stays inside its segment; what it separates must
// still not be a dot segment, and everything else is refused as before.
func TestNormalizeEncodedSlashesAllowed(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"/repos/acme%2Fwidgets/issues", "/repos/acme%2Fwidgets/issues", nil},
		{"/repos/acme%2fwidgets", "/repos/acme%2Fwidgets", nil},
		{"/a%252Fb", "/a%252Fb", nil},
		{"/orders/docs/..%2F42", "", ErrDotSegment},
		{"/orders/docs/x%2F..%2F42", "", ErrDotSegment},
		{"/orders/docs/x%2F%2e%2e", "", ErrDotSegment},
		{"/a%5Cb", "", ErrBackslash},
		{"/a//b", "", ErrEmptySegment},
		{"/a/../b", "", ErrDotSegment},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in, true)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("Normalize(%q, true) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestNormalizeNoAllocWhenClean(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Normalize("/orders/123/items", false); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Normalize of a clean path allocates %v times; want 0", allocs)
	}
}
