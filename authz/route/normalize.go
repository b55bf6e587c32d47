// Package route matches a request's host, method and path to an API resource, with a
// router compiled from the data, the way Envoy's route table matches: once per data
// load, not once per request. Paths are normalised first, as Envoy's normalize_path and
// merge_slashes leave them, so Tollgate judges the path the backend will see.
package route

import (
	"errors"
	"slices"
	"strings"
)

// ErrInvalidPath is returned for a path that no normalisation can make safe to match:
// not absolute, a bad or NUL percent-encoding, a control character, a backslash, or a
// dot segment with parameters ("..;x"), which servlet containers resolve as "..".
var ErrInvalidPath = errors.New("invalid request path")

// Normalize returns the path part of an HTTP :path in normal form (RFC 3986 section 6):
// the query and fragment cut off, percent-encoded unreserved characters decoded, other
// percent-encodings upper-cased (so %2F never splits a segment), repeated slashes merged
// and dot segments removed. "/orders/../admin" becomes "/admin".
func Normalize(raw string) (string, error) {
	p := raw
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if p == "" || p[0] != '/' {
		return "", ErrInvalidPath
	}
	clean, err := decodeUnreserved(p)
	if err != nil {
		return "", err
	}
	if !strings.Contains(clean, "//") && !strings.Contains(clean, "/.") {
		return clean, nil
	}
	if strings.Contains(clean, ";") {
		for _, seg := range strings.Split(clean, "/") {
			if isDotWithParams(seg) {
				return "", ErrInvalidPath
			}
		}
	}
	return removeDotSegments(clean), nil
}

// decodeUnreserved decodes %XX of unreserved characters, upper-cases the hex digits of
// the rest, and refuses bytes no proxy should pass. It returns p itself when nothing
// changes, so the common path costs no allocation.
func decodeUnreserved(p string) (string, error) {
	var b *strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "", ErrInvalidPath
		}
		if c != '%' {
			if b != nil {
				b.WriteByte(c)
			}
			continue
		}
		if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			return "", ErrInvalidPath
		}
		v := unhex(p[i+1])<<4 | unhex(p[i+2])
		if v == 0 || v == '\\' {
			return "", ErrInvalidPath
		}
		if b == nil {
			b = &strings.Builder{}
			b.Grow(len(p))
			b.WriteString(p[:i])
		}
		if isUnreserved(v) {
			b.WriteByte(v)
		} else {
			b.WriteByte('%')
			b.WriteByte(upperHex[v>>4])
			b.WriteByte(upperHex[v&0xf])
		}
		i += 2
	}
	if b == nil {
		return p, nil
	}
	return b.String(), nil
}

// removeDotSegments resolves "." and ".." (RFC 3986 section 5.2.4) and then merges
// empty segments, in Envoy's order: "/a//../b" is "/a/b", as Envoy's normalize_path
// leaves it before merge_slashes. A trailing slash, or a trailing dot segment, leaves a
// trailing slash.
func removeDotSegments(p string) string {
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
			continue
		}
		if last {
			out = append(out, "")
		}
	}
	trailing := len(out) > 0 && out[len(out)-1] == ""
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	if len(out) == 0 {
		return "/"
	}
	res := "/" + strings.Join(out, "/")
	if trailing {
		res += "/"
	}
	return res
}

// isDotWithParams reports a segment such as "..;x" or ".;": servlet containers drop
// the ";…" and then resolve the dots, so the backend would see another path.
func isDotWithParams(seg string) bool {
	name, _, ok := strings.Cut(seg, ";")
	return ok && (name == "." || name == "..")
}

const upperHex = "0123456789ABCDEF"

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
