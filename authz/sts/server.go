package sts

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/store"
	"github.com/tollgate/tollgate/authz/token"
)

// Server is the built-in STS: its signing keys, which it rotates and hands to the
// decision path in process, and its HTTP endpoints. It is safe for concurrent use.
type Server struct {
	cfg    config.STS
	store  store.Store
	sealer *Sealer
	log    *slog.Logger
	now    func() time.Time
	keys   *token.LocalKeys
	// limit counts failures per source address and per client ID and address; byClient
	// per client ID from anywhere, with more room, so that nobody can lock a client
	// out from another address, while guesses spread over many still are limited.
	limit, byClient *failureLimit

	keyMu     sync.Mutex             // one key refresh or rotation at a time
	signer    atomic.Pointer[Signer] // the active key; nil until the first Refresh
	jwks      atomic.Pointer[[]byte] // the published JWK Set
	published string                 // the kids of jwks, to publish only changes
	meta      []byte                 // RFC 8414 metadata
}

// clientBurstFactor is how much more a client ID may fail from all addresses together
// than from one.
const clientBurstFactor = 10

// Options are the parts of a Server.
type Options struct {
	Config config.STS
	Store  store.Store
	Sealer *Sealer
	Log    *slog.Logger
	// Now is the clock; nil is time.Now. Tests move it to rotate and retire keys.
	Now func() time.Time
}

// New returns an STS over the store. Its key set is empty until Start or Refresh.
func New(o Options) *Server {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		cfg: o.Config, store: o.Store, sealer: o.Sealer, log: o.Log, now: now,
		keys:  token.NewLocalKeys(config.STSName, o.Log),
		limit: newFailureLimit(o.Config.FailedAuth.Burst, o.Config.FailedAuth.Every, now),
		byClient: newFailureLimit(clientBurstFactor*o.Config.FailedAuth.Burst,
			o.Config.FailedAuth.Every/clientBurstFactor, now),
	}
	s.meta = s.metadata()
	return s
}

// Keys is the STS's key set as the decision path trusts it.
func (s *Server) Keys() *token.LocalKeys { return s.keys }

// Start makes sure there is an active signing key, creating the first one on a new
// store, and publishes the key set.
func (s *Server) Start(ctx context.Context) error {
	return s.Maintain(ctx)
}

// Run rotates and retires keys on schedule until ctx ends. Errors are logged and tried
// again at the next tick; the last good keys keep serving.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(maintainEvery(s.cfg.KeyRotation))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Maintain(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("STS key maintenance failed; the current keys keep serving", "error", err)
			}
		}
	}
}

// maintainEvery is how often keys are looked at: often enough that a rotation is
// late by at most a small part of its period.
func maintainEvery(rotation time.Duration) time.Duration {
	return min(time.Minute, rotation/60)
}
