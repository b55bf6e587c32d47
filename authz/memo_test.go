package authz

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/policy"
	"github.com/tollgate/tollgate/authz/route"
	"github.com/tollgate/tollgate/authz/token"
	"github.com/tollgate/tollgate/authz/token/tokentest"
)

const demoIss = "https://demo-idp.tollgate.invalid/oauth2/token"

// memoFixture is the quickstart configuration with the shipped policies plus extra
// files, its data in a catalog a test may change (as the store would), and a signer of
// the demo issuer's tokens.
type memoFixture struct {
	cfg    *config.Config
	log    *slog.Logger
	cat    *catalog.Catalog
	src    Sources
	server *Server
	key    *tokentest.Key
}

func newMemoFixture(t *testing.T, extra map[string]string) *memoFixture {
	t.Helper()
	cfg, err := config.Load("../examples/gitops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Policies = t.TempDir()
	writeRego(t, cfg.Policies, "authz.rego", readFile(t, "../policies/authz.rego"))
	for name, src := range extra {
		writeRego(t, cfg.Policies, name, src)
	}
	cat, err := catalog.Load(cfg.Data, []string{"demo"})
	if err != nil {
		t.Fatal(err)
	}
	f := &memoFixture{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), cat: cat}
	f.src = Sources{Catalog: func(context.Context) (*catalog.Catalog, error) { return f.cat, nil }}
	cfg.Store, cfg.Data = &config.Store{Path: "memo-test.db"}, ""
	st, err := LoadState(context.Background(), cfg, f.log, nil, f.src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Verifier.Close() })
	f.server = NewServer(st, f.log, LogNone)
	pem, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(readFile(t, "../examples/demo-idp/private-key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	f.key = &tokentest.Key{KID: "demo-1", Private: pem, Method: jwt.SigningMethodRS256}
	return f
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeRego(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

// token signs a demo token; claims override or (nil) remove the defaults.
func (f *memoFixture) token(t *testing.T, clientID, scope string, claims jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"client_id": clientID, "sub": clientID, "scope": scope}
	for k, v := range claims {
		c[k] = v
	}
	return f.key.Sign(t, tokentest.Claims(demoIss, c), nil)
}

// check decides req as Envoy's Check does.
func (f *memoFixture) check(req *authv3.CheckRequest) Evaluation {
	return f.server.Evaluate(context.Background(), req)
}

// reference decides req with the policy evaluated, whatever the memo holds: a traced
// evaluation never uses it.
func (f *memoFixture) reference(req *authv3.CheckRequest) Evaluation {
	return f.server.Evaluate(context.Background(), req, rego.EvalQueryTracer(topdown.NewBufferTracer()))
}

// decideBoth checks req and compares the decision with the reference one.
func (f *memoFixture) decideBoth(t *testing.T, name string, req *authv3.CheckRequest) Evaluation {
	t.Helper()
	got, want := f.check(req), f.reference(req)
	if want.Memoized {
		t.Fatalf("%s: a traced evaluation used the memo", name)
	}
	if !reflect.DeepEqual(got.Decision, want.Decision) {
		t.Errorf("%s: decision %+v (memoized %v); the policy decides %+v", name, got.Decision, got.Memoized, want.Decision)
	}
	return got
}

// The shipped policy is memoized: a second identical check reuses the decision.
func TestMemoShippedPolicy(t *testing.T) {
	f := newMemoFixture(t, nil)
	m := f.server.State().Info.Memoization
	if !m.On {
		t.Fatalf("the shipped policy is not memoized: %s", m.Reason)
	}
	req := checkRequest("GET", "/orders/42", f.token(t, "shop-web-prod", "urn:acme:orders:read", nil))
	first := f.decideBoth(t, "first", req)
	second := f.decideBoth(t, "second", req)
	if first.Memoized || !second.Memoized || !second.Decision.Allowed {
		t.Errorf("memoized %v then %v, allowed %v; want a miss, then a hit that allows", first.Memoized, second.Memoized, second.Decision.Allowed)
	}
	if first.ID == second.ID || second.Response.GetDynamicMetadata().GetFields()["decision_id"].GetStringValue() != second.ID {
		t.Error("a memoized decision must still get a decision ID of its own")
	}
}

// Checks that differ in anything the policy reads never share a decision: each is
// compared with the policy's own answer, over rounds in which the memo is filled.
func TestMemoNeverSharedAcrossIdentities(t *testing.T) {
	f := newMemoFixture(t, nil)
	read := "urn:acme:orders:read"
	expired := time.Now().Add(-time.Hour).Unix()
	good := f.token(t, "shop-web-prod", read, nil)
	reqs := []struct {
		name string
		req  *authv3.CheckRequest
	}{
		{"allowed", checkRequest("GET", "/orders/1", good)},
		{"same resource, other params", checkRequest("GET", "/orders/2", good)},
		{"other resource", checkRequest("POST", "/orders", good)},
		{"public resource", checkRequest("GET", "/orders/docs/a", good)},
		{"no route", checkRequest("GET", "/nowhere", good)},
		{"no scope", checkRequest("GET", "/orders/1", f.token(t, "shop-web-prod", "", nil))},
		{"scopes in another order", checkRequest("GET", "/orders/1", f.token(t, "shop-web-prod", "urn:acme:orders:write "+read, nil))},
		{"other subject", checkRequest("GET", "/orders/1", f.token(t, "shop-web-prod", read, jwt.MapClaims{"sub": "alice"}))},
		{"sandbox client of the same application", checkRequest("GET", "/orders/1", f.token(t, "shop-web-sandbox", read, nil))},
		{"blocked production client", checkRequest("GET", "/orders/1", f.token(t, "reporting-prod", read, nil))},
		{"allowed sandbox client", checkRequest("GET", "/orders/1", f.token(t, "reporting-sandbox", read, nil))},
		{"unbound client", checkRequest("GET", "/orders/1", f.token(t, "stranger", read, nil))},
		{"no token", checkRequest("GET", "/orders/1", "")},
		{"expired token", checkRequest("GET", "/orders/1", f.token(t, "shop-web-prod", read, jwt.MapClaims{"exp": expired}))},
		{"bad signature", checkRequest("GET", "/orders/1", good[:len(good)-4]+"AAAA")},
		{"malformed token", checkRequest("GET", "/orders/1", "not.a.jwt")},
	}
	seen := map[string]string{} // decision -> the case that made it
	for round := range 3 {
		for _, c := range reqs {
			e := f.decideBoth(t, c.name, c.req)
			if round > 0 && !e.Memoized {
				t.Errorf("%s: round %d evaluated again; want the memo", c.name, round)
			}
			if round == 0 {
				seen[c.name] = e.Decision.Reason + " " + e.Decision.Headers["x-tollgate-client-id"] +
					" " + e.Decision.Headers["x-tollgate-scopes"] + " " + e.Decision.Headers["x-tollgate-subject"] + " " + e.Decision.Description
			}
		}
	}
	if seen["no scope"] == seen["allowed"] || seen["scopes in another order"] == seen["allowed"] ||
		seen["other subject"] == seen["allowed"] || seen["sandbox client of the same application"] == seen["allowed"] ||
		seen["expired token"] == seen["bad signature"] {
		t.Errorf("cases the policy tells apart decided alike: %v", seen)
	}
}

// A policy that reads a header is not memoized: it decides every request on its own
// headers.
func TestMemoOffForHeaderPolicy(t *testing.T) {
	f := newMemoFixture(t, map[string]string{"env.rego": "package tollgate.authz\n\n" +
		`deny contains "prod callers only" if input.attributes.request.http.headers["x-env"] != "prod"` + "\n"})
	m := f.server.State().Info.Memoization
	if m.On || f.server.State().Policy.Memo() != nil {
		t.Fatalf("memoized: %+v", m)
	}
	if !strings.Contains(m.Reason, "env.rego:3 reads input.attributes.request.http.headers") {
		t.Errorf("reason %q; want the file, line and reference", m.Reason)
	}
	tok := f.token(t, "shop-web-prod", "urn:acme:orders:read", nil)
	prod, staging := checkRequest("GET", "/orders/1", tok), checkRequest("GET", "/orders/1", tok)
	prod.Attributes.Request.Http.Headers["x-env"] = "prod"
	staging.Attributes.Request.Http.Headers["x-env"] = "staging"
	for range 3 {
		for _, c := range []struct {
			req   *authv3.CheckRequest
			allow bool
		}{{prod, true}, {staging, false}} {
			e := f.decideBoth(t, "x-env", c.req)
			if e.Decision.Allowed != c.allow || e.Memoized {
				t.Errorf("x-env %s: allowed %v, memoized %v; want %v, evaluated", c.req.Attributes.Request.Http.Headers["x-env"], e.Decision.Allowed, e.Memoized, c.allow)
			}
		}
	}
}

// A policy that reads the clock is not memoized.
func TestMemoOffForClockPolicy(t *testing.T) {
	f := newMemoFixture(t, map[string]string{"clock.rego": "package tollgate.authz\n\n" +
		`deny contains "before the epoch" if time.now_ns() < 0` + "\n"})
	if m := f.server.State().Info.Memoization; m.On || !strings.Contains(m.Reason, "clock.rego:3 calls time.now_ns") {
		t.Fatalf("memoization %+v; want off because of time.now_ns", m)
	}
	req := checkRequest("GET", "/orders/1", f.token(t, "shop-web-prod", "urn:acme:orders:read", nil))
	for range 2 {
		if e := f.decideBoth(t, "clock", req); e.Memoized || !e.Decision.Allowed {
			t.Errorf("allowed %v, memoized %v; want an evaluated allow", e.Decision.Allowed, e.Memoized)
		}
	}
}

// The README's sandbox example reads the method: memoized with the method in the key,
// so a sandbox key's write is denied and its read allowed, however often each comes.
func TestMemoSandboxExampleKeysByMethod(t *testing.T) {
	f := newMemoFixture(t, map[string]string{"sandbox_read_only.rego": "package tollgate.authz\n\n" +
		"deny contains \"sandbox keys are read-only\" if {\n\tbinding.environment == \"sandbox\"\n" +
		"\tnot input.attributes.request.http.method in {\"GET\", \"HEAD\", \"OPTIONS\"}\n}\n"})
	m := f.server.State().Info.Memoization
	if !m.On || !m.Reads.Method {
		t.Fatalf("memoization %+v; want on, keyed by the method", m)
	}
	scopes := "urn:acme:orders:read urn:acme:orders:write"
	sandbox, prod := f.token(t, "shop-web-sandbox", scopes, nil), f.token(t, "shop-web-prod", scopes, nil)
	for range 3 {
		for _, c := range []struct {
			name  string
			req   *authv3.CheckRequest
			allow bool
		}{
			{"sandbox write", checkRequest("POST", "/orders", sandbox), false},
			{"sandbox read", checkRequest("GET", "/orders/1", sandbox), true},
			{"production write", checkRequest("POST", "/orders", prod), true},
		} {
			if e := f.decideBoth(t, c.name, c.req); e.Decision.Allowed != c.allow {
				t.Errorf("%s: allowed %v; want %v", c.name, e.Decision.Allowed, c.allow)
			}
		}
	}
}

// A data change (State.WithData, as the store's poll and the admin API apply one) and a
// policy reload (LoadState) are seen by the very next check.
func TestMemoNextCheckSeesChanges(t *testing.T) {
	f := newMemoFixture(t, nil)
	req := checkRequest("GET", "/orders/1", f.token(t, "shop-web-prod", "urn:acme:orders:read", nil))
	for range 2 {
		if e := f.check(req); !e.Decision.Allowed {
			t.Fatalf("before the change: %+v", e.Decision)
		}
	}
	if e := f.check(req); !e.Memoized {
		t.Fatal("the allow was not memoized; the test proves nothing")
	}

	for i, s := range f.cat.Subscriptions {
		if s.Application == "shop-web" && s.API == "orders" {
			f.cat.Subscriptions[i].Status = catalog.Blocked
		}
	}
	next, err := f.server.State().WithData(context.Background(), f.cfg, f.log, f.src)
	if err != nil {
		t.Fatal(err)
	}
	f.server.Swap(next)
	if e := f.check(req); e.Decision.Allowed || e.Decision.Reason != "not_subscribed" || e.Memoized {
		t.Fatalf("after blocking the subscription: %+v, memoized %v; want an evaluated not_subscribed", e.Decision, e.Memoized)
	}

	for i := range f.cat.Subscriptions {
		f.cat.Subscriptions[i].Status = catalog.Active
	}
	writeRego(t, f.cfg.Policies, "closed.rego", "package tollgate.authz\n\ndeny contains \"closed for maintenance\" if true\n")
	old := f.server.State()
	reloaded, err := LoadState(context.Background(), f.cfg, f.log, old.Verifier, f.src)
	if err != nil {
		t.Fatal(err)
	}
	f.server.Swap(reloaded)
	old.Verifier.Retire(reloaded.Verifier)
	if e := f.check(req); e.Decision.Reason != "access_denied" || e.Memoized {
		t.Fatalf("after the policy reload: %+v, memoized %v; want an evaluated access_denied", e.Decision, e.Memoized)
	}
}

// Memoized decisions are shared by concurrent checks, whose responses must not write
// to them (run with -race).
func TestMemoSharedDecisionsConcurrently(t *testing.T) {
	f := newMemoFixture(t, map[string]string{"authz.rego": "package tollgate.authz\n\n" +
		`decision := {"allowed": true, "headers": {"x-a": "1"}, "request_headers_to_remove": ["cookie"], "dynamic_metadata": {"tier": "gold"}}` + "\n"})
	tok := f.token(t, "shop-web-prod", "urn:acme:payments:read", nil)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				req := checkRequest("GET", "/payments/7", tok)
				req.Attributes.Request.Http.Headers["x-tollgate-forged"] = strings.Repeat("x", g+i%3)
				resp := f.check(req).Response.GetOkResponse()
				// cookie, the six identity headers it does not set, the forged one
				if got := resp.GetHeadersToRemove(); len(got) != 8 || got[0] != "cookie" {
					t.Errorf("headers_to_remove %v", got)
					return
				}
			}
		})
	}
	wg.Wait()
	d, ok := f.server.State().Policy.Memo().Get(mustKey(t, f, checkRequest("GET", "/payments/7", tok)))
	if !ok || !reflect.DeepEqual(d.RequestHeadersToRemove, []string{"cookie"}) {
		t.Errorf("memoized decision %+v, %v; want it as the policy made it", d, ok)
	}
}

func mustKey(t *testing.T, f *memoFixture, req *authv3.CheckRequest) []byte {
	t.Helper()
	st := f.server.State()
	r := newRequest(req)
	var e Evaluation
	host, path, err := target(r.http, st.Limits)
	if err != nil {
		t.Fatal(err)
	}
	e.Match, e.Routed = st.Router.Match(r.api, host, r.http.GetMethod(), path)
	e.Identity, e.TokenError = authenticate(context.Background(), st, r)
	key, ok := memoKey(nil, st.Policy.Memoization().Reads, r, &e)
	if !ok {
		t.Fatal("no key")
	}
	return key
}

// The key holds every part the policy may read, and nothing else: a change in a part
// read changes it, a change elsewhere does not.
func TestMemoKey(t *testing.T) {
	id := func(edit func(*token.Identity)) *token.Identity {
		i := &token.Identity{Issuer: "demo", ClientID: "web", Subject: "alice", Scopes: []string{"a", "b"},
			Claims: map[string]any{"email": "a@x.test", "jti": "1", "exp": 10}}
		if edit != nil {
			edit(i)
		}
		return i
	}
	base := func() (request, Evaluation) {
		req := checkRequest("GET", "/orders/1", "")
		return newRequest(req), Evaluation{Routed: true, Identity: id(nil),
			Match: route.Match{API: "orders", Resource: "GET /orders/{id}", Path: "/orders/1", Params: map[string]string{"id": "1"}}}
	}
	all := policy.InputReads{RoutePath: true, RouteParams: true, Claims: []string{"email"}, Method: true, Host: true}
	tests := []struct {
		name  string
		reads policy.InputReads
		edit  func(*request, *Evaluation)
		same  bool
	}{
		{"api", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Match.API = "orders2" }, false},
		{"resource", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Match.Resource = "POST /orders" }, false},
		{"no route", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Routed, e.Match = false, route.Match{} }, false},
		{"no token", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Identity = nil }, false},
		{"issuer", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Identity.Issuer = "other" }, false},
		{"client", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Identity.ClientID = "web2" }, false},
		{"subject", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Identity.Subject = "" }, false},
		{"a scope less", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Identity.Scopes = []string{"a"} }, false},
		{"scope order", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Identity.Scopes = []string{"b", "a"} }, false},
		{"scopes joined", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Identity.Scopes = []string{"ab"} }, false},
		{"fields shifted", policy.InputReads{}, func(_ *request, e *Evaluation) {
			e.Identity.Issuer, e.Identity.ClientID = "demow", "eb"
		}, false},
		{"token error", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Identity, e.TokenError = nil, token.ErrExpired }, false},
		{"other token error", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Identity, e.TokenError = nil, token.ErrSignature }, false},
		{"path read", all, func(_ *request, e *Evaluation) { e.Match.Path = "/orders/2" }, false},
		{"params read", all, func(_ *request, e *Evaluation) { e.Match.Params = map[string]string{"id": "2"} }, false},
		{"claim read", all, func(_ *request, e *Evaluation) { e.Identity.Claims["email"] = "b@x.test" }, false},
		{"claim read, gone", all, func(_ *request, e *Evaluation) { delete(e.Identity.Claims, "email") }, false},
		{"method read", all, func(r *request, _ *Evaluation) {
			r.http = &authv3.AttributeContext_HttpRequest{Method: "POST", Host: r.http.Host}
		}, false},
		{"host read", all, func(r *request, _ *Evaluation) {
			r.http = &authv3.AttributeContext_HttpRequest{Method: r.http.Method, Host: "x"}
		}, false},
		{"any claim, all read", policy.InputReads{AllClaims: true}, func(_ *request, e *Evaluation) { e.Identity.Claims["jti"] = "2" }, false},
		{"claims read, other claim", all, func(_ *request, e *Evaluation) { e.Identity.Claims["jti"] = "2" }, true},
		{"path not read", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Match.Path = "/orders/2" }, true},
		{"params not read", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Match.Params = map[string]string{"id": "2"} }, true},
		{"claims not read", policy.InputReads{}, func(_ *request, e *Evaluation) { e.Identity.Claims = nil }, true},
		{"method not read", policy.InputReads{}, func(r *request, _ *Evaluation) { r.http = &authv3.AttributeContext_HttpRequest{Method: "POST"} }, true},
		{"headers", all, func(r *request, _ *Evaluation) { r.headers = map[string]string{"x-env": "prod"} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, e := base()
			before, ok := memoKey(nil, tt.reads, r, &e)
			if !ok {
				t.Fatal("no key")
			}
			tt.edit(&r, &e)
			after, ok := memoKey(nil, tt.reads, r, &e)
			if !ok {
				t.Fatal("no key")
			}
			if same := string(before) == string(after); same != tt.same {
				t.Errorf("same key %v; want %v", same, tt.same)
			}
		})
	}
}
