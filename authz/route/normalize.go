// Package route matches a request's host, method and path to an API resource, with a
// router compiled from the data, the way Envoy's route table matches: once per data
// load, not once per request. A path is matched only when every proxy and backend
// reads it the same way: one whose meaning depends on who normalises it is refused,
// never decided as something else.
package route

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidPath is the error of every path Normalize refuses; the errors below wrap
// it and say why, in words a client may be shown.
var ErrInvalidPath = errors.New("invalid request path")

// Why a path is refused. Each wraps ErrInvalidPath.
var (
	// ErrMalformedPath: not absolute, a bad or NUL percent-encoding, or a control
	// character.
	ErrMalformedPath = pathError("it is not an absolute path of printable characters with valid percent-encodings")
	// ErrEmptySegment: "//" inside the path. nginx, Go's path.Clean and most
	// frameworks merge it before resolving dot segments, Envoy after: "/a//../b" is
	// "/a/b" to one and "/b" to another.
	ErrEmptySegment = pathError("it holds an empty segment (//), which proxies and backends resolve differently")
	// ErrDotSegment: "." or "..", percent-encoded or not, or with parameters ("..;x",
	// which servlet containers resolve as ".."), or encoded more than once.
	ErrDotSegment = pathError("it holds a dot segment (. or ..), which proxies and backends resolve differently")
	// ErrBackslash: "\" or "%5C", a separator to Windows servers and some frameworks.
	ErrBackslash = pathError("it holds a backslash, a path separator to some backends")
	// ErrEncodedSlash: "%2F", which nginx and some backends decode into a separator.
	ErrEncodedSlash = pathError("it holds an encoded slash (%2F), which some proxies and backends decode into a separator")
)

func pathError(why string) error { return fmt.Errorf("%w: %s", ErrInvalidPath, why) }

// Normalize returns the path part of an HTTP :path in normal form (RFC 3986 section 6):
// the query and fragment cut off, percent-encoded unreserved characters decoded and
// other percent-encodings upper-cased. It refuses, with an error that wraps
// ErrInvalidPath and says why, every path that another proxy or backend could resolve
// to something else: an empty segment ("//"; one trailing "/" is fine), a dot segment,
// a backslash, an encoded slash (unless encodedSlashes, for APIs whose IDs hold one,
// safe only when no proxy or backend on the way decodes it), and a dot or separator
// encoded more than once. What it returns therefore reads the same to nginx (merge
// slashes, then resolve dots), Envoy (the other order), Go's path.Clean, and a backend
// that decodes it once or more. A clean path costs no allocation.
func Normalize(raw string, encodedSlashes bool) (string, error) {
	p := raw
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if p == "" || p[0] != '/' {
		return "", ErrMalformedPath
	}
	clean, escaped, err := decodeUnreserved(p, encodedSlashes)
	if err != nil {
		return "", err
	}
	if err := checkSegments(clean, escaped, encodedSlashes); err != nil {
		return "", err
	}
	return clean, nil
}

// decodeUnreserved decodes %XX of unreserved characters, upper-cases the hex digits of
// the rest, and refuses bytes no proxy should pass. escaped reports a %XX left in the
// result. It returns p itself when nothing changes.
func decodeUnreserved(p string, encodedSlashes bool) (clean string, escaped bool, err error) {
	var b *strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return "", false, ErrMalformedPath
		case c == '\\':
			return "", false, ErrBackslash
		case c != '%':
			if b != nil {
				b.WriteByte(c)
			}
			continue
		}
		if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			return "", false, ErrMalformedPath
		}
		v := unhex(p[i+1])<<4 | unhex(p[i+2])
		switch {
		case v == 0:
			return "", false, ErrMalformedPath
		case v == '\\':
			return "", false, ErrBackslash
		case v == '/' && !encodedSlashes:
			return "", false, ErrEncodedSlash
		}
		if b == nil {
			b = &strings.Builder{}
			b.Grow(len(p))
			b.WriteString(p[:i])
		}
		if isUnreserved(v) {
			b.WriteByte(v)
		} else {
			escaped = true
			b.WriteByte('%')
			b.WriteByte(upperHex[v>>4])
			b.WriteByte(upperHex[v&0xf])
		}
		i += 2
	}
	if b == nil {
		return p, false, nil
	}
	return b.String(), escaped, nil
}

// checkSegments refuses empty segments but a trailing one, and dot segments; when
// escapes remain, it also decodes each segment that holds one as often as it decodes,
// as a backend that decodes more than once would, and refuses what that reveals.
func checkSegments(p string, escaped, encodedSlashes bool) error {
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") && !escaped {
		return nil // the common path: nothing to look at closer
	}
	for rest := p[1:]; ; {
		seg, tail, more := strings.Cut(rest, "/")
		if seg == "" && more {
			return ErrEmptySegment
		}
		if isDotSegment(seg) {
			return ErrDotSegment
		}
		if strings.IndexByte(seg, '%') >= 0 {
			if err := checkDecoded(seg, encodedSlashes); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		rest = tail
	}
}

// checkDecoded decodes a segment until no escape is left, and refuses it when the
// result holds a separator, a NUL or a dot segment: "%252E%252E" is ".." to a backend
// that decodes twice. With encodedSlashes, a decoded "/" is allowed, but the pieces it
// separates must not be dot segments ("..%2F" is a classic traversal).
func checkDecoded(seg string, encodedSlashes bool) error {
	d := decodeAll(seg)
	switch {
	case strings.IndexByte(d, '\\') >= 0:
		return ErrBackslash
	case strings.IndexByte(d, 0) >= 0:
		return ErrMalformedPath
	case strings.IndexByte(d, '/') >= 0 && !encodedSlashes:
		return ErrEncodedSlash
	}
	for _, piece := range strings.Split(d, "/") {
		if isDotSegment(piece) {
			return ErrDotSegment
		}
	}
	return nil
}

// decodeAll percent-decodes s again and again until nothing more decodes; an escape
// that is not valid is left as it is.
func decodeAll(s string) string {
	for strings.IndexByte(s, '%') >= 0 {
		next := decodeOnce(s)
		if next == s {
			break
		}
		s = next
	}
	return s
}

func decodeOnce(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// isDotSegment reports ".", "..", and either with parameters (".;x", "..;x"), which
// servlet containers resolve as the dots alone.
func isDotSegment(seg string) bool {
	name, _, _ := strings.Cut(seg, ";")
	return name == "." || name == ".."
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
