package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
)

// issuer is one trusted issuer: how its tokens are read, and its key set.
type issuer struct {
	name           string
	iss            string
	algorithms     []string
	audiences      []string
	clientIDClaims []string
	scopeClaims    []string
	requireATJWT   bool
	keys           *keySet
}

func newIssuer(c config.Issuer, ks *keySet) *issuer {
	return &issuer{
		name:           c.Name,
		iss:            c.Issuer,
		algorithms:     slices.Clone(c.Algorithms),
		audiences:      slices.Clone(c.Audiences),
		clientIDClaims: slices.Clone(c.ClientIDClaims),
		scopeClaims:    slices.Clone(c.ScopeClaims),
		requireATJWT:   c.RequireATJWT,
		keys:           ks,
	}
}

// verifiedBy records the key a token was verified with, so a cached verification
// is dropped once that key leaves the issuer's set.
type verifiedBy struct {
	set *keys
	kid string
	key crypto.PublicKey
}

// key returns the key that verifies a token: the JWK its kid names, or, for a token
// without kid, every signing key of the set that fits its algorithm. A kid the set
// does not hold makes the key set refresh (rate-limited), and is looked up again.
func (is *issuer) key(ctx context.Context, t *jwt.Token, by *verifiedBy) (any, error) {
	k := is.keys.current()
	key, err := is.lookup(ctx, k, t, by)
	if err != ErrUnknownKey {
		return key, err
	}
	is.keys.refreshUnknown(ctx)
	k2 := is.keys.current()
	switch {
	case k2 == nil:
		return nil, ErrKeysUnavailable
	case k2 != k:
		return is.lookup(ctx, k2, t, by)
	}
	return nil, ErrUnknownKey
}

func (is *issuer) lookup(ctx context.Context, k *keys, t *jwt.Token, by *verifiedBy) (any, error) {
	if k == nil {
		return nil, ErrUnknownKey
	}
	by.set = k
	kidAny, hasKID := t.Header["kid"]
	if hasKID {
		kid, _ := kidAny.(string)
		if _, ok := k.byID[kid]; ok {
			key, err := k.kf.KeyfuncCtx(ctx)(t)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrSignature, err)
			}
			by.kid, by.key = kid, key
			return key, nil
		}
		if k.anonymous == 0 {
			return nil, ErrUnknownKey
		}
		// A kid is a hint (RFC 7515 4.1.4): the set's keys without a kid may still
		// verify the token.
	}
	alg := t.Method.Alg()
	var set jwt.VerificationKeySet
	for _, jwk := range k.all {
		m := jwk.Marshal()
		if m.ALG != "" && m.ALG.String() != alg || hasKID && m.KID != "" {
			continue
		}
		if key := publicKey(jwk.Key()); fits(key, alg) {
			set.Keys = append(set.Keys, key)
		}
	}
	if len(set.Keys) == 0 {
		return nil, ErrUnknownKey
	}
	return set, nil
}

// holds reports whether the key a token was verified with still verifies: the set is
// the same, or the token's kid still names an equal key. A token without kid is
// verified again whenever the set changes.
func (is *issuer) holds(by verifiedBy) bool {
	k := is.keys.current()
	if k == by.set {
		return true
	}
	if k == nil || by.kid == "" {
		return false
	}
	key, ok := k.byID[by.kid]
	return ok && sameKey(key, by.key)
}

// sameKey reports two public keys of the same material.
func sameKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

func publicKey(k any) any {
	if p, ok := k.(interface{ Public() crypto.PublicKey }); ok {
		return p.Public()
	}
	return k
}

func isAsymmetric(key any) bool {
	switch key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return true
	}
	return false
}

// fits reports a key of the type the JWS algorithm needs.
func fits(key any, alg string) bool {
	switch key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return strings.HasPrefix(alg, "ES")
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
