package authz

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
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
	Data         string    `json:"data"` // the data file, or "store " and the store's path
	APIs         int       `json:"apis"`
	Applications int       `json:"applications"`
}

// Sources are what a State is built from besides the configuration file.
type Sources struct {
	// Catalog reads the data from the store; nil reads the data file (cfg.Data).
	Catalog func(ctx context.Context) (*catalog.Catalog, error)
	// STS is the key set of the built-in STS, which is trusted as the issuer
	// cfg.STSIssuer(); nil when the STS is off.
	STS *token.LocalKeys
}

// LoadState builds a State from the configuration and src: it loads and validates the
// data, compiles the router and the policies, and starts the issuers' key sets. ctx
// bounds the background fetches of remote key sets. prev is the verifier of the State
// this one replaces, or nil: key sets whose source is unchanged are kept (see
// token.NewVerifier). On error nothing new keeps running.
func LoadState(ctx context.Context, cfg *config.Config, log *slog.Logger, prev *token.Verifier, src Sources) (*State, error) {
	issuers := slices.Clone(cfg.Issuers)
	var local []*token.LocalKeys
	if src.STS != nil {
		issuers = append(issuers, cfg.STSIssuer())
		local = append(local, src.STS)
	}
	cat, where, err := loadCatalog(ctx, cfg, src)
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
	verifier, err := token.NewVerifier(ctx, issuers, cfg.TokenCache.Size, log, prev, local...)
	if err != nil {
		return nil, err
	}
	return &State{
		Router: router, Policy: engine, Verifier: verifier, Limits: cfg.Limits,
		Info: StateInfo{
			LoadedAt: time.Now().UTC(), Policies: engine.Files(), Data: where,
			APIs: len(cat.APIs), Applications: len(cat.Applications),
		},
	}, nil
}

// loadCatalog reads the data from the store or the data file and validates it: client
// IDs may name a configured issuer, or, in a store, the STS.
func loadCatalog(ctx context.Context, cfg *config.Config, src Sources) (*catalog.Catalog, string, error) {
	names := make([]string, 0, len(cfg.Issuers)+1)
	for _, is := range cfg.Issuers {
		names = append(names, is.Name)
	}
	if src.Catalog == nil {
		cat, err := catalog.Load(cfg.Data, names)
		return cat, cfg.Data, err
	}
	where := "store " + cfg.Store.Path
	cat, err := src.Catalog(ctx)
	if err != nil {
		return nil, where, fmt.Errorf("read the data from the %s: %w", where, err)
	}
	if err := cat.Validate(append(names, config.STSName)); err != nil {
		return nil, where, fmt.Errorf("data in the %s: %w", where, err)
	}
	return cat, where, nil
}
