package main

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate/tollgate/authz"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/httpcheck"
)

// Traefik is not packaged for Debian, so examples/traefik.yaml is checked by reading
// it; nginx.conf and the Caddyfile run in TestProxiesEndToEnd.

// traefikDynamic is the part of Traefik's dynamic configuration (file provider) the
// sample uses. Decoding is strict, so a misspelt key fails rather than being ignored,
// as Traefik would ignore it.
type traefikDynamic struct {
	HTTP struct {
		Routers map[string]struct {
			EntryPoints []string `yaml:"entryPoints"`
			Rule        string   `yaml:"rule"`
			Middlewares []string `yaml:"middlewares"`
			Service     string   `yaml:"service"`
		} `yaml:"routers"`
		Middlewares map[string]struct {
			ForwardAuth *traefikForwardAuth `yaml:"forwardAuth"`
		} `yaml:"middlewares"`
		Services map[string]struct {
			LoadBalancer struct {
				Servers []struct {
					URL string `yaml:"url"`
				} `yaml:"servers"`
			} `yaml:"loadBalancer"`
		} `yaml:"services"`
	} `yaml:"http"`
}

type traefikForwardAuth struct {
	Address                  string   `yaml:"address"`
	TrustForwardHeader       *bool    `yaml:"trustForwardHeader"`
	AuthResponseHeaders      []string `yaml:"authResponseHeaders"`
	AuthResponseHeadersRegex string   `yaml:"authResponseHeadersRegex"`
}

func decodeTraefik(raw []byte) (traefikDynamic, error) {
	var c traefikDynamic
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	return c, err
}

// tollgateHeaders are the headers the proxies must pass from Tollgate's allow to the
// upstream, in Go's canonical form (which Traefik matches its regex against).
func tollgateHeaders() []string {
	var names []string
	for _, h := range append(authz.IdentityHeaders(), authz.DecisionIDHeader) {
		names = append(names, http.CanonicalHeaderKey(h))
	}
	return names
}

func TestTraefikSample(t *testing.T) {
	raw := []byte(readSample(t, "traefik.yaml"))
	c, err := decodeTraefik(raw)
	if err != nil {
		t.Fatalf("examples/traefik.yaml: %v", err)
	}
	// The sample's check address is the default of check.address, and the one of
	// the example configurations.
	checkAddr := config.Default().Check.Address
	for _, path := range []string{"../../examples/gitops.yaml", "../../examples/config.yaml"} {
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Check.Address != checkAddr {
			t.Fatalf("%s: check.address %q, the default is %q: which should the Traefik sample use?", path, cfg.Check.Address, checkAddr)
		}
	}

	tollgate := map[string]bool{} // middlewares that ask Tollgate
	for name, m := range c.HTTP.Middlewares {
		fa := m.ForwardAuth
		if fa == nil {
			continue
		}
		tollgate[name] = true
		u, err := url.Parse(fa.Address)
		if err != nil || u.Scheme != "http" || u.Host != checkAddr || u.Path != httpcheck.ForwardPath || u.RawQuery != "" {
			t.Errorf("middleware %s: address %q, want http://%s%s (check.address and the forward endpoint)",
				name, fa.Address, checkAddr, httpcheck.ForwardPath)
		}
		// true would let a client choose the method, path and host Tollgate checks.
		if fa.TrustForwardHeader == nil || *fa.TrustForwardHeader {
			t.Errorf("middleware %s: trustForwardHeader must be set, to false", name)
		}
		for _, h := range tollgateHeaders() {
			if !slices.ContainsFunc(fa.AuthResponseHeaders, func(s string) bool { return strings.EqualFold(s, h) }) {
				t.Errorf("middleware %s: authResponseHeaders lacks %s", name, h)
			}
		}
		// Traefik deletes the request's headers that the regex matches (Go's regexp,
		// against canonical names), and only those it copies from the allow: all
		// of a client's X-Tollgate-* must match, and nothing else.
		re, err := regexp.Compile(fa.AuthResponseHeadersRegex)
		if err != nil || fa.AuthResponseHeadersRegex == "" {
			t.Errorf("middleware %s: authResponseHeadersRegex %q: %v", name, fa.AuthResponseHeadersRegex, err)
			continue
		}
		for _, h := range append(tollgateHeaders(), "X-Tollgate-Admin", http.CanonicalHeaderKey("x_tollgate_api")) {
			if !re.MatchString(h) {
				t.Errorf("middleware %s: authResponseHeadersRegex does not match %s", name, h)
			}
		}
		for _, h := range []string{"Authorization", "X-Forwarded-Uri", "X-Tollgateway", "Accept-X-Tollgate-Api"} {
			if re.MatchString(h) {
				t.Errorf("middleware %s: authResponseHeadersRegex matches %s", name, h)
			}
		}
	}
	if len(tollgate) == 0 {
		t.Fatal("no forwardAuth middleware")
	}
	if len(c.HTTP.Routers) == 0 {
		t.Fatal("no router")
	}
	for name, r := range c.HTTP.Routers {
		if !slices.ContainsFunc(r.Middlewares, func(m string) bool { return tollgate[m] }) {
			t.Errorf("router %s does not use the Tollgate middleware: its requests are never checked", name)
		}
		if s, ok := c.HTTP.Services[r.Service]; !ok || len(s.LoadBalancer.Servers) == 0 {
			t.Errorf("router %s: service %q is not defined with a server", name, r.Service)
		}
		if r.Rule == "" || len(r.EntryPoints) == 0 {
			t.Errorf("router %s: rule and entryPoints are needed", name)
		}
	}

	// The decoding is strict: a misspelt key is an error, not a field left unset.
	misspelt := bytes.Replace(raw, []byte("trustForwardHeader:"), []byte("trustForwardHeaders:"), 1)
	if _, err := decodeTraefik(misspelt); err == nil {
		t.Error("a misspelt key decodes without error")
	}
}

// Each header Tollgate sets for the upstream is passed on by every sample: a new
// identity header must be added to them all.
func TestProxySamplesPassEveryIdentityHeader(t *testing.T) {
	nginx, caddy := readSample(t, "nginx.conf"), readSample(t, "Caddyfile")
	copyHeaders := regexp.MustCompile(`(?m)^\s*copy_headers (.+)$`).FindStringSubmatch(caddy)
	if copyHeaders == nil {
		t.Fatal("examples/Caddyfile has no copy_headers")
	}
	for _, h := range tollgateHeaders() {
		v := "$tollgate_" + strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(h, "X-Tollgate-")), "-", "_")
		for _, want := range []string{
			`auth_request_set\s+` + regexp.QuoteMeta(v) + `\s+\$upstream_http_` + strings.ReplaceAll(strings.ToLower(h), "-", "_") + `;`,
			`proxy_set_header\s+` + h + `\s+` + regexp.QuoteMeta(v) + `;`,
		} {
			if !regexp.MustCompile(want).MatchString(nginx) {
				t.Errorf("examples/nginx.conf: no line matching %s", want)
			}
		}
		if !slices.Contains(strings.Fields(copyHeaders[1]), h) {
			t.Errorf("examples/Caddyfile: copy_headers lacks %s", h)
		}
		// Caddy 2.6 sends a missing one as its placeholder's text: each is removed.
		cleanup := regexp.MustCompile(`@(\w+) expression ` + "`" + regexp.QuoteMeta("{http.reverse_proxy.header."+h+"} == null") + "`" +
			`\n\s*request_header @(\w+) -` + h + `\n`)
		if m := cleanup.FindStringSubmatch(caddy); m == nil || m[1] != m[2] {
			t.Errorf("examples/Caddyfile: %s is not removed when Tollgate did not return it", h)
		}
	}
}
