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
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// Query is the rule a policy set must define; its value is the decision.
const Query = "data.tollgate.authz.decision"

// Engine is a compiled policy set with its data. It is immutable and safe for
// concurrent use; a reload builds a new Engine.
type Engine struct {
	query rego.PreparedEvalQuery
	files []string
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

// Files returns the names of the policy files the engine was compiled from.
func (e *Engine) Files() []string { return e.files }

func readModules(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read policies: %w", err)
	}
	modules := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".rego") || strings.HasSuffix(name, "_test.rego") {
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

func compile(ctx context.Context, modules map[string]string, data map[string]any) (*Engine, error) {
	opts := []func(*rego.Rego){
		rego.Query(Query),
		rego.Store(inmem.NewFromObject(map[string]any{"tollgate": data})),
		// A builtin that fails (a bad sprintf, say) must fail the evaluation, so the
		// check denies, rather than leave a rule undefined and skip a deny.
		rego.StrictBuiltinErrors(true),
	}
	files := make([]string, 0, len(modules))
	decision := false
	for path, src := range modules {
		m, err := ast.ParseModuleWithOpts(path, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("parse policy: %w", err)
		}
		decision = decision || definesDecision(m)
		opts = append(opts, rego.ParsedModule(m))
		files = append(files, path)
	}
	sort.Strings(files)
	// Without the decision rule every check would be undefined, and so denied: never
	// what an author meant.
	if !decision {
		return nil, errors.New("policies: no file defines " + Query)
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile policies: %w", err)
	}
	return &Engine{query: pq, files: files}, nil
}

func definesDecision(m *ast.Module) bool {
	if m.Package.Path.String() != "data.tollgate.authz" {
		return false
	}
	for _, r := range m.Rules {
		if r.Head.Ref().String() == "decision" {
			return true
		}
	}
	return false
}

// Eval evaluates the decision for one input document.
func (e *Engine) Eval(ctx context.Context, input ast.Value) (Decision, error) {
	rs, err := e.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return Decision{}, fmt.Errorf("evaluate %s: %w", Query, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return Decision{}, fmt.Errorf("evaluate %s: undefined", Query)
	}
	return parseDecision(rs[0].Expressions[0].Value)
}
