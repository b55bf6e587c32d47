package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// stsDoc is a store-mode config with the given sts: block body (flow mapping).
func stsDoc(sts string) string {
	return "policies: p\nstore: {path: s.db}\nsts: {" + sts + "}\n"
}

func TestParseSTSLimitsAndKeys(t *testing.T) {
	cfg := mustParse(t, stsDoc(`key_rotation: 48h, key_prepublish: 2h, client_rate: {burst: 5, every: 1s},
	  failed_auth: {burst: 3, every: 1m}, trusted_proxies: ["10.0.0.0/8", "192.0.2.7/32", "fd00::/8"]`))
	s := cfg.STS
	if s.KeyRotation != 48*time.Hour || s.KeyPrepublish != 2*time.Hour ||
		s.ClientRate != (Rate{Burst: 5, Every: time.Second}) || s.FailedAuth != (Rate{Burst: 3, Every: time.Minute}) {
		t.Errorf("sts = %+v", s)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("fd00::/8")}
	if got := s.TrustedProxyPrefixes(); !reflect.DeepEqual(got, want) {
		t.Errorf("TrustedProxyPrefixes() = %v, want %v", got, want)
	}
	if got := mustParse(t, stsDoc("")).STS.TrustedProxyPrefixes(); got != nil {
		t.Errorf("default trusted proxies %v, want none", got)
	}
	// key_prepublish may equal key_rotation: the next key is published as the active
	// one starts to sign.
	mustParse(t, stsDoc("key_rotation: 2h, key_prepublish: 2h"))
}

func TestParseSTSErrors(t *testing.T) {
	tests := []struct {
		name string
		sts  string
		want []string
	}{
		{"zero key_prepublish", "key_prepublish: 0s", []string{"sts.key_prepublish", "more than 0"}},
		{"negative key_prepublish", "key_prepublish: -1h", []string{"sts.key_prepublish"}},
		{"key_prepublish over key_rotation", "key_rotation: 2h, key_prepublish: 3h", []string{"sts.key_prepublish", "at most key_rotation (2h0m0s)"}},
		{"zero client_rate burst", "client_rate: {burst: 0, every: 1s}", []string{"sts.client_rate", "burst must be at least 1"}},
		{"zero client_rate every", "client_rate: {burst: 10, every: 0s}", []string{"sts.client_rate", "every positive"}},
		{"negative failed_auth every", "failed_auth: {burst: 10, every: -1s}", []string{"sts.failed_auth"}},
		{"unknown client_rate key", "client_rate: {per: 1s}", []string{`unknown key "per"`}},
		{"address, not a CIDR", `trusted_proxies: ["10.0.0.1"]`, []string{"sts.trusted_proxies[0]", "write 10.0.0.1/32"}},
		{"IPv6 address, not a CIDR", `trusted_proxies: ["10.0.0.0/8", "fd00::1"]`, []string{"sts.trusted_proxies[1]", "write fd00::1/128"}},
		{"not a CIDR", `trusted_proxies: ["sidecar"]`, []string{"sts.trusted_proxies[0]", `"sidecar" is not a CIDR`}},
		{"empty entry", `trusted_proxies: [""]`, []string{"sts.trusted_proxies[0]", "not a CIDR"}},
		{"bad prefix length", `trusted_proxies: ["10.0.0.0/33"]`, []string{"sts.trusted_proxies[0]"}},
		{"every IPv4 peer", `trusted_proxies: ["0.0.0.0/0"]`, []string{"sts.trusted_proxies[0]", "trusts every peer"}},
		{"every IPv6 peer", `trusted_proxies: ["::/0"]`, []string{"sts.trusted_proxies[0]", "trusts every peer"}},
		{"host bits set", `trusted_proxies: ["10.1.2.3/8"]`, []string{"sts.trusted_proxies[0]", "write 10.0.0.0/8"}},
		{"zone", `trusted_proxies: ["fe80::1%eth0/64"]`, []string{"sts.trusted_proxies[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(stsDoc(tt.sts)))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", cfg.STS)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
