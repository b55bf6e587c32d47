package token

import (
	"net/url"
	"strconv"
	"strings"
)

// queryParam is RFC 6750 section 2.3's URI query parameter for a bearer token.
const queryParam = "access_token"

// InQuery reports whether a raw query string carries an access_token parameter, which
// Tollgate never accepts (RFC 6750 section 2.3: the token would be logged) and counts
// as a credential. A backend may split the query on "&" or ";", decode any escape and
// ignore case, so a key is looked for whatever its separator, escaping or case: "a=1;
// access_token=x" and "access%5Ftoken=x" carry one, as does "access_token=%zz", whose
// value does not decode (url.Values drops such a pair). A query that does not decode
// and mentions access_token anywhere is refused with ErrMalformedQuery: what a
// backend would make of it cannot be known.
func InQuery(rawQuery string) (bool, *Error) {
	broken := false
	for rest := rawQuery; rest != ""; {
		var pair string
		if i := strings.IndexAny(rest, "&;"); i >= 0 {
			pair, rest = rest[:i], rest[i+1:]
		} else {
			pair, rest = rest, ""
		}
		key, value, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(key)
		if err != nil {
			broken = true
			k = lenientUnescape(key)
		}
		if strings.EqualFold(strings.TrimSpace(k), queryParam) {
			return true, nil
		}
		if _, err := url.QueryUnescape(value); err != nil {
			broken = true
		}
	}
	if broken && mentionsTokenParam(rawQuery) {
		return false, ErrMalformedQuery
	}
	return false, nil
}

// mentionsTokenParam reports "access_token" anywhere in the query, in any case, its
// valid escapes decoded.
func mentionsTokenParam(rawQuery string) bool {
	return strings.Contains(strings.ToLower(lenientUnescape(rawQuery)), queryParam)
}

// lenientUnescape decodes the valid %XX escapes and "+" of s and leaves the rest.
func lenientUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '+' {
			c = ' '
		} else if c == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				c = byte(v)
				i += 2
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
