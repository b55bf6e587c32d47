package service_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tollgate/tollgate/authz/config"
)

// startFromFile runs Tollgate from a config.yaml on disk, as `tollgate serve` does,
// with its own copy of the policies so a test can break them.
func startFromFile(t *testing.T, edit func(doc string) string) (*harness, string) {
	t.Helper()
	h := newHarness(t)
	copyPolicies(t, filepath.Join(h.dir, "policies"))
	path := filepath.Join(h.dir, "config.yaml")
	doc := h.configYAML("")
	if edit != nil {
		doc = edit(doc)
	}
	writeFile(t, path, doc)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	h.run(t, cfg)
	h.waitAllKeys(t)
	return h, path
}

func (h *harness) configYAML(extra string) string {
	return fmt.Sprintf(`grpc: {address: "127.0.0.1:0"}
http: {address: "127.0.0.1:0"}
check: {address: "127.0.0.1:0"}
debug: {address: "127.0.0.1:0"}
policies: policies
data: data.yaml
reload: {debounce: 50ms}
log: {decisions: none}
issuers:
  - {name: asgardeo, issuer: %q, jwks_uri: %q, client_id_claims: [client_id, azp]}
  - {name: sts, issuer: %q, jwks_uri: %q, audiences: [%q]}
%s`, asgardeoIss, h.asgJWKS.URL(), stsIss, h.stsJWKS.URL(), stsAudience, extra)
}

// copyPolicies makes dir a copy of the shipped policies, for a test to change.
func copyPolicies(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("../../policies/authz.rego")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "authz.rego"), string(shipped))
}

// writeFile replaces a file as editors do: write a temporary file, then rename it.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp~"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// checker sends checks without pause until stopped, and records every one that did
// not get the allow it expects.
type checker struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	firstFailure string
	stop         chan struct{}
	done         sync.WaitGroup
}

func (h *harness) keepChecking(t *testing.T) *checker {
	c := &checker{stop: make(chan struct{})}
	req := request("GET", "/orders/7", bearer(h.asgardeoToken(t, "web-prod", "urn:acme:orders:read", nil))...)
	for range 2 {
		c.done.Add(1)
		go func() {
			defer c.done.Done()
			for {
				select {
				case <-c.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				resp, err := h.client.Check(ctx, req)
				cancel()
				c.sent.Add(1)
				if err != nil || codes.Code(resp.GetStatus().GetCode()) != codes.OK {
					c.failed.Add(1)
					c.mu.Lock()
					if c.firstFailure == "" {
						c.firstFailure = fmt.Sprintf("%v %v", resp, err)
					}
					c.mu.Unlock()
				}
			}
		}()
	}
	return c
}

func (c *checker) finish(t *testing.T) {
	t.Helper()
	close(c.stop)
	c.done.Wait()
	if c.failed.Load() > 0 || c.sent.Load() == 0 {
		t.Errorf("%d of %d checks during reloads failed; first: %s", c.failed.Load(), c.sent.Load(), c.firstFailure)
	}
}

const catalogAPI = `
  - name: catalog
    context: /catalog
    resources:
      - {method: GET, path: "/catalog/{id}", scopes: ["urn:acme:catalog:read"]}
`

// withCatalog is testData with one more API, which shop-web subscribes to.
func withCatalog() string {
	d := strings.Replace(testData, "apis:\n", "apis:"+catalogAPI, 1)
	return d + "  - {application: shop-web, api: catalog, status: active}\n"
}

// While checks flow without pause, a good data change is applied, and a broken data
// file or a policy that does not compile is refused with the last good state serving.
// No check fails or waits meanwhile.
func TestReloadWhileChecking(t *testing.T) {
	h, _ := startFromFile(t, nil)
	catalogReq := request("GET", "/catalog/1", bearer(h.asgardeoToken(t, "web-prod", "urn:acme:catalog:read", nil))...)
	assertDenied(t, h.check(t, catalogReq), deny{404, codes.NotFound, "no_matching_resource", "", ""})
	c := h.keepChecking(t)
	dataFile := filepath.Join(h.dir, "data.yaml")
	policies := filepath.Join(h.dir, "policies")

	writeFile(t, dataFile, withCatalog())
	waitFor(t, func() bool { return allowed(h.check(t, catalogReq)) })

	reloads := h.reloadCount(t)
	writeFile(t, dataFile, "apis: [ {name: broken\n")
	h.waitReloadFailed(t, reloads, "data")
	if !allowed(h.check(t, catalogReq)) {
		t.Error("after a broken data file, the last good data must keep serving")
	}

	writeFile(t, dataFile, withCatalog()+"  - {application: nobody, api: catalog, status: active}\n")
	h.waitReloadFailed(t, reloads+1, "nobody")

	writeFile(t, dataFile, withCatalog())
	waitFor(t, func() bool { r := h.details(t).LastReload; return r != nil && r.OK })

	reloads = h.reloadCount(t)
	writeFile(t, filepath.Join(policies, "broken.rego"), "package tollgate.authz\n\ndeny contains \"x\" if {\n")
	h.waitReloadFailed(t, reloads, "broken.rego")
	if !allowed(h.check(t, catalogReq)) {
		t.Error("after a broken policy, the last good policies must keep serving")
	}

	// Removing the broken policy makes the reload good again.
	if err := os.Remove(filepath.Join(policies, "broken.rego")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { r := h.details(t).LastReload; return r != nil && r.OK })
	c.finish(t)
	if !strings.Contains(h.logs.String(), "reload refused; the last good state keeps serving") {
		t.Error("a refused reload must be logged with its reason")
	}
}

// Kubernetes updates a ConfigMap volume by writing a new timestamped directory and
// swapping the ..data symlink to it; the files are symlinks through ..data.
func TestReloadFollowsConfigMapSwap(t *testing.T) {
	h := newHarness(t)
	mount := filepath.Join(h.dir, "configmap")
	writeVersion := func(version, data string) {
		dir := filepath.Join(mount, version)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "data.yaml"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(mount, "..data_tmp")
		if err := os.Symlink(version, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(mount, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	writeVersion("..2026_11_25_10_00_00.1", testData)
	if err := os.Symlink("..data/data.yaml", filepath.Join(mount, "data.yaml")); err != nil {
		t.Fatal(err)
	}
	cfgDoc := strings.Replace(h.configYAML(""), "data: data.yaml", "data: configmap/data.yaml", 1)
	cfgDoc = strings.Replace(cfgDoc, "policies: policies", "policies: "+mustAbs(t, "../../policies"), 1)
	path := filepath.Join(h.dir, "config.yaml")
	writeFile(t, path, cfgDoc)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	h.run(t, cfg)
	h.waitAllKeys(t)
	catalogReq := request("GET", "/catalog/1", bearer(h.asgardeoToken(t, "web-prod", "urn:acme:catalog:read", nil))...)
	assertDenied(t, h.check(t, catalogReq), deny{404, codes.NotFound, "no_matching_resource", "", ""})

	writeVersion("..2026_11_25_10_05_00.2", withCatalog())
	waitFor(t, func() bool { return allowed(h.check(t, catalogReq)) })
}

// A reload applies what it can and says which settings need a restart.
func TestReloadListenerChangeNeedsRestart(t *testing.T) {
	h, path := startFromFile(t, nil)
	writeFile(t, path, strings.Replace(h.configYAML("limits: {max_headers: 3}\n"), `grpc: {address: "127.0.0.1:0"}`, `grpc: {address: "127.0.0.1:1"}`, 1))
	waitFor(t, func() bool { return strings.Contains(h.logs.String(), "applies after a restart") })
	if !strings.Contains(h.logs.String(), `"key":"grpc.address"`) {
		t.Errorf("log does not name grpc.address:\n%s", h.logs.String())
	}
	// The limits changed with it, and apply at once.
	waitFor(t, func() bool {
		resp := h.check(t, request("GET", "/orders/docs/a", "x-1", "1", "x-2", "2"))
		return resp.GetDeniedResponse().GetStatus().GetCode() == 400
	})
	// The listener did not move.
	if _, err := h.client.Check(context.Background(), request("GET", "/orders/docs/a")); err != nil {
		t.Errorf("check on the running listener: %v", err)
	}
}

// SIGHUP (Reload) reloads even with file watching off.
func TestReloadOnRequest(t *testing.T) {
	h, _ := startFromFile(t, func(doc string) string {
		return strings.Replace(doc, "reload: {debounce: 50ms}", "reload: {watch: false}", 1)
	})
	catalogReq := request("GET", "/catalog/1", bearer(h.asgardeoToken(t, "web-prod", "urn:acme:catalog:read", nil))...)
	writeFile(t, filepath.Join(h.dir, "data.yaml"), withCatalog())
	if err := h.svc.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if !allowed(h.check(t, catalogReq)) {
		t.Error("the data reloaded on request must apply to the next check")
	}
	writeFile(t, filepath.Join(h.dir, "config.yaml"), "issuers: [}\n")
	if err := h.svc.Reload("test"); err == nil || !strings.Contains(err.Error(), "config") {
		t.Errorf("reload of a broken config = %v; want an error naming the config", err)
	}
	if !allowed(h.check(t, catalogReq)) {
		t.Error("after a broken config, the last good state must keep serving")
	}
}

// /readyz and gRPC health are not ready until an issuer has keys; /readyz counts the
// issuers that are, and the readiness details list each issuer's status.
func TestReadiness(t *testing.T) {
	h := newHarness(t)
	h.asgJWKS.SetResponse(503, []byte("down"))
	h.stsJWKS.SetResponse(503, []byte("down"))
	cfg := config.Default()
	cfg.GRPC.Address, cfg.HTTP.Address, cfg.Check.Address = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Debug.Address = "127.0.0.1:0"
	cfg.Policies = mustAbs(t, "../../policies")
	cfg.Data = filepath.Join(h.dir, "data.yaml")
	cfg.Issuers = []config.Issuer{
		{Name: "asgardeo", Issuer: asgardeoIss, JWKSURI: h.asgJWKS.URL()},
		{Name: "sts", Issuer: stsIss, JWKSURI: h.stsJWKS.URL()},
	}
	for i := range cfg.Issuers {
		cfg.Issuers[i].ApplyDefaults()
	}
	h.run(t, &cfg)
	waitFor(t, func() bool {
		r := h.details(t)
		return r.Issuers[0].LastError != "" && r.Issuers[1].LastError != ""
	})
	r := h.details(t)
	if r.code != 503 || r.Status != "not_ready" || r.Reason == "" || r.State.APIs != 3 || len(r.State.Policies) != 1 {
		t.Errorf("readiness details with every JWKS down = %d %+v", r.code, r)
	}
	p := h.readyz(t)
	if p.code != 503 || p.Status != "not_ready" || p.Reason != r.Reason || p.Policies != "ready" || p.Data != "ready" ||
		p.Issuers.Ready != 0 || p.Issuers.NotReady != 2 {
		t.Errorf("/readyz with every JWKS down = %d %s", p.code, p.raw)
	}
	if got := h.health(t, ""); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("gRPC health = %v; want NOT_SERVING", got)
	}

	h.stsJWKS.SetKeys(t, h.sts)
	waitFor(t, func() bool { return h.readyz(t).code == 200 })
	r = h.details(t)
	if r.code != 200 || r.Status != "ready" || r.Issuers[1].Keys != 1 || r.Issuers[0].Keys != 0 || !strings.Contains(r.Issuers[0].LastError, "503") {
		t.Errorf("readiness details with one issuer up = %+v", r)
	}
	if p := h.readyz(t); p.Status != "ready" || p.Reason != "" || p.Issuers.Ready != 1 || p.Issuers.NotReady != 1 {
		t.Errorf("/readyz with one issuer up = %s", p.raw)
	}
	waitFor(t, func() bool { return h.health(t, "") == healthpb.HealthCheckResponse_SERVING })
}

func (h *harness) reloadCount(t *testing.T) int {
	t.Helper()
	return strings.Count(h.logs.String(), `"msg":"reload`)
}

// waitReloadFailed waits for a reload after the first `after` ones to be refused with
// an error that contains want.
func (h *harness) waitReloadFailed(t *testing.T, after int, want string) {
	t.Helper()
	waitFor(t, func() bool {
		r := h.details(t).LastReload
		return h.reloadCount(t) > after && r != nil && !r.OK && strings.Contains(r.Error, want)
	})
}

func allowed(resp *authv3.CheckResponse) bool { return resp.GetOkResponse() != nil }

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// A reload that changes how an issuer's keys are fetched keeps its keys: with the JWKS
// now slow to answer, no check fails meanwhile.
func TestReloadIssuerSettingsKeepsKeys(t *testing.T) {
	h, path := startFromFile(t, nil)
	c := h.keepChecking(t)
	h.asgJWKS.SetDelay(2 * time.Second)
	writeFile(t, path, strings.Replace(h.configYAML(""), "client_id_claims: [client_id, azp]}",
		"client_id_claims: [client_id, azp], refresh_interval: 2h, fetch_timeout: 5s}", 1))
	waitFor(t, func() bool { return h.reloadCount(t) > 0 })
	if r := h.details(t); r.LastReload == nil || !r.LastReload.OK || r.code != 200 {
		t.Errorf("after the reload: %d %+v", r.code, r.LastReload)
	}
	c.finish(t)
}

// Deploying policies by replacing their directory (mv policies.new policies) is seen,
// and so are later edits in the new directory.
func TestReloadFollowsReplacedPolicyDirectory(t *testing.T) {
	h, _ := startFromFile(t, nil)
	policies := filepath.Join(h.dir, "policies")
	next := filepath.Join(h.dir, "policies.new")
	if err := os.Mkdir(next, 0o755); err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile(filepath.Join(policies, "authz.rego"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(next, "authz.rego"), string(shipped))
	writeFile(t, filepath.Join(next, "closed.rego"), "package tollgate.authz\n\ndeny contains \"closed\" if input.attributes.request.http.method == \"GET\"\n")
	if err := os.RemoveAll(policies); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, policies); err != nil {
		t.Fatal(err)
	}
	req := request("GET", "/orders/7", bearer(h.asgardeoToken(t, "web-prod", "urn:acme:orders:read", nil))...)
	waitFor(t, func() bool { return h.check(t, req).GetDeniedResponse() != nil })

	if err := os.Remove(filepath.Join(policies, "closed.rego")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return allowed(h.check(t, req)) })
}

// After a reload on request moves the data file to another directory, edits there
// are followed.
func TestReloadWatchesNewDirectories(t *testing.T) {
	h, path := startFromFile(t, nil)
	moved := filepath.Join(t.TempDir(), "data.yaml")
	writeFile(t, moved, testData)
	writeFile(t, path, strings.Replace(h.configYAML(""), "data: data.yaml", "data: "+moved, 1))
	waitFor(t, func() bool { r := h.details(t).LastReload; return r != nil && r.OK })
	if err := h.svc.Reload("test"); err != nil {
		t.Fatal(err)
	}
	catalogReq := request("GET", "/catalog/1", bearer(h.asgardeoToken(t, "web-prod", "urn:acme:catalog:read", nil))...)
	writeFile(t, moved, withCatalog())
	waitFor(t, func() bool { return allowed(h.check(t, catalogReq)) })
}
