package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/tollgate/tollgate/authz"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/policy"
	"github.com/tollgate/tollgate/authz/store"
	"github.com/tollgate/tollgate/authz/sts"
)

// bindingRef is the shipped policy's rule for the application and environment the
// token's client ID is bound to.
const bindingRef = "data.tollgate.authz.binding"

// runLocal decides the flags' request in-process, as a server started with the
// configuration file would, and prints the decision with what led to it.
func (f checkFlags) runLocal(stdout, stderr io.Writer) int {
	rep, err := f.evaluateLocal(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "tollgate check:", err)
		return exitUsage
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "tollgate check:", err)
			return exitUsage
		}
	} else {
		rep.print(stdout)
	}
	if !rep.Allowed {
		return exitDenied
	}
	return exitOK
}

// evaluateLocal loads the configuration and decides the request with it. The server's
// log goes to stderr, warnings and errors only, never into the report.
func (f checkFlags) evaluateLocal(stderr io.Writer) (*checkReport, error) {
	cfg, err := config.Load(f.config)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Cancelling ctx also stops the background refreshes of remote key sets.
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	src, done, err := localSources(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.config, err)
	}
	defer done()
	st, err := authz.LoadState(ctx, cfg, log, nil, src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.config, err)
	}
	defer st.Verifier.Close()
	// A server fetches remote key sets in the background; one check waits for them.
	if err := st.Verifier.Ready(ctx); err != nil {
		log.Warn("deciding without every issuer's keys", "error", err)
	}
	var trace policy.Trace
	e := authz.NewServer(st, log, authz.LogNone).Evaluate(ctx, f.request(), trace.Option())
	rep := newReport(e)
	if !e.Decision.Allowed && e.Identity != nil {
		rep.Application = boundApplication(ctx, st.Policy, trace.Input(), log)
	}
	if f.explain {
		rep.Explain = newExplanation(trace.Rules(e.Decision))
	}
	return rep, nil
}

// boundApplication returns the application the policy binds the token to, for a deny,
// whose response does not name it. It is best effort: "" when the binding is
// undefined or cannot be evaluated.
func boundApplication(ctx context.Context, eng *policy.Engine, input ast.Value, log *slog.Logger) string {
	if input == nil {
		return ""
	}
	v, ok, err := eng.EvalRef(ctx, bindingRef, input)
	if err != nil {
		log.Warn("cannot tell the token's application", "error", err)
		return ""
	}
	if !ok {
		return ""
	}
	binding, _ := v.(map[string]any)
	app, _ := binding["application"].(string)
	return app
}

// localSources opens the store of a store-mode configuration for one check: its data,
// and the STS's public keys when the STS is on. done closes the store.
func localSources(ctx context.Context, cfg *config.Config, log *slog.Logger) (authz.Sources, func(), error) {
	if cfg.Store == nil {
		return authz.Sources{}, func() {}, nil
	}
	if _, err := os.Stat(cfg.Store.Path); err != nil {
		return authz.Sources{}, nil, fmt.Errorf("store: %w", err)
	}
	st, err := store.Open(ctx, cfg.Store.Path, log)
	if err != nil {
		return authz.Sources{}, nil, err
	}
	done := func() { _ = st.Close() }
	src := authz.Sources{Catalog: st.Catalog}
	if cfg.STS.On(cfg.Store) {
		if src.STS, err = sts.VerifyingKeys(ctx, st, log); err != nil {
			done()
			return authz.Sources{}, nil, err
		}
	}
	return src, done, nil
}
