package policy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

const policiesDir = "../../policies"

// testData is the data document (data.tollgate) the shipped policy is evaluated with.
const testData = `{
  "apis": {
    "orders": {"name": "orders", "context": "/orders", "hosts": [], "resources": {
      "GET /orders/{id}": {"method": "GET", "path": "/orders/{id}", "scopes": ["urn:acme:orders:read"], "auth": "required"},
      "GET /orders/docs/*": {"method": "GET", "path": "/orders/docs/*", "scopes": [], "auth": "none"}
    }}
  },
  "applications": {"shop-web": {"name": "shop-web", "client_ids": [
    {"issuer": "demo", "client_id": "web-prod", "environment": "production"}
  ]}},
  "client_ids": {"demo": {"web-prod": {"application": "shop-web", "environment": "production"}}},
  "subscriptions": {"shop-web": {"orders": {"status": "active"}}}
}`

func data(t testing.TB) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(testData), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func load(t testing.TB, dir string) *Engine {
	t.Helper()
	e, err := Load(context.Background(), dir, data(t))
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	return e
}

// writePolicies writes name -> source files into a new temporary directory.
func writePolicies(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	getOrder   = `"route": {"api": "orders", "resource": "GET /orders/{id}", "path": "/orders/42", "params": {"id": "42"}}`
	orderToken = `"token": {"issuer": "demo", "client_id": "web-prod", "subject": "alice", "scopes": ["urn:acme:orders:read"], "claims": {}}`
	allowInput = `{` + getOrder + `, ` + orderToken + `}`
)

func TestEvalShippedPolicy(t *testing.T) {
	e := load(t, policiesDir)
	if want := []string{filepath.Join(policiesDir, "authz.rego")}; !reflect.DeepEqual(e.Files(), want) {
		t.Errorf("Files() = %v, want %v", e.Files(), want)
	}
	tests := []struct {
		name  string
		input string
		want  Decision
	}{
		{"allow", allowInput, Decision{
			Allowed: true,
			Reason:  "allowed",
			Headers: map[string]string{
				"x-tollgate-api":         "orders",
				"x-tollgate-issuer":      "demo",
				"x-tollgate-application": "shop-web",
				"x-tollgate-client-id":   "web-prod",
				"x-tollgate-subject":     "alice",
				"x-tollgate-scopes":      "urn:acme:orders:read",
			},
		}},
		{"public allow", `{"route": {"api": "orders", "resource": "GET /orders/docs/*", "path": "/orders/docs/a", "params": {}}}`, Decision{
			Allowed: true,
			Reason:  "allowed",
			Headers: map[string]string{"x-tollgate-api": "orders"},
		}},
		{"no route", `{` + orderToken + `}`, Decision{
			HTTPStatus:  404,
			Reason:      "no_matching_resource",
			Description: "no API resource matches the request's host, method and path",
			Headers:     map[string]string{},
		}},
		{"missing token", `{` + getOrder + `}`, Decision{
			HTTPStatus:  401,
			Reason:      "missing_token",
			Description: "this resource requires a bearer access token",
			Headers:     map[string]string{"www-authenticate": `Bearer realm="tollgate"`},
		}},
		{"insufficient scope", `{` + getOrder + `, "token": {"issuer": "demo", "client_id": "web-prod", "scopes": []}}`, Decision{
			HTTPStatus:  403,
			Reason:      "insufficient_scope",
			Description: "the token lacks scope urn:acme:orders:read",
			Headers:     map[string]string{"www-authenticate": `Bearer error="insufficient_scope", scope="urn:acme:orders:read"`},
		}},
		{"unknown application", `{` + getOrder + `, "token": {"issuer": "demo", "client_id": "stranger", "scopes": []}}`, Decision{
			HTTPStatus:  403,
			Reason:      "unknown_application",
			Description: `client ID "stranger" of issuer "demo" is not bound to any application`,
			Headers:     map[string]string{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Eval(context.Background(), ast.MustParseTerm(tt.input).Value)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Eval =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestEvalInterfaceInput(t *testing.T) {
	e := load(t, policiesDir)
	var in map[string]any
	if err := json.Unmarshal([]byte(allowInput), &in); err != nil {
		t.Fatal(err)
	}
	v, err := ast.InterfaceToValue(in)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Eval(context.Background(), v)
	if err != nil || !d.Allowed {
		t.Fatalf("Eval = %+v, %v; want allowed", d, err)
	}
}

func TestEvalConcurrent(t *testing.T) {
	e := load(t, policiesDir)
	in := ast.MustParseTerm(allowInput).Value
	done := make(chan error)
	for range 8 {
		go func() {
			for range 20 {
				if d, err := e.Eval(context.Background(), in); err != nil || !d.Allowed {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

const validPolicy = "package tollgate.authz\n\ndecision := true\n"

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // nil: the directory does not exist
		want  []string
	}{
		{"directory missing", nil, []string{"read policies"}},
		{"no rego files", map[string]string{"README.md": "# policies\n", "data.json": "{}"}, []string{"no .rego files"}},
		{"only test files", map[string]string{"authz_test.rego": validPolicy}, []string{"no .rego files"}},
		{"only hidden files", map[string]string{".authz.rego": validPolicy}, []string{"no .rego files"}},
		{"parse error", map[string]string{"bad.rego": "package tollgate.authz\n\ndecision := ]\n\nx := 1\n"},
			[]string{"parse policy", "bad.rego:3"}},
		{"rego v0 syntax", map[string]string{"old.rego": "package tollgate.authz\n\ndecision { true }\n"},
			[]string{"parse policy", "old.rego:3"}},
		{"undefined function", map[string]string{"authz.rego": "package tollgate.authz\n\ndecision := nope(1)\n"},
			[]string{"compile policies", "authz.rego:3", "undefined function nope"}},
		{"unsafe variable", map[string]string{"authz.rego": "package tollgate.authz\n\ndecision if x == 1\n"},
			[]string{"compile policies", "authz.rego:3", "var x is unsafe"}},
		{"compile error in a second file", map[string]string{
			"authz.rego": validPolicy,
			"extra.rego": "package tollgate.authz\n\nextra := undefined_thing.field\n",
		}, []string{"compile policies", "extra.rego:3"}},
		{"no decision rule", map[string]string{"authz.rego": "package tollgate.authz\n\nallow := true\n"},
			[]string{"no rule defines data.tollgate.authz.decision"}},
		{"decision in another package", map[string]string{"authz.rego": "package tollgate.other\n\ndecision := true\n"},
			[]string{"no rule defines data.tollgate.authz.decision"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "missing")
			if tt.files != nil {
				dir = writePolicies(t, tt.files)
			}
			e, err := Load(context.Background(), dir, data(t))
			if err == nil {
				t.Fatalf("Load succeeded with files %v", e.Files())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadSkipsFiles(t *testing.T) {
	dir := writePolicies(t, map[string]string{
		"authz.rego":       validPolicy,
		"authz_test.rego":  "package tollgate.authz_test\n\nthis is not rego {\n",
		".hidden.rego":     "not rego either {\n",
		".#authz.rego":     "editor lock file {\n",
		"notes.txt":        "not rego {\n",
		"authz.rego.orig":  "not rego {\n",
		"zz_extra.rego":    "package tollgate.authz\n\nextra := 1\n",
		"other_tests.rego": "package tollgate.more\n\nx := 1\n",
	})
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "broken.rego"), []byte("broken {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := load(t, dir)
	want := []string{filepath.Join(dir, "authz.rego"), filepath.Join(dir, "other_tests.rego"), filepath.Join(dir, "zz_extra.rego")}
	if !reflect.DeepEqual(e.Files(), want) {
		t.Errorf("Files() = %v, want %v", e.Files(), want)
	}
	if d, err := e.Eval(context.Background(), ast.NewObject()); err != nil || !d.Allowed {
		t.Errorf("Eval = %+v, %v; want allowed", d, err)
	}
}

func TestLoadAcceptsEveryFormOfTheDecisionRule(t *testing.T) {
	for name, src := range map[string]string{
		"ref head":          "package tollgate.authz\n\ndecision.allowed := true\n",
		"parent package":    "package tollgate\n\nauthz.decision := true\n",
		"partial object":    "package tollgate.authz\n\ndecision[\"allowed\"] := true\n",
		"else chain":        "package tollgate.authz\n\ndecision := false if input.x\nelse := true\n",
		"default and rules": "package tollgate.authz\n\ndefault decision := false\n\ndecision := true if input.x\n",
	} {
		t.Run(name, func(t *testing.T) {
			load(t, writePolicies(t, map[string]string{"authz.rego": src}))
		})
	}
}

func TestLoadSkipsDirectoriesNamedRego(t *testing.T) {
	dir := writePolicies(t, map[string]string{"authz.rego": validPolicy})
	if err := os.Mkdir(filepath.Join(dir, "lib.rego"), 0o755); err != nil {
		t.Fatal(err)
	}
	load(t, dir)
}

func TestLoadDataIsMounted(t *testing.T) {
	dir := writePolicies(t, map[string]string{"authz.rego": `package tollgate.authz

decision := {"allowed": true, "reason": data.tollgate.apis.orders.name}
`})
	d, err := load(t, dir).Eval(context.Background(), ast.NewObject())
	if err != nil {
		t.Fatal(err)
	}
	if d.Reason != "orders" {
		t.Errorf("reason = %q, want orders (from data.tollgate)", d.Reason)
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		input  string
		want   string
	}{
		{"undefined decision", "decision := true if input.x == 1\n", `{"x": 2}`, "undefined"},
		{"undefined without input", "decision := true if input.x == 1\n", `{}`, "undefined"},
		{"string decision", `decision := "yes"` + "\n", `{}`, "decision is string"},
		{"number decision", "decision := 1\n", `{}`, "decision is json.Number"},
		{"array decision", "decision := [true]\n", `{}`, "decision is []interface {}"},
		{"set decision", "decision := {true}\n", `{}`, "decision is []interface {}"},
		{"null decision", "decision := null\n", `{}`, "decision is <nil>"},
		{"object without allowed", `decision := {"reason": "x"}` + "\n", `{}`, "decision.allowed"},
		{"allowed as string", `decision := {"allowed": "true"}` + "\n", `{}`, "decision.allowed is string"},
		{"status out of range", `decision := {"allowed": false, "http_status": 99}` + "\n", `{}`, "decision.http_status 99"},
		{"status as float", `decision := {"allowed": false, "http_status": 403.5}` + "\n", `{}`, "decision.http_status"},
		{"conflicting decisions", "decision := true if input.a\ndecision := false if input.b\n", `{"a": true, "b": true}`, "conflict"},
		// A failing builtin in a deny condition must fail the evaluation, not leave the
		// condition undefined and fall through to the allow.
		{"builtin error in deny condition",
			"decision := {\"allowed\": false} if to_number(input.n) > 10\n\nelse := true\n", `{"n": "x"}`, "to_number"},
		{"builtin error in decision value",
			`decision := {"allowed": true, "reason": sprintf("%d", [to_number("x")])}` + "\n", `{}`, "to_number"},
		{"builtin error in helper rule",
			"deny if startswith(input.path, input.prefix)\n\ndecision := false if deny\n\nelse := true\n", `{"path": "/a", "prefix": 1}`, "startswith"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writePolicies(t, map[string]string{"authz.rego": "package tollgate.authz\n\n" + tt.policy})
			e := load(t, dir)
			d, err := e.Eval(context.Background(), ast.MustParseTerm(tt.input).Value)
			if err == nil {
				t.Fatalf("Eval = %+v, want an error", d)
			}
			if d.Allowed {
				t.Errorf("Eval returned an allow with its error: %+v", d)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestEvalCanceled(t *testing.T) {
	e := load(t, policiesDir)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d, err := e.Eval(ctx, ast.MustParseTerm(allowInput).Value); err == nil {
		t.Errorf("Eval with a canceled context = %+v, want an error", d)
	}
}

func BenchmarkEval(b *testing.B) {
	e := load(b, policiesDir)
	in := ast.MustParseTerm(allowInput).Value
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, err := e.Eval(ctx, in)
		if err != nil || !d.Allowed {
			b.Fatalf("Eval = %+v, %v", d, err)
		}
	}
}
