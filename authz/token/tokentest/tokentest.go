// Package tokentest provides test issuers: key pairs, a JWKS served over real HTTP by
// httptest, and signed (or deliberately broken) tokens. It is for tests only.
package tokentest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// Key is a signing key pair with its key ID.
type Key struct {
	KID     string
	Private crypto.Signer
	Method  jwt.SigningMethod
	// Use is the JWK "use"; empty leaves it out.
	Use jwkset.USE
}

var (
	rsaMu   sync.Mutex
	rsaKeys = map[string]*rsa.PrivateKey{}
)

// NewRSAKey returns an RSA key for RS256. Keys are generated once per key ID and test
// binary (generation is slow under -race): the same kid gives the same key, another kid
// another key.
func NewRSAKey(t testing.TB, kid string) *Key {
	t.Helper()
	rsaMu.Lock()
	defer rsaMu.Unlock()
	k := rsaKeys[kid]
	if k == nil {
		var err error
		if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
		rsaKeys[kid] = k
	}
	return &Key{KID: kid, Private: k, Method: jwt.SigningMethodRS256, Use: jwkset.UseSig}
}

// NewECKey returns a fresh P-256 key for ES256.
func NewECKey(t testing.TB, kid string) *Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{KID: kid, Private: k, Method: jwt.SigningMethodES256, Use: jwkset.UseSig}
}

// JWK returns the key's public JWK.
func (k *Key) JWK(t testing.TB) jwkset.JWKMarshal {
	t.Helper()
	j, err := jwkset.NewJWKFromKey(k.Private.Public(), jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{KID: k.KID, USE: k.Use},
	})
	if err != nil {
		t.Fatal(err)
	}
	return j.Marshal()
}

// PublicPEM returns the public key in PEM, as an attacker would find it.
func (k *Key) PublicPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.Private.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Sign signs claims with the key. header entries are added to (or, set to nil,
// removed from) the default header {alg, typ: at+jwt, kid}.
func (k *Key) Sign(t testing.TB, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(k.Method, claims)
	tok.Header["typ"] = "at+jwt"
	tok.Header["kid"] = k.KID
	for name, v := range header {
		if v == nil {
			delete(tok.Header, name)
			continue
		}
		tok.Header[name] = v
	}
	s, err := tok.SignedString(k.Private)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// JWKS is a JWK Set served over HTTP, whose keys and answers a test can change.
type JWKS struct {
	Server *httptest.Server
	mu     sync.Mutex
	body   []byte
	status int
	delay  time.Duration
	hits   int
}

// NewJWKS serves the public keys at Server.URL until the test ends.
func NewJWKS(t testing.TB, keys ...*Key) *JWKS {
	t.Helper()
	return serveJWKS(t, httptest.NewServer, keys)
}

// NewTLSJWKS serves the public keys over https, with a certificate of httptest's own
// CA: a client trusts it only when given CAPEM.
func NewTLSJWKS(t testing.TB, keys ...*Key) *JWKS {
	t.Helper()
	return serveJWKS(t, httptest.NewTLSServer, keys)
}

func serveJWKS(t testing.TB, start func(http.Handler) *httptest.Server, keys []*Key) *JWKS {
	t.Helper()
	j := &JWKS{}
	j.SetKeys(t, keys...)
	j.Server = start(http.HandlerFunc(j.serve))
	t.Cleanup(j.Server.Close)
	return j
}

// CAPEM returns the PEM of the certificate a TLS JWKS server presents.
func (j *JWKS) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: j.Server.Certificate().Raw})
}

// URL is the JWKS URI.
func (j *JWKS) URL() string { return j.Server.URL + "/jwks" }

// SetKeys replaces the served keys, as an issuer does when it rotates.
func (j *JWKS) SetKeys(t testing.TB, keys ...*Key) {
	t.Helper()
	j.SetResponse(http.StatusOK, SetOf(t, keys...))
}

// SetOf returns the JWK Set of the keys' public halves.
func SetOf(t testing.TB, keys ...*Key) []byte {
	t.Helper()
	set := jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.JWK(t))
	}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// SetResponse makes the server answer with this status and body.
func (j *JWKS) SetResponse(status int, body []byte) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.status, j.body = status, body
}

// SetDelay makes the server wait before it answers, as a slow issuer does.
func (j *JWKS) SetDelay(d time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.delay = d
}

// Hits counts the requests served.
func (j *JWKS) Hits() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.hits
}

func (j *JWKS) serve(w http.ResponseWriter, r *http.Request) {
	j.mu.Lock()
	status, body, delay := j.status, j.body, j.delay
	j.hits++
	j.mu.Unlock()
	select { // a client that gives up ends the wait, so the server can close
	case <-time.After(delay):
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Claims returns a valid claim set for an access token from iss: iat now, exp in an
// hour, plus the extra claims (a nil value removes a claim).
func Claims(iss string, extra jwt.MapClaims) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": iss,
		"sub": "alice@acme.test",
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
		"jti": "test",
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// Unsigned returns a token with alg "none" and an empty signature.
func Unsigned(claims jwt.MapClaims) string {
	return segment(map[string]any{"alg": "none", "typ": "JWT"}) + "." + segment(claims) + "."
}

// HMACWithPublicKey returns an HS256 token whose secret is the issuer's public key PEM:
// the algorithm-confusion attack.
func HMACWithPublicKey(t testing.TB, k *Key, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = k.KID
	s, err := tok.SignedString(k.PublicPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Tamper replaces the payload of a signed token, keeping its header and signature.
func Tamper(token string, claims jwt.MapClaims) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return token
	}
	return parts[0] + "." + segment(claims) + "." + parts[2]
}

func segment(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
