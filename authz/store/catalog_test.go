package store

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
)

func TestCatalogRoundTrip(t *testing.T) {
	s, want := imported(t)
	assertCatalog(t, s, want)
}

func TestCatalogOfEmptyStore(t *testing.T) {
	s, _ := openTemp(t)
	assertCatalog(t, s, &catalog.Catalog{})
}

func TestCatalogShowsCredentialsAsSTSBindings(t *testing.T) {
	s, want := imported(t)
	for _, c := range []Credential{
		credential("shop-web", catalog.Production, "sts-shop-prod"),
		credential("idle", catalog.Sandbox, "sts-idle-sandbox"),
	} {
		if err := s.PutCredential(ctx, "sts", c); err != nil {
			t.Fatal(err)
		}
	}
	want.Applications[0].ClientIDs = append(want.Applications[0].ClientIDs,
		catalog.ClientID{Issuer: STSIssuer, ClientID: "sts-shop-prod", Environment: catalog.Production})
	want.Applications[2].ClientIDs = append(want.Applications[2].ClientIDs,
		catalog.ClientID{Issuer: STSIssuer, ClientID: "sts-idle-sandbox", Environment: catalog.Sandbox})
	assertCatalog(t, s, want)

	// An exported catalog imports again, STS bindings and all, and changes nothing.
	exported, err := s.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := exported.Validate([]string{"demo", STSIssuer}); err != nil {
		t.Fatalf("exported catalog is invalid: %v", err)
	}
	if err := s.Import(ctx, "import", exported); err != nil {
		t.Fatal(err)
	}
	assertCatalog(t, s, want)
}

func TestPutAPIReplacesResourcesKeepsSubscriptions(t *testing.T) {
	s, want := imported(t)
	orders := catalog.API{
		Name:      "orders",
		Context:   "/v2/orders",
		Hosts:     []string{"orders.example.com"},
		Resources: []catalog.Resource{{Method: "GET", Path: "/v2/orders/{id}", Scopes: []string{"orders:read"}}},
	}
	if err := s.PutAPI(ctx, "admin:alice", orders); err != nil {
		t.Fatal(err)
	}
	orders.Resources[0].Auth = catalog.AuthRequired // the default PutAPI stores
	want.APIs[0] = orders
	assertCatalog(t, s, want)
}

func TestImportUpsertsAndDeletesNothing(t *testing.T) {
	s, want := imported(t)
	more := parse(t, `
apis:
  - name: shipping
    context: /shipping
    resources: [{method: GET, path: "/shipping/{id}", scopes: [ship:read]}]
applications:
  - name: shop-web
    client_ids: [{issuer: demo, client_id: shop-web-prod, environment: sandbox}]
  - name: courier
subscriptions:
  - {application: shop-web, api: shipping}
`)
	// A subscription between what the store already has, which Parse cannot check.
	more.Subscriptions = append(more.Subscriptions, catalog.Subscription{Application: "reporting", API: "orders", Status: catalog.Blocked})
	if err := s.Import(ctx, "import", more); err != nil {
		t.Fatal(err)
	}
	want.APIs = append(want.APIs, more.APIs[0])
	want.Applications[0].ClientIDs[1].Environment = catalog.Sandbox // shop-web-prod moved
	want.Applications = append(want.Applications, catalog.Application{Name: "courier"})
	want.Subscriptions[2].Status = catalog.Blocked
	want.Subscriptions = append(want.Subscriptions, more.Subscriptions[0])
	assertCatalog(t, s, want)
}

func TestImportRollsBackOnConflict(t *testing.T) {
	s, want := imported(t)
	before := version(t, s)
	err := s.Import(ctx, "import", parse(t, `
apis:
  - name: shipping
    context: /shipping
    resources: [{method: GET, path: "/shipping/{id}"}]
applications:
  - name: thief
    client_ids: [{issuer: demo, client_id: shop-web-prod, environment: production}]
`))
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `"shop-web"`) {
		t.Fatalf("err %v, want ErrConflict naming shop-web", err)
	}
	assertCatalog(t, s, want)
	if after := version(t, s); after != before {
		t.Errorf("version %d -> %d after a failed import", before, after)
	}
}

func TestImportNil(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.Import(ctx, "import", nil); err == nil {
		t.Error("Import(nil) succeeded")
	}
}

// TestConflicts checks every write that would break consistency: ErrConflict, with
// a message that names what stands in the way.
func TestConflicts(t *testing.T) {
	tests := []struct {
		name string
		op   func(s *SQLite) error
		want string // in the message
	}{
		{"bind client ID owned by another application", func(s *SQLite) error {
			return s.BindClientID(ctx, "a", "reporting", catalog.ClientID{Issuer: "demo", ClientID: "shop-web-prod", Environment: catalog.Production})
		}, `bound to application "shop-web"`},
		{"bind to missing application", func(s *SQLite) error {
			return s.BindClientID(ctx, "a", "nope", catalog.ClientID{Issuer: "demo", ClientID: "new", Environment: catalog.Production})
		}, `application "nope" does not exist`},
		{"bind STS client ID without credential", func(s *SQLite) error {
			return s.BindClientID(ctx, "a", "shop-web", catalog.ClientID{Issuer: STSIssuer, ClientID: "new", Environment: catalog.Production})
		}, "no credential has this one"},
		{"bind STS client ID of another application's credential", func(s *SQLite) error {
			return s.BindClientID(ctx, "a", "reporting", catalog.ClientID{Issuer: STSIssuer, ClientID: "sts-shop-prod", Environment: catalog.Production})
		}, `production credential of application "shop-web"`},
		{"bind STS client ID in the other environment", func(s *SQLite) error {
			return s.BindClientID(ctx, "a", "shop-web", catalog.ClientID{Issuer: STSIssuer, ClientID: "sts-shop-prod", Environment: catalog.Sandbox})
		}, `production credential of application "shop-web"`},
		{"subscription of missing application", func(s *SQLite) error {
			return s.PutSubscription(ctx, "a", catalog.Subscription{Application: "nope", API: "orders", Status: catalog.Active})
		}, `application "nope" does not exist`},
		{"subscription to missing API", func(s *SQLite) error {
			return s.PutSubscription(ctx, "a", catalog.Subscription{Application: "shop-web", API: "nope", Status: catalog.Active})
		}, `API "nope" does not exist`},
		{"credential of missing application", func(s *SQLite) error {
			return s.PutCredential(ctx, "a", credential("nope", catalog.Production, "new"))
		}, `application "nope" does not exist`},
		{"credential with another application's client ID", func(s *SQLite) error {
			return s.PutCredential(ctx, "a", credential("reporting", catalog.Production, "sts-shop-prod"))
		}, `production credential of application "shop-web"`},
		{"credential with the other environment's client ID", func(s *SQLite) error {
			return s.PutCredential(ctx, "a", credential("shop-web", catalog.Sandbox, "sts-shop-prod"))
		}, `production credential of application "shop-web"`},
		{"signing key with a kid in use", func(s *SQLite) error {
			return s.RotateSigningKey(ctx, "a", signingKey("k1", 2), at(3))
		}, `kid "k1" is in use`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := imported(t)
			if err := s.PutCredential(ctx, "sts", credential("shop-web", catalog.Production, "sts-shop-prod")); err != nil {
				t.Fatal(err)
			}
			if err := s.RotateSigningKey(ctx, "sts", signingKey("k1", 1), at(2)); err != nil {
				t.Fatal(err)
			}
			before, _ := s.Catalog(ctx)
			v := version(t, s)
			err := tt.op(s)
			if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want ErrConflict saying %q", err, tt.want)
			}
			assertCatalog(t, s, before)
			if after := version(t, s); after != v {
				t.Errorf("version %d -> %d after a refused write", v, after)
			}
		})
	}
}

// TestWritesThatAreNotConflicts checks the near misses of TestConflicts.
func TestWritesThatAreNotConflicts(t *testing.T) {
	s, _ := imported(t)
	ops := []struct {
		name string
		op   func() error
	}{
		{"same client ID, other issuer", func() error {
			return s.BindClientID(ctx, "a", "reporting", catalog.ClientID{Issuer: "other", ClientID: "shop-web-prod", Environment: catalog.Production})
		}},
		{"credential reusing an external client ID", func() error {
			return s.PutCredential(ctx, "a", credential("reporting", catalog.Production, "shop-web-prod"))
		}},
		{"binding the credential as it is", func() error {
			return s.BindClientID(ctx, "a", "reporting", catalog.ClientID{Issuer: STSIssuer, ClientID: "shop-web-prod", Environment: catalog.Production})
		}},
		{"new credential replacing its own", func() error {
			return s.PutCredential(ctx, "a", credential("reporting", catalog.Production, "shop-web-prod"))
		}},
	}
	for _, o := range ops {
		if err := o.op(); err != nil {
			t.Errorf("%s: %v", o.name, err)
		}
	}
	c, err := s.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Applications[1].ClientIDs; !slices.Contains(got, catalog.ClientID{Issuer: "other", ClientID: "shop-web-prod", Environment: catalog.Production}) {
		t.Errorf("reporting's client IDs %v lack the other issuer's binding", got)
	}
}

// TestInconsistentDataIsRefused: rows that are each fine but together are not valid
// data never commit, so the decision path is never handed data it must refuse.
func TestInconsistentDataIsRefused(t *testing.T) {
	s, _ := imported(t)
	before, err := s.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clash := &catalog.Catalog{APIs: []catalog.API{{Name: "orders-v2", Context: "/orders",
		Resources: []catalog.Resource{{Method: "GET", Path: "/orders/{id}", Auth: catalog.AuthRequired}}}}}
	if err := s.Import(ctx, "import", clash); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "/orders") {
		t.Errorf("import of a second API on /orders: %v, want ErrConflict naming the context", err)
	}
	if err := s.PutAPI(ctx, "admin", clash.APIs[0]); !errors.Is(err, ErrConflict) {
		t.Errorf("PutAPI of a second API on /orders: %v, want ErrConflict", err)
	}
	if after, _ := s.Version(ctx); after != before {
		t.Errorf("version moved from %d to %d on refused changes", before, after)
	}
	cat, err := s.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.ValidateStructure(); err != nil {
		t.Errorf("the store's data is not valid: %v", err)
	}
}
