package token

import "strings"

// Extract returns the bearer token of an Authorization header value (RFC 6750 section
// 2.1; the scheme is case-insensitive). It returns "" and nil when the request carries
// no bearer token, and an invalid_request Error when the header is malformed or the
// request carries more than one credential: Envoy joins repeated headers with ",", and a
// token in the query as well counts as a second credential (RFC 6750 section 3.1).
// queryToken reports an access_token query parameter, which is never accepted. A token
// longer than maxBytes is refused unparsed, with invalid_request.
func Extract(authorization string, queryToken bool, maxBytes int) (string, *Error) {
	v := strings.Trim(authorization, " \t")
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "bearer") {
		switch {
		case hasBearerPart(v):
			return "", ErrMultipleCredentials
		case startsWithBearer(v) && queryToken:
			return "", ErrMultipleCredentials
		case startsWithBearer(v): // "Bearer,x" or "Bearer<TAB>x": a Bearer credential, malformed
			return "", ErrMalformedHeader
		case queryToken:
			return "", ErrTokenInQuery
		}
		return "", nil
	}
	if queryToken {
		return "", ErrMultipleCredentials
	}
	tok := strings.TrimLeft(rest, " ")
	if len(tok) > maxBytes {
		return "", ErrTokenTooLarge
	}
	if strings.IndexByte(tok, ',') >= 0 {
		return "", ErrMultipleCredentials
	}
	if !isB64Token(tok) {
		return "", ErrMalformedHeader
	}
	return tok, nil
}

// hasBearerPart reports a Bearer credential after a comma, as in "Basic x, Bearer y".
func hasBearerPart(v string) bool {
	for {
		i := strings.IndexByte(v, ',')
		if i < 0 {
			return false
		}
		v = strings.TrimLeft(v[i+1:], " \t")
		if startsWithBearer(v) {
			return true
		}
	}
}

// startsWithBearer reports the word Bearer, in any case, alone or followed by a space,
// a tab or a comma: a Bearer credential, well formed or not.
func startsWithBearer(v string) bool {
	return len(v) >= 6 && strings.EqualFold(v[:6], "bearer") &&
		(len(v) == 6 || v[6] == ' ' || v[6] == '\t' || v[6] == ',')
}

// isB64Token reports whether s is RFC 6750's b64token: 1*( ALPHA / DIGIT / "-" / "." /
// "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for i < len(s) && b64tokenChars[s[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// b64tokenChars marks the characters of a b64token before its padding: one table
// lookup per character, for the longest string a check reads whole.
var b64tokenChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~+/", byte(c)) >= 0
	}
	return t
}()
