package sts

import (
	"context"
	"log/slog"
	"net/netip"
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
	cfg     config.STS
	store   store.Store
	sealer  *Sealer
	log     *slog.Logger
	now     func() time.Time
	keys    *token.LocalKeys
	proxies []netip.Prefix // sts.trusted_proxies
	// failedByAddr and failedByClient count failed client authentications per
	// source address and per client ID (apart, so that made-up client IDs cannot
	// crowd an address out of its limiter); clientRate counts successful ones per
	// client ID. None ever refuses a correct secret because of others' failures.
	failedByAddr, failedByClient, clientRate *limiter

	keyMu      sync.Mutex              // one key refresh or rotation at a time
	signers    atomic.Pointer[signing] // the keys that sign now or later; nil until the first Refresh
	jwks       atomic.Pointer[[]byte]  // the published JWK Set
	published  string                  // the kids of jwks, to publish only changes
	signingKID string                  // the key that signed at the last apply, to log a switch
	wakeAt     time.Time               // when the keys next change on their own; zero if never
	meta       []byte                  // RFC 8414 metadata
}

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
		keys:           token.NewLocalKeys(config.STSName, o.Log),
		proxies:        o.Config.TrustedProxyPrefixes(),
		failedByAddr:   newLimiter(o.Config.FailedAuth, now),
		failedByClient: newLimiter(o.Config.FailedAuth, now),
		clientRate:     newLimiter(o.Config.ClientRate, now),
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

// Run rotates and retires keys on schedule until ctx ends: it wakes when the keys
// change on their own (a key begins to sign, one leaves the JWKS, the next is due),
// and at least every maintainEvery. Errors are logged and tried again at the next
// wake-up; the last good keys keep serving.
func (s *Server) Run(ctx context.Context) {
	every := maintainEvery(s.cfg.KeyRotation)
	t := time.NewTimer(s.untilWake(every))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Maintain(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("STS key maintenance failed; the current keys keep serving", "error", err)
			}
			t.Reset(s.untilWake(every))
		}
	}
}

// minWake keeps Run from spinning when a wake-up time has passed but maintenance
// fails.
const minWake = time.Second

// untilWake is how long Run sleeps: until the keys next change on their own, at most
// every.
func (s *Server) untilWake(every time.Duration) time.Duration {
	s.keyMu.Lock()
	at := s.wakeAt
	s.keyMu.Unlock()
	if at.IsZero() {
		return every
	}
	return min(every, max(at.Sub(s.now()), minWake))
}

// maintainEvery is how often keys are looked at even when nothing is due: often
// enough that a key created by another process is taken care of soon.
func maintainEvery(rotation time.Duration) time.Duration {
	return min(time.Minute, rotation/60)
}
