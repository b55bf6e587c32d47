package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// EvalRef evaluates ref, a rule or document such as data.tollgate.authz.binding, for
// one input document, with the policies and data the decision is evaluated with. It
// reports false when ref is undefined for that input.
func (e *Engine) EvalRef(ctx context.Context, ref string, input ast.Value) (any, bool, error) {
	r, err := ast.ParseRef(ref)
	if err != nil {
		return nil, false, fmt.Errorf("evaluate %s: %w", ref, err)
	}
	rs, err := rego.New(
		rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.NewTerm(r)))),
		rego.Compiler(e.compiler),
		rego.Store(e.store),
		rego.ParsedInput(input),
		rego.StrictBuiltinErrors(true),
	).Eval(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("evaluate %s: %w", ref, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, false, nil
	}
	return rs[0].Expressions[0].Value, true, nil
}

// Trace records one evaluation of the decision, so it can be explained. Pass
// Option() to Eval; a Trace records one evaluation only.
type Trace struct {
	events topdown.BufferTracer
}

// Option returns the evaluation option that records into t.
func (t *Trace) Option() rego.EvalOption { return rego.EvalQueryTracer(&t.events) }

// Input returns the input document the traced evaluation decided with, or nil when
// nothing was evaluated.
func (t *Trace) Input() ast.Value {
	for _, ev := range t.events {
		if in := ev.Input(); in != nil {
			return in.Value
		}
	}
	return nil
}

// Rule is a rule that held while a decision was evaluated.
type Rule struct {
	// File and Line are where the rule starts: its head, or the else of a branch.
	File string
	Line int
	// Head is the rule's name as written, with the key of a partial rule:
	// access_failure, deny_headers["www-authenticate"]. An else branch is named by
	// its rule.
	Head string
	// Expr is the first expression of the rule's body as written, on one line and
	// shortened; for a rule written without a body, its value (":= allowed").
	Expr string
	// Decided marks the rules that decided; see Rules.
	Decided bool
}

// maxExpr is how many characters of an expression Rule.Expr keeps.
const maxExpr = 60

// carrier is how a rule's value carries a deny.
type carrier int

const (
	carriesNothing carrier = iota
	carriesObject          // an object whose code or reason is the deny's reason
	carriesMessage         // the deny's description, or one of its "; "-joined parts
)

// heldRule is a rule that held, and how the values it held with carry the decision.
type heldRule struct {
	rule    *ast.Rule
	carries carrier
}

// Rules returns the rules that held in the evaluation of d, in the order they held,
// once each. A rule holds after every rule its value is built from, and an else
// branch is a rule of its own, so the branch of an else chain that held is the one
// listed. Decided marks the rules that decided d:
//
//   - on a deny, the rules that held with one of its messages as their value (deny
//     rules: the description is their messages joined with "; "); when there are
//     none, the first rule that held with an object whose code or reason is d's
//     reason (in the shipped policy, the branch of token_failure, access_failure or
//     failure that held): the rule the reason came from;
//   - on an allow, or a deny no rule carries, the branches of the decision rule that
//     held.
func (t *Trace) Rules(d Decision) []Rule {
	var held []*heldRule
	byLoc := map[string]*heldRule{}
	for _, ev := range t.events {
		r, ok := ev.Node.(*ast.Rule)
		if !ok || ev.Op != topdown.ExitOp || r.Location == nil || r.Module == nil {
			continue
		}
		key := fmt.Sprintf("%s:%d:%d", r.Location.File, r.Location.Row, r.Location.Col)
		h := byLoc[key]
		if h == nil {
			h = &heldRule{rule: r}
			byLoc[key] = h
			held = append(held, h)
		}
		if !d.Allowed {
			h.carries = max(h.carries, carries(headValue(r, ev.Locals), d))
		}
	}
	decided := decidedBy(held)
	out := make([]Rule, len(held))
	for i, h := range held {
		out[i] = describe(h.rule)
		out[i].Decided = decided[h]
	}
	return out
}

// decidedBy picks the rules that decided, as Rules documents.
func decidedBy(held []*heldRule) map[*heldRule]bool {
	out := map[*heldRule]bool{}
	for _, h := range held {
		if h.carries == carriesMessage {
			out[h] = true
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, h := range held {
		if h.carries == carriesObject {
			out[h] = true
			return out
		}
	}
	query := ast.MustParseRef(Query)
	for _, h := range held {
		if h.rule.Ref().HasPrefix(query) {
			out[h] = true
		}
	}
	return out
}

// headValue is the value a rule held with: its value, or the key of a partial set
// rule, with the body's bindings plugged in.
func headValue(r *ast.Rule, locals *ast.ValueMap) ast.Value {
	t := r.Head.Value
	if t == nil {
		t = r.Head.Key
	}
	if t == nil || locals == nil {
		return nil
	}
	v, err := ast.TransformVars(t.Value, func(x ast.Var) (ast.Value, error) {
		if b := locals.Get(x); b != nil {
			return b, nil
		}
		return x, nil
	})
	if err != nil {
		return nil
	}
	return v.(ast.Value)
}

// carries reports how v carries the deny d.
func carries(v ast.Value, d Decision) carrier {
	switch v := v.(type) {
	case ast.Object:
		for _, k := range []string{"code", "reason"} {
			if s, ok := stringAt(v, k); ok && s != "" && s == d.Reason {
				return carriesObject
			}
		}
	case ast.String:
		if v != "" && slices.Contains(strings.Split(d.Description, "; "), string(v)) {
			return carriesMessage
		}
	}
	return carriesNothing
}

func stringAt(obj ast.Object, key string) (string, bool) {
	t := obj.Get(ast.StringTerm(key))
	if t == nil {
		return "", false
	}
	s, ok := t.Value.(ast.String)
	return string(s), ok
}

// describe names a rule as its author wrote it.
func describe(r *ast.Rule) Rule {
	out := Rule{File: r.Location.File, Line: r.Location.Row, Head: r.Head.Ref().String()}
	var value string
	if r.Head.Location != nil {
		head := oneLine(string(r.Head.Location.Text))
		name, rest := splitHead(head)
		if !strings.HasPrefix(head, "else") {
			out.Head = name
		}
		value = rest
	}
	out.Expr = value
	if e := firstWritten(r.Body); e != nil {
		out.Expr = oneLine(string(e.Location.Text))
	}
	out.Expr = shorten(out.Expr)
	return out
}

// splitHead splits a rule head as written into its name and the rest:
// "api := data.x" is "api" and ":= data.x"; "deny contains msg" is "deny" and
// "contains msg".
func splitHead(head string) (name, rest string) {
	cut := len(head)
	for _, sep := range []string{" := ", " = ", " contains "} {
		if i := strings.Index(head, sep); i >= 0 && i < cut {
			cut = i
		}
	}
	return head[:cut], strings.TrimSpace(head[cut:])
}

// firstWritten returns the body's first expression as written; the compiler's own
// expressions (a rule without a body has only those) do not count.
func firstWritten(body ast.Body) *ast.Expr {
	var first *ast.Expr
	for _, e := range body {
		if e.Generated || e.Location == nil {
			continue
		}
		if first == nil || e.Location.Row < first.Location.Row ||
			e.Location.Row == first.Location.Row && e.Location.Col < first.Location.Col {
			first = e
		}
	}
	return first
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func shorten(s string) string {
	r := []rune(s)
	if len(r) <= maxExpr {
		return s
	}
	return string(r[:maxExpr-1]) + "…"
}
