package policy

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// shippedWith compiles the shipped policy plus one author's file, extra.rego.
func shippedWith(t *testing.T, extra string) *Engine {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(policiesDir, "authz.rego"))
	if err != nil {
		t.Fatal(err)
	}
	modules := map[string]string{"policies/authz.rego": string(src)}
	if extra != "" {
		modules["policies/extra.rego"] = "package tollgate.authz\n\n" + extra
	}
	e, err := Compile(context.Background(), modules, data(t))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The shipped policy alone must be memoized, keyed by the parts every key holds:
// without it the cached-token target is out of reach.
func TestAnalyzeShippedPolicy(t *testing.T) {
	m := load(t, policiesDir).Memoization()
	if !m.On || !reflect.DeepEqual(m.Reads, InputReads{Claims: []string{}}) {
		t.Fatalf("shipped policy: %+v; want memoized with no extra reads", m)
	}
	if !strings.Contains(m.Key, "input.token.scopes") || !strings.Contains(m.Key, "input.token_error") {
		t.Errorf("key description %q", m.Key)
	}
}

// Each author's file below is compiled with the shipped policy. A policy is
// memoized only when every reference to input stays in the parts a key can hold, and
// no function it calls can answer differently for the same arguments.
func TestAnalyze(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	mesh, err := os.ReadFile("../../examples/policies/mesh_identity.rego")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		extra string
		reads *InputReads // nil: not memoized
		why   string      // in the reason it is not
	}{
		// The README's sandbox example reads the method: memoized, with it in the key.
		{name: "README sandbox example", extra: readmeRego(t, string(readme), "sandbox keys are read-only"),
			reads: &InputReads{Method: true}},
		// The README's first example calls time.now_ns.
		{name: "README weekend example", extra: readmeRego(t, string(readme), "DELETE is closed on weekends"),
			why: "calls time.now_ns"},
		{name: "mesh identity example", extra: strings.Replace(string(mesh), "package tollgate.authz", "", 1),
			why: "reads input.peer"},
		{name: "a header", extra: `deny contains "no" if input.attributes.request.http.headers["x-foo"] == "bar"`,
			why: "policies/extra.rego:3 reads input.attributes.request.http.headers"},
		{name: "a header through an import", extra: "import input.attributes.request.http as req\n\ndeny contains \"no\" if req.headers.foo",
			why: "reads input.attributes.request.http.headers"},
		{name: "the method through an import", extra: "import input.attributes.request.http as req\n\ndeny contains \"no\" if req.method == \"DELETE\"",
			reads: &InputReads{Method: true}},
		{name: "the host", extra: `deny contains "no" if startswith(input.attributes.request.http.host, "admin.")`,
			reads: &InputReads{Host: true}},
		{name: "the path", extra: `deny contains "no" if input.attributes.request.http.path == "/x"`,
			why: "reads input.attributes.request.http.path"},
		{name: "http whole", extra: `deny contains "no" if count(input.attributes.request.http) > 3`,
			why: "reads input.attributes.request.http"},
		{name: "http by a variable key", extra: `deny contains "no" if { some k; input.attributes.request.http[k] == "x" }`,
			why: "reads input.attributes.request.http[_]"},
		{name: "a helper the decision never uses", extra: `unused if input.attributes.request.http.headers.cookie`,
			why: "reads input.attributes.request.http.headers"},
		{name: "headers in a comprehension", extra: `n := count([h | some h in input.attributes.request.http.headers])`,
			why: "reads input.attributes.request.http.headers"},
		{name: "headers in every", extra: `ok if every h in input.attributes.request.http.headers { h != "" }`,
			why: "reads input.attributes.request.http.headers"},
		{name: "a data lookup keyed by the path", extra: `deny contains "no" if data.blocked[input.parsed_path[0]]`,
			why: "reads input.parsed_path"},
		{name: "parsed query", extra: `deny contains "no" if input.parsed_query.debug`, why: "reads input.parsed_query"},
		{name: "the peer", extra: `deny contains "no" if not input.peer`, why: "reads input.peer"},
		{name: "the version", extra: `deny contains "no" if input.version.ext_authz != "v3"`, why: "reads input.version"},
		{name: "input whole", extra: `deny contains "no" if count(input) > 100`, why: "reads input"},
		{name: "input passed to a function", extra: "f(x) := count(x)\n\ndeny contains \"no\" if f(input) > 100", why: "reads input"},
		{name: "input by a variable key", extra: `deny contains "no" if { some k; input[k] == 1 }`, why: "reads input[_]"},
		{name: "an unknown token field", extra: `deny contains "no" if input.token.expiry`, why: "reads input.token.expiry"},
		{name: "an unknown route field", extra: `deny contains "no" if input.route.host`, why: "reads input.route.host"},
		{name: "with replacing input", extra: "x if input.token.subject\n\ndeny contains \"no\" if x with input.token.subject as \"root\"",
			why: "replaces input.token.subject"},
		{name: "time.now_ns", extra: `deny contains "late" if time.now_ns() > 0`, why: "calls time.now_ns"},
		{name: "http.send", extra: `deny contains "no" if http.send({"method": "GET", "url": "http://x"}).status_code != 200`,
			why: "calls http.send"},
		{name: "rand.intn", extra: `deny contains "no" if rand.intn("x", 10) == 0`, why: "calls rand.intn"},
		{name: "uuid.rfc4122", extra: `extra_headers["x-id"] := uuid.rfc4122("x")`, why: "calls uuid.rfc4122"},
		{name: "opa.runtime", extra: `deny contains "no" if opa.runtime().env.OFF`, why: "calls opa.runtime"},
		{name: "net.lookup_ip_addr", extra: `deny contains "no" if count(net.lookup_ip_addr("x.test")) == 0`, why: "calls net.lookup_ip_addr"},
		{name: "io.jwt.decode_verify", extra: `deny contains "no" if { [ok, _, _] := io.jwt.decode_verify("x", {"secret": "s"}); not ok }`,
			why: "calls io.jwt.decode_verify"},
		{name: "certificate verification reads the clock",
			extra: `deny contains "no" if not crypto.x509.parse_and_verify_certificates(input.token.claims.x5c)[0]`,
			why:   "calls crypto.x509.parse_and_verify_certificates"},
		{name: "deterministic built-ins and rules", extra: "f(s) := upper(s)\n\nextra_headers[\"x-sub\"] := f(input.token.subject) if regex.match(`^a`, input.route.api)",
			reads: &InputReads{}},
		{name: "a claim", extra: `extra_headers["x-user-email"] := input.token.claims.email`,
			reads: &InputReads{Claims: []string{"email"}}},
		{name: "two claims, one tested", extra: "deny contains \"no\" if not input.token.claims.tenant\n\nextra_headers[\"x-email\"] := input.token.claims[\"email\"]",
			reads: &InputReads{Claims: []string{"email", "tenant"}}},
		{name: "below a claim", extra: `deny contains "no" if input.token.claims.realm_access.roles[_] == "banned"`,
			reads: &InputReads{Claims: []string{"realm_access"}}},
		{name: "claims by a variable key", extra: `deny contains "no" if { some k; input.token.claims[k] == "x" }`,
			reads: &InputReads{AllClaims: true}},
		{name: "claims whole", extra: `deny contains "no" if count(input.token.claims) > 20`,
			reads: &InputReads{AllClaims: true}},
		{name: "token whole through a variable", extra: `deny contains "no" if { t := input.token; t.claims.x == 1 }`,
			reads: &InputReads{AllClaims: true}},
		{name: "token tested", extra: `deny contains "no" if { input.token; not input.token.claims }`,
			reads: &InputReads{}},
		{name: "route params", extra: `deny contains "no" if input.route.params.id == "0"`,
			reads: &InputReads{RouteParams: true}},
		{name: "route path", extra: `deny contains "no" if endswith(input.route.path, ".bak")`,
			reads: &InputReads{RoutePath: true}},
		{name: "route whole", extra: `extra_headers["x-route"] := json.marshal(input.route)`,
			reads: &InputReads{RoutePath: true, RouteParams: true}},
		{name: "token_error whole", extra: `extra_headers["x-e"] := json.marshal(input.token_error)`,
			reads: &InputReads{}},
		{name: "token_error reason", extra: `deny contains "no" if input.token_error.reason == "token_expired"`,
			reads: &InputReads{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := shippedWith(t, tt.extra).Memoization()
			if tt.reads == nil {
				if m.On {
					t.Fatalf("memoized (key %s); want not, because it %s", m.Key, tt.why)
				}
				if !strings.Contains(m.Reason, tt.why) || !strings.Contains(m.Reason, "extra.rego:") {
					t.Errorf("reason %q; want it to name the file and line and say %q", m.Reason, tt.why)
				}
				return
			}
			if !m.On {
				t.Fatalf("not memoized: %s", m.Reason)
			}
			want := *tt.reads
			if want.Claims == nil && !want.AllClaims {
				want.Claims = []string{}
			}
			if !reflect.DeepEqual(m.Reads, want) {
				t.Errorf("reads %+v; want %+v", m.Reads, want)
			}
		})
	}
}

// readmeRego returns the body of the README's Rego block that mentions marker,
// without its package line.
func readmeRego(t *testing.T, readme, marker string) string {
	t.Helper()
	for _, block := range strings.Split(readme, "```rego\n")[1:] {
		block = block[:strings.Index(block, "```")]
		if strings.Contains(block, marker) {
			return strings.TrimPrefix(block, "package tollgate.authz\n")
		}
	}
	t.Fatalf("no Rego block of the README mentions %q", marker)
	return ""
}

// A data change keeps the policies, and so what Analyze said, with a new, empty memo.
func TestWithDataKeepsMemoizationNewMemo(t *testing.T) {
	e := load(t, policiesDir)
	e.Memo().Put([]byte("k"), Decision{Allowed: true})
	next, err := e.WithData(context.Background(), data(t))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(next.Memoization(), e.Memoization()) {
		t.Errorf("memoization %+v; want %+v", next.Memoization(), e.Memoization())
	}
	if next.Memo() == e.Memo() || next.Memo().Len() != 0 {
		t.Errorf("WithData must start an empty memo of its own")
	}
	off := shippedWith(t, `deny contains "late" if time.now_ns() > 0`)
	if off.Memo() != nil {
		t.Errorf("an engine that is not memoizable has a memo")
	}
}
