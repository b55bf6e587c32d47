package sts

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/store"
	"github.com/tollgate/tollgate/authz/token"
)

// jwksKeys fetches the published JWKS and returns its keys by kid, checking each is a
// public signing key.
func jwksKeys(t *testing.T, f *fixture) map[string]any {
	t.Helper()
	res, err := http.Get(f.http.URL + "/oauth2/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var generic struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &generic); err != nil || res.StatusCode != 200 {
		t.Fatalf("JWKS: %d %v", res.StatusCode, err)
	}
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	keys := map[string]any{}
	for i, m := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := generic.Keys[i][private]; ok {
				t.Errorf("JWKS key %s has the private member %q", m.KID, private)
			}
		}
		if m.KID == "" || m.USE != jwkset.UseSig || m.ALG == "" {
			t.Errorf("JWKS key %+v: kid, use sig and alg are required", generic.Keys[i])
		}
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		keys[m.KID] = jwk.Key()
	}
	return keys
}

func TestMetadata(t *testing.T) {
	f := newFixture(t, func(c *config.STS) { c.Issuer = fixtureIssuer + "/tenant/" })
	want := map[string]any{
		"issuer":                                fixtureIssuer + "/tenant/",
		"token_endpoint":                        fixtureIssuer + "/tenant/oauth2/token",
		"jwks_uri":                              fixtureIssuer + "/tenant/oauth2/jwks",
		"grant_types_supported":                 []any{"client_credentials"},
		"token_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post"},
		"response_types_supported":              []any{},
	}
	for _, path := range []string{
		"/.well-known/oauth-authorization-server/tenant", // RFC 8414 section 3.1
		"/.well-known/oauth-authorization-server",
		"/.well-known/openid-configuration",
	} {
		res, err := http.Get(f.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		err = json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, res.StatusCode, err)
		}
		for field, v := range want {
			if !reflect.DeepEqual(got[field], v) {
				t.Errorf("%s: %s = %#v, want %#v", path, field, got[field], v)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: fields %v, want exactly %v", path, got, want)
		}
	}
}

// TestMetadataEndpointsAreServed follows the metadata of an issuer at the server's
// root to the endpoints it names.
func TestMetadataEndpointsAreServed(t *testing.T) {
	f := newFixture(t, nil)
	res, err := http.Get(f.http.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Token string `json:"token_endpoint"`
		JWKS  string `json:"jwks_uri"`
	}
	err = json.NewDecoder(res.Body).Decode(&meta)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	local := func(u string) string { return f.http.URL + strings.TrimPrefix(u, fixtureIssuer) }
	if res, err = http.Get(local(meta.JWKS)); err != nil || res.StatusCode != 200 {
		t.Errorf("jwks_uri %s: %v %v", meta.JWKS, err, res.Status)
	}
	res.Body.Close()
	c := f.creds["shop-web/production"]
	tok := f.postRaw(t, grant().Encode(), "Authorization", basic(c.id, c.secret))
	if tok.Request.URL.Path != strings.TrimPrefix(meta.Token, fixtureIssuer) || tok.StatusCode != 200 {
		t.Errorf("token_endpoint %s: %d at %s", meta.Token, tok.StatusCode, tok.Request.URL.Path)
	}
}

// verifierFor is the decision path's verifier of the fixture's STS, as the service
// builds it.
func verifierFor(t *testing.T, f *fixture) *token.Verifier {
	t.Helper()
	cfg := config.Default()
	cfg.STS = f.cfg
	v, err := token.NewVerifier(context.Background(), []config.Issuer{cfg.STSIssuer()}, 0, f.srv.log, nil, f.srv.Keys())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func (f *fixture) token(t *testing.T, app, env string) string {
	t.Helper()
	c := f.creds[app+"/"+env]
	res := f.post(t, grant(), "Authorization", basic(c.id, c.secret))
	b := decode(t, res)
	if res.StatusCode != 200 {
		t.Fatalf("token: %d %+v", res.StatusCode, b)
	}
	return b.AccessToken
}

func TestRotation(t *testing.T) {
	for _, alg := range config.STSAlgorithms {
		t.Run(alg, func(t *testing.T) {
			testRotation(t, alg)
		})
	}
}

// signingKID is the kid the server signs with now.
func (f *fixture) signingKID(t *testing.T) string {
	t.Helper()
	signer := f.srv.signerAt(f.clock.Now())
	if signer == nil {
		t.Fatal("no key signs now")
	}
	return signer.KID()
}

// pendingKID is the kid of the key that is published but does not sign yet.
func (f *fixture) pendingKID(t *testing.T) string {
	t.Helper()
	keys, err := f.store.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.State(f.clock.Now()) == store.KeyPending {
			return k.KID
		}
	}
	t.Fatal("no key is pending")
	return ""
}

// testRotation moves the STS's clock through a scheduled rotation: tokens live in
// real time, so the first is issued two hours ago with a lifetime of a day.
func testRotation(t *testing.T, alg string) {
	real := time.Now()
	f := newFixture(t, func(c *config.STS) {
		c.Algorithm, c.TokenTTL, c.KeyRotation, c.KeyPrepublish = alg, 24*time.Hour, time.Hour, 10*time.Minute
	})
	f.clock.Set(real.Add(-2 * time.Hour))
	if err := f.srv.RotateNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	v := verifierFor(t, f)
	before := f.token(t, "shop-web", "production")
	first := f.signingKID(t)

	// 50 minutes in, key_prepublish before the key is key_rotation old, the next key
	// is published; the first one signs on.
	f.clock.Set(real.Add(-2*time.Hour + 50*time.Minute))
	if err := f.srv.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := f.pendingKID(t)
	if keys := jwksKeys(t, f); keys[first] == nil || keys[second] == nil || f.signingKID(t) != first {
		t.Fatalf("key_prepublish before the rotation: JWKS %v, signing with %s; want %s and %s, signing with %s",
			keys, f.signingKID(t), first, second, first)
	}

	// At key_rotation the second key signs, without anything else happening.
	f.clock.Set(real.Add(-time.Hour))
	after := f.token(t, "shop-web", "production")
	if kid(t, after) != second {
		t.Fatalf("a token at key_rotation has kid %s, want the next key %s", kid(t, after), second)
	}
	for name, tok := range map[string]string{"before": before, "after": after} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("token signed %s the rotation: %v", name, err)
		}
	}

	// Past the window (token_ttl and the leeway after the first key stopped signing)
	// it leaves the store and the JWKS, and its tokens are refused.
	f.clock.Set(real.Add(-time.Hour + 24*time.Hour + token.Leeway + RetireGrace + time.Second))
	if err := f.srv.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), before); err == nil || err.Code != "invalid_token" {
		t.Errorf("token of a retired key past its window: %v, want invalid_token", err)
	}
	if _, err := v.Verify(context.Background(), after); err != nil {
		t.Errorf("token of the active key: %v", err)
	}
	stored, err := f.store.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range stored {
		if k.KID == first {
			t.Errorf("the store still holds key %s past its window", first)
		}
	}
	if jwksKeys(t, f)[first] != nil {
		t.Errorf("the JWKS still serves key %s past its window", first)
	}
}

// kid is the kid header of a token.
func kid(t *testing.T, tok string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := parsed.Header["kid"].(string)
	return k
}

// cachedJWKS is a verifier that fetched the JWKS once, over HTTP, and keeps that copy,
// as Envoy's remote_jwks or an OIDC library does between refreshes.
type cachedJWKS struct {
	keys map[string]any
}

func (c cachedJWKS) verify(tok string) error {
	_, err := jwt.NewParser(jwt.WithValidMethods(config.STSAlgorithms)).Parse(tok, func(tk *jwt.Token) (any, error) {
		kid, _ := tk.Header["kid"].(string)
		if k := c.keys[kid]; k != nil {
			return k, nil
		}
		return nil, fmt.Errorf("kid %q is not in the cached JWKS", kid)
	})
	return err
}

// TestCachingVerifierAcceptsThePrepublishedKey rotates as `tollgate keys rotate` does,
// through the store from another process: a verifier that fetched the JWKS once after
// the rotation verifies the tokens of the new key when it begins to sign, from that
// copy alone. After `keys rotate --now` (the emergency path) the same verifier refuses
// the new tokens until it fetches the JWKS again.
func TestCachingVerifierAcceptsThePrepublishedKey(t *testing.T) {
	f := newFixture(t, nil) // key_prepublish 1h
	other := New(Options{Config: f.cfg, Store: f.store, Sealer: f.sealer, Log: f.srv.log, Now: f.clock.Now})
	old := f.signingKID(t)
	if err := other.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Refresh(context.Background()); err != nil { // what followStore does
		t.Fatal(err)
	}
	cache := cachedJWKS{keys: jwksKeys(t, f)}
	if len(cache.keys) != 2 {
		t.Fatalf("JWKS after the rotation has %d keys, want the active and the next", len(cache.keys))
	}
	tok := f.token(t, "shop-web", "production")
	if kid(t, tok) != old {
		t.Errorf("a token before key_prepublish has passed has kid %s, want the old key %s", kid(t, tok), old)
	}

	f.clock.Set(f.clock.Now().Add(f.cfg.KeyPrepublish))
	tok = f.token(t, "shop-web", "production")
	if kid(t, tok) == old {
		t.Fatal("the server still signs with the old key after key_prepublish")
	}
	if err := cache.verify(tok); err != nil {
		t.Errorf("the caching verifier refuses a token of the pre-published key: %v", err)
	}
	if _, ok := cache.keys[old]; !ok || jwksKeys(t, f)[old] == nil {
		t.Error("the old key left the JWKS while its tokens live")
	}

	// The emergency path: the new key signs at once, before any cache has it.
	if err := other.RotateNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok = f.token(t, "shop-web", "production")
	if err := cache.verify(tok); err == nil {
		t.Error("the caching verifier accepted a token of a key rotated --now that its copy lacks")
	}
	if err := (cachedJWKS{keys: jwksKeys(t, f)}).verify(tok); err != nil {
		t.Errorf("a fresh copy of the JWKS refuses the token of the key rotated --now: %v", err)
	}
}

// TestRunWakesForTheSwitch runs the maintenance loop with a key that begins to sign a
// second from now: the loop wakes for it, long before its regular period.
func TestRunWakesForTheSwitch(t *testing.T) {
	f := newFixture(t, func(c *config.STS) { c.KeyPrepublish = time.Second })
	if err := f.srv.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	next := f.pendingKID(t)
	if wait := f.srv.untilWake(time.Hour); wait != time.Second {
		t.Errorf("the loop would sleep %v, want the second until the next key signs", wait)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.srv.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	f.clock.Set(f.clock.Now().Add(time.Second))
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(f.logs.String(), `"msg":"STS signs with key","kid":"`+next+`"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the loop did not take up key %s within 30s:\n%s", next, f.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMigratedStoreKeepsSigning opens a store of the first schema that holds an active
// key and a retired one, as a release before key pre-publication left it: after the
// migration, the server signs with the active key and publishes both.
func TestMigratedStoreKeepsSigning(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tollgate.db")
	sealer, err := LoadSealer(path+".key", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	retired, err := GenerateSigningKey("ES256", sealer, now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	active, err := GenerateSigningKey("RS256", sealer, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	v1, err := os.ReadFile("../store/migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`, nil},
		{string(v1), nil},
		{`INSERT INTO schema_migrations VALUES (1, '0001_init.sql', ?)`, []any{stamp(now)}},
		{`INSERT INTO signing_keys (kid, algorithm, public_jwk, sealed, created_at, retired_at, remove_after) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			[]any{retired.KID, retired.Algorithm, string(retired.PublicJWK), retired.Sealed, stamp(retired.CreatedAt), stamp(active.CreatedAt), stamp(now.Add(time.Hour))}},
		{`INSERT INTO signing_keys (kid, algorithm, public_jwk, sealed, created_at) VALUES (?, ?, ?, ?, ?)`,
			[]any{active.KID, active.Algorithm, string(active.PublicJWK), active.Sealed, stamp(active.CreatedAt)}},
	} {
		if _, err := db.Exec(stmt.sql, stmt.args...); err != nil {
			t.Fatalf("%v\n%s", err, stmt.sql)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	st, err := store.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := OpenSealer(context.Background(), st, path+".key", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	srv := New(Options{Config: config.Default().STS, Store: st, Sealer: sealer, Log: slog.New(slog.DiscardHandler)})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := srv.signerAt(time.Now()).KID(); got != active.KID {
		t.Errorf("the migrated store signs with %s, want its active key %s", got, active.KID)
	}
	keys, err := st.SigningKeys(context.Background())
	if err != nil || len(keys) != 2 {
		t.Fatalf("%d keys after the migration and Start, %v; want the same 2", len(keys), err)
	}
	for _, k := range keys {
		if !k.SignsFrom.Equal(k.CreatedAt) {
			t.Errorf("key %s signs from %s, want its creation %s", k.KID, k.SignsFrom, k.CreatedAt)
		}
	}
	if st := srv.Keys().Status(); st.Keys != 2 {
		t.Errorf("the migrated store publishes %d keys, want 2", st.Keys)
	}
}

func TestVerifyingKeys(t *testing.T) {
	f := newFixture(t, nil)
	local, err := VerifyingKeys(context.Background(), f.store, f.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	if st := local.Status(); st.Keys != 1 {
		t.Errorf("verifying keys: %+v", st)
	}
}
