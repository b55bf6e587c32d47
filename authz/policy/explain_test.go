package policy

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

func TestEvalRef(t *testing.T) {
	e := load(t, policiesDir)
	ctx := context.Background()
	v, ok, err := e.EvalRef(ctx, "data.tollgate.authz.binding", ast.MustParseTerm(allowInput).Value)
	want := map[string]any{"application": "shop-web", "environment": "production"}
	if err != nil || !ok || !reflect.DeepEqual(v, want) {
		t.Errorf("binding = %v, %v, %v; want %v", v, ok, err, want)
	}
	stranger := `{` + getOrder + `, "token": {"issuer": "demo", "client_id": "stranger", "scopes": []}}`
	if v, ok, err := e.EvalRef(ctx, "data.tollgate.authz.binding", ast.MustParseTerm(stranger).Value); err != nil || ok {
		t.Errorf("binding of an unbound client = %v, %v, %v; want undefined", v, ok, err)
	}
	if _, _, err := e.EvalRef(ctx, "data.tollgate.[", ast.NewObject()); err == nil {
		t.Error("EvalRef of a bad ref succeeded")
	}
	failing := load(t, writePolicies(t, map[string]string{"authz.rego": validPolicy + "\nn := to_number(input.n)\n"}))
	if _, _, err := failing.EvalRef(ctx, "data.tollgate.authz.n", ast.MustParseTerm(`{"n": "x"}`).Value); err == nil {
		t.Error("EvalRef hid a builtin error")
	}
}

// EvalRef shares the engine's compiler and store with Eval, concurrently.
func TestEvalRefConcurrent(t *testing.T) {
	e := load(t, policiesDir)
	in := ast.MustParseTerm(allowInput).Value
	done := make(chan error)
	for i := range 8 {
		go func() {
			for range 10 {
				var err error
				if i%2 == 0 {
					_, _, err = e.EvalRef(context.Background(), "data.tollgate.authz.binding", in)
				} else {
					_, err = e.Eval(context.Background(), in)
				}
				if err != nil {
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

// decided returns the rules of rs that decided, as head and expression.
func decided(rs []Rule) [][2]string {
	var out [][2]string
	for _, r := range rs {
		if r.Decided {
			out = append(out, [2]string{r.Head, r.Expr})
		}
	}
	return out
}

func TestTraceRulesShippedPolicy(t *testing.T) {
	e := load(t, policiesDir)
	src, err := os.ReadFile(filepath.Join(policiesDir, "authz.rego"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	tests := []struct {
		name  string
		input string
		want  [][2]string
	}{
		{"allow", allowInput, [][2]string{{"decision", ":= allowed"}}},
		{"no route", `{` + orderToken + `}`, [][2]string{{"failure", "not input.route"}}},
		{"missing token", `{` + getOrder + `}`, [][2]string{{"token_failure", "not input.token"}}},
		{"unknown application", `{` + getOrder + `, "token": {"issuer": "demo", "client_id": "stranger", "scopes": []}}`,
			[][2]string{{"access_failure", "not binding"}}},
		{"insufficient scope", `{` + getOrder + `, "token": {"issuer": "demo", "client_id": "web-prod", "scopes": []}}`,
			[][2]string{{"access_failure", "count(missing_scopes) > 0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Trace
			in := ast.MustParseTerm(tt.input).Value
			d, err := e.Eval(context.Background(), in, tr.Option())
			if err != nil {
				t.Fatal(err)
			}
			if tr.Input().Compare(in) != 0 {
				t.Errorf("Input() = %v; want %v", tr.Input(), in)
			}
			rules := tr.Rules(d)
			if got := decided(rules); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decided by %v; want %v", got, tt.want)
			}
			if last := rules[len(rules)-1]; last.Head != "decision" {
				t.Errorf("last rule to hold is %+v; want the decision", last)
			}
			seen := map[int]bool{}
			for _, r := range rules {
				if r.File != filepath.Join(policiesDir, "authz.rego") || r.Line < 1 || r.Line > len(lines) {
					t.Fatalf("rule %+v is not in authz.rego", r)
				}
				if seen[r.Line] {
					t.Errorf("rule at line %d listed twice", r.Line)
				}
				seen[r.Line] = true
				// A rule's line starts its head, or the else of its branch.
				if l := lines[r.Line-1]; !strings.Contains(l, strings.SplitN(r.Head, "[", 2)[0]) && !strings.Contains(l, "else") {
					t.Errorf("rule %+v: line %d is %q", r, r.Line, l)
				}
			}
		})
	}
}

func TestTraceRulesDenyRules(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join(policiesDir, "authz.rego"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writePolicies(t, map[string]string{
		"authz.rego": string(shipped),
		"extra.rego": `package tollgate.authz

deny contains "orders are closed" if input.route.api == "orders"

deny contains msg if {
	input.token.subject == "alice"
	msg := sprintf("no orders for %s", [input.token.subject])
}

deny contains "never" if input.never
`,
	})
	e := load(t, dir)
	var tr Trace
	d, err := e.Eval(context.Background(), ast.MustParseTerm(allowInput).Value, tr.Option())
	if err != nil {
		t.Fatal(err)
	}
	if d.Reason != "access_denied" {
		t.Fatalf("decision %+v; want access_denied", d)
	}
	// Both deny rules that held decided; rule_failure, which held after them, only
	// carried their messages on.
	want := [][2]string{
		{"deny", `input.route.api == "orders"`},
		{"deny", `input.token.subject == "alice"`},
	}
	got := decided(tr.Rules(d))
	slices.SortFunc(got, func(a, b [2]string) int { return strings.Compare(a[1], b[1]) })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decided by %v; want %v", got, want)
	}
}

func TestTraceRulesPlainPolicy(t *testing.T) {
	e := load(t, writePolicies(t, map[string]string{"authz.rego": `package tollgate.authz

decision.allowed := false if input.closed

else := true
`}))
	for _, in := range []string{`{"closed": true}`, `{}`} {
		var tr Trace
		d, err := e.Eval(context.Background(), ast.MustParseTerm(in).Value, tr.Option())
		if err != nil {
			t.Fatal(err)
		}
		rules := tr.Rules(d)
		if len(rules) != 1 || !rules[0].Decided || rules[0].Head != "decision.allowed" {
			t.Errorf("input %s: rules %+v; want the decision branch that held, decided", in, rules)
		}
	}
}

func TestTraceUnused(t *testing.T) {
	var tr Trace
	if tr.Input() != nil || len(tr.Rules(Decision{})) != 0 {
		t.Error("a trace of nothing explains something")
	}
}

func TestDescribe(t *testing.T) {
	e := load(t, writePolicies(t, map[string]string{"authz.rego": `package tollgate.authz

decision := true if {
	input.a == 1
	input.b == 2
}
`}))
	var tr Trace
	if _, err := e.Eval(context.Background(), ast.MustParseTerm(`{"a": 1, "b": 2}`).Value, tr.Option()); err != nil {
		t.Fatal(err)
	}
	rules := tr.Rules(Decision{Allowed: true})
	if len(rules) != 1 || rules[0].Head != "decision" || rules[0].Expr != "input.a == 1" || rules[0].Line != 3 {
		t.Errorf("rules %+v; want decision at line 3, first expression input.a == 1", rules)
	}
	for _, tt := range []struct{ head, name, rest string }{
		{"headers[k] := v", "headers[k]", ":= v"},
		{"deny contains msg", "deny", "contains msg"},
		{"p = 1", "p", "= 1"},
		{"public", "public", ""},
		{"else := allowed", "else", ":= allowed"},
	} {
		if name, rest := splitHead(tt.head); name != tt.name || rest != tt.rest {
			t.Errorf("splitHead(%q) = %q, %q; want %q, %q", tt.head, name, rest, tt.name, tt.rest)
		}
	}
	long := ":= {\n\t\"a\": \"" + strings.Repeat("x", 100) + "\"\n}"
	if s := shorten(oneLine(long)); len([]rune(s)) != maxExpr || !strings.HasPrefix(s, `:= { "a": "xx`) || !strings.HasSuffix(s, "…") {
		t.Errorf("shorten(oneLine(%q)) = %q", long, s)
	}
}
