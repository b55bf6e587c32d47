package authz

import (
	"context"
	"log/slog"
	"time"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/policy"
	"github.com/tollgate/tollgate/authz/route"
	"github.com/tollgate/tollgate/authz/token"
)

// State is everything a check decides with: the router and policy compiled from one
// version of the data and policies, the token verifier of the configured issuers, and
// the limits. It is immutable once built; a reload builds a new one.
type State struct {
	Router   *route.Router
	Policy   *policy.Engine
	Verifier *token.Verifier
	Limits   config.Limits
	Info     StateInfo
}

// StateInfo describes a State for readiness and logs.
type StateInfo struct {
	LoadedAt     time.Time `json:"loaded_at"`
	Policies     []string  `json:"policies"`
	Data         string    `json:"data"`
	APIs         int       `json:"apis"`
	Applications int       `json:"applications"`
}

// LoadState builds a State from the configuration: it loads and validates the data,
// compiles the router and the policies, and starts the issuers' key sets. ctx bounds
// the background fetches of remote key sets. prev is the verifier of the State this
// one replaces, or nil: key sets whose source is unchanged are kept (see
// token.NewVerifier). On error nothing new keeps running.
func LoadState(ctx context.Context, cfg *config.Config, log *slog.Logger, prev *token.Verifier) (*State, error) {
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
	verifier, err := token.NewVerifier(ctx, cfg.Issuers, cfg.TokenCache.Size, log, prev)
	if err != nil {
		return nil, err
	}
	return &State{
		Router: router, Policy: engine, Verifier: verifier, Limits: cfg.Limits,
		Info: StateInfo{
			LoadedAt: time.Now().UTC(), Policies: engine.Files(), Data: cfg.Data,
			APIs: len(cat.APIs), Applications: len(cat.Applications),
		},
	}, nil
}
