package sts

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/store"
)

// testNow is not in UTC, to check that GenerateSigningKey stores UTC.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("UTC+1", 3600))

var (
	testKeysMu sync.Mutex
	testKeys   = map[string]store.SigningKey{}
)

// testSigningKey returns a signing key for alg sealed under testMasterKey. Keys are
// generated once per algorithm and test binary: RSA generation is slow under -race.
func testSigningKey(t testing.TB, alg string) store.SigningKey {
	t.Helper()
	testKeysMu.Lock()
	defer testKeysMu.Unlock()
	k, ok := testKeys[alg]
	if !ok {
		var err error
		if k, err = GenerateSigningKey(alg, testSealer(t, testMasterKey), testNow); err != nil {
			t.Fatal(err)
		}
		testKeys[alg] = k
	}
	return k
}

func TestAlgorithmsAreImplemented(t *testing.T) {
	if len(config.STSAlgorithms) != len(algorithms) {
		t.Fatalf("config.STSAlgorithms lists %d, %d are implemented", len(config.STSAlgorithms), len(algorithms))
	}
	for _, alg := range config.STSAlgorithms {
		if a, ok := algorithms[alg]; !ok || a.method.Alg() != alg {
			t.Errorf("%s is not implemented by its JWS method", alg)
		}
	}
}

func TestThumbprint(t *testing.T) {
	tests := []struct {
		name string
		jwk  jwkset.JWKMarshal
		want string
	}{
		{"RFC 7638 section 3.1", jwkset.JWKMarshal{
			KTY: jwkset.KtyRSA, ALG: jwkset.AlgRS256, KID: "2011-04-29", E: "AQAB",
			N: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
		}, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		{"RFC 8037 appendix A.3", jwkset.JWKMarshal{
			KTY: jwkset.KtyOKP, CRV: jwkset.CrvEd25519, X: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
		}, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
	}
	for _, tt := range tests {
		if got, err := thumbprint(tt.jwk); err != nil || got != tt.want {
			t.Errorf("%s: thumbprint = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := thumbprint(jwkset.JWKMarshal{KTY: jwkset.KtyOct, K: "c2VjcmV0"}); err == nil {
		t.Error("a symmetric key has no thumbprint here")
	}
}

// independentThumbprint computes the RFC 7638 thumbprint of a public JWK by the letter
// of the RFC, sharing no code with thumbprint.
func independentThumbprint(t *testing.T, jwk map[string]string) string {
	t.Helper()
	var canonical string
	switch jwk["kty"] {
	case "RSA":
		canonical = fmt.Sprintf(`{"e":"%s","kty":"RSA","n":"%s"}`, jwk["e"], jwk["n"])
	case "EC":
		canonical = fmt.Sprintf(`{"crv":"%s","kty":"EC","x":"%s","y":"%s"}`, jwk["crv"], jwk["x"], jwk["y"])
	case "OKP":
		canonical = fmt.Sprintf(`{"crv":"%s","kty":"OKP","x":"%s"}`, jwk["crv"], jwk["x"])
	default:
		t.Fatalf("kty %q", jwk["kty"])
	}
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestSigningKeys(t *testing.T) {
	tests := []struct{ alg, kty, crv string }{
		{"RS256", "RSA", ""},
		{"ES256", "EC", "P-256"},
		{"EdDSA", "OKP", "Ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			k := testSigningKey(t, tt.alg)
			checkStoredKey(t, k, tt.alg)
			var jwk map[string]string
			if err := json.Unmarshal(k.PublicJWK, &jwk); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"kty": tt.kty, "use": "sig", "alg": tt.alg, "kid": k.KID, "crv": tt.crv}
			for member, v := range want {
				if jwk[member] != v {
					t.Errorf("JWK %s = %q, want %q", member, jwk[member], v)
				}
			}
			if got := independentThumbprint(t, jwk); k.KID != got {
				t.Errorf("kid %q is not the RFC 7638 thumbprint %q", k.KID, got)
			}
			signer, err := OpenSigningKey(k, testSealer(t, testMasterKey))
			if err != nil {
				t.Fatal(err)
			}
			if signer.KID() != k.KID || signer.alg != tt.alg {
				t.Errorf("signer has kid %q and alg %q", signer.KID(), signer.alg)
			}
			checkSigns(t, signer, k)
		})
	}
}

func checkStoredKey(t *testing.T, k store.SigningKey, alg string) {
	t.Helper()
	if k.Algorithm != alg || !k.CreatedAt.Equal(testNow) || k.CreatedAt.Location() != time.UTC {
		t.Errorf("key has algorithm %q, created %v; want %q, %v", k.Algorithm, k.CreatedAt, alg, testNow.UTC())
	}
	if k.State(testNow) != store.KeyActive || !k.SignsFrom.Equal(k.CreatedAt) || !k.RetiredAt.IsZero() || !k.RemoveAfter.IsZero() {
		t.Error("a new key should sign from its creation")
	}
	var jwk map[string]any
	if err := json.Unmarshal(k.PublicJWK, &jwk); err != nil {
		t.Fatal(err)
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
		if _, ok := jwk[private]; ok {
			t.Errorf("the public JWK has private member %q", private)
		}
	}
}

// checkSigns signs a token with signer and verifies it with the public key read back
// from k.PublicJWK, as a resource server would.
func checkSigns(t *testing.T, signer *Signer, k store.SigningKey) {
	t.Helper()
	exp := time.Now().Add(time.Hour).Unix()
	token, err := signer.Sign(map[string]any{"iss": "https://tollgate.example", "sub": "app", "exp": exp, "scope": "read"})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwkset.NewJWKFromRawJSON(k.PublicJWK, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return pub.Key(), nil },
		jwt.WithValidMethods([]string{k.Algorithm}))
	if err != nil {
		t.Fatalf("the token does not verify: %v", err)
	}
	want := map[string]any{"alg": k.Algorithm, "typ": "at+jwt", "kid": k.KID}
	if len(parsed.Header) != len(want) {
		t.Errorf("header %v, want %v", parsed.Header, want)
	}
	for name, v := range want {
		if parsed.Header[name] != v {
			t.Errorf("header %s = %v, want %v", name, parsed.Header[name], v)
		}
	}
	if sub, _ := parsed.Claims.GetSubject(); sub != "app" {
		t.Errorf("sub = %q, want app", sub)
	}
}

func TestGenerateSigningKeyRefuses(t *testing.T) {
	for _, alg := range []string{"", "HS256", "rs256", "ES384", "none"} {
		_, err := GenerateSigningKey(alg, testSealer(t, testMasterKey), testNow)
		if err == nil || !strings.Contains(err.Error(), "RS256, ES256, EdDSA") {
			t.Errorf("%q: err = %v, want one listing the supported algorithms", alg, err)
		}
	}
}

// withJWKMember returns jwk with one member set to value.
func withJWKMember(t *testing.T, jwk []byte, member, value string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(jwk, &m); err != nil {
		t.Fatal(err)
	}
	m[member] = value
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// resealedUnderKID returns k with its private key sealed for another kid, and its
// JWK naming that kid: a key whose kid is not its thumbprint.
func resealedUnderKID(t *testing.T, k store.SigningKey, kid string) store.SigningKey {
	t.Helper()
	s := testSealer(t, testMasterKey)
	der, err := s.Open(k.Sealed, keyAAD(k.KID))
	if err != nil {
		t.Fatal(err)
	}
	if k.Sealed, err = s.Seal(der, keyAAD(kid)); err != nil {
		t.Fatal(err)
	}
	k.KID = kid
	k.PublicJWK = withJWKMember(t, k.PublicJWK, "kid", kid)
	return k
}

func TestOpenSigningKeyRefuses(t *testing.T) {
	es := testSigningKey(t, "ES256")
	other, err := GenerateSigningKey("ES256", testSealer(t, testMasterKey), testNow)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(es.Sealed)
	tampered[len(tampered)/2] ^= 0x80
	with := func(change func(*store.SigningKey)) store.SigningKey {
		k := es
		change(&k)
		return k
	}
	tests := []struct {
		name   string
		key    store.SigningKey
		master []byte
		want   string // in the error
	}{
		{"tampered sealed key", with(func(k *store.SigningKey) { k.Sealed = tampered }), testMasterKey, "store key may be wrong"},
		{"no sealed key", with(func(k *store.SigningKey) { k.Sealed = nil }), testMasterKey, "too short"},
		{"other store key", es, bytes.Repeat([]byte{1}, 32), "store key may be wrong"},
		{"sealed key of another kid", with(func(k *store.SigningKey) { k.Sealed = other.Sealed }), testMasterKey, "store key may be wrong"},
		{"unsupported algorithm", with(func(k *store.SigningKey) { k.Algorithm = "HS256" }), testMasterKey, "unsupported signing algorithm"},
		{"EC key as EdDSA", with(func(k *store.SigningKey) { k.Algorithm = "EdDSA" }), testMasterKey, "not an EdDSA key"},
		{"EC key as RS256", with(func(k *store.SigningKey) { k.Algorithm = "RS256" }), testMasterKey, "not an RS256 key"},
		{"Ed25519 key as ES256", with(func(k *store.SigningKey) { *k = testSigningKey(t, "EdDSA"); k.Algorithm = "ES256" }), testMasterKey, "not an ES256 key"},
		{"JWK of another key", with(func(k *store.SigningKey) { k.PublicJWK = other.PublicJWK }), testMasterKey, "public JWK has kid"},
		{"JWK of another key under this kid", with(func(k *store.SigningKey) {
			k.PublicJWK = withJWKMember(t, other.PublicJWK, "kid", es.KID)
		}), testMasterKey, "not the public half"},
		{"JWK of another algorithm", with(func(k *store.SigningKey) { k.PublicJWK = withJWKMember(t, k.PublicJWK, "alg", "ES384") }), testMasterKey, "public JWK"},
		{"JWK not JSON", with(func(k *store.SigningKey) { k.PublicJWK = []byte("{") }), testMasterKey, "public JWK"},
		{"no JWK", with(func(k *store.SigningKey) { k.PublicJWK = nil }), testMasterKey, "public JWK"},
		{"kid not the thumbprint", resealedUnderKID(t, es, "my-key"), testMasterKey, "not the RFC 7638 thumbprint"},
	}
	for _, tt := range tests {
		s, err := OpenSigningKey(tt.key, testSealer(t, tt.master))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: OpenSigningKey = %v, %v; want an error saying %q", tt.name, s, err, tt.want)
		}
	}
}

// TestNoPrivateKeyInTheClear checks that neither the stored key nor the key file hold
// the private key, or a piece of it, in DER or PEM.
func TestNoPrivateKeyInTheClear(t *testing.T) {
	unsetStoreKeyEnv(t)
	keyFile := filepath.Join(t.TempDir(), "store.key")
	sealer, err := LoadSealer(keyFile, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range config.STSAlgorithms {
		k, err := GenerateSigningKey(alg, sealer, testNow)
		if err != nil {
			t.Fatal(err)
		}
		der, err := sealer.Open(k.Sealed, keyAAD(k.KID))
		if err != nil {
			t.Fatal(err)
		}
		keyFileBytes, err := os.ReadFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		for name, blob := range map[string][]byte{"sealed key": k.Sealed, "key file": keyFileBytes} {
			if piece := leakedPiece(der, blob); piece != "" {
				t.Errorf("%s: the %s holds %s of the private key", alg, name, piece)
			}
		}
	}
}

// leakedPiece names a piece of the PKCS#8 DER private key found in blob: 16 bytes of
// the DER, the PEM, or a line of it.
func leakedPiece(der, blob []byte) string {
	const window = 16
	for i := 0; i+window <= len(der); i++ {
		if bytes.Contains(blob, der[i:i+window]) {
			return fmt.Sprintf("DER bytes %d to %d", i, i+window)
		}
	}
	p := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if bytes.Contains(blob, p) {
		return "the PEM"
	}
	for line := range strings.Lines(string(p)) {
		if !strings.HasPrefix(line, "-----") && strings.Contains(string(blob), strings.TrimSpace(line)) {
			return "a PEM line"
		}
	}
	return ""
}

func TestSignRefuses(t *testing.T) {
	signer, err := OpenSigningKey(testSigningKey(t, "EdDSA"), testSealer(t, testMasterKey))
	if err != nil {
		t.Fatal(err)
	}
	for name, claims := range map[string]map[string]any{
		"no claims":          nil,
		"claim without JSON": {"sub": make(chan int)},
	} {
		if token, err := signer.Sign(claims); err == nil {
			t.Errorf("%s: Sign = %q, want an error", name, token)
		}
	}
}

func TestJWKS(t *testing.T) {
	keys := []store.SigningKey{testSigningKey(t, "EdDSA"), testSigningKey(t, "RS256"), testSigningKey(t, "ES256")}
	b, err := JWKS(keys)
	if err != nil {
		t.Fatal(err)
	}
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	jwks, err := set.JWKSlice()
	if err != nil {
		t.Fatalf("jwkset does not read the JWKS: %v", err)
	}
	var got, want []string
	for i, j := range jwks {
		got = append(got, j.Marshal().KID)
		want = append(want, keys[i].KID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("JWKS kids %v, want %v", got, want)
	}
	if b, err := JWKS(nil); err != nil || string(b) != `{"keys":[]}` {
		t.Errorf("JWKS(nil) = %s, %v", b, err)
	}
	broken := store.SigningKey{KID: "broken", PublicJWK: []byte("{")}
	if _, err := JWKS([]store.SigningKey{keys[0], broken}); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("JWKS of an invalid JWK: err = %v, want one naming its kid", err)
	}
}

func BenchmarkSign(b *testing.B) {
	for _, alg := range config.STSAlgorithms {
		b.Run(alg, func(b *testing.B) {
			signer, err := OpenSigningKey(testSigningKey(b, alg), testSealer(b, testMasterKey))
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			claims := map[string]any{
				"iss": "https://tollgate.example", "sub": "orders-app", "aud": "https://api.example/orders",
				"client_id": NewClientID(), "scope": "orders:read orders:write", "jti": NewClientID(),
				"iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := signer.Sign(claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
