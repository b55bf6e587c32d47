package store

import (
	"cmp"
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/catalog"
)

// testData is a catalog like examples/data.yaml, with hosts, scope lists and every
// subscription status.
const testData = `
apis:
  - name: orders
    context: /orders
    hosts: []
    resources:
      - {method: POST, path: "/orders",      scopes: ["urn:acme:orders:write", "urn:acme:orders:read"]}
      - {method: GET,  path: "/orders/{id}", scopes: ["urn:acme:orders:read"]}
      - {method: GET,  path: "/orders/health"}
      - {method: GET,  path: "/orders/docs/*", auth: none}
  - name: payments
    context: /payments
    hosts: [pay.example.com, payments.example.com]
    resources:
      - {method: GET, path: "/payments/{id}", scopes: ["urn:acme:payments:read"]}
  - name: inventory
    context: /inventory
    resources:
      - {method: GET, path: "/inventory/{sku}", scopes: ["urn:acme:inventory:read"]}
applications:
  - name: shop-web
    client_ids:
      - {issuer: demo, client_id: shop-web-sandbox, environment: sandbox}
      - {issuer: demo, client_id: shop-web-prod, environment: production}
  - name: reporting
    client_ids:
      - {issuer: demo, client_id: reporting-prod, environment: production}
      - {issuer: demo, client_id: reporting-sandbox, environment: sandbox}
  - name: idle
subscriptions:
  - {application: shop-web, api: orders, status: active}
  - {application: shop-web, api: payments, status: blocked}
  - {application: reporting, api: orders, status: prod_only_blocked}
  - {application: reporting, api: inventory}
`

var ctx = context.Background()

// openTemp opens a store in a fresh directory below t.TempDir and closes it at cleanup.
func openTemp(t testing.TB) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "tollgate.db")
	return openAt(t, path), path
}

// openAt opens the store at path and closes it at cleanup.
func openAt(t testing.TB, path string) *SQLite {
	t.Helper()
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func parse(t testing.TB, doc string) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Parse([]byte(doc), []string{"demo", STSIssuer})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// imported opens a store with testData imported.
func imported(t testing.TB) (*SQLite, *catalog.Catalog) {
	t.Helper()
	s, _ := openTemp(t)
	c := parse(t, testData)
	if err := s.Import(ctx, "import", c); err != nil {
		t.Fatal(err)
	}
	return s, c
}

// normalize puts c in the order Catalog returns, with empty slices nil, so that two
// catalogs with the same content compare equal with reflect.DeepEqual.
func normalize(c *catalog.Catalog) *catalog.Catalog {
	out := &catalog.Catalog{}
	for _, a := range c.APIs {
		a.Hosts = nilIfEmpty(a.Hosts)
		a.Resources = slices.Clone(a.Resources)
		for i := range a.Resources {
			a.Resources[i].Scopes = nilIfEmpty(a.Resources[i].Scopes)
		}
		slices.SortFunc(a.Resources, func(x, y catalog.Resource) int {
			return cmp.Or(cmp.Compare(x.Method, y.Method), cmp.Compare(x.Path, y.Path))
		})
		out.APIs = append(out.APIs, a)
	}
	slices.SortFunc(out.APIs, func(x, y catalog.API) int { return cmp.Compare(x.Name, y.Name) })
	for _, app := range c.Applications {
		app.ClientIDs = nilIfEmpty(slices.Clone(app.ClientIDs))
		slices.SortFunc(app.ClientIDs, func(x, y catalog.ClientID) int {
			return cmp.Or(cmp.Compare(x.Issuer, y.Issuer), cmp.Compare(x.ClientID, y.ClientID))
		})
		out.Applications = append(out.Applications, app)
	}
	slices.SortFunc(out.Applications, func(x, y catalog.Application) int { return cmp.Compare(x.Name, y.Name) })
	out.Subscriptions = nilIfEmpty(slices.Clone(c.Subscriptions))
	slices.SortFunc(out.Subscriptions, func(x, y catalog.Subscription) int {
		return cmp.Or(cmp.Compare(x.Application, y.Application), cmp.Compare(x.API, y.API))
	})
	return out
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// assertCatalog fails t unless the store's catalog is want, up to normalize.
func assertCatalog(t testing.TB, s Store, want *catalog.Catalog) {
	t.Helper()
	got, err := s.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, normalize(want)) {
		t.Errorf("catalog:\n got %+v\nwant %+v", got, normalize(want))
	}
}

func version(t testing.TB, s Store) int64 {
	t.Helper()
	v, err := s.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// credential is a test credential; its hash is recognizable in a dump.
func credential(app, env, clientID string) Credential {
	return Credential{
		ClientID:    clientID,
		Application: app,
		Environment: env,
		SecretHash:  []byte("HASH-of-" + clientID + "-\x00\xff"),
		CreatedAt:   time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.FixedZone("CET", 3600)),
	}
}
