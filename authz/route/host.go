package route

import (
	"errors"
	"net/netip"
	"strings"
)

// ErrInvalidHost is returned for an :authority that is not a host name or an IP
// address with an optional port.
var ErrInvalidHost = errors.New("invalid request host: it is not a host name or an IP address, with an optional port")

// maxHostLen is the longest DNS name (RFC 1035 section 2.3.4), without a trailing dot.
const maxHostLen = 253

// Host returns the host of an :authority (or Host header) in the one form APIs are
// bound in: lower case, the port removed, one trailing dot removed ("API.example.com.:443"
// is "api.example.com"), an IPv6 literal in brackets in its canonical text
// ("[0:0::1]" is "[::1]"). An empty authority gives "", which matches only APIs bound to
// no host. Anything else, user info, a zone, a bad port, a character a host name cannot
// hold, is ErrInvalidHost. A host already in that form costs no allocation.
func Host(authority string) (string, error) {
	if authority == "" {
		return "", nil
	}
	if authority[0] == '[' {
		return ipv6Host(authority)
	}
	host, port, hasPort := strings.Cut(authority, ":")
	if hasPort && !validPort(port) {
		return "", ErrInvalidHost
	}
	host = strings.TrimSuffix(host, ".")
	if !validHostName(host) {
		return "", ErrInvalidHost
	}
	for i := 0; i < len(host); i++ {
		if 'A' <= host[i] && host[i] <= 'Z' {
			return strings.ToLower(host), nil
		}
	}
	return host, nil
}

// ipv6Host canonicalises "[v6]" or "[v6]:port".
func ipv6Host(authority string) (string, error) {
	end := strings.IndexByte(authority, ']')
	if end < 0 {
		return "", ErrInvalidHost
	}
	if rest := authority[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:])) {
		return "", ErrInvalidHost
	}
	addr, err := netip.ParseAddr(authority[1:end])
	if err != nil || !addr.Is6() || addr.Zone() != "" {
		return "", ErrInvalidHost
	}
	return "[" + addr.String() + "]", nil
}

// validPort accepts RFC 3986's port: digits, possibly none, up to 65535.
func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// validHostName accepts a DNS name (letters, digits, hyphens and, as service names
// use them, underscores, in labels of 1 to 63) or a dotted IPv4 address.
func validHostName(h string) bool {
	if h == "" || len(h) > maxHostLen {
		return false
	}
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
		if label++; label > 63 {
			return false
		}
	}
	return label > 0
}
