package sts

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/store"
)

const fixtureData = `
apis:
  - name: orders
    context: /orders
    resources:
      - {method: GET,  path: "/orders/{id}", scopes: ["orders:read"]}
      - {method: POST, path: "/orders",      scopes: ["orders:write", "orders:read"]}
  - name: payments
    context: /payments
    resources:
      - {method: GET, path: "/payments/{id}", scopes: ["payments:read"]}
applications:
  - name: shop-web
  - name: reporting
  - name: lonely
subscriptions:
  - {application: shop-web, api: orders, status: active}
  - {application: reporting, api: orders, status: prod_only_blocked}
  - {application: reporting, api: payments, status: blocked}
`

// clock is a test clock that starts at a given time and moves when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// syncBuffer collects log lines from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// fixture is an STS over a real SQLite store, served by a real HTTP server, with one
// credential per environment for shop-web and reporting.
type fixture struct {
	srv    *Server
	store  *store.SQLite
	sealer *Sealer
	http   *httptest.Server
	clock  *clock
	logs   *syncBuffer
	dir    string
	cfg    config.STS
	creds  map[string]credential // by "application/environment"
}

type credential struct{ id, secret string }

const fixtureIssuer = "https://sts.acme.test"

func newFixture(t testing.TB, edit func(*config.STS)) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), clock: &clock{now: time.Now()}, logs: &syncBuffer{}, creds: map[string]credential{}}
	log := slog.New(slog.NewJSONHandler(io.MultiWriter(f.logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := config.Default().STS
	cfg.Issuer = fixtureIssuer
	if edit != nil {
		edit(&cfg)
	}
	f.cfg = cfg
	var err error
	if f.store, err = store.Open(context.Background(), filepath.Join(f.dir, "tollgate.db"), log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.store.Close() })
	if f.sealer, err = LoadSealer(filepath.Join(f.dir, "tollgate.db.key"), log); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Parse([]byte(fixtureData), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Import(context.Background(), "test", cat); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"shop-web", "reporting"} {
		for _, env := range []string{catalog.Production, catalog.Sandbox} {
			f.putCredential(t, app, env)
		}
	}
	f.srv = New(Options{Config: cfg, Store: f.store, Sealer: f.sealer, Log: log, Now: f.clock.Now})
	if err := f.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.http = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.http.Close)
	return f
}

// putCredential gives app a new credential in env, as `tollgate import --credentials`
// does, and remembers its secret.
func (f *fixture) putCredential(t testing.TB, app, env string) credential {
	t.Helper()
	c := credential{id: NewClientID(), secret: NewSecret()}
	err := f.store.PutCredential(context.Background(), "test", store.Credential{
		ClientID: c.id, Application: app, Environment: env, SecretHash: f.sealer.HashSecret(c.secret),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.creds[app+"/"+env] = c
	return c
}

// post sends a token request with the form and headers (name, value pairs).
func (f *fixture) post(t *testing.T, form url.Values, headers ...string) *http.Response {
	t.Helper()
	return f.postRaw(t, form.Encode(), headers...)
}

func (f *fixture) postRaw(t *testing.T, body string, headers ...string) *http.Response {
	t.Helper()
	return f.send(t, http.DefaultClient, body, headers...)
}

// postFrom is post from the loopback address from[0], if given.
func (f *fixture) postFrom(t *testing.T, from []string, form url.Values, headers ...string) *http.Response {
	t.Helper()
	client := http.DefaultClient
	if len(from) > 0 {
		client = clientFrom(t, from[0])
	}
	return f.send(t, client, form.Encode(), headers...)
}

func (f *fixture) send(t *testing.T, client *http.Client, body string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.http.URL+"/oauth2/token", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Body.Close() })
	return res
}

// clientFrom is an HTTP client whose connections come from the loopback address ip
// (Linux routes all of 127.0.0.0/8 to the loopback interface).
func clientFrom(t testing.TB, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// tokenStatus sends a token request with the Authorization header auth and returns
// the status.
func tokenStatus(client *http.Client, base, auth string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(grant().Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", auth)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}
