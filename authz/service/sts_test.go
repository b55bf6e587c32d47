package service_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/store"
	"github.com/tollgate/tollgate/authz/sts"
)

// stsHarness is a store-mode Tollgate with the STS on, over a store seeded with
// testData and STS credentials, which the test keeps open as another process would.
type stsHarness struct {
	*harness
	store  store.Store
	sealer *sts.Sealer
	creds  map[string][2]string // "application/environment" → client ID, secret
	cfg    config.Config
}

func startSTS(t *testing.T) *stsHarness {
	t.Helper()
	return startSTSWith(t, nil)
}

// startSTSWith lets a test change the configuration before the service starts.
func startSTSWith(t *testing.T, edit func(*config.Config)) *stsHarness {
	t.Helper()
	h := &stsHarness{harness: newHarness(t), creds: map[string][2]string{}}
	h.seed(t)
	if edit != nil {
		edit(&h.cfg)
	}
	h.startService(t)
	return h
}

func (h *stsHarness) seed(t *testing.T) {
	t.Helper()
	db := filepath.Join(h.dir, "tollgate.db")
	var err error
	if h.store, err = store.Open(context.Background(), db, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.store.Close() })
	if h.sealer, err = sts.LoadSealer(db+".key", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Parse([]byte(testData), []string{"asgardeo", "sts"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.Import(context.Background(), "test", cat); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ app, env string }{
		{"shop-web", "production"}, {"reporting", "production"}, {"reporting", "sandbox"}, {"lonely", "production"},
	} {
		h.putCredential(t, c.app, c.env)
	}
	h.cfg = config.Default()
	h.cfg.GRPC.Address, h.cfg.HTTP.Address, h.cfg.Check.Address = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	h.cfg.Debug.Address = "127.0.0.1:0"
	h.cfg.Policies, _ = filepath.Abs("../../policies")
	h.cfg.Store = &config.Store{Path: db, KeyFile: db + ".key", PollInterval: config.DefaultPollInterval}
	h.cfg.STS.Issuer = "http://sts.tollgate.test"
	h.cfg.Admin = config.Admin{Address: "127.0.0.1:0", TokenFile: db + ".admin-token"}
	h.cfg.Log.Decisions = "all"
	h.cfg.Issuers = []config.Issuer{
		{Name: "asgardeo", Issuer: asgardeoIss, JWKSURI: h.asgJWKS.URL(), Algorithms: []string{"RS256"},
			ClientIDClaims: []string{"client_id", "azp"}, ScopeClaims: []string{"scope"}},
		{Name: "sts", Issuer: stsIss, JWKSURI: h.stsJWKS.URL(), Algorithms: []string{"RS256"},
			Audiences: []string{stsAudience}, ClientIDClaims: []string{"client_id"}, ScopeClaims: []string{"scope"}},
	}
	if err := h.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func (h *stsHarness) startService(t *testing.T) {
	t.Helper()
	cfg := h.cfg
	h.run(t, &cfg)
	h.waitAllKeys(t)
}

func (h *stsHarness) putCredential(t *testing.T, app, env string) {
	t.Helper()
	id, secret := sts.NewClientID(), sts.NewSecret()
	c := store.Credential{ClientID: id, Application: app, Environment: env, SecretHash: h.sealer.HashSecret(secret)}
	if err := h.store.PutCredential(context.Background(), "test", c); err != nil {
		t.Fatal(err)
	}
	h.creds[app+"/"+env] = [2]string{id, secret}
}

// token asks the STS for a token over HTTP with client_secret_basic.
func (h *stsHarness) token(t *testing.T, app, env, scope string) string {
	t.Helper()
	c := h.creds[app+"/"+env]
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+h.svc.HTTPAddr()+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c[0]+":"+c[1])))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 200 {
		t.Fatalf("token for %s/%s: %d %s %v", app, env, res.StatusCode, body.Error, err)
	}
	return body.AccessToken
}

func TestSTSTokensPassCheck(t *testing.T) {
	h := startSTS(t)
	read, write := "urn:acme:orders:read", "urn:acme:orders:write"
	web := h.token(t, "shop-web", "production", read)
	webAll := h.token(t, "shop-web", "production", "")
	repSandbox := h.token(t, "reporting", "sandbox", read)
	repProd := h.token(t, "reporting", "production", "")
	lonely := h.token(t, "lonely", "production", "")

	allowed := []struct {
		name string
		tok  string
		req  string
		app  string
	}{
		{"scope requested and granted", web, "/orders/1", "shop-web"},
		{"every grantable scope", webAll, "/payments/7", "shop-web"},
		{"prod_only_blocked from sandbox", repSandbox, "/orders/1", "reporting"},
	}
	for _, tt := range allowed {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.check(t, request("GET", tt.req, bearer(tt.tok)...))
			ok := resp.GetOkResponse()
			if ok == nil {
				t.Fatalf("denied: %s", resp.GetDeniedResponse().GetBody())
			}
			got := map[string]string{}
			for _, hv := range ok.GetHeaders() {
				got[hv.GetHeader().GetKey()] = hv.GetHeader().GetValue()
			}
			if got["x-tollgate-application"] != tt.app || got["x-tollgate-issuer"] != config.STSName {
				t.Errorf("headers %v", got)
			}
		})
	}
	denied := []struct {
		name string
		tok  string
		req  string
		want deny
	}{
		{"scope not in the token", web, "/orders", insufficientScope(write+" "+read, write)},
		{"scope of another API", web, "/payments/7", insufficientScope("urn:acme:payments:read", "urn:acme:payments:read")},
		{"prod_only_blocked from production", repProd, "/orders/1", notSubscribed},
		{"not subscribed", lonely, "/orders/1", notSubscribed},
		{"tampered", web[:len(web)-4] + "AAAA", "/orders/1", invalidToken("the token signature is invalid")},
	}
	for _, tt := range denied {
		t.Run(tt.name, func(t *testing.T) {
			req := request("GET", tt.req, bearer(tt.tok)...)
			if tt.req == "/orders" {
				req = request("POST", tt.req, bearer(tt.tok)...)
			}
			assertDenied(t, h.check(t, req), tt.want)
		})
	}
}

// TestStoreChangesApply changes the store as another process would: a running
// server applies each change without a restart, and only the data: a policy edit on
// disk waits for its own reload.
func TestStoreChangesApply(t *testing.T) {
	policies := filepath.Join(t.TempDir(), "policies")
	copyPolicies(t, policies)
	h := startSTSWith(t, func(c *config.Config) { c.Policies, c.Reload.Watch = policies, false })
	before := h.token(t, "lonely", "production", "")
	assertDenied(t, h.check(t, request("GET", "/orders/1", bearer(before)...)), notSubscribed)
	// Left on disk, not reloaded: a store change must not pick it up.
	writeFile(t, filepath.Join(policies, "closed.rego"), "package tollgate.authz\n\ndeny contains \"closed\" if true\n")

	sub := catalog.Subscription{Application: "lonely", API: "orders", Status: catalog.Active}
	if err := h.store.PutSubscription(context.Background(), "test", sub); err != nil {
		t.Fatal(err)
	}
	after := h.token(t, "lonely", "production", "urn:acme:orders:read")
	waitFor(t, func() bool {
		return h.check(t, request("GET", "/orders/1", bearer(after)...)).GetOkResponse() != nil
	})

	sub.Status = catalog.Blocked
	if err := h.store.PutSubscription(context.Background(), "test", sub); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { // the token issued before the block is refused
		return h.check(t, request("GET", "/orders/1", bearer(after)...)).GetDeniedResponse() != nil
	})
	assertDenied(t, h.check(t, request("GET", "/orders/1", bearer(after)...)), notSubscribed)
}

// TestRestartKeepsEverything stops the server and starts another on the same store:
// the applications, credentials, subscriptions and keys are all there, and a token
// issued before the restart passes.
func TestRestartKeepsEverything(t *testing.T) {
	h := startSTS(t)
	old := h.token(t, "shop-web", "production", "urn:acme:orders:read")
	h.shutdown(t)
	h.startService(t)
	fresh := h.token(t, "shop-web", "production", "urn:acme:orders:read")
	if kidOf(t, fresh) != kidOf(t, old) {
		t.Error("the restarted server signs with a new key: the stored one was lost")
	}
	for name, tok := range map[string]string{"issued before the restart": old, "issued after": fresh} {
		if resp := h.check(t, request("GET", "/orders/1", bearer(tok)...)); resp.GetOkResponse() == nil {
			t.Errorf("token %s: denied %s", name, resp.GetDeniedResponse().GetBody())
		}
	}
	if r := h.details(t); r.code != 200 || r.State.APIs != 3 {
		t.Errorf("readyz after restart: %+v", r)
	}
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid
}
