package sts

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/store"
	"github.com/tollgate/tollgate/authz/token"
)

// RetireGrace is kept beyond the last token's expiry before a retired key leaves the
// JWKS: time for every server on the store to stop signing with it.
const RetireGrace = time.Minute

// Maintain brings the keys up to date: it creates the first key, publishes the next
// one key_prepublish before the active one is key_rotation old, deletes retired keys
// whose tokens have all expired, and publishes the result.
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
	switch newest := newestKey(keys); {
	case newest == nil || signingKey(keys, now) == nil:
		return s.rotate(ctx, now, now, "STS signing key created: no key signs now")
	case newest.State(now) == store.KeyActive && !now.Before(s.nextKeyDue(*newest)):
		// Published key_prepublish before the active key is key_rotation old; a
		// server that was down past that time still publishes it that long ahead.
		from := later(newest.SignsFrom.Add(s.cfg.KeyRotation), now.Add(s.cfg.KeyPrepublish))
		return s.rotate(ctx, now, from, "STS next signing key published; it signs when the active one is key_rotation old")
	}
	return s.apply(keys)
}

// nextKeyDue is when the successor of k, the newest key, is published.
func (s *Server) nextKeyDue(k store.SigningKey) time.Time {
	return k.SignsFrom.Add(s.cfg.KeyRotation - s.cfg.KeyPrepublish)
}

// Rotate publishes a new key that signs key_prepublish from now, when verifiers that
// cache the JWKS have it; the active key signs until then, and verifies until every
// token it signed has expired. When no key signs now, the new one signs at once.
func (s *Server) Rotate(ctx context.Context) error {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	now := s.now()
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	if signingKey(keys, now) == nil {
		return s.rotate(ctx, now, now, "STS signing key created on demand: no key signs now")
	}
	return s.rotate(ctx, now, now.Add(s.cfg.KeyPrepublish), "STS signing key rotated on demand; it signs once key_prepublish has passed")
}

// RotateNow makes a new key sign at once: for emergencies, such as a leaked key. A
// verifier that cached the JWKS refuses the new key's tokens until it fetches the
// JWKS again. The retired keys verify until every token they signed has expired.
func (s *Server) RotateNow(ctx context.Context) error {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	now := s.now()
	return s.rotate(ctx, now, now, "STS signing key rotated on demand, effective at once: verifiers that cached the JWKS refuse its tokens until they fetch it again")
}

// rotate adds a new key that signs from signsFrom, retiring as of then the keys that
// would sign; msg says why, in the log.
func (s *Server) rotate(ctx context.Context, now, signsFrom time.Time, msg string) error {
	k, err := GenerateSigningKey(s.cfg.Algorithm, s.sealer, now)
	if err != nil {
		return fmt.Errorf("generate a signing key: %w", err)
	}
	k.SignsFrom = signsFrom.UTC()
	// A token signed by a retired key lives at most token_ttl from when the key
	// stops signing; verifiers allow the clock leeway beyond that, and a server that
	// learns of the rotation from the store (another process rotated at once) may
	// sign with it a little longer.
	removeAfter := signsFrom.Add(s.cfg.TokenTTL + token.Leeway + RetireGrace)
	if err := s.store.RotateSigningKey(ctx, "sts", k, removeAfter); err != nil {
		return fmt.Errorf("store the new signing key: %w", err)
	}
	s.log.Info(msg, "kid", k.KID, "algorithm", k.Algorithm, "signs_from", k.SignsFrom)
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	return s.apply(keys)
}

// Refresh reads the keys from the store again and publishes them: another process
// (`tollgate keys rotate`) may have added one. A key that signs later is published at
// once and signs at its time, as in every process on the store.
func (s *Server) Refresh(ctx context.Context) error {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	return s.apply(keys)
}

// apply publishes the keys that may still verify a live token and signs with each of
// the keys that sign now or later, from its time. Those are opened first: one that
// does not open leaves the last published set and schedule as they were, so no token
// is signed by a key the set lacks.
func (s *Server) apply(keys []store.SigningKey) error {
	now := s.now()
	live, kids := liveKeys(keys, now)
	sched, err := s.schedule(live, now)
	if err != nil {
		return err
	}
	current := sched.at(now)
	if current == nil {
		return fmt.Errorf("the store has no signing key that signs now")
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
	s.signers.Store(&sched) // after the publication: verifiers know a key before its first token
	if current.KID() != s.signingKID {
		s.log.Info("STS signs with key", "kid", current.KID())
		s.signingKID = current.KID()
	}
	s.wakeAt = s.nextEvent(keys, now)
	return nil
}

// schedule opens the keys that sign now or later, reusing the Signers already open.
func (s *Server) schedule(live []store.SigningKey, now time.Time) (signing, error) {
	open := map[string]*Signer{}
	if cur := s.signers.Load(); cur != nil {
		for _, e := range *cur {
			open[e.signer.KID()] = e.signer
		}
	}
	var sched signing
	for _, k := range live {
		if k.State(now) == store.KeyRetired {
			continue
		}
		signer := open[k.KID]
		if signer == nil {
			var err error
			if signer, err = OpenSigningKey(k, s.sealer); err != nil {
				return nil, fmt.Errorf("open signing key %s: %w", k.KID, err)
			}
		}
		sched = append(sched, signingFrom{from: k.SignsFrom, signer: signer})
	}
	slices.SortFunc(sched, func(a, b signingFrom) int { return a.from.Compare(b.from) })
	return sched, nil
}

// signing is the keys that sign now or later, ordered by when each begins: each
// signs until the next one begins. Every process on the store so switches keys at
// the same moment, without waiting for anything to wake it.
type signing []signingFrom

type signingFrom struct {
	from   time.Time
	signer *Signer
}

// at is the Signer that signs at t, or nil before the first key begins.
func (sc signing) at(t time.Time) *Signer {
	var cur *Signer
	for _, e := range sc {
		if t.Before(e.from) {
			break
		}
		cur = e.signer
	}
	return cur
}

// nextEvent is the next time after now that the keys change without a store change:
// a key begins to sign, a retired key leaves the JWKS, or the next key is due. Zero
// when there is none.
func (s *Server) nextEvent(keys []store.SigningKey, now time.Time) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, k := range keys {
		consider(k.SignsFrom)
		consider(k.RemoveAfter)
	}
	if newest := newestKey(keys); newest != nil {
		consider(s.nextKeyDue(*newest))
	}
	return next
}

// newestKey is the key no successor has retired yet, or nil.
func newestKey(keys []store.SigningKey) *store.SigningKey {
	for i := range keys {
		if keys[i].RetiredAt.IsZero() {
			return &keys[i]
		}
	}
	return nil
}

// signingKey is the key that signs at now, or nil.
func signingKey(keys []store.SigningKey, now time.Time) *store.SigningKey {
	for i := range keys {
		if keys[i].State(now) == store.KeyActive {
			return &keys[i]
		}
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// liveKeys are the keys that may still verify a token at now, or will sign one, and
// their kids: the JWKS.
func liveKeys(keys []store.SigningKey, now time.Time) ([]store.SigningKey, []string) {
	live := make([]store.SigningKey, 0, len(keys))
	kids := make([]string, 0, len(keys))
	for _, k := range keys {
		if k.RetiredAt.IsZero() || now.Before(k.RemoveAfter) {
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
