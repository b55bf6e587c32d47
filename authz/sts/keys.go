package sts

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/store"
	"github.com/tollgate/tollgate/authz/token"
)

// RetireGrace is kept beyond the last token's expiry before a retired key leaves the
// JWKS: time for every server on the store to stop signing with it.
const RetireGrace = time.Minute

// Maintain brings the keys up to date: it creates the first key, rotates the active
// key once it is older than the rotation period, deletes retired keys whose tokens
// have all expired, and publishes the result.
func (s *Server) Maintain(ctx context.Context) error {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	now := s.now()
	if purged, err := s.store.PurgeSigningKeys(ctx, "sts", now); err != nil {
		return fmt.Errorf("purge retired signing keys: %w", err)
	} else if len(purged) > 0 {
		s.log.Info("STS signing keys removed from the JWKS; every token they signed has expired", "kids", purged)
	}
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	switch active := activeKey(keys); {
	case active == nil:
		return s.rotate(ctx, "STS signing key created")
	case !now.Before(active.CreatedAt.Add(s.cfg.KeyRotation)):
		return s.rotate(ctx, "STS signing key rotated: the active one is key_rotation old")
	}
	return s.apply(keys)
}

// Rotate makes a new key the active one now; the old one keeps verifying until every
// token it signed has expired.
func (s *Server) Rotate(ctx context.Context) error {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	return s.rotate(ctx, "STS signing key rotated on demand")
}

// rotate makes a new key the active one; msg says why, in the log.
func (s *Server) rotate(ctx context.Context, msg string) error {
	now := s.now()
	k, err := GenerateSigningKey(s.cfg.Algorithm, s.sealer, now)
	if err != nil {
		return fmt.Errorf("generate a signing key: %w", err)
	}
	// A token signed by the retired key lives at most token_ttl from now; verifiers
	// allow the clock leeway beyond that, and a server that learns of the rotation
	// from the store (another process rotated) may sign with it a little longer.
	removeAfter := now.Add(s.cfg.TokenTTL + token.Leeway + RetireGrace)
	if err := s.store.RotateSigningKey(ctx, "sts", k, removeAfter); err != nil {
		return fmt.Errorf("store the new signing key: %w", err)
	}
	s.log.Info(msg, "kid", k.KID, "algorithm", k.Algorithm)
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	return s.apply(keys)
}

// Refresh reads the keys from the store again and publishes them: another process
// (`tollgate keys rotate`) may have rotated them.
func (s *Server) Refresh(ctx context.Context) error {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	return s.apply(keys)
}

// apply signs with the active key and publishes the keys that may still verify a live
// token. The active key is opened first: one that does not open leaves the last
// published set and signer as they were, so no token is signed by a key the set lacks.
func (s *Server) apply(keys []store.SigningKey) error {
	live, kids := liveKeys(keys, s.now())
	active := activeKey(live)
	if active == nil {
		return fmt.Errorf("the store has no active signing key")
	}
	var next *Signer
	if cur := s.signer.Load(); cur == nil || cur.KID() != active.KID {
		var err error
		if next, err = OpenSigningKey(*active, s.sealer); err != nil {
			return fmt.Errorf("open signing key %s: %w", active.KID, err)
		}
	}
	if id := strings.Join(kids, " "); id != s.published {
		jwks, err := JWKS(live)
		if err != nil {
			return err
		}
		if err := s.keys.Publish(jwks); err != nil {
			return err
		}
		s.jwks.Store(&jwks)
		s.published = id
	}
	if next != nil { // after the publication: verifiers know the key before its first token
		s.signer.Store(next)
	}
	return nil
}

// activeKey is the newest key that has not been retired, or nil.
func activeKey(keys []store.SigningKey) *store.SigningKey {
	var active *store.SigningKey
	for i := range keys {
		if keys[i].Active() && (active == nil || keys[i].CreatedAt.After(active.CreatedAt)) {
			active = &keys[i]
		}
	}
	return active
}

// liveKeys are the keys that may still verify a token at now, and their kids.
func liveKeys(keys []store.SigningKey, now time.Time) ([]store.SigningKey, []string) {
	live := make([]store.SigningKey, 0, len(keys))
	kids := make([]string, 0, len(keys))
	for _, k := range keys {
		if k.Active() || now.Before(k.RemoveAfter) {
			live = append(live, k)
			kids = append(kids, k.KID)
		}
	}
	return live, kids
}

// VerifyingKeys returns the key set that verifies the STS's live tokens, read from
// the store once, for a process that checks tokens but does not sign them (`tollgate
// check --config`). It needs no store key: public keys are stored in the clear.
func VerifyingKeys(ctx context.Context, st store.Store, log *slog.Logger) (*token.LocalKeys, error) {
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	local := token.NewLocalKeys(config.STSName, log)
	live, _ := liveKeys(keys, time.Now())
	if len(live) == 0 {
		return local, nil
	}
	jwks, err := JWKS(live)
	if err != nil {
		return nil, err
	}
	return local, local.Publish(jwks)
}
