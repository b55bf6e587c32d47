package main

import (
	"strings"
	"testing"
)

// h2loadOutput is what h2load 1.52 prints for 20 checks answered by the floor.
const h2loadOutput = `finished in 36.76ms, 544.11 req/s, 31.56KB/s
requests: 20 total, 20 started, 20 done, 20 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 20 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 1.16KB (1188) total, 52B (52) headers (space savings 93.16%), 180B (180) data
                     min         max         mean         sd        +/- sd
time for request:       46us     34.58ms      3.58ms     10.60ms    90.00%
`

func TestParseH2load(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(string) string
		wantErr string
	}{
		{"ok", func(s string) string { return s }, ""},
		{"failed", func(s string) string {
			return strings.Replace(s, "20 succeeded, 0 failed", "18 succeeded, 2 failed", 1)
		}, "2 of 20 responses failed"},
		{"gRPC errors carry no message", func(s string) string {
			return strings.Replace(s, "180B (180) data", "0B (0) data", 1)
		}, "gRPC errors?"},
		{"not h2load's output", func(string) string { return "connect: refused\n" }, "unexpected format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r h2result
			err := r.parse([]byte(tc.edit(h2loadOutput)))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.done != 20 || r.rps != 544.11 || r.dataBytes != 180 {
				t.Errorf("got %+v", r)
			}
		})
	}
}
