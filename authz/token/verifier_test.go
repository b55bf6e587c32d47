package token

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/token/tokentest"
)

const (
	asgardeoIss = "https://api.asgardeo.io/t/acme/oauth2/token"
	stsIss      = "https://sts.acme.test"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testIssuers starts a JWKS server per issuer: asgardeo (RS256, any audience) and an
// RFC 9068 STS (RS256 and ES256, audience "orders-api").
type testIssuers struct {
	asgardeo, sts, stsEC, rogue *tokentest.Key
	verifier                    *Verifier
}

func newTestIssuers(t *testing.T, cacheSize int) *testIssuers {
	t.Helper()
	ti := &testIssuers{
		asgardeo: tokentest.NewRSAKey(t, "asg-1"),
		sts:      tokentest.NewRSAKey(t, "sts-1"),
		stsEC:    tokentest.NewECKey(t, "sts-ec"),
		rogue:    tokentest.NewRSAKey(t, "rogue"),
	}
	asgJWKS := tokentest.NewJWKS(t, ti.asgardeo)
	stsJWKS := tokentest.NewJWKS(t, ti.sts, ti.stsEC)
	issuers := []config.Issuer{
		{Name: "asgardeo", Issuer: asgardeoIss, JWKSURI: asgJWKS.URL(), Algorithms: []string{"RS256"},
			ClientIDClaims: []string{"client_id", "azp"}, ScopeClaims: []string{"scope", "scp"}},
		{Name: "sts", Issuer: stsIss, JWKSURI: stsJWKS.URL(), Algorithms: []string{"RS256", "ES256"},
			Audiences: []string{"orders-api"}, ClientIDClaims: []string{"client_id"}, ScopeClaims: []string{"scope"}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := NewVerifier(ctx, issuers, cacheSize, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	ti.verifier = v
	return ti
}

func TestVerify(t *testing.T) {
	ti := newTestIssuers(t, 0)
	now := time.Now()
	asg := func(extra jwt.MapClaims) jwt.MapClaims {
		base := jwt.MapClaims{"client_id": "web", "azp": "web", "scope": "openid urn:acme:orders:read"}
		for k, v := range extra {
			base[k] = v
		}
		return tokentest.Claims(asgardeoIss, base)
	}
	sts := func(extra jwt.MapClaims) jwt.MapClaims {
		base := jwt.MapClaims{"client_id": "app-1", "aud": "orders-api", "scope": "a b"}
		for k, v := range extra {
			base[k] = v
		}
		return tokentest.Claims(stsIss, base)
	}
	valid := ti.asgardeo.Sign(t, asg(nil), nil)
	tests := []struct {
		name  string
		token string
		want  *Error
	}{
		{"asgardeo token", valid, nil},
		{"sts token", ti.sts.Sign(t, sts(nil), nil), nil},
		{"sts ES256 token", ti.stsEC.Sign(t, sts(nil), nil), nil},
		{"aud list containing ours", ti.sts.Sign(t, sts(jwt.MapClaims{"aud": []string{"x", "orders-api"}}), nil), nil},
		{"expired", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"exp": now.Add(-2 * time.Minute).Unix()}), nil), ErrExpired},
		{"expired within leeway", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"exp": now.Add(-30 * time.Second).Unix()}), nil), nil},
		{"not yet valid", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"nbf": now.Add(5 * time.Minute).Unix()}), nil), ErrNotYetValid},
		{"nbf within leeway", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"nbf": now.Add(30 * time.Second).Unix()}), nil), nil},
		{"issued in the future", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"iat": now.Add(5 * time.Minute).Unix()}), nil), ErrIssuedInFuture},
		{"missing exp", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"exp": nil}), nil), ErrNoExpiry},
		{"exp not a number", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"exp": "tomorrow"}), nil), ErrTimeClaim},
		{"nbf not a number", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"nbf": true}), nil), ErrTimeClaim},
		{"wrong iss", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"iss": "https://evil.test"}), nil), ErrUnknownIssuer},
		{"iss with trailing slash", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"iss": asgardeoIss + "/"}), nil), ErrUnknownIssuer},
		{"missing iss", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"iss": nil}), nil), ErrUnknownIssuer},
		{"wrong aud", ti.sts.Sign(t, sts(jwt.MapClaims{"aud": "payments-api"}), nil), ErrAudience},
		{"missing aud", ti.sts.Sign(t, sts(jwt.MapClaims{"aud": nil}), nil), ErrAudience},
		{"alg none", tokentest.Unsigned(asg(nil)), ErrAlgorithm},
		{"HS256 keyed with the RSA public key", tokentest.HMACWithPublicKey(t, ti.asgardeo, asg(nil)), ErrAlgorithm},
		{"ES256 for an RS256-only issuer", ti.stsEC.Sign(t, asg(nil), nil), ErrAlgorithm},
		{"tampered payload", tokentest.Tamper(valid, asg(jwt.MapClaims{"scope": "admin"})), ErrSignature},
		{"signed by another key under a known kid", ti.rogue.Sign(t, asg(nil), map[string]any{"kid": "asg-1"}), ErrSignature},
		{"unknown kid", ti.rogue.Sign(t, asg(nil), nil), ErrUnknownKey},
		{"no kid, no key fits", ti.rogue.Sign(t, asg(nil), map[string]any{"kid": nil}), ErrSignature},
		{"no kid, a key fits", ti.asgardeo.Sign(t, asg(nil), map[string]any{"kid": nil}), nil},
		{"garbage", "not-a-jwt", ErrMalformed},
		{"three garbage segments", "a.b.c", ErrMalformed},
		{"ID token with nonce", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"nonce": "n"}), map[string]any{"typ": "JWT"}), ErrIDToken},
		{"ID token with at_hash", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"at_hash": "h"}), nil), ErrIDToken},
		{"typ JWT", ti.asgardeo.Sign(t, asg(nil), map[string]any{"typ": "JWT"}), nil},
		{"typ application/at+jwt", ti.asgardeo.Sign(t, asg(nil), map[string]any{"typ": "application/at+jwt"}), nil},
		{"typ upper case", ti.asgardeo.Sign(t, asg(nil), map[string]any{"typ": "AT+JWT"}), nil},
		{"typ absent", ti.asgardeo.Sign(t, asg(nil), map[string]any{"typ": nil}), nil},
		{"typ dpop+jwt", ti.asgardeo.Sign(t, asg(nil), map[string]any{"typ": "dpop+jwt"}), ErrType},
		{"typ not a string", ti.asgardeo.Sign(t, asg(nil), map[string]any{"typ": 7}), ErrType},
		{"crit header", ti.asgardeo.Sign(t, asg(nil), map[string]any{"crit": []string{"exp"}}), ErrCritical},
		{"scope of the wrong type", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"scope": 42}), nil), errInvalidClaim("scope")},
		{"client_id of the wrong type", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"client_id": []string{"a"}}), nil), errInvalidClaim("client_id")},
		{"sub with a newline", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"sub": "a\r\nx-tollgate-api: evil"}), nil), errInvalidClaim("sub")},
		{"scope with a vertical tab", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"scope": "a\x0bb c"}), nil), errInvalidClaim("scope")},
		{"scope with a tab", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"scope": "a\tb"}), nil), errInvalidClaim("scope")},
		{"scope with a newline", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"scope": "a\nx-tollgate-api: evil"}), nil), errInvalidClaim("scope")},
		{"scope with DEL", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"scope": "a\x7f"}), nil), errInvalidClaim("scope")},
		{"scope list item with a control character", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"scope": []string{"a", "b\x0b"}}), nil), errInvalidClaim("scope")},
		{"scope list item with a tab", ti.asgardeo.Sign(t, asg(jwt.MapClaims{"scope": []string{"a\tb"}}), nil), errInvalidClaim("scope")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ti.verifier.Verify(context.Background(), tt.token)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("Verify: %v; want success", err)
			case tt.want == nil && id == nil:
				t.Fatal("Verify returned neither identity nor error")
			case tt.want != nil && (err == nil || *err != *tt.want):
				t.Fatalf("Verify error = %v; want %v", err, tt.want)
			case tt.want != nil && id != nil:
				t.Fatal("Verify returned an identity with an error")
			}
		})
	}
}

func TestIdentityClaims(t *testing.T) {
	ti := newTestIssuers(t, 0)
	tests := []struct {
		name       string
		key        *tokentest.Key
		claims     jwt.MapClaims
		wantIssuer string
		wantClient string
		wantScopes []string
	}{
		{"asgardeo client_id and space-separated scope", ti.asgardeo,
			tokentest.Claims(asgardeoIss, jwt.MapClaims{"client_id": "web", "azp": "other", "scope": "openid  a:b "}),
			"asgardeo", "web", []string{"openid", "a:b"}},
		{"azp when client_id is absent", ti.asgardeo,
			tokentest.Claims(asgardeoIss, jwt.MapClaims{"azp": "web"}), "asgardeo", "web", []string{}},
		{"scp as an array", ti.asgardeo,
			tokentest.Claims(asgardeoIss, jwt.MapClaims{"client_id": "c", "scp": []string{"x", "y"}}), "asgardeo", "c", []string{"x", "y"}},
		{"scope wins over scp", ti.asgardeo,
			tokentest.Claims(asgardeoIss, jwt.MapClaims{"client_id": "c", "scope": "s", "scp": []string{"x"}}), "asgardeo", "c", []string{"s"}},
		{"sts ignores azp", ti.sts,
			tokentest.Claims(stsIss, jwt.MapClaims{"aud": "orders-api", "azp": "c"}), "sts", "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ti.verifier.Verify(context.Background(), tt.key.Sign(t, tt.claims, nil))
			if err != nil {
				t.Fatal(err)
			}
			if id.Issuer != tt.wantIssuer || id.ClientID != tt.wantClient || strings.Join(id.Scopes, "|") != strings.Join(tt.wantScopes, "|") {
				t.Errorf("identity = %s %q %q; want %s %q %q", id.Issuer, id.ClientID, id.Scopes, tt.wantIssuer, tt.wantClient, tt.wantScopes)
			}
			if id.Subject != "alice@acme.test" || id.Value == nil {
				t.Errorf("subject %q, value %v", id.Subject, id.Value)
			}
		})
	}
}

func TestErrorDescriptionsFitWWWAuthenticate(t *testing.T) {
	all := []*Error{ErrMultipleCredentials, ErrMalformedHeader, ErrTokenInQuery, ErrMalformed, ErrUnknownIssuer,
		ErrAlgorithm, ErrUnknownKey, ErrSignature, ErrExpired, ErrNotYetValid, ErrIssuedInFuture, ErrNoExpiry,
		ErrAudience, ErrType, ErrCritical, ErrIDToken, ErrTimeClaim, errInvalidClaim("scope")}
	for _, e := range all {
		for _, c := range e.Description {
			// RFC 6750 section 3: error_description is %x20-21 / %x23-5B / %x5D-7E.
			if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				t.Errorf("%s: description %q has %q, not allowed in error_description", e.Reason, e.Description, c)
			}
		}
	}
}

func TestCache(t *testing.T) {
	ti := newTestIssuers(t, 100)
	claims := tokentest.Claims(asgardeoIss, jwt.MapClaims{"client_id": "web", "exp": time.Now().Add(cacheTTL + 10*time.Minute).Unix()})
	tok := ti.asgardeo.Sign(t, claims, nil)
	first, err := ti.verifier.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ti.verifier.Verify(context.Background(), tok)
	if err != nil || second != first {
		t.Fatalf("second Verify = %p, %v; want the cached identity %p", second, err, first)
	}
	// Past cacheTTL the signature is checked again.
	ti.verifier.now = func() time.Time { return time.Now().Add(cacheTTL + time.Second) }
	third, err := ti.verifier.Verify(context.Background(), tok)
	if err != nil || third == first {
		t.Fatalf("Verify after cacheTTL = %p, %v; want a fresh verification", third, err)
	}
	// Past the token's expiry the cached entry is not used: the token is verified again
	// and refused.
	ti.verifier.now = func() time.Time { return time.Now().Add(cacheTTL + 20*time.Minute) }
	if _, err := ti.verifier.Verify(context.Background(), tok); err != ErrExpired {
		t.Fatalf("Verify after expiry = %v; want %v", err, ErrExpired)
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := newCache(cacheShards * 2)
	id := &Identity{Expiry: time.Now().Add(time.Hour)}
	for i := range 10000 {
		var key [32]byte
		key[0], key[1], key[2] = byte(i), byte(i>>8), byte(i>>16)
		c.put(key, entry{id: id}, time.Now())
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].m)
	}
	if n > cacheShards*2 {
		t.Fatalf("cache holds %d entries; want at most %d", n, cacheShards*2)
	}
}

func BenchmarkVerify(b *testing.B) {
	k := tokentest.NewRSAKey(b, "bench")
	jwks := tokentest.NewJWKS(b, k)
	issuers := []config.Issuer{{Name: "bench", Issuer: stsIss, JWKSURI: jwks.URL(), Algorithms: []string{"RS256"},
		ClientIDClaims: []string{"client_id"}, ScopeClaims: []string{"scope"}}}
	tok := k.Sign(b, tokentest.Claims(stsIss, jwt.MapClaims{"client_id": "c", "scope": "a b"}), nil)
	for _, size := range []int{0, 1000} {
		name := "miss"
		if size > 0 {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			v, err := NewVerifier(context.Background(), issuers, size, quiet, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Keys published for encryption never verify a signature (RFC 7517 section 4.2), with
// or without a kid in the token; nor do keys of another algorithm.
func TestKeyUseAndAlgorithm(t *testing.T) {
	sig := tokentest.NewRSAKey(t, "sig-1")
	enc := tokentest.NewRSAKey(t, "enc-1")
	enc.Use = jwkset.UseEnc
	ec := tokentest.NewECKey(t, "ec-1")
	jwks := tokentest.NewJWKS(t, sig, enc)
	v, err := NewVerifier(context.Background(), []config.Issuer{{Name: "a", Issuer: stsIss, JWKSURI: jwks.URL(),
		Algorithms: []string{"RS256", "ES256"}, ClientIDClaims: []string{"client_id"}, ScopeClaims: []string{"scope"}}}, 0, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	claims := tokentest.Claims(stsIss, jwt.MapClaims{"client_id": "c"})
	noKID := map[string]any{"kid": nil}
	tests := []struct {
		name  string
		token string
		want  *Error
	}{
		{"signing key by kid", sig.Sign(t, claims, nil), nil},
		{"signing key without kid", sig.Sign(t, claims, noKID), nil},
		{"encryption key by kid", enc.Sign(t, claims, nil), ErrUnknownKey},
		{"encryption key without kid", enc.Sign(t, claims, noKID), ErrSignature},
		{"no key of the algorithm's type", ec.Sign(t, claims, noKID), ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := v.Verify(context.Background(), tt.token); err != tt.want {
				t.Errorf("Verify = %v; want %v", err, tt.want)
			}
		})
	}
}
