package authz

import (
	"context"
	"log/slog"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/policy"
	"github.com/tollgate/tollgate/authz/route"
	"github.com/tollgate/tollgate/authz/token"
)

// State is everything a check decides with: the router and policy compiled from one
// version of the data and policies, and the token verifier of the configured issuers.
// It is immutable once built.
type State struct {
	Router   *route.Router
	Policy   *policy.Engine
	Verifier *token.Verifier
	Limits   config.Limits
}

// LoadState builds a State from the configuration: it loads and validates the data,
// compiles the router and the policies, and starts the issuers' key sets. ctx bounds
// the background refresh of remote key sets.
func LoadState(ctx context.Context, cfg *config.Config, log *slog.Logger) (*State, error) {
	names := make([]string, len(cfg.Issuers))
	for i, is := range cfg.Issuers {
		names[i] = is.Name
	}
	cat, err := catalog.Load(cfg.Data, names)
	if err != nil {
		return nil, err
	}
	router, err := cat.Router()
	if err != nil {
		return nil, err
	}
	engine, err := policy.Load(ctx, cfg.Policies, cat.Document())
	if err != nil {
		return nil, err
	}
	verifier, err := token.NewVerifier(ctx, cfg.Issuers, cfg.TokenCache.Size, log, nil)
	if err != nil {
		return nil, err
	}
	return &State{Router: router, Policy: engine, Verifier: verifier, Limits: cfg.Limits}, nil
}
