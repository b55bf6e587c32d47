package route

import (
	"errors"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fuzzPaths seed FuzzNormalize and FuzzMatch; testdata/fuzz holds more.
var fuzzPaths = []string{
	"/", "", "orders", "/orders/123", "/orders/../admin", "/a/./b", "/a//b", "/a/b/",
	"/a/b/..", "/a/b/.", "/..", "//", "/%7Euser", "/a%2fb", "/a%2Fb/../c", "/%2e%2e/x",
	"/a/.%2E/b", "/%252e%252e/", "/a?x=1#f", "/a#f", "/a%zz", "/a%0", "/a%", "/a%00",
	"/a\\b", "/a%5cb", "/\x01", "/a\x7f", "/caf\xc3\xa9", "/.well-known/...",
	"/orders/docs/..;/1", "/a/%2e;x/b", "/a/b;v=1/c", "/a\tb", "/a%09b",
	"/orders/docs//../42", "/orders/docs/..%2F42", "/a/%252e%252e/b", "/a%25%32%46b",
	"/a%255Cb", "/a/%2500/b", "/orders/docs/x/%2E%2E%3B/42",
}

// FuzzNormalize checks that Normalize refuses or returns a path in normal form, and
// that a path it accepts means one thing to everyone: fully percent-decoded, it
// resolves to the same path in nginx's order (merge slashes, then dot segments), in
// Envoy's order (dot segments, then merge slashes) and by Go's path.Clean, and that is
// the path Tollgate matched (all ignoring one trailing slash).
func FuzzNormalize(f *testing.F) {
	for _, p := range fuzzPaths {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := Normalize(raw, false)
		if err != nil {
			if got != "" || !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("Normalize(%q) = %q, %v; an error must be ErrInvalidPath, with no path", raw, got, err)
			}
		} else {
			checkNormal(t, raw, got)
			checkOneMeaning(t, raw, got)
		}
		// The query and fragment never change the path, nor whether it is valid.
		withQuery, qerr := Normalize(raw+"?a=/../b%zz#/..", false)
		if withQuery != got || (qerr == nil) != (err == nil) {
			t.Fatalf("Normalize(%q) = %q, %v, but with a query appended %q, %v", raw, got, err, withQuery, qerr)
		}
	})
}

// checkOneMeaning fails unless the path Normalize accepted resolves alike everywhere.
func checkOneMeaning(t *testing.T, raw, got string) {
	t.Helper()
	p := raw
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	decoded := decodeAll(p)
	want := strings.TrimSuffix(decodeAll(got), "/")
	for _, r := range []struct{ who, path string }{
		{"nginx", removeDots(mergeSlashes(decoded))},
		{"Envoy", mergeSlashes(removeDots(decoded))},
		{"path.Clean", path.Clean(decoded)},
	} {
		if strings.TrimSuffix(r.path, "/") != want {
			t.Fatalf("Normalize(%q) = %q, but fully decoded %s resolves it to %q", raw, got, r.who, r.path)
		}
	}
}

// mergeSlashes replaces each run of slashes with one, as nginx's merge_slashes does.
func mergeSlashes(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}

// removeDots resolves "." and ".." segments as RFC 3986 section 5.2.4 does.
func removeDots(p string) string {
	var out []string
	segs := strings.Split(p, "/")
	for i, s := range segs {
		switch s {
		case ".":
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
			continue
		}
		if i == len(segs)-1 {
			out = append(out, "")
		}
	}
	return strings.Join(out, "/")
}

// checkNormal fails unless got, which Normalize returned for raw, is in normal form.
func checkNormal(t *testing.T, raw, got string) {
	t.Helper()
	if !strings.HasPrefix(got, "/") {
		t.Fatalf("Normalize(%q) = %q: not absolute", raw, got)
	}
	if strings.ContainsAny(got, "?#\\") || strings.Contains(got, "//") {
		t.Fatalf("Normalize(%q) = %q: has ?, #, \\ or //", raw, got)
	}
	for i := 0; i < len(got); i++ {
		c := got[i]
		if c < 0x20 || c == 0x7f {
			t.Fatalf("Normalize(%q) = %q: has control byte %#x", raw, got, c)
		}
		if c != '%' {
			continue
		}
		if i+2 >= len(got) || !strings.ContainsRune(upperHex, rune(got[i+1])) || !strings.ContainsRune(upperHex, rune(got[i+2])) {
			t.Fatalf("Normalize(%q) = %q: %%-escape at %d is not two upper-case hex digits", raw, got, i)
		}
		v := unhex(got[i+1])<<4 | unhex(got[i+2])
		if v == 0 || v == '\\' || v == '/' || isUnreserved(v) {
			t.Fatalf("Normalize(%q) = %q: escape %s should have been refused or decoded", raw, got, got[i:i+3])
		}
		i += 2
	}
	for _, seg := range strings.Split(got[1:], "/") {
		if isDotSegment(seg) {
			t.Fatalf("Normalize(%q) = %q: has dot segment %q", raw, got, seg)
		}
	}
	again, err := Normalize(got, false)
	if err != nil || again != got {
		t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", raw, got, got, again, err)
	}
}

// FuzzMatch checks that a match is a resource of the API that was asked for or that
// serves the host, with a template that, filled in with the match's parameters, reads
// as the normalised path.
func FuzzMatch(f *testing.F) {
	apis := testAPIs()
	r, err := Compile(apis)
	if err != nil {
		f.Fatal(err)
	}
	type owned struct {
		api *API
		res Resource
	}
	byID := map[string]owned{}
	for i := range apis {
		for _, res := range apis[i].Resources {
			byID[res.ID] = owned{&apis[i], res}
		}
	}
	for _, tt := range matchCases {
		f.Add(tt.api, tt.method, tt.host, tt.path)
	}
	f.Fuzz(func(t *testing.T, apiName, method, authority, rawPath string) {
		host, herr := Host(authority)
		path, perr := Normalize(rawPath, false)
		if herr != nil || perr != nil {
			return // refused before matching
		}
		m, ok := r.Match(apiName, host, method, path)
		if !ok {
			if !reflect.DeepEqual(m, Match{}) {
				t.Fatalf("Match(%q, %q, %q, %q) = %+v with no match", apiName, authority, method, path, m)
			}
			return
		}
		call := func() string { return fmt.Sprintf("Match(%q, %q, %q, %q)", apiName, authority, method, rawPath) }
		o, known := byID[m.Resource]
		if !known || o.api.Name != m.API || o.res.Method != method || o.res.Public != m.Public {
			t.Fatalf("%s = %+v: not a %s resource of that API", call(), m, method)
		}
		switch {
		case apiName != "" && m.API != apiName:
			t.Fatalf("%s = %+v: not the API asked for", call(), m)
		case apiName == "" && len(o.api.Hosts) > 0 && !slices.Contains(o.api.Hosts, host):
			t.Fatalf("%s = %+v: the API does not serve host %q", call(), m, host)
		}
		if m.Path != path {
			t.Fatalf("%s.Path = %q; Normalize = %q", call(), m.Path, path)
		}
		if filled := fill(t, o.res.Path, m.Params); filled != m.Path {
			t.Fatalf("%s = %+v: template %q filled in reads %q", call(), m, o.res.Path, filled)
		}
		// Matching reads the normalised path alone.
		if again, _ := r.Match(apiName, host, method, m.Path); !reflect.DeepEqual(again, m) {
			t.Fatalf("%s = %+v, but the normalised path matches %+v", call(), m, again)
		}
	})
}

// fill substitutes a match's parameters into a template, and fails unless each
// {param} is one non-empty segment, * a non-empty rest, and there are no others.
func fill(t *testing.T, template string, params map[string]string) string {
	t.Helper()
	segs := strings.Split(template, "/")
	used := 0
	for i, s := range segs {
		name := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		if s != "*" && name == s {
			continue
		}
		v, ok := params[name]
		if !ok || v == "" || s != "*" && strings.Contains(v, "/") {
			t.Fatalf("template %q: param %s = %q, %v; want one non-empty segment, or a non-empty rest for *", template, name, v, ok)
		}
		segs[i] = v
		used++
	}
	if used != len(params) {
		t.Fatalf("template %q has %d params; the match has %v", template, used, params)
	}
	return strings.Join(segs, "/")
}
