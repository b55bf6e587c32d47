package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/store"
	"github.com/tollgate/tollgate/authz/sts"
)

var ctx = context.Background()

// adminToken is the token of every fixture unless a test sets another.
const adminToken = "admin-token-Zx81"

// issuers are the configured external issuers of every fixture.
var issuers = []string{"asgardeo", "demo"}

// testData is what a fixture's store starts with.
const testData = `
apis:
  - name: orders
    context: /orders
    resources:
      - {method: POST, path: "/orders", scopes: ["urn:acme:orders:write"]}
      - {method: GET,  path: "/orders/{id}", scopes: ["urn:acme:orders:read"]}
  - name: payments
    context: /payments
    hosts: [pay.example.com]
    resources:
      - {method: GET, path: "/payments/{id}", scopes: ["urn:acme:payments:read"]}
      - {method: GET, path: "/payments/docs/*", auth: none}
applications:
  - name: shop-web
    client_ids:
      - {issuer: demo, client_id: shop-web-prod, environment: production}
      - {issuer: asgardeo, client_id: shop-web-sandbox, environment: sandbox}
  - name: reporting
  - name: idle
subscriptions:
  - {application: shop-web, api: orders, status: active}
  - {application: shop-web, api: payments, status: blocked}
  - {application: reporting, api: orders, status: prod_only_blocked}
`

// fixture is an admin API over a real SQLite store, served by a real HTTP server.
type fixture struct {
	t      *testing.T
	store  *store.SQLite
	sealer *sts.Sealer
	h      *handler
	srv    *httptest.Server
	log    *syncBuffer
}

// newFixture starts an admin API over a store holding testData; change, if not nil,
// adjusts the options first.
func newFixture(t *testing.T, change func(*Options)) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "tollgate.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := catalog.Parse([]byte(testData), issuers)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Import(ctx, "import", c); err != nil {
		t.Fatal(err)
	}
	sealer, err := sts.LoadSealer(filepath.Join(dir, "store.key"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: st, sealer: sealer, log: &syncBuffer{}}
	o := Options{Store: st, Sealer: sealer, Issuers: issuers, Token: adminToken, Log: slog.New(slog.NewTextHandler(f.log, nil))}
	if change != nil {
		change(&o)
	}
	f.h = newHandler(o)
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(f.srv.Close)
	return f
}

// response is an answer, its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the admin token.
func (f *fixture) do(method, path, body string) response {
	f.t.Helper()
	return f.doWith(map[string]string{"Authorization": "Bearer " + adminToken}, method, path, body)
}

// doWith sends a request with these headers only. It may run on any goroutine: a
// request that fails to get an answer fails the test and returns status 0.
func (f *fixture) doWith(headers map[string]string, method, path, body string) response {
	f.t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Errorf("%s %s: %v", method, path, err)
		return response{}
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Errorf("%s %s: %v", method, path, err)
		return response{}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Errorf("%s %s: reading the answer: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// must sends a request with the admin token and fails the test unless it is
// answered with status; it decodes the body into out unless out is nil.
func (f *fixture) must(status int, method, path, body string, out any) response {
	f.t.Helper()
	r := f.do(method, path, body)
	if r.status != status {
		f.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, status, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			f.t.Fatalf("%s %s: %v in %s", method, path, err, r.body)
		}
	}
	return r
}

// syncBuffer is a bytes.Buffer that parallel requests may log to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// equalJSON reports whether a and b render as the same JSON.
func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}
