// Package config loads and validates Tollgate's YAML configuration file.
//
// The file is strict: an unknown key is an error that names the key and its line.
// Every field has a safe default, set in code before the file is decoded, so a key the
// file leaves out keeps its default and a key it sets (even to zero) overrides it.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration of `tollgate serve`.
type Config struct {
	// GRPC is the listener of the ext_authz v3 service, gRPC health and reflection.
	GRPC Listener `yaml:"grpc"`
	// HTTP is the listener of /healthz, /readyz and the STS endpoints.
	HTTP Listener `yaml:"http"`
	// Check is the listener of the HTTP check endpoints (/ext_authz/envoy, nginx,
	// forward) for proxies that authorize over HTTP; an empty address turns it off. It
	// is apart from HTTP because those endpoints trust the proxy's headers, so only
	// the proxies may reach it.
	Check Listener `yaml:"check"`
	// Issuers are the token issuers whose access tokens Tollgate accepts.
	Issuers []Issuer `yaml:"issuers"`
	// Policies is the directory of .rego files; files ending in _test.rego are not served.
	Policies string `yaml:"policies"`
	// Data is the YAML or JSON file of APIs, applications and subscriptions (GitOps
	// mode); exclusive with Store.
	Data string `yaml:"data"`
	// Store is the durable store; when set, the data comes from it.
	Store *Store `yaml:"store"`
	// STS configures the built-in token service, which needs Store.
	STS STS `yaml:"sts"`
	// Admin configures the admin API, which runs with Store.
	Admin Admin `yaml:"admin"`
	// TokenCache bounds the cache of verified tokens.
	TokenCache TokenCache `yaml:"token_cache"`
	// Log selects the log level, format and which decisions are logged.
	Log Log `yaml:"log"`
	// ShutdownTimeout bounds how long in-flight checks may drain on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Limits caps what a request may bring into a check.
	Limits Limits `yaml:"limits"`
	// Reload configures live reload of the policies, the data and this file.
	Reload Reload `yaml:"reload"`
	// Debug is the listener of the full readiness details and Go's profiles; off
	// unless its address is set.
	Debug Debug `yaml:"debug"`
	// Path is the file the configuration was loaded from; empty when parsed from
	// memory. A reload reads it again.
	Path string `yaml:"-"`
}

// Limits caps the size of what a check takes in; a request over a cap is denied with
// 400 invalid_request before any policy runs, whatever its route.
type Limits struct {
	// MaxTokenBytes caps the bearer token's length.
	MaxTokenBytes int `yaml:"max_token_bytes"`
	// MaxHeaderBytes caps the request's header block: the sum of names and values.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxHeaders caps the number of request headers.
	MaxHeaders int `yaml:"max_headers"`
	// AllowEncodedSlashes lets a request path hold an encoded slash (%2F), for APIs
	// whose IDs need one. It is refused by default: nginx and many backends decode it
	// into a separator, so the path they route is not the one Tollgate judged. Turn it
	// on only when every proxy forwards the path unchanged and no backend decodes %2F
	// before routing.
	AllowEncodedSlashes bool `yaml:"allow_encoded_slashes"`
}

// Reload configures live reload. SIGHUP always reloads.
type Reload struct {
	// Watch reloads when this file, the data file or a policy file changes.
	Watch bool `yaml:"watch"`
	// Debounce is how long to wait for more changes before reloading, so one edit
	// (or one Kubernetes ConfigMap update) reloads once.
	Debounce time.Duration `yaml:"debounce"`
}

// Debug configures the debug listener: the full readiness details (what is loaded
// from where, each issuer's key source and last error, the last reload's error) and
// Go's pprof profiles. It has no authentication, so it listens on loopback only, for
// an operator on the host (or kubectl port-forward); the public /readyz says only
// ready or not.
type Debug struct {
	// Address is host:port on loopback: localhost, an address of 127.0.0.0/8, or
	// [::1]. Empty, the default, turns the listener off.
	Address string `yaml:"address"`
}

// On reports whether the debug listener runs.
func (d Debug) On() bool { return d.Address != "" }

// validate accepts an address whose host stays on this machine (see IsLoopback): an
// empty host would listen on every interface, and a name other than localhost could
// resolve to one.
func (d Debug) validate() error {
	host, _, err := net.SplitHostPort(d.Address)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", d.Address, err)
	}
	if !IsLoopback(host) {
		return fmt.Errorf("%q is not a loopback address; use localhost, 127.0.0.1 (or another address of 127.0.0.0/8) or [::1], since the listener has no authentication", d.Address)
	}
	return nil
}

// Listener is a network address to listen on, and how clients are authenticated there.
type Listener struct {
	// Address is host:port.
	Address string `yaml:"address"`
	// TLS serves the listener over TLS, or mTLS; off unless cert_file is set.
	TLS TLS `yaml:"tls"`
}

// On reports whether the listener runs: only the check listener may be turned off,
// with an empty address.
func (l Listener) On() bool { return l.Address != "" }

// TokenCache configures the cache of verified tokens, keyed by the token's SHA-256.
type TokenCache struct {
	// Size is the most tokens kept; 0 turns the cache off.
	Size int `yaml:"size"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is json or text.
	Format string `yaml:"format"`
	// Decisions is which decisions are logged: all, denies or none.
	Decisions string `yaml:"decisions"`
}

// Default returns the configuration used for every key a file leaves out.
func Default() Config {
	return Config{
		GRPC:            Listener{Address: ":9191"},
		HTTP:            Listener{Address: ":8080"},
		Check:           Listener{Address: "127.0.0.1:8181"},
		TokenCache:      TokenCache{Size: 10000},
		Log:             Log{Level: "info", Format: "json", Decisions: "denies"},
		ShutdownTimeout: 15 * time.Second,
		// Above Envoy's defaults (60 KiB of headers, 100 headers), so a request Envoy
		// accepts is judged by the policy, while a hostile one is refused cheaply.
		Limits: Limits{MaxTokenBytes: 16 << 10, MaxHeaderBytes: 96 << 10, MaxHeaders: 150},
		Reload: Reload{Watch: true, Debounce: 250 * time.Millisecond},
		STS:    defaultSTS(),
		Admin:  Admin{Address: "127.0.0.1:9090"},
	}
}

// Load reads, decodes and validates the configuration file at path. Relative paths in
// the file (policies, data, store, jwks_file, ca_file, the tls files) are resolved
// against the file's directory. It does not read the TLS files: see CheckTLSFiles.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.resolvePaths(filepath.Dir(path))
	cfg.Path = path
	return cfg, nil
}

// Parse decodes and validates a configuration document. Relative paths stay relative.
func Parse(raw []byte) (*Config, error) {
	cfg := Default()
	if err := DecodeStrict(raw, &cfg); err != nil {
		return nil, err
	}
	for i := range cfg.Issuers {
		cfg.Issuers[i].ApplyDefaults()
	}
	cfg.applyStoreDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// DecodeStrict decodes one YAML (or JSON) document into out, refusing unknown keys and
// trailing documents. Its errors name the line, and the key where one is unknown.
func DecodeStrict(raw []byte, out any) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the document is empty")
		}
		return friendlyYAMLError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document; expected one")
	}
	return nil
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// friendlyYAMLError turns yaml.v3's Go-flavoured messages into ones about keys.
func friendlyYAMLError(err error) error {
	msg := unknownField.ReplaceAllString(err.Error(), `unknown key "$1"`)
	return errors.New(msg)
}

func (c *Config) resolvePaths(dir string) {
	c.Policies = resolve(dir, c.Policies)
	c.Data = resolve(dir, c.Data)
	if c.Store != nil {
		c.Store.Path = resolve(dir, c.Store.Path)
		c.Store.KeyFile = resolve(dir, c.Store.KeyFile)
	}
	c.Admin.TokenFile = resolve(dir, c.Admin.TokenFile)
	for _, t := range []*TLS{&c.GRPC.TLS, &c.HTTP.TLS, &c.Check.TLS, &c.Admin.TLS} {
		t.CertFile = resolve(dir, t.CertFile)
		t.KeyFile = resolve(dir, t.KeyFile)
		t.ClientCAFile = resolve(dir, t.ClientCAFile)
	}
	for i := range c.Issuers {
		c.Issuers[i].JWKSFile = resolve(dir, c.Issuers[i].JWKSFile)
		c.Issuers[i].CAFile = resolve(dir, c.Issuers[i].CAFile)
	}
}

func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
