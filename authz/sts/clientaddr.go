package sts

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// clientAddr is the address a token request came from, for the limits and the logs:
// the TCP peer's, unless the peer is a trusted proxy (sts.trusted_proxies). Then it is
// the right-most X-Forwarded-For hop that is not itself a trusted proxy: each trusted
// proxy appends the address it saw, so hops to the left of the first untrusted one may
// have been written by the client. When every hop is trusted, the left-most is the
// client; a malformed hop ends the walk at the last address known (a trusted one).
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	addr := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for rest != "" {
			var hop string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				rest, hop = rest[:j], rest[j+1:]
			} else {
				rest, hop = "", rest
			}
			a, ok := parseHop(hop)
			if !ok {
				return addr.String()
			}
			addr = a
			if !isTrusted(a, trusted) {
				return addr.String()
			}
		}
	}
	return addr.String()
}

// parseHop parses an address as X-Forwarded-For or RemoteAddr write it: an IP, with or
// without a port (IPv6 in brackets then), surrounded by optional spaces. An
// IPv4-mapped IPv6 address is its IPv4 address; a zone is dropped.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		host, _, serr := net.SplitHostPort(s)
		if serr != nil {
			return netip.Addr{}, false
		}
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.Addr{}, false
		}
	}
	return a.Unmap().WithZone(""), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(a) })
}
