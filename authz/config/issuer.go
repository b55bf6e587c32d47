package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"time"
)

// Issuer is one trusted token issuer: an external OIDC provider such as Asgardeo, or
// any authorization server that publishes its signing keys as a JWKS.
type Issuer struct {
	// Name identifies the issuer in data bindings, the x-tollgate-issuer header and logs.
	Name string `yaml:"name"`
	// Issuer must equal the token's iss claim exactly.
	Issuer string `yaml:"issuer"`
	// JWKSURI is where the issuer publishes its keys (https, or http on loopback only).
	JWKSURI string `yaml:"jwks_uri"`
	// JWKSFile is a local JWKS file, for offline or pinned keys; exclusive with JWKSURI.
	JWKSFile string `yaml:"jwks_file"`
	// Audiences, when set, requires the token's aud to contain one of them.
	Audiences []string `yaml:"audiences"`
	// Algorithms is the allowlist of signing algorithms; none and HS* are never accepted.
	Algorithms []string `yaml:"algorithms"`
	// ClientIDClaims are the claims tried in order for the client ID.
	ClientIDClaims []string `yaml:"client_id_claims"`
	// ScopeClaims are the claims tried in order for the scopes; the first present wins.
	ScopeClaims []string `yaml:"scope_claims"`
	// RefreshInterval is how often the JWKS is fetched again after a success.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// FetchTimeout bounds one JWKS fetch.
	FetchTimeout time.Duration `yaml:"fetch_timeout"`
	// UnknownKIDRefreshInterval is the least time between two refreshes that a token
	// with an unknown kid triggers; the first one is at once.
	UnknownKIDRefreshInterval time.Duration `yaml:"unknown_kid_refresh_interval"`
	// UnknownKIDWait is the longest a check waits for that refresh (less when the
	// check's own deadline is sooner); the refresh itself goes on in the background.
	UnknownKIDWait time.Duration `yaml:"unknown_kid_wait"`
	// CAFile is a PEM bundle of CAs trusted for the JWKS endpoint, besides the system's.
	CAFile string `yaml:"ca_file"`
	// MaxJWKSBytes caps the size of a JWKS response; a larger one is refused.
	MaxJWKSBytes int64 `yaml:"max_jwks_bytes"`
	// RequireATJWT accepts only RFC 9068 access tokens: header typ "at+jwt". Off, a
	// typ of "JWT" or none is accepted too (many IdPs send no at+jwt).
	RequireATJWT bool `yaml:"require_at_jwt"`
}

// Issuer defaults for the JWKS lifecycle.
const (
	DefaultRefreshInterval           = time.Hour
	DefaultFetchTimeout              = 10 * time.Second
	DefaultUnknownKIDRefreshInterval = 5 * time.Minute
	DefaultUnknownKIDWait            = 200 * time.Millisecond
	DefaultMaxJWKSBytes              = 1 << 20
)

// Algorithms Tollgate verifies: asymmetric only, so a leaked JWKS can never sign.
var asymmetric = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

var issuerName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ApplyDefaults sets every field left out (nil or zero) to its default.
func (is *Issuer) ApplyDefaults() {
	if is.Algorithms == nil {
		is.Algorithms = []string{"RS256"}
	}
	if is.ClientIDClaims == nil {
		is.ClientIDClaims = []string{"client_id", "azp"}
	}
	if is.ScopeClaims == nil {
		is.ScopeClaims = []string{"scope", "scp"}
	}
	setDefault(&is.RefreshInterval, DefaultRefreshInterval)
	setDefault(&is.FetchTimeout, DefaultFetchTimeout)
	setDefault(&is.UnknownKIDRefreshInterval, DefaultUnknownKIDRefreshInterval)
	setDefault(&is.UnknownKIDWait, DefaultUnknownKIDWait)
	setDefault(&is.MaxJWKSBytes, DefaultMaxJWKSBytes)
}

// setDefault sets a field the file left out (zero); a negative value stays, for
// validate to refuse.
func setDefault[T time.Duration | int64 | int](field *T, def T) {
	if *field == 0 {
		*field = def
	}
}

func (is *Issuer) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !issuerName.MatchString(is.Name) {
		bad("name", "%q must be 1-63 lowercase letters, digits, '.', '_' or '-'", is.Name)
	}
	if is.Issuer == "" {
		bad("issuer", "is required; it must equal the iss claim of the issuer's tokens")
	}
	switch {
	case is.JWKSURI == "" && is.JWKSFile == "":
		bad("jwks_uri", "one of jwks_uri or jwks_file is required")
	case is.JWKSURI != "" && is.JWKSFile != "":
		bad("jwks_uri", "set jwks_uri or jwks_file, not both")
	case is.JWKSURI != "":
		if err := checkJWKSURI(is.JWKSURI); err != nil {
			bad("jwks_uri", "%v", err)
		}
	}
	if len(is.Algorithms) == 0 {
		bad("algorithms", "must list at least one algorithm")
	}
	for _, a := range is.Algorithms {
		if !slices.Contains(asymmetric, a) {
			bad("algorithms", "%q is not allowed; use one of %v", a, asymmetric)
		}
	}
	if len(is.ClientIDClaims) == 0 {
		bad("client_id_claims", "must list at least one claim")
	}
	if len(is.ScopeClaims) == 0 {
		bad("scope_claims", "must list at least one claim")
	}
	if is.JWKSFile != "" && is.CAFile != "" {
		bad("ca_file", "applies to jwks_uri only")
	}
	positive := map[string]time.Duration{
		"refresh_interval":             is.RefreshInterval,
		"fetch_timeout":                is.FetchTimeout,
		"unknown_kid_refresh_interval": is.UnknownKIDRefreshInterval,
		"unknown_kid_wait":             is.UnknownKIDWait,
	}
	for _, field := range slices.Sorted(maps.Keys(positive)) {
		if positive[field] < 0 {
			bad(field, "must be positive, e.g. 1m")
		}
	}
	if is.RefreshInterval > 0 && is.RefreshInterval < time.Second {
		bad("refresh_interval", "must be at least 1s, so an issuer is not fetched in a loop")
	}
	if is.MaxJWKSBytes < 0 {
		bad("max_jwks_bytes", "must be positive")
	}
	for _, a := range is.Audiences {
		if a == "" {
			bad("audiences", "an audience must not be empty")
		}
	}
	return errs
}

// checkJWKSURI accepts https anywhere and plain http only on loopback, where nothing
// on the network can swap the keys.
func checkJWKSURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return fmt.Errorf("%q: http is allowed only on loopback; use https", raw)
		}
	default:
		return fmt.Errorf("%q: scheme must be https", raw)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	return nil
}

// IsLoopback reports a host name or IP that stays on this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
