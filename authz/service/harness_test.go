package service_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/service"
	"github.com/tollgate/tollgate/authz/token/tokentest"
)

// Two issuers as real deployments have them: an Asgardeo organization (client_id and
// azp, space-separated scope, typ JWT) and an RFC 9068 STS (typ at+jwt, aud required).
const (
	asgardeoIss = "https://api.asgardeo.io/t/acme/oauth2/token"
	stsIss      = "https://sts.acme.test/oauth2/token"
	stsAudience = "https://api.acme.test"
)

const testData = `
apis:
  - name: orders
    context: /orders
    resources:
      # Listed least specific first: the router must not care.
      - {method: GET,  path: "/orders/*", scopes: ["urn:acme:orders:browse"]}
      - {method: GET,  path: "/orders/{id}", scopes: ["urn:acme:orders:read"]}
      - {method: GET,  path: "/orders/pending", scopes: ["urn:acme:orders:admin"]}
      - {method: POST, path: "/orders", scopes: ["urn:acme:orders:write", "urn:acme:orders:read"]}
      - {method: GET,  path: "/orders/health"}
      - {method: GET,  path: "/orders/docs/*", auth: none}
  - name: payments
    context: /payments
    resources:
      - {method: GET, path: "/payments/{id}", scopes: ["urn:acme:payments:read"]}
  - name: inventory
    context: /inventory
    hosts: [inventory.acme.test]
    resources:
      - {method: GET, path: "/inventory/{sku}"}
applications:
  - name: shop-web
    client_ids:
      - {issuer: asgardeo, client_id: web-prod, environment: production}
      - {issuer: sts, client_id: web-sts, environment: production}
  - name: reporting
    client_ids:
      - {issuer: asgardeo, client_id: rep-prod, environment: production}
      - {issuer: asgardeo, client_id: rep-sandbox, environment: sandbox}
  - name: lonely
    client_ids:
      - {issuer: asgardeo, client_id: lonely, environment: production}
subscriptions:
  - {application: shop-web, api: orders, status: active}
  - {application: shop-web, api: payments, status: active}
  - {application: shop-web, api: inventory, status: blocked}
  - {application: reporting, api: orders, status: prod_only_blocked}
`

// harness is a running Tollgate on loopback, with a gRPC client and the keys of its
// two issuers, whose JWKS are served over real HTTP.
type harness struct {
	svc      *service.Service
	client   authv3.AuthorizationClient
	conn     *grpc.ClientConn
	asgardeo *tokentest.Key
	sts      *tokentest.Key
	asgJWKS  *tokentest.JWKS
	stsJWKS  *tokentest.JWKS
	logs     *logBuffer
	dir      string // holds the data file and, for reload tests, config.yaml
}

// readiness is the body of the debug listener's readiness details.
type readiness struct {
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Issuers []struct {
		Name      string `json:"name"`
		Source    string `json:"source"`
		Keys      int    `json:"keys"`
		LastError string `json:"last_error"`
	} `json:"issuers"`
	State struct {
		APIs     int      `json:"apis"`
		Policies []string `json:"policies"`
		Data     string   `json:"data"`
	} `json:"state"`
	LastReload *struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"last_reload"`
	code int
	raw  string
}

// details fetches the readiness details from the debug listener.
func (h *harness) details(t *testing.T) readiness {
	t.Helper()
	var r readiness
	r.code, r.raw = getJSON(t, "http://"+h.svc.DebugAddr()+service.DebugReadyPath, &r)
	return r
}

// getJSON GETs url and decodes its JSON body into v; it returns the status and the
// body as read.
func getJSON(t *testing.T, url string, v any) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s body %s: %v", url, raw, err)
	}
	return res.StatusCode, string(raw)
}

// publicReadiness is the body of /readyz, which anyone who reaches the STS may read.
type publicReadiness struct {
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	Policies string `json:"policies"`
	Data     string `json:"data"`
	Issuers  struct {
		Ready    int `json:"ready"`
		NotReady int `json:"not_ready"`
	} `json:"issuers"`
	LastReload *struct {
		At time.Time `json:"at"`
		OK bool      `json:"ok"`
	} `json:"last_reload"`
	code int
	raw  string
}

// readyz fetches /readyz from the HTTP listener.
func (h *harness) readyz(t *testing.T) publicReadiness {
	t.Helper()
	var r publicReadiness
	r.code, r.raw = getJSON(t, "http://"+h.svc.HTTPAddr()+"/readyz", &r)
	return r
}

func start(t *testing.T) *harness {
	t.Helper()
	return startWith(t, nil)
}

// startWith lets a test change the configuration before the service starts. It
// returns once the service is ready: every issuer has its keys.
func startWith(t *testing.T, edit func(*config.Config)) *harness {
	t.Helper()
	h := startUnready(t, edit)
	h.waitAllKeys(t)
	return h
}

// waitAllKeys waits until every issuer has its keys.
func (h *harness) waitAllKeys(t *testing.T) {
	t.Helper()
	waitFor(t, func() bool {
		for _, is := range h.details(t).Issuers {
			if is.Keys == 0 {
				return false
			}
		}
		return true
	})
}

// startUnready starts the service and returns at once, before its key sets are
// fetched.
func startUnready(t *testing.T, edit func(*config.Config)) *harness {
	t.Helper()
	h := newHarness(t)
	cfg := config.Default()
	cfg.GRPC.Address, cfg.HTTP.Address, cfg.Check.Address = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Debug.Address = "127.0.0.1:0"
	cfg.Policies, _ = filepath.Abs("../../policies")
	cfg.Data = filepath.Join(h.dir, "data.yaml")
	cfg.Log.Decisions = "all"
	cfg.Issuers = []config.Issuer{
		{Name: "asgardeo", Issuer: asgardeoIss, JWKSURI: h.asgJWKS.URL(), Algorithms: []string{"RS256"},
			ClientIDClaims: []string{"client_id", "azp"}, ScopeClaims: []string{"scope"}},
		{Name: "sts", Issuer: stsIss, JWKSURI: h.stsJWKS.URL(), Algorithms: []string{"RS256"},
			Audiences: []string{stsAudience}, ClientIDClaims: []string{"client_id"}, ScopeClaims: []string{"scope"}},
	}
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h.run(t, &cfg)
	return h
}

// newHarness makes the issuers' keys, serves their JWKS, and writes testData into a
// new directory.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		asgardeo: tokentest.NewRSAKey(t, "asgardeo-1"),
		sts:      tokentest.NewRSAKey(t, "sts-1"),
		logs:     &logBuffer{},
	}
	h.asgJWKS = tokentest.NewJWKS(t, h.asgardeo)
	h.stsJWKS = tokentest.NewJWKS(t, h.sts)
	h.dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(h.dir, "data.yaml"), []byte(testData), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

// run starts the service on cfg, with a gRPC client, and stops it when the test ends.
func (h *harness) run(t *testing.T, cfg *config.Config) {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(h.logs, nil))
	svc, err := service.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	t.Cleanup(func() { h.shutdown(t) })
	h.conn, err = grpc.NewClient(svc.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	h.client = authv3.NewAuthorizationClient(h.conn)
}

func (h *harness) shutdown(t *testing.T) {
	t.Helper()
	if h.svc == nil {
		return
	}
	_ = h.conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.svc.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	h.svc = nil
}

func (h *harness) check(t *testing.T, req *authv3.CheckRequest) *authv3.CheckResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := h.client.Check(ctx, req)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return resp
}

// asgardeoToken is an Asgardeo-shaped access token for a client with scopes.
func (h *harness) asgardeoToken(t *testing.T, clientID, scope string, extra jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"client_id": clientID, "azp": clientID, "scope": scope, "aud": clientID}
	for k, v := range extra {
		c[k] = v
	}
	return h.asgardeo.Sign(t, tokentest.Claims(asgardeoIss, c), map[string]any{"typ": "JWT"})
}

// stsToken is an RFC 9068 access token from the STS.
func (h *harness) stsToken(t *testing.T, clientID, scope string, extra jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"client_id": clientID, "sub": clientID, "scope": scope, "aud": stsAudience}
	for k, v := range extra {
		c[k] = v
	}
	return h.sts.Sign(t, tokentest.Claims(stsIss, c), nil)
}

// request is a CheckRequest as Envoy sends it; headers are name, value pairs.
func request(method, path string, headers ...string) *authv3.CheckRequest {
	hs := map[string]string{":method": method, ":path": path, ":authority": "api.acme.test", ":scheme": "https"}
	for i := 0; i+1 < len(headers); i += 2 {
		hs[headers[i]] = headers[i+1]
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "10.0.0.7", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 51324}}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id: "1", Method: method, Path: path, Host: hs[":authority"], Scheme: "https", Protocol: "HTTP/1.1", Headers: hs,
		}},
	}}
}

func bearer(tok string) []string { return []string{"authorization", "Bearer " + tok} }

// logBuffer collects the service's log lines from many goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
