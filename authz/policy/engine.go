// Package policy evaluates the Rego policies that decide every check, embedded with
// OPA's rego package: modules are parsed and compiled once per load, and each check
// evaluates a prepared query with its input given as an OPA value (no JSON round trip).
package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// Query is the rule a policy set must define; its value is the decision.
const Query = "data.tollgate.authz.decision"

// Engine is a compiled policy set with its data. It is immutable and safe for
// concurrent use; a reload builds a new Engine.
type Engine struct {
	query rego.PreparedEvalQuery
	files []string
	// compiler and store are what query was prepared with; EvalRef evaluates other
	// rules with them.
	compiler *ast.Compiler
	store    storage.Store
	// memoization is what Analyze said of compiler; memo holds the decisions when it
	// is on, nil otherwise.
	memoization Memoization
	memo        *Memo
}

// Load compiles every .rego file of dir (not *_test.rego, not recursive) against data,
// mounted at data.tollgate. Parse and compile errors name the file and line.
func Load(ctx context.Context, dir string, data map[string]any) (*Engine, error) {
	modules, err := readModules(dir)
	if err != nil {
		return nil, err
	}
	return compile(ctx, modules, data)
}

// Compile compiles policy modules, keyed by file name, against data as Load does. It
// is for policies that are not in a directory of their own, such as the .rego keys of
// a Kubernetes ConfigMap.
func Compile(ctx context.Context, modules map[string]string, data map[string]any) (*Engine, error) {
	if len(modules) == 0 {
		return nil, errors.New("no policy modules")
	}
	return compile(ctx, modules, data)
}

// Files returns the names of the policy files the engine was compiled from.
func (e *Engine) Files() []string { return slices.Clone(e.files) }

func readModules(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read policies: %w", err)
	}
	modules := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".rego") || strings.HasSuffix(name, "_test.rego") {
			continue
		}
		path := filepath.Join(dir, name)
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read policy: %w", err)
		}
		modules[path] = string(raw)
	}
	if len(modules) == 0 {
		return nil, fmt.Errorf("policies %s: no .rego files", dir)
	}
	return modules, nil
}

func compile(ctx context.Context, sources map[string]string, data map[string]any) (*Engine, error) {
	modules := make(map[string]*ast.Module, len(sources))
	files := make([]string, 0, len(sources))
	for path, src := range sources {
		m, err := ast.ParseModuleWithOpts(path, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("parse policy: %w", err)
		}
		modules[path] = m
		files = append(files, path)
	}
	sort.Strings(files)
	compiler := ast.NewCompiler()
	if compiler.Compile(modules); compiler.Failed() {
		return nil, fmt.Errorf("compile policies: %w", compiler.Errors)
	}
	// Without the decision rule every check would be undefined, and so denied: never
	// what an author meant.
	if len(compiler.GetRules(ast.MustParseRef(Query))) == 0 {
		return nil, errors.New("policies: no rule defines " + Query)
	}
	return prepare(ctx, compiler, files, data, Analyze(compiler))
}

// WithData returns an engine with e's compiled policies and other data: a data change
// does not read or compile the policies again.
func (e *Engine) WithData(ctx context.Context, data map[string]any) (*Engine, error) {
	return prepare(ctx, e.compiler, e.files, data, e.memoization)
}

// Memoization reports whether the engine's decisions are memoized, and why not.
func (e *Engine) Memoization() Memoization { return e.memoization }

// Memo returns the engine's remembered decisions; nil when its policies are not
// memoizable. The memo is the engine's own: a new engine starts with an empty one.
func (e *Engine) Memo() *Memo { return e.memo }

func prepare(ctx context.Context, compiler *ast.Compiler, files []string, data map[string]any, memoization Memoization) (*Engine, error) {
	// The document is built for this engine and never changed after: no copy needed.
	store := inmem.NewFromObjectWithOpts(map[string]any{"tollgate": data}, inmem.OptRoundTripOnWrite(false))
	pq, err := rego.New(
		rego.Query(Query),
		rego.Compiler(compiler),
		rego.Store(store),
		// A builtin that fails (to_number("x"), say) must fail the evaluation, so the
		// check denies, rather than leave a rule undefined and skip a deny.
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare policies: %w", err)
	}
	e := &Engine{query: pq, files: files, compiler: compiler, store: store, memoization: memoization}
	if memoization.On {
		e.memo = newMemo()
	}
	return e, nil
}

// Eval evaluates the decision for one input document. opts add to the evaluation,
// a query tracer for instance.
func (e *Engine) Eval(ctx context.Context, input ast.Value, opts ...rego.EvalOption) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("evaluate %s: %w", Query, err)
	}
	var rs rego.ResultSet
	var err error
	if len(opts) == 0 { // the hot path: no slice to build
		rs, err = e.query.Eval(ctx, rego.EvalParsedInput(input))
	} else {
		rs, err = e.query.Eval(ctx, append(opts, rego.EvalParsedInput(input))...)
	}
	if err != nil {
		return Decision{}, fmt.Errorf("evaluate %s: %w", Query, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return Decision{}, fmt.Errorf("evaluate %s: undefined", Query)
	}
	return parseDecision(rs[0].Expressions[0].Value)
}
