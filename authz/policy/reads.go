package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Memoization says whether an engine's decisions are memoized: remembered by the part
// of the input they can depend on, and reused for every later input that agrees on
// that part. Analyze decides it from the compiled policies.
type Memoization struct {
	// On is true when the decision depends on nothing but the input parts in Reads,
	// the data and the policies.
	On bool `json:"on"`
	// Key lists the input parts a memo key holds, when On.
	Key string `json:"key,omitempty"`
	// Reason says why decisions are not memoized, naming the file and line that
	// prevents it, when not On.
	Reason string `json:"reason,omitempty"`
	// Reads is the part of the input the policies read besides what every key holds
	// (see InputReads); meaningful only when On.
	Reads InputReads `json:"-"`
}

// InputReads is what of the input a memoizable policy set reads. Every memo key holds
// whether input.route, input.token and input.token_error are present; route.api and
// route.resource; the token's issuer, client_id, subject and scopes (in order); and
// token_error's code, reason and description, whether the policies read them or not.
// The fields add what only some policies read.
type InputReads struct {
	RoutePath   bool     // input.route.path
	RouteParams bool     // input.route.params
	Claims      []string // input.token.claims[name] for each name, sorted
	AllClaims   bool     // input.token.claims whole, or by a key known only when evaluating
	Method      bool     // input.attributes.request.http.method
	Host        bool     // input.attributes.request.http.host
}

// unsafeBuiltins are built-ins whose effect depends on more than their arguments,
// though OPA does not mark them Nondeterministic: the certificate verifiers read the
// clock, and print writes on every evaluation.
var unsafeBuiltins = map[string]bool{
	"crypto.x509.parse_and_verify_certificates":              true,
	"crypto.x509.parse_and_verify_certificates_with_options": true,
	"internal.print": true,
	"print":          true,
}

// Analyze reads every module of a compiled policy set, including rules the decision
// does not use, and reports whether its decisions can be memoized. They can when
// every reference to input stays inside the parts InputReads describes, no `with`
// replaces part of input, and every function called is a rule of the policies or a
// built-in that returns the same result for the same arguments (not time.now_ns,
// http.send, rand.intn, uuid.rfc4122, opa.runtime, net.lookup_ip_addr,
// io.jwt.decode_verify, …: OPA's Nondeterministic flag, plus unsafeBuiltins). A
// reference whose key is known only when evaluating (input.token.claims[k]) reads
// everything below that point; one that could reach anything else turns memoization
// off. When in doubt, it is off.
func Analyze(c *ast.Compiler) Memoization {
	a := analysis{bare: map[*ast.Term]bool{}, claims: map[string]bool{}}
	names := make([]string, 0, len(c.Modules))
	for name := range c.Modules {
		names = append(names, name)
	}
	sort.Strings(names)
	var vis *ast.GenericVisitor
	vis = ast.NewGenericVisitor(func(x any) bool { return a.visit(vis, x) })
	for _, name := range names {
		vis.Walk(c.Modules[name])
		if a.refusal != "" {
			return Memoization{Reason: a.refusal}
		}
	}
	a.reads.Claims = make([]string, 0, len(a.claims))
	for k := range a.claims {
		a.reads.Claims = append(a.reads.Claims, k)
	}
	sort.Strings(a.reads.Claims)
	if a.reads.AllClaims {
		a.reads.Claims = nil
	}
	return Memoization{On: true, Reads: a.reads, Key: a.reads.describe()}
}

// describe lists what a memo key holds.
func (r InputReads) describe() string {
	parts := []string{"input.route.api", "input.route.resource"}
	if r.RoutePath {
		parts = append(parts, "input.route.path")
	}
	if r.RouteParams {
		parts = append(parts, "input.route.params")
	}
	parts = append(parts, "input.token.issuer", "input.token.client_id", "input.token.subject", "input.token.scopes")
	switch {
	case r.AllClaims:
		parts = append(parts, "input.token.claims")
	default:
		for _, c := range r.Claims {
			parts = append(parts, "input.token.claims."+c)
		}
	}
	parts = append(parts, "input.token_error")
	if r.Method {
		parts = append(parts, "input.attributes.request.http.method")
	}
	if r.Host {
		parts = append(parts, "input.attributes.request.http.host")
	}
	return strings.Join(parts, ", ")
}

// analysis is the state of one Analyze.
type analysis struct {
	reads   InputReads
	claims  map[string]bool
	bare    map[*ast.Term]bool // terms that are a whole expression: tested, not read
	where   *ast.Location      // of the innermost node visited that has one
	refusal string             // the first reason memoization is off
}

func (a *analysis) refuse(loc *ast.Location, format string, args ...any) {
	if a.refusal != "" {
		return
	}
	if loc == nil {
		loc = a.where
	}
	at := "a policy"
	if loc != nil {
		at = fmt.Sprintf("%s:%d", loc.File, loc.Row)
	}
	a.refusal = at + " " + fmt.Sprintf(format, args...)
}

func (a *analysis) visit(vis *ast.GenericVisitor, x any) bool {
	if a.refusal != "" {
		return true
	}
	switch x := x.(type) {
	case *ast.Package, *ast.Import, *ast.Annotations, *ast.Comment:
		// The package path names no input; imports of input are resolved into the
		// references that use them, which are visited.
		return true
	case *ast.Rule:
		a.where = x.Location
	case *ast.Expr:
		a.expr(x)
	case *ast.Term:
		if x.Location != nil {
			a.where = x.Location
		}
		return a.term(vis, x)
	}
	return false
}

func (a *analysis) expr(x *ast.Expr) {
	if x.Location != nil {
		a.where = x.Location
	}
	if t, ok := x.Terms.(*ast.Term); ok {
		// `input.token` or `not input.token` as an expression only tests that the
		// value is defined and not false.
		a.bare[t] = true
	}
	for _, w := range x.With {
		if isInput(w.Target) {
			a.refuse(w.Location, "replaces %s with `with`", w.Target)
		}
	}
	if x.IsCall() {
		a.call(x.Operator(), x.Location)
	}
}

func (a *analysis) term(vis *ast.GenericVisitor, t *ast.Term) bool {
	switch v := t.Value.(type) {
	case ast.Var:
		if v.Equal(ast.InputRootDocument.Value) {
			a.refuse(t.Location, "reads input whole")
		}
	case ast.Call:
		if op, ok := v[0].Value.(ast.Ref); ok {
			a.call(op, t.Location)
		} else {
			a.refuse(t.Location, "calls a function it cannot name")
		}
	case ast.Ref:
		if isInput(t) {
			a.input(v, a.bare[t], t.Location)
		}
		// Visit the keys, which may hold references of their own, not the head:
		// input and data as heads are what the check above is about.
		start := 0
		if _, ok := v[0].Value.(ast.Var); ok {
			start = 1
		}
		for _, k := range v[start:] {
			vis.Walk(k)
		}
		return true
	}
	return false
}

// call checks that a function is a rule of the policies (its body is analysed
// with the rest) or a deterministic built-in.
func (a *analysis) call(op ast.Ref, loc *ast.Location) {
	if op.HasPrefix(ast.DefaultRootRef) {
		return
	}
	name := op.String()
	b, ok := ast.BuiltinMap[name]
	switch {
	case !ok:
		a.refuse(loc, "calls %s, which is not a built-in Tollgate knows", name)
	case b.IsNondeterministic() || unsafeBuiltins[name]:
		a.refuse(loc, "calls %s, whose result can change between calls with the same input", name)
	}
}

func isInput(t *ast.Term) bool {
	switch v := t.Value.(type) {
	case ast.Var:
		return v.Equal(ast.InputRootDocument.Value)
	case ast.Ref:
		return v.HasPrefix(ast.InputRootRef)
	}
	return false
}

// input records what a reference to input reads, or refuses it. tested is true when
// the reference is a whole expression, which tests only that it is defined and not
// false: for route, token, token_error and claims, whether they are present, which
// every key holds. A key that is not a string literal (a variable, say) may be any
// key, so the reference reads the whole of what it indexes.
func (a *analysis) input(ref ast.Ref, tested bool, loc *ast.Location) {
	path := make([]string, 0, len(ref)-1)
	dynamic := false
	for _, t := range ref[1:] {
		s, ok := t.Value.(ast.String)
		if !ok {
			dynamic = true
			break
		}
		path = append(path, string(s))
	}
	whole := dynamic || !tested // the reference reads all below its static path
	first := ""
	if len(path) > 0 {
		first = path[0]
	}
	switch first {
	case "route":
		switch {
		case len(path) == 1:
			if whole {
				a.reads.RoutePath, a.reads.RouteParams = true, true
			}
		case path[1] == "api", path[1] == "resource":
		case path[1] == "path":
			a.reads.RoutePath = true
		case path[1] == "params":
			a.reads.RouteParams = true
		default:
			a.refuse(loc, "reads %s, which Tollgate does not memoize by", show(ref))
		}
	case "token":
		switch {
		case len(path) == 1:
			if whole {
				a.reads.AllClaims = true
			}
		case slices.Contains([]string{"issuer", "client_id", "subject", "scopes"}, path[1]):
		case path[1] == "claims" && len(path) == 2:
			if whole {
				a.reads.AllClaims = true
			}
		case path[1] == "claims":
			a.claims[path[2]] = true
		default:
			a.refuse(loc, "reads %s, which Tollgate does not memoize by", show(ref))
		}
	case "token_error":
		if len(path) > 1 && !slices.Contains([]string{"code", "reason", "description"}, path[1]) {
			a.refuse(loc, "reads %s, which Tollgate does not memoize by", show(ref))
		}
	case "attributes":
		if len(path) >= 4 && path[1] == "request" && path[2] == "http" && (path[3] == "method" || path[3] == "host") {
			a.reads.Method = a.reads.Method || path[3] == "method"
			a.reads.Host = a.reads.Host || path[3] == "host"
			return
		}
		a.refuse(loc, "reads %s", show(ref))
	default:
		a.refuse(loc, "reads %s", show(ref))
	}
}

// show prints a reference to input as written, with [_] for a key known only when
// evaluating (the compiler's names for them mean nothing to an author).
func show(ref ast.Ref) string {
	var b strings.Builder
	b.WriteString("input")
	for _, t := range ref[1:] {
		switch v := t.Value.(type) {
		case ast.String:
			if ast.IsVarCompatibleString(string(v)) {
				b.WriteString("." + string(v))
			} else {
				fmt.Fprintf(&b, "[%q]", string(v))
			}
		case ast.Number, ast.Boolean, ast.Null:
			fmt.Fprintf(&b, "[%v]", v)
		default:
			b.WriteString("[_]")
			return b.String()
		}
	}
	return b.String()
}
