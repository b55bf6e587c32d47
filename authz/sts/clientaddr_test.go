package sts

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/config"
)

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		peer    string
		xff     []string // X-Forwarded-For header fields, in order
		trusted []netip.Prefix
		want    string
	}{
		{"no trusted proxies: the header is ignored", "192.0.2.1:4000", []string{"203.0.113.9"}, nil, "192.0.2.1"},
		{"untrusted peer: its header is ignored", "192.0.2.1:4000", []string{"203.0.113.9"}, proxies, "192.0.2.1"},
		{"untrusted peer spoofing a trusted hop", "192.0.2.1:4000", []string{"10.0.0.7"}, proxies, "192.0.2.1"},
		{"trusted peer without the header", "10.0.0.2:4000", nil, proxies, "10.0.0.2"},
		{"trusted peer: the hop it appended", "10.0.0.2:4000", []string{"203.0.113.9"}, proxies, "203.0.113.9"},
		{"the client's own entries are left of the appended hop", "10.0.0.2:4000", []string{"198.51.100.1, 10.9.9.9, 203.0.113.9"}, proxies, "203.0.113.9"},
		{"right-most untrusted hop behind two proxies", "10.0.0.2:4000", []string{"198.51.100.1, 203.0.113.9, 10.0.0.3"}, proxies, "203.0.113.9"},
		{"several header fields, in order", "10.0.0.2:4000", []string{"198.51.100.1", "203.0.113.9", "10.0.0.3"}, proxies, "203.0.113.9"},
		{"all hops trusted: the left-most", "10.0.0.2:4000", []string{"10.0.0.5, 10.0.0.3"}, proxies, "10.0.0.5"},
		{"spaces around hops", "10.0.0.2:4000", []string{" 198.51.100.1 ,  203.0.113.9 "}, proxies, "203.0.113.9"},
		{"hop with a port", "10.0.0.2:4000", []string{"203.0.113.9:5555"}, proxies, "203.0.113.9"},
		{"IPv6 hop", "10.0.0.2:4000", []string{"2001:db8::1"}, proxies, "2001:db8::1"},
		{"IPv6 hop with a port", "10.0.0.2:4000", []string{"[2001:db8::1]:443"}, proxies, "2001:db8::1"},
		{"IPv6 trusted peer", "[fd00::2]:4000", []string{"203.0.113.9"}, proxies, "203.0.113.9"},
		{"IPv4-mapped trusted peer", "[::ffff:10.0.0.2]:4000", []string{"203.0.113.9"}, proxies, "203.0.113.9"},
		{"IPv4-mapped hop", "10.0.0.2:4000", []string{"::ffff:203.0.113.9"}, proxies, "203.0.113.9"},
		{"hop with a zone", "10.0.0.2:4000", []string{"fe80::1%eth0"}, proxies, "fe80::1"},
		{"malformed hop: the peer", "10.0.0.2:4000", []string{"unknown"}, proxies, "10.0.0.2"},
		{"malformed right-most hop: the peer, not what is left of it", "10.0.0.2:4000", []string{"203.0.113.9, garbage"}, proxies, "10.0.0.2"},
		{"malformed hop past a trusted one: that one", "10.0.0.2:4000", []string{"garbage, 10.0.0.3"}, proxies, "10.0.0.3"},
		{"empty hop", "10.0.0.2:4000", []string{"203.0.113.9,"}, proxies, "10.0.0.2"},
		{"empty header field", "10.0.0.2:4000", []string{""}, proxies, "10.0.0.2"},
		{"hostname hop", "10.0.0.2:4000", []string{"client.example.com"}, proxies, "10.0.0.2"},
		{"peer that is not an address", "@", []string{"203.0.113.9"}, proxies, "@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/oauth2/token", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientAddr(r, tt.trusted); got != tt.want {
				t.Errorf("clientAddr = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTrustedProxiesOverHTTP sends failures through a real listener on loopback. With
// loopback trusted, the address is X-Forwarded-For's: each forwarded client has its
// own failures, and the log names it. Untrusted, the header changes nothing.
func TestTrustedProxiesOverHTTP(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		f := newFixture(t, func(c *config.STS) {
			c.FailedAuth = config.Rate{Burst: 1, Every: time.Hour}
			if trusted {
				c.TrustedProxies = []string{"127.0.0.0/8", "::1/128"}
			}
		})
		codes := []int{}
		for _, client := range []string{"198.51.100.1", "198.51.100.2"} {
			res := f.post(t, grant(), "Authorization", basic(NewClientID(), "tgs_guess"), "X-Forwarded-For", "192.0.2.66, "+client)
			codes = append(codes, res.StatusCode)
		}
		logs := f.logs.String()
		switch {
		case trusted && (codes[0] != 401 || codes[1] != 401 || !strings.Contains(logs, `"address":"198.51.100.2"`)):
			t.Errorf("trusted loopback: %v, want each forwarded client's first failure 401, and its address logged:\n%s", codes, logs)
		case !trusted && (codes[0] != 401 || codes[1] != 429 || strings.Contains(logs, "198.51.100")):
			t.Errorf("untrusted loopback: %v, want one address (the peer's) that fails once, and no forwarded address logged:\n%s", codes, logs)
		}
	}
}
