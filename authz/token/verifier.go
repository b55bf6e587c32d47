package token

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
)

// Leeway is the clock skew allowed on exp, nbf and iat.
const Leeway = 60 * time.Second

// Verifier verifies access tokens from the configured issuers. It is safe for
// concurrent use; verified tokens are cached by SHA-256 until they expire, or until the
// key that verified them leaves its issuer's set.
type Verifier struct {
	issuers []config.Issuer // as configured, defaults applied
	byIss   map[string]*issuer
	sets    []*keySet // in the order of issuers
	allowed []string  // the union of the issuers' algorithms
	parser  *jwt.Parser
	cache   *cache
	size    int
	now     func() time.Time
}

// NewVerifier builds a verifier for the issuers. ctx bounds the background fetches of
// remote key sets; Close (or cancelling ctx) stops them. cacheSize 0 turns the cache
// off. prev, when not nil, is the verifier this one replaces: its key sets whose
// source is unchanged are kept, with their keys; when nothing changed, prev itself is
// returned. Retire prev once the new verifier is in use. An issuer named as one of
// local takes its keys from it instead of a JWKS.
func NewVerifier(ctx context.Context, issuers []config.Issuer, cacheSize int, log *slog.Logger, prev *Verifier, local ...*LocalKeys) (*Verifier, error) {
	v := &Verifier{byIss: make(map[string]*issuer, len(issuers)), size: cacheSize, now: time.Now}
	old := map[keySource]*keySet{}
	if prev != nil {
		for _, ks := range prev.sets {
			old[ks.src] = ks
		}
	}
	reused := 0
	var fresh []*keySet
	for _, c := range issuers {
		c.ApplyDefaults()
		ks, isNew, err := keySetFor(ctx, c, old, log, local)
		if err != nil {
			v.Retire(prev)
			return nil, fmt.Errorf("issuer %s: %w", c.Name, err)
		}
		if isNew {
			fresh = append(fresh, ks)
		} else {
			reused++
		}
		is := newIssuer(c, ks)
		v.issuers = append(v.issuers, c)
		v.sets = append(v.sets, ks)
		v.byIss[is.iss] = is
		for _, a := range is.algorithms {
			if !slices.Contains(v.allowed, a) {
				v.allowed = append(v.allowed, a)
			}
		}
	}
	if prev != nil && reused == len(prev.sets) && prev.size == cacheSize && reflect.DeepEqual(prev.issuers, v.issuers) {
		return prev, nil
	}
	if err := v.awaitReplacements(ctx, prev, fresh); err != nil {
		v.Retire(prev)
		return nil, err
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(v.allowed),
		jwt.WithJSONNumber(),
		jwt.WithLeeway(Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
	)
	if cacheSize > 0 {
		v.cache = newCache(cacheSize)
	}
	return v, nil
}

// keySetFor returns the key set of c: its local one, the one in old with the same
// source, given c's settings, or a new one (isNew).
func keySetFor(ctx context.Context, c config.Issuer, old map[keySource]*keySet, log *slog.Logger, local []*LocalKeys) (*keySet, bool, error) {
	for _, l := range local {
		if l.ks.src.name == c.Name {
			return l.ks, false, nil
		}
	}
	src, err := newKeySource(c)
	if err != nil {
		return nil, false, err
	}
	if ks, ok := old[src]; ok {
		ks.settings.Store(newKeySettings(c))
		return ks, false, nil
	}
	ks, err := newKeySet(ctx, src, newKeySettings(c), log)
	return ks, true, err
}

// awaitReplacements waits for the first fetch of each new remote key set of a
// reload. One that replaces the keys of an issuer (same iss) that has keys now must
// have keys itself, or the reload would drop that issuer's tokens: it is an error.
func (v *Verifier) awaitReplacements(ctx context.Context, prev *Verifier, fresh []*keySet) error {
	if prev == nil {
		return nil
	}
	for _, ks := range fresh {
		wait, cancel := context.WithTimeout(ctx, ks.settings.Load().timeout+time.Second)
		_ = ks.ready(wait)
		cancel()
		if ks.current() != nil {
			continue
		}
		for iss, is := range v.byIss {
			if was := prev.byIss[iss]; is.keys == ks && was != nil && was.keys.current() != nil {
				st := ks.Status()
				why := st.LastError
				if why == "" {
					why = "no answer within fetch_timeout"
				}
				return fmt.Errorf("issuer %s: the new key source %s has no keys (%s); keeping the old one", st.Name, st.Source, why)
			}
		}
	}
	return nil
}

// Retire stops the background fetches of v's key sets that next does not use. next
// may be nil, to stop them all.
func (v *Verifier) Retire(next *Verifier) {
	if v == nil || v == next {
		return
	}
	for _, ks := range v.sets {
		if next == nil || !slices.Contains(next.sets, ks) {
			ks.close()
		}
	}
}

// Close stops every background fetch of the verifier's key sets.
func (v *Verifier) Close() { v.Retire(nil) }

// Status returns each issuer's key status, in the configured order.
func (v *Verifier) Status() []Status {
	out := make([]Status, len(v.sets))
	for i, ks := range v.sets {
		out[i] = ks.Status()
	}
	return out
}

// HasKeys reports whether at least one issuer has a usable key set.
func (v *Verifier) HasKeys() bool {
	for _, ks := range v.sets {
		if ks.current() != nil {
			return true
		}
	}
	return false
}

// Attempted reports whether every issuer's first key-set fetch has ended, well or not.
func (v *Verifier) Attempted() bool {
	for _, ks := range v.sets {
		if !ks.attempted() {
			return false
		}
	}
	return true
}

// Ready waits until every issuer's first key-set fetch has ended, well or not, or
// ctx ends. Checks do not need it; a command that checks one request at once does.
func (v *Verifier) Ready(ctx context.Context) error {
	for _, ks := range v.sets {
		if err := ks.ready(ctx); err != nil {
			return fmt.Errorf("issuer %s: key set not fetched yet: %w", ks.src.name, err)
		}
	}
	return nil
}

// Verify checks a bearer token and returns its identity, or the reason it is refused.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Identity, *Error) {
	var key [sha256.Size]byte
	if v.cache != nil {
		key = tokenHash(raw)
		if e, ok := v.cache.get(key, v.now()); ok && e.issuer.holds(e.by) {
			return e.id, nil
		}
	}
	id, is, by, err := v.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(key, entry{id: id, issuer: is, by: by}, v.now())
	}
	return id, nil
}

// tokenHash is a token's SHA-256. A token that fits (most do) is copied
// to the stack rather than converted to a new slice on the heap.
func tokenHash(raw string) [sha256.Size]byte {
	var buf [4096]byte
	if len(raw) <= len(buf) {
		return sha256.Sum256(append(buf[:0], raw...))
	}
	return sha256.Sum256([]byte(raw))
}

func (v *Verifier) verify(ctx context.Context, raw string) (*Identity, *issuer, verifiedBy, *Error) {
	claims := jwt.MapClaims{}
	var is *issuer
	var by verifiedBy
	tok, err := v.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		iss, _ := claims["iss"].(string)
		is = v.byIss[iss]
		if is == nil {
			return nil, ErrUnknownIssuer
		}
		if e := checkHeader(t.Header, is.requireATJWT); e != nil {
			return nil, e
		}
		if !slices.Contains(is.algorithms, t.Method.Alg()) {
			return nil, ErrAlgorithm
		}
		return is.key(ctx, t, &by)
	})
	if err != nil {
		return nil, nil, by, v.classify(err, tok)
	}
	if e := is.checkClaims(claims); e != nil {
		return nil, nil, by, e
	}
	id, e := is.identity(claims)
	return id, is, by, e
}

// checkHeader accepts no crit extension, and the typ values of RFC 9068 and, unless
// atJWT requires RFC 9068's, of plain JWTs. Media types compare without case and
// with or without their "application/" prefix (RFC 7515 section 4.1.9).
func checkHeader(h map[string]any, atJWT bool) *Error {
	if _, ok := h["crit"]; ok {
		return ErrCritical
	}
	typ, ok := h["typ"]
	if !ok {
		if atJWT {
			return ErrType
		}
		return nil
	}
	s, _ := typ.(string)
	s = strings.TrimPrefix(strings.ToLower(s), "application/")
	if s != "at+jwt" && (atJWT || s != "jwt") {
		return ErrType
	}
	return nil
}

// classify maps a parse error to a stable reason; the first that applies wins.
func (v *Verifier) classify(err error, tok *jwt.Token) *Error {
	var own *Error
	switch {
	case errors.As(err, &own):
		return own
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		if tok == nil || !slices.Contains(v.allowed, headerString(tok.Header, "alg")) {
			return ErrAlgorithm
		}
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return ErrNoExpiry
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrIssuedInFuture
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		return ErrTimeClaim
	}
	return ErrMalformed
}

func headerString(h map[string]any, name string) string {
	s, _ := h[name].(string)
	return s
}
