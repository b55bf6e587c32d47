package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// STSName is the issuer name of the built-in STS: its tokens, and the client IDs of
// its credentials in the data, carry it. A configured issuer may not use it.
const STSName = "tollgate"

// Store is the durable store: an embedded SQLite file. When set it is the data source
// (instead of data:), and it is always where the STS keeps its signing keys and
// credentials.
type Store struct {
	// Path is the SQLite file; it and its -wal and -shm files are created 0600.
	Path string `yaml:"path"`
	// KeyFile holds the key that encrypts the signing keys and keys the client-secret
	// HMACs, created 0600 on first start; TOLLGATE_STORE_KEY overrides it. Default:
	// the store's path with ".key" appended.
	KeyFile string `yaml:"key_file"`
	// PollInterval is how often the store is asked whether it changed, by this
	// process or another one such as `tollgate import`.
	PollInterval time.Duration `yaml:"poll_interval"`
}

// STS configures the built-in OAuth2 token service.
type STS struct {
	// Enabled turns the STS on or off; left out, it is on when store: is set. It
	// needs store:.
	Enabled *bool `yaml:"enabled"`
	// Issuer is the iss of its tokens and the base of its endpoint URLs. Default:
	// http:// (https:// with http.tls) and http.address, with "localhost" for an
	// unspecified host; set it to the URL clients reach Tollgate at.
	Issuer string `yaml:"issuer"`
	// Audience is the aud of its tokens, which the decision path requires.
	Audience string `yaml:"audience"`
	// TokenTTL is the lifetime of an access token.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// Algorithm signs new keys: RS256, ES256 or EdDSA.
	Algorithm string `yaml:"algorithm"`
	// KeyRotation is how long a signing key signs before a new one replaces it.
	KeyRotation time.Duration `yaml:"key_rotation"`
	// KeyPrepublish is how long a new signing key is in the JWKS before it signs, so
	// that a verifier that caches the JWKS (Envoy's jwt_authn remote_jwks, an OIDC
	// library) has it before the first token it signs: more than 0, at most
	// KeyRotation; give it more than the longest JWKS cache of your verifiers.
	// `tollgate keys rotate --now` skips it, for emergencies.
	KeyPrepublish time.Duration `yaml:"key_prepublish"`
	// FailedAuth limits failed client authentications at the token endpoint, per
	// source address and per client ID. Only failures count, and a correct secret is
	// never refused because of them: the secret is checked first.
	FailedAuth Rate `yaml:"failed_auth"`
	// ClientRate limits token requests with the right secret per client ID, so that
	// one client cannot spend the STS's CPU on signatures.
	ClientRate Rate `yaml:"client_rate"`
	// TrustedProxies are the CIDRs of the proxies in front of the STS that append
	// the address they saw to X-Forwarded-For. Only when the TCP peer is in one of
	// them is the client's address, for the limits and the logs, taken from that
	// header: the right-most hop that is not itself a trusted proxy. Empty (the
	// default), the TCP peer's address is the client's.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Rate is a token bucket per key: Burst at once, then one more per Every. Past it the
// token endpoint answers 429 with Retry-After.
type Rate struct {
	Burst int           `yaml:"burst"`
	Every time.Duration `yaml:"every"`
}

// Admin configures the admin API (/admin/v1), which manages the store. It runs when
// store: is set.
type Admin struct {
	// Address is its listener, host:port; keep it off the network the API's clients
	// reach.
	Address string `yaml:"address"`
	// TokenFile holds the bearer token the API requires, created 0600 with a new random
	// token on first start; TOLLGATE_ADMIN_TOKEN overrides it. Default: the store's
	// path with ".admin-token" appended.
	TokenFile string `yaml:"token_file"`
	// TLS serves the API over TLS, or mTLS; off unless cert_file is set. The bearer
	// token is required either way.
	TLS TLS `yaml:"tls"`
}

// STS defaults.
const (
	DefaultPollInterval = time.Second
	DefaultAudience     = "tollgate"
	DefaultTokenTTL     = time.Hour
	DefaultAlgorithm    = "RS256"
	DefaultKeyRotation  = 30 * 24 * time.Hour
	// DefaultKeyPrepublish outlasts the JWKS caches of common verifiers: Envoy's
	// remote_jwks keeps it 5 minutes by default, OIDC libraries up to an hour.
	DefaultKeyPrepublish = time.Hour
)

// DefaultFailedAuth lets a source address or a client ID fail 10 times at once, then
// once every 6 seconds: a misconfigured client learns quickly, a guesser (of 256-bit
// secrets) gets nowhere.
var DefaultFailedAuth = Rate{Burst: 10, Every: 6 * time.Second}

// DefaultClientRate lets one client ID take 300 tokens at once (300 replicas of one
// application starting together) and then 10 a second (36,000 an hour: a token a
// minute for each of 600 replicas, where a well-behaved one takes one per token
// lifetime). At about 1 ms per RS256 signature, one client can so use at most about 1%
// of a core once its burst is spent.
var DefaultClientRate = Rate{Burst: 300, Every: 100 * time.Millisecond}

// STSAlgorithms are the algorithms the STS signs with: RS256 (RSA 2048) for the widest
// support, ES256 (P-256) and EdDSA (Ed25519) for smaller tokens and faster signing.
var STSAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// On reports whether the STS runs.
func (s STS) On(store *Store) bool {
	if s.Enabled != nil {
		return *s.Enabled
	}
	return store != nil
}

func defaultSTS() STS {
	return STS{
		Audience: DefaultAudience, TokenTTL: DefaultTokenTTL, Algorithm: DefaultAlgorithm,
		KeyRotation: DefaultKeyRotation, KeyPrepublish: DefaultKeyPrepublish,
		FailedAuth: DefaultFailedAuth, ClientRate: DefaultClientRate,
	}
}

// applyStoreDefaults sets the store and STS defaults that depend on other keys.
func (c *Config) applyStoreDefaults() {
	if c.Store != nil {
		setDefault(&c.Store.PollInterval, DefaultPollInterval)
		if c.Store.KeyFile == "" && c.Store.Path != "" {
			c.Store.KeyFile = c.Store.Path + ".key"
		}
		if c.Admin.TokenFile == "" && c.Store.Path != "" {
			c.Admin.TokenFile = c.Store.Path + ".admin-token"
		}
	}
	if c.STS.Issuer == "" {
		c.STS.Issuer = issuerFromAddress(c.HTTP.Address, c.HTTP.TLS.On())
	}
}

// issuerFromAddress is the default STS issuer: the HTTP listener as a URL, https when
// it serves TLS.
func issuerFromAddress(addr string, tls bool) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port)
}

// STSIssuer is how the decision path trusts the built-in STS: its issuer and
// audience, RFC 9068 access tokens only, with the claims it writes.
func (c *Config) STSIssuer() Issuer {
	is := Issuer{
		Name: STSName, Issuer: c.STS.Issuer, Audiences: []string{c.STS.Audience},
		Algorithms: slices.Clone(STSAlgorithms), ClientIDClaims: []string{"client_id"},
		ScopeClaims: []string{"scope"}, RequireATJWT: true,
	}
	is.ApplyDefaults()
	return is
}

func (c *Config) validateStore() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch {
	case c.Data == "" && c.Store == nil:
		bad("data", "set data: (a YAML or JSON data file) or store: (a durable store)")
	case c.Data != "" && c.Store != nil:
		bad("data", "set data: or store:, not both; `tollgate import` copies a data file into the store")
	case c.Store != nil && c.Store.Path == "":
		bad("store.path", "is required (the SQLite file)")
	}
	if c.Store != nil && c.Store.PollInterval < 100*time.Millisecond {
		bad("store.poll_interval", "must be at least 100ms")
	}
	if c.Store != nil {
		if err := checkAddress(c.Admin.Address); err != nil {
			bad("admin.address", "%v", err)
		}
	}
	if !c.STS.On(c.Store) {
		return errs
	}
	if c.Store == nil {
		bad("sts.enabled", "the STS needs store: for its signing keys and credentials")
	}
	return append(errs, c.STS.validate()...)
}

func (s STS) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("sts.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if err := checkIssuerURL(s.Issuer); err != nil {
		bad("issuer", "%v", err)
	}
	if s.Audience == "" {
		bad("audience", "must not be empty")
	}
	if s.TokenTTL < time.Minute || s.TokenTTL > 24*time.Hour {
		bad("token_ttl", "must be from 1m to 24h")
	}
	if !slices.Contains(STSAlgorithms, s.Algorithm) {
		bad("algorithm", "%q: use one of %s", s.Algorithm, strings.Join(STSAlgorithms, ", "))
	}
	if s.KeyRotation < time.Hour {
		bad("key_rotation", "must be at least 1h")
	}
	if s.KeyPrepublish <= 0 || s.KeyPrepublish > s.KeyRotation {
		bad("key_prepublish", "must be more than 0 and at most key_rotation (%s)", s.KeyRotation)
	}
	for _, r := range []struct {
		field string
		rate  Rate
	}{{"failed_auth", s.FailedAuth}, {"client_rate", s.ClientRate}} {
		if r.rate.Burst < 1 || r.rate.Every <= 0 {
			bad(r.field, "burst must be at least 1 and every positive")
		}
	}
	for i, cidr := range s.TrustedProxies {
		if _, err := parseProxyCIDR(cidr); err != nil {
			bad(fmt.Sprintf("trusted_proxies[%d]", i), "%v", err)
		}
	}
	return errs
}

// TrustedProxyPrefixes returns the prefixes of TrustedProxies. An entry that does not
// parse (Validate refuses it) is left out: a proxy is trusted only if named rightly.
func (s STS) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, cidr := range s.TrustedProxies {
		if p, err := parseProxyCIDR(cidr); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parseProxyCIDR parses one trusted_proxies entry: a CIDR without host bits, that
// does not cover every address (trusting every peer would let any client choose the
// address it is limited and logged as).
func parseProxyCIDR(cidr string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	switch {
	case err != nil:
		if a, aerr := netip.ParseAddr(cidr); aerr == nil {
			return p, fmt.Errorf("%q is an address, not a CIDR: write %s", cidr, netip.PrefixFrom(a, a.BitLen()))
		}
		return p, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", cidr)
	case p.Bits() == 0:
		return p, fmt.Errorf("%q trusts every peer: any client could choose the address it is limited as", cidr)
	case p != p.Masked():
		return p, fmt.Errorf("%q has host bits set: write %s", cidr, p.Masked())
	}
	return p.Masked(), nil
}

// checkIssuerURL accepts an RFC 8414 issuer: an https URL, or http for local use,
// with no query or fragment.
func checkIssuerURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return errors.New("is required")
	case err != nil:
		return err
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		return fmt.Errorf("%q must be an https (or http) URL", s)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%q must have no query, fragment or user info (RFC 8414 section 2)", s)
	}
	return nil
}
