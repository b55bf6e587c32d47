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
	// Memoization says whether decisions are memoized, by what key, or why not.
	Memoization policy.Memoization `json:"memoization"`
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
	st, err := withData(ctx, cfg, log, src, func(doc map[string]any) (*policy.Engine, error) {
		return policy.Load(ctx, cfg.Policies, doc)
	})
	if err != nil {
		return nil, err
	}
	if st.Verifier, err = token.NewVerifier(ctx, issuers, cfg.TokenCache.Size, log, prev, local...); err != nil {
		return nil, err
	}
	st.Limits = cfg.Limits
	logMemoization(log, st.Info.Memoization)
	return st, nil
}

// logMemoization says, when policies are loaded, whether checks will reuse decisions;
// a data change keeps the policies, and so the answer.
func logMemoization(log *slog.Logger, m policy.Memoization) {
	if m.On {
		log.Info("decisions memoized", "key", m.Key)
		return
	}
	log.Info("decisions not memoized; every check evaluates the policies", "reason", m.Reason)
}

// WithData returns a State that decides with the data src reads now, and s's
// policies, issuers and limits: what a change to the store needs, without reading or
// compiling anything else.
func (s *State) WithData(ctx context.Context, cfg *config.Config, log *slog.Logger, src Sources) (*State, error) {
	st, err := withData(ctx, cfg, log, src, func(doc map[string]any) (*policy.Engine, error) {
		return s.Policy.WithData(ctx, doc)
	})
	if err != nil {
		return nil, err
	}
	st.Verifier, st.Limits = s.Verifier, s.Limits
	return st, nil
}

// withData loads and validates the data, and returns a State with the router compiled
// from it and the engine engine makes with its document; the rest is the caller's.
func withData(ctx context.Context, cfg *config.Config, log *slog.Logger, src Sources,
	engine func(doc map[string]any) (*policy.Engine, error)) (*State, error) {
	cat, where, err := loadCatalog(ctx, cfg, src)
	if err != nil {
		return nil, err
	}
	router, err := cat.Router()
	if err != nil {
		return nil, err
	}
	eng, err := engine(cat.Document())
	if err != nil {
		return nil, err
	}
	warnUnknownIssuers(cfg, cat, log)
	return &State{
		Router: router, Policy: eng,
		Info: StateInfo{
			LoadedAt: time.Now().UTC(), Policies: eng.Files(), Data: where,
			APIs: len(cat.APIs), Applications: len(cat.Applications), Memoization: eng.Memoization(),
		},
	}, nil
}

// issuerNames are the names client IDs of the data may refer to.
func issuerNames(cfg *config.Config) []string {
	names := make([]string, 0, len(cfg.Issuers)+1)
	for _, is := range cfg.Issuers {
		names = append(names, is.Name)
	}
	return append(names, config.STSName)
}

// loadCatalog reads the data from the store or the data file and validates it. A data
// file's client IDs must name a configured issuer. A store is checked whole on every
// write, whatever issuers a configuration trusts; its bindings to an issuer that is
// not configured are only warned about (warnUnknownIssuers), since no token of such an
// issuer verifies, so that a configuration change does not make the store unusable.
func loadCatalog(ctx context.Context, cfg *config.Config, src Sources) (*catalog.Catalog, string, error) {
	if src.Catalog == nil {
		names := issuerNames(cfg)
		cat, err := catalog.Load(cfg.Data, names[:len(names)-1])
		return cat, cfg.Data, err
	}
	where := "store " + cfg.Store.Path
	cat, err := src.Catalog(ctx)
	if err != nil {
		return nil, where, fmt.Errorf("read the data from the %s: %w", where, err)
	}
	if err := cat.ValidateStructure(); err != nil {
		return nil, where, fmt.Errorf("data in the %s: %w", where, err)
	}
	return cat, where, nil
}

// warnUnknownIssuers logs the issuers that the data's client IDs name but the
// configuration does not trust.
func warnUnknownIssuers(cfg *config.Config, cat *catalog.Catalog, log *slog.Logger) {
	if unknown := cat.UnknownIssuers(issuerNames(cfg)); len(unknown) > 0 {
		log.Warn("client IDs in the data are bound to issuers that are not configured; their tokens cannot verify", "issuers", unknown)
	}
}
