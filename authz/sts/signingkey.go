package sts

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/store"
)

// algorithm is how to make, recognise and use a key of one of config.STSAlgorithms.
type algorithm struct {
	method   jwt.SigningMethod
	generate func() (crypto.Signer, error)
	fits     func(crypto.Signer) bool
}

var algorithms = map[string]algorithm{
	"RS256": {jwt.SigningMethodRS256, generateRSA, isRSA},
	"ES256": {jwt.SigningMethodES256, generateP256, isP256},
	"EdDSA": {jwt.SigningMethodEdDSA, generateEd25519, isEd25519},
}

const rsaBits = 2048

func generateRSA() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, rsaBits) }

func generateP256() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func generateEd25519() (crypto.Signer, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	return k, err
}

func isRSA(k crypto.Signer) bool {
	r, ok := k.(*rsa.PrivateKey)
	return ok && r.N.BitLen() >= rsaBits
}

func isP256(k crypto.Signer) bool {
	e, ok := k.(*ecdsa.PrivateKey)
	return ok && e.Curve == elliptic.P256()
}

func isEd25519(k crypto.Signer) bool {
	_, ok := k.(ed25519.PrivateKey)
	return ok
}

func lookupAlgorithm(alg string) (algorithm, error) {
	a, ok := algorithms[alg]
	if !ok {
		return algorithm{}, fmt.Errorf("unsupported signing algorithm %q (supported: %s)", alg, strings.Join(config.STSAlgorithms, ", "))
	}
	return a, nil
}

// keyAAD binds a sealed private key to its kid, so it cannot pass for another key.
func keyAAD(kid string) []byte { return []byte("tollgate signing key " + kid) }

// GenerateSigningKey returns a new signing key for alg, created at now and signing
// from then (set SignsFrom later to publish it ahead), ready for the store: its kid is
// the RFC 7638 thumbprint of its public key, so a kid names one key forever; its
// private key is sealed by sealer, bound to the kid.
func GenerateSigningKey(alg string, sealer *Sealer, now time.Time) (store.SigningKey, error) {
	a, err := lookupAlgorithm(alg)
	if err != nil {
		return store.SigningKey{}, err
	}
	priv, err := a.generate()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate %s signing key: %w", alg, err)
	}
	kid, jwk, err := publicJWK(priv.Public(), alg)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate %s signing key: %w", alg, err)
	}
	sealed, err := sealPrivateKey(priv, kid, sealer)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate %s signing key: %w", alg, err)
	}
	return store.SigningKey{KID: kid, Algorithm: alg, PublicJWK: jwk, Sealed: sealed, CreatedAt: now.UTC(), SignsFrom: now.UTC()}, nil
}

// publicJWK returns the kid and the JSON public JWK (kty, use, alg, kid and the key's
// parameters) of pub.
func publicJWK(pub crypto.PublicKey, alg string) (string, []byte, error) {
	j, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.ALG(alg), USE: jwkset.UseSig},
	})
	if err != nil {
		return "", nil, fmt.Errorf("public JWK: %w", err)
	}
	m := j.Marshal()
	if m.KID, err = thumbprint(m); err != nil {
		return "", nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", nil, fmt.Errorf("public JWK: %w", err)
	}
	return m.KID, b, nil
}

// thumbprint returns the RFC 7638 JWK thumbprint of a public key: the base64url
// SHA-256 of the JSON object of its required members, sorted, without whitespace.
func thumbprint(m jwkset.JWKMarshal) (string, error) {
	var members map[string]string
	switch m.KTY {
	case jwkset.KtyRSA:
		members = map[string]string{"e": m.E, "kty": string(m.KTY), "n": m.N}
	case jwkset.KtyEC:
		members = map[string]string{"crv": string(m.CRV), "kty": string(m.KTY), "x": m.X, "y": m.Y}
	case jwkset.KtyOKP:
		members = map[string]string{"crv": string(m.CRV), "kty": string(m.KTY), "x": m.X}
	default:
		return "", fmt.Errorf("JWK thumbprint: unsupported key type %q", m.KTY)
	}
	// json.Marshal sorts map keys and adds no whitespace; the values are base64url
	// and names, which it writes unescaped, as RFC 7638 requires.
	canonical, err := json.Marshal(members)
	if err != nil {
		return "", fmt.Errorf("JWK thumbprint: %w", err)
	}
	sum := sha256.Sum256(canonical)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

func sealPrivateKey(priv crypto.Signer, kid string, sealer *Sealer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	defer clear(der)
	sealed, err := sealer.Seal(der, keyAAD(kid))
	if err != nil {
		return nil, fmt.Errorf("seal private key: %w", err)
	}
	return sealed, nil
}

// Signer signs access tokens with one signing key. It is safe for concurrent use.
type Signer struct {
	kid    string
	alg    string
	method jwt.SigningMethod
	key    crypto.Signer
}

// OpenSigningKey unseals k's private key for signing. It refuses a key that does not
// open under sealer (another store key, or altered), whose private key is not of
// k.Algorithm, or whose public half is not k.PublicJWK with k.KID its thumbprint: a
// Signer must never sign with a key the JWKS does not publish under its kid.
func OpenSigningKey(k store.SigningKey, sealer *Sealer) (*Signer, error) {
	a, err := lookupAlgorithm(k.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", k.KID, err)
	}
	priv, err := unsealPrivateKey(k, sealer)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", k.KID, err)
	}
	if !a.fits(priv) {
		return nil, fmt.Errorf("signing key %s: the private key is not an %s key", k.KID, k.Algorithm)
	}
	if err := checkPublicJWK(k, priv.Public()); err != nil {
		return nil, fmt.Errorf("signing key %s: %w", k.KID, err)
	}
	return &Signer{kid: k.KID, alg: k.Algorithm, method: a.method, key: priv}, nil
}

func unsealPrivateKey(k store.SigningKey, sealer *Sealer) (crypto.Signer, error) {
	der, err := sealer.Open(k.Sealed, keyAAD(k.KID))
	if err != nil {
		return nil, err
	}
	defer clear(der)
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("the private key cannot sign")
	}
	return signer, nil
}

// checkPublicJWK checks that k.PublicJWK is pub, under kid k.KID (its thumbprint) and
// alg k.Algorithm.
func checkPublicJWK(k store.SigningKey, pub crypto.PublicKey) error {
	j, err := jwkset.NewJWKFromRawJSON(k.PublicJWK, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return fmt.Errorf("public JWK: %w", err)
	}
	m := j.Marshal()
	if m.KID != k.KID || string(m.ALG) != k.Algorithm {
		return fmt.Errorf("public JWK has kid %q and alg %q, not the key's", m.KID, m.ALG)
	}
	p, ok := j.Key().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !p.Equal(pub) {
		return errors.New("public JWK is not the public half of the sealed private key")
	}
	kid, err := thumbprint(m)
	if err != nil {
		return err
	}
	if kid != k.KID {
		return errors.New("kid is not the RFC 7638 thumbprint of the public key")
	}
	return nil
}

// KID returns the key ID that tokens name in their kid header and the JWKS publishes.
func (s *Signer) KID() string { return s.kid }

// Sign returns claims as a compact JWS access token signed by the key, with the
// RFC 9068 header {"alg", "typ": "at+jwt", "kid"} so a resource server can tell an
// access token from an ID token and find the key in the JWKS.
func (s *Signer) Sign(claims map[string]any) (string, error) {
	if claims == nil {
		return "", errors.New("sign token: no claims")
	}
	tok := &jwt.Token{
		Header: map[string]any{"alg": s.alg, "typ": "at+jwt", "kid": s.kid},
		Claims: jwt.MapClaims(claims),
		Method: s.method,
	}
	signed, err := tok.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("sign token with key %s: %w", s.kid, err)
	}
	return signed, nil
}

// JWKS returns the JSON JWK Set {"keys": [...]} of the keys' public JWKs, in the
// given order: what the token service publishes for resource servers to verify with.
func JWKS(keys []store.SigningKey) ([]byte, error) {
	set := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: make([]json.RawMessage, 0, len(keys))}
	for _, k := range keys {
		if !json.Valid(k.PublicJWK) {
			return nil, fmt.Errorf("JWKS: signing key %s: public JWK is not valid JSON", k.KID)
		}
		set.Keys = append(set.Keys, k.PublicJWK)
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	return b, nil
}
