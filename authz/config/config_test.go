package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// iss renders one issuer as a flow mapping in a block sequence.
func iss(fields string) string { return "  - {" + fields + "}\n" }

const demo = "name: demo, issuer: https://idp.test/token, jwks_uri: https://idp.test/jwks"

// doc returns a config with policies and data set, the extra top-level YAML, and the
// issuers (the demo issuer when none are given).
func doc(extra string, issuers ...string) string {
	if issuers == nil {
		issuers = []string{iss(demo)}
	}
	return "policies: policies\ndata: data.yaml\n" + extra + "issuers:\n" + strings.Join(issuers, "")
}

func mustParse(t *testing.T, raw string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(raw))
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror: %v", raw, err)
	}
	return cfg
}

func TestParseDefaults(t *testing.T) {
	cfg := mustParse(t, doc(""))
	want := Config{
		GRPC:     Listener{Address: ":9191"},
		HTTP:     Listener{Address: ":8080"},
		Policies: "policies",
		Data:     "data.yaml",
		Issuers: []Issuer{{
			Name:                      "demo",
			Issuer:                    "https://idp.test/token",
			JWKSURI:                   "https://idp.test/jwks",
			Algorithms:                []string{"RS256"},
			ClientIDClaims:            []string{"client_id", "azp"},
			ScopeClaims:               []string{"scope", "scp"},
			RefreshInterval:           time.Hour,
			FetchTimeout:              10 * time.Second,
			UnknownKIDRefreshInterval: 5 * time.Minute,
			UnknownKIDWait:            200 * time.Millisecond,
			MaxJWKSBytes:              1 << 20,
		}},
		TokenCache:      TokenCache{Size: 10000},
		Log:             Log{Level: "info", Format: "json", Decisions: "denies"},
		ShutdownTimeout: 15 * time.Second,
		Limits:          Limits{MaxTokenBytes: 16384, MaxHeaderBytes: 98304, MaxHeaders: 150},
		Reload:          Reload{Watch: true, Debounce: 250 * time.Millisecond},
		STS: STS{
			Issuer: "http://localhost:8080", Audience: "tollgate", TokenTTL: time.Hour, Algorithm: "RS256",
			KeyRotation: 720 * time.Hour, KeyPrepublish: time.Hour,
			FailedAuth: Rate{Burst: 10, Every: 6 * time.Second}, ClientRate: Rate{Burst: 300, Every: 100 * time.Millisecond},
		},
		Admin: Admin{Address: "127.0.0.1:9090"},
		Check: Listener{Address: "127.0.0.1:8181"},
	}
	if cfg.STS.On(cfg.Store) {
		t.Error("the STS is on without a store")
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("Parse(minimal) =\n%+v\nwant\n%+v", *cfg, want)
	}
}

func TestParseOverrides(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		check func(*Config) bool
	}{
		{"token cache size 0 keeps 0", "token_cache: {size: 0}\n",
			func(c *Config) bool { return c.TokenCache.Size == 0 }},
		{"token cache size set", "token_cache: {size: 5}\n",
			func(c *Config) bool { return c.TokenCache.Size == 5 }},
		{"partial log keeps other defaults", "log: {level: debug}\n",
			func(c *Config) bool { return c.Log == Log{Level: "debug", Format: "json", Decisions: "denies"} }},
		{"addresses", "grpc: {address: \"127.0.0.1:1\"}\nhttp: {address: \"[::1]:2\"}\n",
			func(c *Config) bool { return c.GRPC.Address == "127.0.0.1:1" && c.HTTP.Address == "[::1]:2" }},
		{"check listener", "check: {address: \"0.0.0.0:8282\"}\n",
			func(c *Config) bool { return c.Check.Address == "0.0.0.0:8282" && c.Check.On() }},
		{"check listener off", "check: {address: \"\"}\n",
			func(c *Config) bool { return !c.Check.On() }},
		{"debug listener off by default", "",
			func(c *Config) bool { return !c.Debug.On() }},
		{"debug listener on localhost", "debug: {address: \"localhost:6060\"}\n",
			func(c *Config) bool { return c.Debug.Address == "localhost:6060" && c.Debug.On() }},
		{"debug listener on 127.0.0.0/8", "debug: {address: \"127.0.0.2:6060\"}\n",
			func(c *Config) bool { return c.Debug.Address == "127.0.0.2:6060" }},
		{"debug listener on ::1", "debug: {address: \"[::1]:6060\"}\n",
			func(c *Config) bool { return c.Debug.Address == "[::1]:6060" }},
		{"shutdown timeout", "shutdown_timeout: 2m\n",
			func(c *Config) bool { return c.ShutdownTimeout == 2*time.Minute }},
		{"log text all", "log: {level: warn, format: text, decisions: all}\n",
			func(c *Config) bool { return c.Log == Log{Level: "warn", Format: "text", Decisions: "all"} }},
		{"limits", "limits: {max_token_bytes: 100, max_header_bytes: 200, max_headers: 3}\n",
			func(c *Config) bool {
				return c.Limits == Limits{MaxTokenBytes: 100, MaxHeaderBytes: 200, MaxHeaders: 3}
			}},
		{"reload", "reload: {watch: false, debounce: 1s}\n",
			func(c *Config) bool { return c.Reload == Reload{Watch: false, Debounce: time.Second} }},
		{"issuer defaults", "",
			func(c *Config) bool {
				is := c.Issuers[0]
				return is.RefreshInterval == time.Hour && is.FetchTimeout == 10*time.Second &&
					is.UnknownKIDRefreshInterval == 5*time.Minute && is.UnknownKIDWait == 200*time.Millisecond &&
					is.MaxJWKSBytes == 1<<20
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cfg := mustParse(t, doc(tt.extra)); !tt.check(cfg) {
				t.Errorf("unexpected config %+v", *cfg)
			}
		})
	}
}

func TestParseIssuerFields(t *testing.T) {
	cfg := mustParse(t, doc("", iss(demo+", audiences: [api://orders], algorithms: [ES256, EdDSA], client_id_claims: [cid], scope_claims: [scp]"+
		", refresh_interval: 10m, fetch_timeout: 3s, unknown_kid_refresh_interval: 1m, unknown_kid_wait: 50ms, ca_file: /etc/ca.pem, max_jwks_bytes: 4096")))
	got := cfg.Issuers[0]
	want := Issuer{
		Name: "demo", Issuer: "https://idp.test/token", JWKSURI: "https://idp.test/jwks",
		Audiences:                 []string{"api://orders"},
		Algorithms:                []string{"ES256", "EdDSA"},
		ClientIDClaims:            []string{"cid"},
		ScopeClaims:               []string{"scp"},
		RefreshInterval:           10 * time.Minute,
		FetchTimeout:              3 * time.Second,
		UnknownKIDRefreshInterval: time.Minute,
		UnknownKIDWait:            50 * time.Millisecond,
		CAFile:                    "/etc/ca.pem",
		MaxJWKSBytes:              4096,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("issuer = %+v, want %+v", got, want)
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name   string
		issuer string
	}{
		{"http on 127.0.0.1", "name: a, issuer: i, jwks_uri: http://127.0.0.1:8000/jwks"},
		{"http on localhost", "name: a, issuer: i, jwks_uri: http://localhost/jwks"},
		{"http on ::1", "name: a, issuer: i, jwks_uri: \"http://[::1]:8000/jwks\""},
		{"jwks_file", "name: a, issuer: i, jwks_file: keys/jwks.json"},
		{"ES256", "name: a, issuer: i, jwks_file: j, algorithms: [ES256]"},
		{"EdDSA", "name: a, issuer: i, jwks_file: j, algorithms: [EdDSA]"},
		{"all asymmetric", "name: a, issuer: i, jwks_file: j, algorithms: [RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA]"},
		{"name with dot, dash, underscore", "name: a.b-c_d, issuer: i, jwks_file: j"},
		{"name of 63 characters", "name: " + strings.Repeat("a", 63) + ", issuer: i, jwks_file: j"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustParse(t, doc("", iss(tt.issuer)))
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []string // substrings of the error
	}{
		// Decoding.
		{"empty document", "", []string{"empty"}},
		{"comment only", "# nothing\n", []string{"empty"}},
		{"two documents", doc("") + "---\npolicies: other\n", []string{"more than one YAML document"}},
		{"unknown top-level key", "policies: p\nlogging: {level: info}\n", []string{`unknown key "logging"`, "line 2"}},
		{"unknown nested key", "policies: p\ndata: d\nissuers:\n  - name: demo\n    issuer: https://a\n    jwks_url: https://a/jwks\n",
			[]string{`unknown key "jwks_url"`, "line 6"}},
		{"unknown key in log", doc("log:\n  level: info\n  colour: true\n"), []string{`unknown key "colour"`, "line 5"}},
		{"wrong type", doc("token_cache: {size: big}\n"), []string{"line 3"}},
		{"duration as integer", doc("shutdown_timeout: 15\n"), []string{"line 3"}},

		// Validate: top level.
		{"bad grpc address", doc("grpc: {address: \"9191\"}\n"), []string{"grpc.address", `"9191"`}},
		{"bad http address", doc("http: {address: \"localhost\"}\n"), []string{"http.address"}},
		{"empty grpc address", doc("grpc: {address: \"\"}\n"), []string{"grpc.address"}},
		{"bad check address", doc("check: {address: \"8181\"}\n"), []string{"check.address", `"8181"`}},
		{"check tls key without cert", doc("check: {tls: {key_file: k.pem}}\n"), []string{"check.tls"}},
		{"debug on every interface", doc("debug: {address: \":6060\"}\n"), []string{"debug.address", `":6060"`, "not a loopback address"}},
		{"debug on 0.0.0.0", doc("debug: {address: \"0.0.0.0:6060\"}\n"), []string{"debug.address", "not a loopback address"}},
		{"debug on ::", doc("debug: {address: \"[::]:6060\"}\n"), []string{"debug.address", "not a loopback address"}},
		{"debug on a private IP", doc("debug: {address: \"10.0.0.7:6060\"}\n"), []string{"debug.address", "not a loopback address"}},
		{"debug on a host name", doc("debug: {address: \"tollgate.internal:6060\"}\n"), []string{"debug.address", "not a loopback address"}},
		{"debug on a localhost lookalike", doc("debug: {address: \"localhost.evil.test:6060\"}\n"), []string{"debug.address", "not a loopback address"}},
		{"debug not host:port", doc("debug: {address: \"6060\"}\n"), []string{"debug.address", "not host:port"}},
		{"unknown key in debug", doc("debug: {address: \"127.0.0.1:6060\", pprof: true}\n"), []string{`unknown key "pprof"`}},
		{"missing policies", "data: d\nissuers:\n" + iss(demo), []string{"policies: is required"}},
		{"missing data", "policies: p\nissuers:\n" + iss(demo), []string{"data: set data:", "or store:"}},
		{"data and store", doc("store: {path: s.db}\n"), []string{"data: set data: or store:, not both"}},
		{"store without path", "policies: p\nstore: {}\n", []string{"store.path: is required"}},
		{"bad admin address", "policies: p\nstore: {path: s.db}\nadmin: {address: nowhere}\n", []string{"admin.address"}},
		{"tiny poll interval", "policies: p\nstore: {path: s.db, poll_interval: 10ms}\n", []string{"store.poll_interval"}},
		{"sts without store", doc("sts: {enabled: true}\n"), []string{"sts.enabled", "needs store:"}},
		{"sts bad algorithm", "policies: p\nstore: {path: s.db}\nsts: {algorithm: HS256}\n", []string{"sts.algorithm", `"HS256"`}},
		{"sts bad issuer", "policies: p\nstore: {path: s.db}\nsts: {issuer: \"https://a/?x=1\"}\n", []string{"sts.issuer", "no query"}},
		{"sts issuer not a URL", "policies: p\nstore: {path: s.db}\nsts: {issuer: sts.local}\n", []string{"sts.issuer", "https"}},
		{"sts short ttl", "policies: p\nstore: {path: s.db}\nsts: {token_ttl: 1s}\n", []string{"sts.token_ttl"}},
		{"sts short rotation", "policies: p\nstore: {path: s.db}\nsts: {key_rotation: 1m}\n", []string{"sts.key_rotation"}},
		{"sts empty audience", "policies: p\nstore: {path: s.db}\nsts: {audience: \"\"}\n", []string{"sts.audience"}},
		{"sts zero failed_auth", "policies: p\nstore: {path: s.db}\nsts: {failed_auth: {burst: 0}}\n", []string{"sts.failed_auth"}},
		{"issuer named tollgate", doc("", iss("name: tollgate, issuer: i, jwks_file: j")), []string{"issuers[0].name", "built-in STS"}},
		{"issuer is the sts issuer", "policies: p\nstore: {path: s.db}\nissuers:\n" + iss("name: a, issuer: \"http://localhost:8080\", jwks_file: j"),
			[]string{"issuers[0].issuer", "sts.issuer"}},
		{"missing issuers", "policies: p\ndata: d\n", []string{"issuers: at least one"}},
		{"empty issuers", "policies: p\ndata: d\nissuers: []\n", []string{"issuers: at least one"}},
		{"negative cache size", doc("token_cache: {size: -1}\n"), []string{"token_cache.size"}},
		{"bad log level", doc("log: {level: verbose}\n"), []string{"log", "level", `"verbose"`}},
		{"log level slog would accept", doc("log: {level: info+3}\n"), []string{"log", "level", `"info+3"`}},
		{"upper-case log level", doc("log: {level: WARN}\n"), []string{"log", "level", `"WARN"`}},
		{"bad log format", doc("log: {format: xml}\n"), []string{"log", "format", `"xml"`}},
		{"bad log decisions", doc("log: {decisions: allows}\n"), []string{"log", "decisions", `"allows"`}},
		{"zero shutdown timeout", doc("shutdown_timeout: 0s\n"), []string{"shutdown_timeout"}},
		{"negative shutdown timeout", doc("shutdown_timeout: -1s\n"), []string{"shutdown_timeout"}},
		{"all problems at once", "grpc: {address: x}\nlog: {format: xml}\n",
			[]string{"grpc.address", "policies:", "data:", "issuers:", "format"}},

		// Validate: issuers.
		{"issuer name uppercase", doc("", iss("name: Demo, issuer: i, jwks_file: j")), []string{"issuers[0].name", `"Demo"`}},
		{"issuer name empty", doc("", iss("issuer: i, jwks_file: j")), []string{"issuers[0].name"}},
		{"issuer name starts with dash", doc("", iss("name: -demo, issuer: i, jwks_file: j")), []string{"issuers[0].name"}},
		{"issuer name too long", doc("", iss("name: "+strings.Repeat("a", 64)+", issuer: i, jwks_file: j")), []string{"issuers[0].name"}},
		{"issuer name with space", doc("", iss("name: my idp, issuer: i, jwks_file: j")), []string{"issuers[0].name"}},
		{"missing issuer", doc("", iss("name: a, jwks_file: j")), []string{"issuers[0].issuer: is required"}},
		{"jwks_uri and jwks_file", doc("", iss("name: a, issuer: i, jwks_uri: https://a/jwks, jwks_file: j")), []string{"issuers[0].jwks_uri", "not both"}},
		{"neither jwks_uri nor jwks_file", doc("", iss("name: a, issuer: i")), []string{"issuers[0].jwks_uri", "one of jwks_uri or jwks_file"}},
		{"http jwks_uri on network host", doc("", iss("name: a, issuer: i, jwks_uri: http://idp.test/jwks")), []string{"issuers[0].jwks_uri", "loopback"}},
		{"http jwks_uri on private IP", doc("", iss("name: a, issuer: i, jwks_uri: http://10.0.0.1/jwks")), []string{"issuers[0].jwks_uri", "loopback"}},
		{"http jwks_uri on localhost lookalike", doc("", iss("name: a, issuer: i, jwks_uri: http://localhost.evil.test/jwks")), []string{"issuers[0].jwks_uri", "loopback"}},
		{"http jwks_uri with localhost userinfo", doc("", iss("name: a, issuer: i, jwks_uri: \"http://localhost@evil.test/jwks\"")), []string{"issuers[0].jwks_uri", "loopback"}},
		{"ftp jwks_uri", doc("", iss("name: a, issuer: i, jwks_uri: ftp://idp.test/jwks")), []string{"issuers[0].jwks_uri", "scheme must be https"}},
		{"jwks_uri without scheme", doc("", iss("name: a, issuer: i, jwks_uri: idp.test/jwks")), []string{"issuers[0].jwks_uri", "scheme"}},
		{"jwks_uri without host", doc("", iss("name: a, issuer: i, jwks_uri: \"https:///jwks\"")), []string{"issuers[0].jwks_uri", "no host"}},
		{"jwks_uri with a port but no host", doc("", iss("name: a, issuer: i, jwks_uri: \"https://:443/jwks\"")), []string{"issuers[0].jwks_uri", "no host"}},
		{"jwks_uri not a URL", doc("", iss("name: a, issuer: i, jwks_uri: \"https://a b/%zz\"")), []string{"issuers[0].jwks_uri", "not a URL"}},
		{"algorithm none", doc("", iss("name: a, issuer: i, jwks_file: j, algorithms: [none]")), []string{"issuers[0].algorithms", `"none"`}},
		{"algorithm HS256", doc("", iss("name: a, issuer: i, jwks_file: j, algorithms: [RS256, HS256]")), []string{"issuers[0].algorithms", `"HS256"`}},
		{"algorithm lowercase", doc("", iss("name: a, issuer: i, jwks_file: j, algorithms: [rs256]")), []string{"issuers[0].algorithms", `"rs256"`}},
		{"empty algorithms", doc("", iss("name: a, issuer: i, jwks_file: j, algorithms: []")), []string{"issuers[0].algorithms", "at least one"}},
		{"negative refresh_interval", doc("", iss(demo+", refresh_interval: -1m")), []string{"issuers[0].refresh_interval"}},
		{"tiny refresh_interval", doc("", iss(demo+", refresh_interval: 10ms")), []string{"issuers[0].refresh_interval", "at least 1s"}},
		{"negative fetch_timeout", doc("", iss(demo+", fetch_timeout: -1s")), []string{"issuers[0].fetch_timeout"}},
		{"negative unknown_kid_wait", doc("", iss(demo+", unknown_kid_wait: -1s")), []string{"issuers[0].unknown_kid_wait"}},
		{"negative max_jwks_bytes", doc("", iss(demo+", max_jwks_bytes: -1")), []string{"issuers[0].max_jwks_bytes"}},
		{"ca_file with jwks_file", doc("", iss("name: a, issuer: i, jwks_file: j, ca_file: ca.pem")), []string{"issuers[0].ca_file"}},
		{"zero max_headers", doc("limits: {max_headers: -2}\n"), []string{"limits.max_headers"}},
		{"negative max_token_bytes", doc("limits: {max_token_bytes: -1}\n"), []string{"limits.max_token_bytes"}},
		{"negative debounce", doc("reload: {debounce: -1s}\n"), []string{"reload.debounce"}},
		{"empty client_id_claims", doc("", iss("name: a, issuer: i, jwks_file: j, client_id_claims: []")), []string{"issuers[0].client_id_claims"}},
		{"empty scope_claims", doc("", iss("name: a, issuer: i, jwks_file: j, scope_claims: []")), []string{"issuers[0].scope_claims"}},
		{"empty audience", doc("", iss("name: a, issuer: i, jwks_file: j, audiences: [\"\"]")), []string{"issuers[0].audiences"}},
		{"duplicate issuer name", doc("", iss("name: a, issuer: i1, jwks_file: j"), iss("name: a, issuer: i2, jwks_file: j")),
			[]string{"issuers[1].name", `"a"`, "issuers[0]"}},
		{"duplicate issuer URL", doc("", iss("name: a, issuer: https://i, jwks_file: j"), iss("name: b, issuer: https://i, jwks_file: j")),
			[]string{"issuers[1].issuer", `"https://i"`, "issuers[0]"}},
		{"second issuer bad", doc("", iss(demo), iss("name: b, issuer: i2")), []string{"issuers[1].jwks_uri"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.raw))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", *cfg)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadResolvesPaths(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(t.TempDir(), "abs")
	tests := []struct {
		name                         string
		policies, data, jwks         string
		wantPolicies, wantData, want string
	}{
		{"relative", "policies", "data/data.yaml", "keys/jwks.json",
			filepath.Join(dir, "conf", "policies"), filepath.Join(dir, "conf", "data", "data.yaml"), filepath.Join(dir, "conf", "keys", "jwks.json")},
		{"parent", "../policies", "./data.yaml", "../jwks.json",
			filepath.Join(dir, "policies"), filepath.Join(dir, "conf", "data.yaml"), filepath.Join(dir, "jwks.json")},
		{"absolute", abs, abs + "/data.yaml", abs + "/jwks.json",
			abs, abs + "/data.yaml", abs + "/jwks.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "conf", tt.name+".yaml")
			writeFile(t, path, "policies: "+tt.policies+"\ndata: "+tt.data+"\nissuers:\n"+
				iss("name: a, issuer: https://a, jwks_file: "+tt.jwks)+
				iss("name: b, issuer: https://b, jwks_uri: https://b/jwks"))
			cfg, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Policies != tt.wantPolicies {
				t.Errorf("policies = %q, want %q", cfg.Policies, tt.wantPolicies)
			}
			if cfg.Data != tt.wantData {
				t.Errorf("data = %q, want %q", cfg.Data, tt.wantData)
			}
			if got := cfg.Issuers[0].JWKSFile; got != tt.want {
				t.Errorf("jwks_file = %q, want %q", got, tt.want)
			}
			if got := cfg.Issuers[1].JWKSFile; got != "" {
				t.Errorf("issuer without jwks_file got %q", got)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "policies: p\n")
	tests := []struct {
		name string
		path string
		want []string
	}{
		{"missing file", filepath.Join(dir, "nope.yaml"), []string{"read config", "nope.yaml"}},
		{"directory", dir, []string{"read config"}},
		{"invalid file names the path", bad, []string{"config " + bad, "data: set data:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadExamples(t *testing.T) {
	gitops, err := Load("../../examples/gitops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	quickstart, err := Load("../../examples/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []*Config{gitops, quickstart} {
		if len(cfg.Issuers) != 1 || cfg.Issuers[0].Name != "demo" {
			t.Errorf("%s: issuers = %+v, want one named demo", cfg.Path, cfg.Issuers)
		}
		for name, p := range map[string]string{"policies": cfg.Policies, "jwks_file": cfg.Issuers[0].JWKSFile} {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s: %s %q: %v", cfg.Path, name, p, err)
			}
		}
	}
	if _, err := os.Stat(gitops.Data); err != nil || gitops.STS.On(gitops.Store) {
		t.Errorf("gitops.yaml: data %q (%v), STS on %v; want a data file and no STS", gitops.Data, err, gitops.STS.On(gitops.Store))
	}
	if quickstart.Store == nil || !quickstart.STS.On(quickstart.Store) || quickstart.STS.Issuer != "http://127.0.0.1:8080" {
		t.Errorf("config.yaml: store %+v, sts %+v; want a store and the STS on the HTTP listener", quickstart.Store, quickstart.STS)
	}
	// Apart from where the data lives, the two are the same configuration.
	gitops.Data, gitops.Store, gitops.STS, gitops.Admin, gitops.Path = "", quickstart.Store, quickstart.STS, quickstart.Admin, quickstart.Path
	if !reflect.DeepEqual(gitops, quickstart) {
		t.Errorf("gitops.yaml and config.yaml differ beyond data/store:\n%+v\n%+v", gitops, quickstart)
	}
}

func TestSlogLevel(t *testing.T) {
	for _, lvl := range []string{"debug", "info", "warn", "error"} {
		t.Run(lvl, func(t *testing.T) {
			if got := (Log{Level: lvl}).SlogLevel().String(); !strings.EqualFold(got, lvl) {
				t.Errorf("SlogLevel(%q) = %s", lvl, got)
			}
		})
	}
}

func TestStoreMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "conf", "c.yaml")
	writeFile(t, path, "policies: p\nhttp: {address: \"0.0.0.0:9000\"}\nstore: {path: var/t.db}\n")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Store{
		Path:         filepath.Join(dir, "conf", "var", "t.db"),
		KeyFile:      filepath.Join(dir, "conf", "var", "t.db.key"),
		PollInterval: time.Second,
	}
	if *cfg.Store != want {
		t.Errorf("store = %+v, want %+v", *cfg.Store, want)
	}
	if cfg.Admin.TokenFile != want.Path+".admin-token" || cfg.Admin.Address != "127.0.0.1:9090" {
		t.Errorf("admin = %+v, want the token file beside the store", cfg.Admin)
	}
	if !cfg.STS.On(cfg.Store) {
		t.Error("the STS is off by default with a store")
	}
	if cfg.STS.Issuer != "http://localhost:9000" {
		t.Errorf("sts.issuer = %q, want the HTTP listener with localhost", cfg.STS.Issuer)
	}
	is := cfg.STSIssuer()
	if is.Name != STSName || is.Issuer != cfg.STS.Issuer || !is.RequireATJWT ||
		!reflect.DeepEqual(is.Audiences, []string{"tollgate"}) || !reflect.DeepEqual(is.ClientIDClaims, []string{"client_id"}) {
		t.Errorf("STSIssuer() = %+v", is)
	}

	off := mustParse(t, "policies: p\nstore: {path: s.db, key_file: /k}\nsts: {enabled: false}\nissuers:\n"+iss(demo))
	if off.STS.On(off.Store) {
		t.Error("sts.enabled: false left the STS on")
	}
	if off.Store.KeyFile != "/k" {
		t.Errorf("key_file = %q, want it kept", off.Store.KeyFile)
	}
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080", ":8080": "http://localhost:8080",
		"[::]:80": "http://localhost:80", "[::1]:80": "http://[::1]:80", "gw.example:443": "http://gw.example:443",
	} {
		if got := issuerFromAddress(addr, false); got != want {
			t.Errorf("issuerFromAddress(%q) = %q, want %q", addr, got, want)
		}
	}
	if got := issuerFromAddress(":8443", true); got != "https://localhost:8443" {
		t.Errorf("issuerFromAddress with TLS = %q, want https://localhost:8443", got)
	}
}
