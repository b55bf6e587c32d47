package sts

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewSecretAndClientID(t *testing.T) {
	tests := []struct {
		name   string
		new    func() string
		prefix string
		length int // characters
		bytes  int // of randomness
	}{
		{"secret", NewSecret, "tgs_", 4 + 43, 32},
		{"client ID", NewClientID, "", 24, 18},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			for range 1000 {
				v := tt.new()
				if len(v) != tt.length || !strings.HasPrefix(v, tt.prefix) {
					t.Fatalf("%q: want %d characters starting %q", v, tt.length, tt.prefix)
				}
				raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(v, tt.prefix))
				if err != nil || len(raw) != tt.bytes {
					t.Fatalf("%q: want base64url of %d bytes, got %d (%v)", v, tt.bytes, len(raw), err)
				}
				if seen[v] {
					t.Fatalf("%q drawn twice", v)
				}
				seen[v] = true
			}
		})
	}
}
