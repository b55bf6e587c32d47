package route

import (
	"strings"
	"testing"
)

var fuzzPaths = []string{
	"/", "", "orders", "/orders/123", "/orders/../admin", "/a/./b", "/a//b", "/a/b/",
	"/a/b/..", "/a/b/.", "/..", "//", "/%7Euser", "/a%2fb", "/a%2Fb/../c", "/%2e%2e/x",
	"/a/.%2E/b", "/%252e%252e/", "/a?x=1#f", "/a#f", "/a%zz", "/a%0", "/a%", "/a%00",
	"/a\\b", "/a%5cb", "/\x01", "/a\x7f", "/caf\xc3\xa9", "/.well-known/...",
}

func FuzzNormalize(f *testing.F) {
	for _, p := range fuzzPaths {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := Normalize(raw)
		if err != nil {
			return
		}
		if !strings.HasPrefix(got, "/") {
			t.Fatalf("Normalize(%q) = %q: not absolute", raw, got)
		}
		if strings.ContainsAny(got, "?#\\") || strings.Contains(got, "//") {
			t.Fatalf("Normalize(%q) = %q: has ?, #, \\ or //", raw, got)
		}
		for _, seg := range strings.Split(got[1:], "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("Normalize(%q) = %q: has a dot segment", raw, got)
			}
		}
		again, err := Normalize(got)
		if err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", raw, got, got, again, err)
		}
	})
}

func FuzzMatch(f *testing.F) {
	apis := testAPIs()
	r, err := Compile(apis)
	if err != nil {
		f.Fatal(err)
	}
	owner := map[string]string{} // resource ID -> API name
	for _, a := range apis {
		for _, res := range a.Resources {
			owner[res.ID] = a.Name
		}
	}
	for _, tt := range matchCases {
		f.Add(tt.method, tt.host, tt.path)
	}
	f.Fuzz(func(t *testing.T, method, authority, path string) {
		m, ok := r.Match("", authority, method, path)
		if !ok {
			return
		}
		if api, known := owner[m.Resource]; !known || api != m.API {
			t.Fatalf("Match(%q, %q, %q) = %+v: unknown resource or wrong API", authority, method, path, m)
		}
		if want, err := Normalize(path); err != nil || m.Path != want {
			t.Fatalf("Match(%q, %q, %q).Path = %q; Normalize = %q, %v", authority, method, path, m.Path, want, err)
		}
		for name, v := range m.Params {
			if name != "*" && (v == "" || strings.Contains(v, "/")) {
				t.Fatalf("Match(%q, %q, %q): param %s = %q is not one segment", authority, method, path, name, v)
			}
		}
	})
}
