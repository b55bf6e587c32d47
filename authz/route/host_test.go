package route

import (
	"errors"
	"strings"
	"testing"
)

func TestHost(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"", "", false},
		{"api.example.com", "api.example.com", false},
		{"API.Example.COM", "api.example.com", false},
		{"api.example.com:8443", "api.example.com", false},
		{"api.example.com.", "api.example.com", false},
		{"API.example.com.:443", "api.example.com", false},
		{"api.example.com:", "api.example.com", false},
		{"localhost", "localhost", false},
		{"svc_name.ns.svc", "svc_name.ns.svc", false},
		{"10.0.0.1", "10.0.0.1", false},
		{"10.0.0.1:80", "10.0.0.1", false},
		{"[::1]", "[::1]", false},
		{"[::1]:8080", "[::1]", false},
		{"[0:0:0:0:0:0:0:1]:443", "[::1]", false},
		{"[2001:DB8::A]", "[2001:db8::a]", false},
		{strings.Repeat("a", 63) + ".test", strings.Repeat("a", 63) + ".test", false},

		{"api.example.com..", "", true},
		{".api.example.com", "", true},
		{"api..example.com", "", true},
		{".", "", true},
		{"api.example.com:99999", "", true},
		{"api.example.com:80:80", "", true},
		{"api.example.com:http", "", true},
		{"user@api.example.com", "", true},
		{"api example.com", "", true},
		{"api.example.com/x", "", true},
		{"api.exa%6Dple.com", "", true},
		{"*.example.com", "", true},
		{"api.example.com\x00", "", true},
		{"[::1", "", true},
		{"[::1]x", "", true},
		{"[::1]:", "[::1]", false},
		{"[10.0.0.1]", "", true},
		{"[fe80::1%25eth0]", "", true},
		{"[::ffff:10.0.0.1]", "[::ffff:10.0.0.1]", false},
		{"::1", "", true},
		{strings.Repeat("a", 64) + ".test", "", true},
		{strings.Repeat("a.", 127) + "ab", "", true},
	}
	for _, tt := range tests {
		got, err := Host(tt.in)
		if tt.bad {
			if !errors.Is(err, ErrInvalidHost) || got != "" {
				t.Errorf("Host(%q) = %q, %v; want ErrInvalidHost", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Host(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestHostNoAllocWhenCanonical(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Host("api.example.com:8443"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Host allocates %v times; want 0", allocs)
	}
}
