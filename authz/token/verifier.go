package token

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
)

// Leeway is the clock skew allowed on exp, nbf and iat.
const Leeway = 60 * time.Second

// Verifier verifies access tokens from the configured issuers. It is safe for
// concurrent use; verified tokens are cached by SHA-256 until they expire.
type Verifier struct {
	byIss   map[string]*issuer
	allowed []string // the union of the issuers' algorithms
	parser  *jwt.Parser
	cache   *cache
	now     func() time.Time
}

// NewVerifier builds a verifier for the issuers. ctx bounds the background refreshes
// of remote key sets; cancel it to stop them. cacheSize 0 turns the cache off.
func NewVerifier(ctx context.Context, issuers []config.Issuer, cacheSize int, log *slog.Logger) (*Verifier, error) {
	v := &Verifier{byIss: make(map[string]*issuer, len(issuers)), now: time.Now}
	for _, c := range issuers {
		is, err := newIssuer(ctx, c, log)
		if err != nil {
			return nil, err
		}
		v.byIss[is.iss] = is
		for _, a := range is.algorithms {
			if !slices.Contains(v.allowed, a) {
				v.allowed = append(v.allowed, a)
			}
		}
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

// Verify checks a bearer token and returns its identity, or the reason it is refused.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Identity, *Error) {
	var key [sha256.Size]byte
	if v.cache != nil {
		key = sha256.Sum256([]byte(raw))
		if id := v.cache.get(key, v.now()); id != nil {
			return id, nil
		}
	}
	id, err := v.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(key, id, v.now())
	}
	return id, nil
}

func (v *Verifier) verify(ctx context.Context, raw string) (*Identity, *Error) {
	claims := jwt.MapClaims{}
	var is *issuer
	tok, err := v.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		iss, _ := claims["iss"].(string)
		is = v.byIss[iss]
		if is == nil {
			return nil, ErrUnknownIssuer
		}
		if e := checkHeader(t.Header); e != nil {
			return nil, e
		}
		if !slices.Contains(is.algorithms, t.Method.Alg()) {
			return nil, ErrAlgorithm
		}
		return is.key(ctx, t)
	})
	if err != nil {
		return nil, v.classify(err, tok)
	}
	if e := is.checkClaims(claims); e != nil {
		return nil, e
	}
	return is.identity(claims)
}

// checkHeader accepts the typ values of RFC 9068 and plain JWTs, and no crit extension.
func checkHeader(h map[string]any) *Error {
	if _, ok := h["crit"]; ok {
		return ErrCritical
	}
	typ, ok := h["typ"]
	if !ok {
		return nil
	}
	s, _ := typ.(string)
	s = strings.TrimPrefix(strings.ToLower(s), "application/")
	if s != "at+jwt" && s != "jwt" {
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
	case errors.Is(err, jwkset.ErrKeyNotFound):
		return ErrUnknownKey
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
