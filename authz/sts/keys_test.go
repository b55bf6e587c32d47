package sts

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"

	"github.com/tollgate/tollgate/authz/config"
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

// testRotation moves the STS's clock: tokens live in real time, so the first is
// issued two hours ago with a lifetime of a day.
func testRotation(t *testing.T, alg string) {
	real := time.Now()
	f := newFixture(t, func(c *config.STS) {
		c.Algorithm, c.TokenTTL, c.KeyRotation = alg, 24*time.Hour, time.Hour
	})
	f.clock.Set(real.Add(-2 * time.Hour))
	if err := f.srv.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	v := verifierFor(t, f)
	before := f.token(t, "shop-web", "production")
	first := f.srv.signer.Load().KID()

	f.clock.Set(real) // the key is two hours old: due
	if err := f.srv.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.srv.signer.Load().KID() == first {
		t.Fatal("a key older than key_rotation was not rotated")
	}
	after := f.token(t, "shop-web", "production")
	for name, tok := range map[string]string{"before": before, "after": after} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("token signed %s the rotation: %v", name, err)
		}
	}
	second := f.srv.signer.Load().KID()
	if keys := jwksKeys(t, f); keys[first] == nil || keys[second] == nil {
		t.Errorf("JWKS during the retirement window lacks the old key %s or the new %s", first, second)
	}

	// Past the window (token_ttl and the leeway after the rotation) the old key
	// leaves the store and the JWKS, and its tokens are refused. (The second key is
	// old by then too: it is rotated, and stays for its own window.)
	f.clock.Set(real.Add(24*time.Hour + token.Leeway + RetireGrace + time.Second))
	if err := f.srv.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), before); err == nil || err.Code != "invalid_token" {
		t.Errorf("token of a retired key past its window: %v, want invalid_token", err)
	}
	if _, err := v.Verify(context.Background(), after); err != nil {
		t.Errorf("token of the active key: %v", err)
	}
	keys, err := f.store.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.KID == first {
			t.Errorf("the store still holds key %s past its window", first)
		}
	}
	if jwksKeys(t, f)[first] != nil {
		t.Errorf("the JWKS still serves key %s past its window", first)
	}
}

func TestRotateOnDemandFromAnotherProcess(t *testing.T) {
	f := newFixture(t, nil)
	v := verifierFor(t, f)
	before := f.token(t, "shop-web", "production")
	// Another process (`tollgate keys rotate`) rotates through the same store.
	other := New(Options{Config: f.cfg, Store: f.store, Sealer: f.sealer, Log: f.srv.log})
	if err := other.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := f.token(t, "shop-web", "production")
	if before == after || f.srv.signer.Load().KID() != other.signer.Load().KID() {
		t.Fatal("the server did not take up the other process's key")
	}
	for _, tok := range []string{before, after} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("%v", err)
		}
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
