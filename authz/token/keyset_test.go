package token

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/token/tokentest"
)

// eventually polls cond for up to 10 s: tests wait for background work this way,
// never for a fixed time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func remoteIssuer(name, iss, uri string) config.Issuer {
	return config.Issuer{Name: name, Issuer: iss, JWKSURI: uri, Algorithms: []string{"RS256"},
		ClientIDClaims: []string{"client_id"}, ScopeClaims: []string{"scope"}}
}

func startVerifier(t *testing.T, cacheSize int, issuers ...config.Issuer) *Verifier {
	t.Helper()
	v, err := NewVerifier(context.Background(), issuers, cacheSize, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func tokenOf(t *testing.T, k *tokentest.Key, iss string) string {
	return k.Sign(t, tokentest.Claims(iss, jwt.MapClaims{"client_id": "c"}), nil)
}

// A JWKS that is down at startup does not hold up the server or the other issuers,
// and its keys are picked up, without a restart and without a check asking, once it
// answers.
func TestKeySetDownAtStartup(t *testing.T) {
	down, up := tokentest.NewRSAKey(t, "down-1"), tokentest.NewRSAKey(t, "up-1")
	downJWKS, upJWKS := tokentest.NewJWKS(t, down), tokentest.NewJWKS(t, up)
	downJWKS.SetResponse(http.StatusServiceUnavailable, []byte("maintenance"))
	v := startVerifier(t, 0, remoteIssuer("down", asgardeoIss, downJWKS.URL()), remoteIssuer("up", stsIss, upJWKS.URL()))

	if _, err := v.Verify(context.Background(), tokenOf(t, up, stsIss)); err != nil {
		t.Fatalf("other issuer while one is down: %v", err)
	}
	if _, err := v.Verify(context.Background(), tokenOf(t, down, asgardeoIss)); err != ErrKeysUnavailable {
		t.Fatalf("issuer that is down: %v; want %v", err, ErrKeysUnavailable)
	}
	eventually(t, "the down issuer's failure is recorded", func() bool {
		st := v.Status()[0]
		return st.Failures > 0 && strings.Contains(st.LastError, "503") && st.Keys == 0
	})
	downJWKS.SetKeys(t, down)
	// The retries back off (0.5 s, 1 s, 2 s, …); the keys arrive without any check.
	eventually(t, "keys fetched after the JWKS came up", func() bool { return v.Status()[0].Keys == 1 })
	if _, err := v.Verify(context.Background(), tokenOf(t, down, asgardeoIss)); err != nil {
		t.Fatalf("after the JWKS came up: %v", err)
	}
	if st := v.Status()[0]; st.LastError != "" || st.Failures != 0 || st.LastSuccess.IsZero() {
		t.Errorf("status after recovery = %+v", st)
	}
}

// An issuer that rotates to a new kid is followed at once: the first unknown kid
// refreshes the set.
func TestKeySetRotation(t *testing.T) {
	k1, k2 := tokentest.NewRSAKey(t, "rot-1"), tokentest.NewRSAKey(t, "rot-2")
	jwks := tokentest.NewJWKS(t, k1)
	v := startVerifier(t, 100, remoteIssuer("a", stsIss, jwks.URL()))
	if _, err := v.Verify(context.Background(), tokenOf(t, k1, stsIss)); err != nil {
		t.Fatal(err)
	}
	jwks.SetKeys(t, k1, k2)
	if _, err := v.Verify(context.Background(), tokenOf(t, k2, stsIss)); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	if _, err := v.Verify(context.Background(), tokenOf(t, k1, stsIss)); err != nil {
		t.Fatalf("token of the old key, still published: %v", err)
	}
}

// Tokens naming random kids cannot make Tollgate hammer the issuer: the first unknown
// kid refreshes at once, the rest wait for the unknown-kid interval.
func TestUnknownKIDsAreRateLimited(t *testing.T) {
	k := tokentest.NewRSAKey(t, "known")
	jwks := tokentest.NewJWKS(t, k)
	v := startVerifier(t, 100, remoteIssuer("a", stsIss, jwks.URL()))
	if err := v.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	claims := tokentest.Claims(stsIss, jwt.MapClaims{"client_id": "c"})
	for i := range 200 {
		tok := k.Sign(t, claims, map[string]any{"kid": fmt.Sprintf("random-%d", i)})
		if _, err := v.Verify(context.Background(), tok); err != ErrUnknownKey {
			t.Fatalf("token %d: %v; want %v", i, err, ErrUnknownKey)
		}
	}
	// The first unknown kid refreshed the set at once; the other 199 did not.
	eventually(t, "the first unknown kid refreshes the set", func() bool { return jwks.Hits() >= 2 })
	if hits := jwks.Hits(); hits != 2 {
		t.Errorf("200 unknown kids caused %d JWKS fetches after the first; want 1", hits-1)
	}
	if _, err := v.Verify(context.Background(), tokenOf(t, k, stsIss)); err != nil {
		t.Errorf("known key after the flood: %v", err)
	}
}

// A check waits for a slow refresh only briefly; the refresh goes on and its keys
// arrive for later checks.
func TestSlowRefreshDoesNotHoldChecks(t *testing.T) {
	k1, k2 := tokentest.NewRSAKey(t, "slow-1"), tokentest.NewRSAKey(t, "slow-2")
	jwks := tokentest.NewJWKS(t, k1)
	c := remoteIssuer("a", stsIss, jwks.URL())
	c.UnknownKIDWait = 20 * time.Millisecond
	v := startVerifier(t, 0, c)
	if err := v.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	jwks.SetKeys(t, k1, k2)
	jwks.SetDelay(time.Second)
	if _, err := v.Verify(context.Background(), tokenOf(t, k2, stsIss)); err != ErrUnknownKey {
		t.Fatalf("during a slow refresh: %v; want %v", err, ErrUnknownKey)
	}
	eventually(t, "the slow refresh completes in the background", func() bool { return v.Status()[0].Keys == 2 })
	if _, err := v.Verify(context.Background(), tokenOf(t, k2, stsIss)); err != nil {
		t.Fatalf("after the slow refresh: %v", err)
	}
}

// A fetch that fails or returns garbage keeps the last good key set.
func TestKeySetKeepsLastGoodSet(t *testing.T) {
	k := tokentest.NewRSAKey(t, "good")
	tests := []struct {
		name   string
		status int
		body   string
		want   string // in Status.LastError
	}{
		{"500", http.StatusInternalServerError, "oops", "status 500"},
		{"not JSON", http.StatusOK, "<html>", "not a JWK Set"},
		{"no keys", http.StatusOK, `{"keys": []}`, "no usable signing key"},
		{"only broken keys", http.StatusOK, `{"keys": [{"kty": "RSA", "kid": "x", "n": "AQAB"}]}`, "no usable signing key"},
		{"only a symmetric key", http.StatusOK, `{"keys": [{"kty": "oct", "kid": "x", "k": "c2VjcmV0"}]}`, "no usable signing key"},
		{"too large", http.StatusOK, `{"keys": [], "padding": "` + strings.Repeat("x", 5000) + `"}`, "max_jwks_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jwks := tokentest.NewJWKS(t, k)
			c := remoteIssuer("a", stsIss, jwks.URL())
			c.UnknownKIDRefreshInterval = time.Nanosecond // every unknown kid refreshes
			c.MaxJWKSBytes = 4096
			v := startVerifier(t, 0, c)
			if err := v.Ready(context.Background()); err != nil {
				t.Fatal(err)
			}
			jwks.SetResponse(tt.status, []byte(tt.body))
			hits := jwks.Hits()
			// An unknown kid makes the set refresh; the fetch fails.
			unknown := k.Sign(t, tokentest.Claims(stsIss, jwt.MapClaims{"client_id": "c"}), map[string]any{"kid": "nope"})
			if _, err := v.Verify(context.Background(), unknown); err != ErrUnknownKey {
				t.Fatalf("unknown kid: %v", err)
			}
			eventually(t, "the failed refresh is recorded", func() bool {
				return jwks.Hits() > hits && strings.Contains(v.Status()[0].LastError, tt.want)
			})
			if _, err := v.Verify(context.Background(), tokenOf(t, k, stsIss)); err != nil {
				t.Errorf("known key after a bad fetch: %v", err)
			}
			if st := v.Status()[0]; st.Keys != 1 {
				t.Errorf("status keys = %d; want the last good set's 1", st.Keys)
			}
		})
	}
}

// A key the issuer withdraws stops verifying at once, cached verifications included.
func TestRemovedKeyStopsVerifying(t *testing.T) {
	old, next := tokentest.NewRSAKey(t, "old"), tokentest.NewRSAKey(t, "next")
	jwks := tokentest.NewJWKS(t, old)
	v := startVerifier(t, 100, remoteIssuer("a", stsIss, jwks.URL()))
	oldToken := tokenOf(t, old, stsIss)
	if _, err := v.Verify(context.Background(), oldToken); err != nil {
		t.Fatal(err)
	}
	jwks.SetKeys(t, next)
	// The new key's first token refreshes the set, which no longer holds the old key.
	if _, err := v.Verify(context.Background(), tokenOf(t, next, stsIss)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), oldToken); err != ErrUnknownKey {
		t.Errorf("token of the removed key (cached before): %v; want %v", err, ErrUnknownKey)
	}
}

// A private CA given in ca_file is trusted for the JWKS endpoint; without it the
// fetch fails on the certificate.
func TestKeySetPrivateCA(t *testing.T) {
	k := tokentest.NewRSAKey(t, "tls")
	jwks := tokentest.NewTLSJWKS(t, k)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, jwks.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	withCA := remoteIssuer("with-ca", stsIss, jwks.URL())
	withCA.CAFile = caFile
	without := remoteIssuer("without-ca", asgardeoIss, jwks.URL())
	v := startVerifier(t, 0, withCA, without)
	if err := v.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), tokenOf(t, k, stsIss)); err != nil {
		t.Errorf("issuer with ca_file: %v", err)
	}
	if st := v.Status()[1]; st.Keys != 0 || !strings.Contains(st.LastError, "certificate") {
		t.Errorf("issuer without ca_file: status %+v; want a certificate error", st)
	}

	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	withCA.CAFile = bad
	if _, err := NewVerifier(context.Background(), []config.Issuer{withCA}, 0, quiet, nil); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("ca_file without a certificate: %v", err)
	}
}

// A reload keeps what did not change: the same verifier when nothing did, the key
// sets (without fetching again) when only claim rules did; a removed issuer's
// fetches stop.
func TestVerifierReload(t *testing.T) {
	ka, kb := tokentest.NewRSAKey(t, "ra"), tokentest.NewRSAKey(t, "rb")
	ja, jb := tokentest.NewJWKS(t, ka), tokentest.NewJWKS(t, kb)
	a, b := remoteIssuer("a", stsIss, ja.URL()), remoteIssuer("b", asgardeoIss, jb.URL())
	v1 := startVerifier(t, 100, a, b)
	if err := v1.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}

	same, err := NewVerifier(context.Background(), []config.Issuer{a, b}, 100, quiet, v1)
	if err != nil || same != v1 {
		t.Fatalf("reload without change = %p, %v; want the same verifier %p", same, err, v1)
	}

	a2 := a
	a2.Audiences = []string{"orders"}
	hits := ja.Hits()
	v2, err := NewVerifier(context.Background(), []config.Issuer{a2}, 100, quiet, v1)
	if err != nil || v2 == v1 {
		t.Fatalf("reload with a change = %v; want a new verifier", err)
	}
	v1.Retire(v2)
	t.Cleanup(v2.Close)
	if v2.sets[0] != v1.sets[0] || ja.Hits() != hits {
		t.Error("an issuer whose key source did not change must keep its key set")
	}
	select {
	case <-v1.sets[1].done:
	case <-time.After(10 * time.Second):
		t.Fatal("the removed issuer's fetch loop still runs")
	}
	if _, err := v2.Verify(context.Background(), tokenOf(t, kb, asgardeoIss)); err != ErrUnknownIssuer {
		t.Errorf("token of the removed issuer: %v; want %v", err, ErrUnknownIssuer)
	}
	tok := ka.Sign(t, tokentest.Claims(stsIss, jwt.MapClaims{"client_id": "c", "aud": "orders"}), nil)
	if _, err := v2.Verify(context.Background(), tok); err != nil {
		t.Errorf("token of the kept issuer: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: backoffMin, 2: 2 * backoffMin, 3: 4 * backoffMin, 20: backoffMax, 1000: backoffMax} {
		got := backoff(n, time.Hour)
		if got < want*9/10 || got > want*11/10 {
			t.Errorf("backoff(%d) = %v; want %v ± 10%%", n, got, want)
		}
	}
	if got := backoff(20, 5*time.Second); got > 5500*time.Millisecond {
		t.Errorf("backoff beyond the refresh interval: %v", got)
	}
}

// A key published again under the same kid with other material is another key:
// tokens of the old material stop verifying, cached ones included. So do cached
// tokens without a kid once their set changes.
func TestCachedVerificationFollowsKeyMaterial(t *testing.T) {
	old, other := tokentest.NewRSAKey(t, "same"), tokentest.NewRSAKey(t, "other")
	imposter := *tokentest.NewRSAKey(t, "imposter")
	imposter.KID = "same"
	jwks := tokentest.NewJWKS(t, old)
	c := remoteIssuer("a", stsIss, jwks.URL())
	c.UnknownKIDRefreshInterval = time.Nanosecond
	v := startVerifier(t, 100, c)
	if err := v.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	withKID := tokenOf(t, old, stsIss)
	noKID := old.Sign(t, tokentest.Claims(stsIss, jwt.MapClaims{"client_id": "c"}), map[string]any{"kid": nil})
	for _, tok := range []string{withKID, noKID} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	jwks.SetKeys(t, &imposter, other)
	if _, err := v.Verify(context.Background(), tokenOf(t, other, stsIss)); err != nil { // refreshes the set
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), withKID); err != ErrSignature {
		t.Errorf("cached token whose kid now names other material: %v; want %v", err, ErrSignature)
	}
	if _, err := v.Verify(context.Background(), noKID); err != ErrSignature {
		t.Errorf("cached token without kid whose key left: %v; want %v", err, ErrSignature)
	}
}

// A kid is a hint: a JWKS whose keys carry no kid still verifies tokens that name one.
func TestKIDFallsBackToKeysWithoutKID(t *testing.T) {
	k := *tokentest.NewRSAKey(t, "anon")
	k.KID = ""
	jwks := tokentest.NewJWKS(t, &k)
	v := startVerifier(t, 0, remoteIssuer("a", stsIss, jwks.URL()))
	tok := k.Sign(t, tokentest.Claims(stsIss, jwt.MapClaims{"client_id": "c"}), map[string]any{"kid": "whatever"})
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Errorf("token with a kid, JWKS without: %v", err)
	}
}

// A retired key set lets a check waiting on it go at once: no fetch will come.
func TestRetiredKeySetReleasesWaiters(t *testing.T) {
	k := tokentest.NewRSAKey(t, "r")
	jwks := tokentest.NewJWKS(t, k)
	c := remoteIssuer("a", stsIss, jwks.URL())
	c.UnknownKIDWait = time.Hour // a waiter that is not released hangs the test
	v, err := NewVerifier(context.Background(), []config.Issuer{c}, 0, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	jwks.SetDelay(time.Minute)
	done := make(chan *Error, 1)
	go func() {
		_, err := v.Verify(context.Background(), k.Sign(t, tokentest.Claims(stsIss, jwt.MapClaims{"client_id": "c"}), map[string]any{"kid": "new"}))
		done <- err
	}()
	eventually(t, "the unknown kid's refresh started", func() bool { return jwks.Hits() == 2 })
	v.Close()
	select {
	case err := <-done:
		if err != ErrUnknownKey {
			t.Errorf("check released by Close: %v; want %v", err, ErrUnknownKey)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a check still waits on a retired key set")
	}
	if _, err := v.Verify(context.Background(), k.Sign(t, tokentest.Claims(stsIss, jwt.MapClaims{"client_id": "c"}), map[string]any{"kid": "newer"})); err != ErrUnknownKey {
		t.Errorf("unknown kid on a retired set: %v", err)
	}
}

func TestUnknownWaitLeavesTimeToAnswer(t *testing.T) {
	if got := unknownWait(context.Background(), 200*time.Millisecond); got != 200*time.Millisecond {
		t.Errorf("without a deadline: %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if got := unknownWait(ctx, 200*time.Millisecond); got > 75*time.Millisecond || got <= 0 {
		t.Errorf("with 100ms left: %v; want at most 75ms", got)
	}
}

// A reload that changes only how keys are fetched keeps the key set and its keys; one
// that moves an issuer to a key source that has no keys is refused; one that moves it
// to a working source has the new keys before it returns.
func TestReloadKeySources(t *testing.T) {
	k := tokentest.NewRSAKey(t, "src")
	jwks, moved := tokentest.NewJWKS(t, k), tokentest.NewJWKS(t, k)
	c := remoteIssuer("a", stsIss, jwks.URL())
	v1 := startVerifier(t, 0, c)
	if err := v1.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}

	slower := c
	slower.RefreshInterval = 2 * time.Hour
	v2, err := NewVerifier(context.Background(), []config.Issuer{slower}, 0, quiet, v1)
	if err != nil {
		t.Fatal(err)
	}
	if v2.sets[0] != v1.sets[0] || v2.sets[0].settings.Load().refresh != 2*time.Hour {
		t.Error("a settings change must keep the key set and apply the settings")
	}

	down := tokentest.NewJWKS(t, k)
	down.SetResponse(http.StatusBadGateway, nil)
	toDown := c
	toDown.JWKSURI = down.URL()
	if _, err := NewVerifier(context.Background(), []config.Issuer{toDown}, 0, quiet, v2); err == nil || !strings.Contains(err.Error(), "has no keys") {
		t.Errorf("reload to a key source that is down = %v; want it refused", err)
	}

	toMoved := c
	toMoved.JWKSURI = moved.URL()
	v3, err := NewVerifier(context.Background(), []config.Issuer{toMoved}, 0, quiet, v2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v3.Close)
	if v3.sets[0].current() == nil {
		t.Error("a reload to a new key source must return with its keys")
	}
}

func TestStatusRedactsSecrets(t *testing.T) {
	for raw, want := range map[string]string{
		"https://user:pass@idp.test/jwks?api_key=s3cret": "https://idp.test/jwks?redacted",
		"https://idp.test/jwks":                          "https://idp.test/jwks",
		"https://idp.test/jwks#frag":                     "https://idp.test/jwks",
	} {
		if got := redactURI(raw); got != want {
			t.Errorf("redactURI(%q) = %q; want %q", raw, got, want)
		}
	}
}

func TestUnusableKeysAreNamed(t *testing.T) {
	enc := *tokentest.NewRSAKey(t, "enc")
	enc.Use = "enc"
	jwks := tokentest.NewJWKS(t, &enc)
	v := startVerifier(t, 0, remoteIssuer("a", stsIss, jwks.URL()))
	if err := v.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := v.Status()[0]; !strings.Contains(st.LastError, `kid "enc": use "enc" is not sig`) {
		t.Errorf("status error = %q; want it to name the skipped key and why", st.LastError)
	}
}
