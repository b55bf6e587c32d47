package store

import (
	"errors"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
)

// TestCreateAndDeleteAreAudited runs each creation and deletion once on the test data
// and checks its audit entry and that it advanced the version by one.
func TestCreateAndDeleteAreAudited(t *testing.T) {
	s, _ := imported(t)
	if err := s.PutCredential(ctx, "sts", credential("reporting", catalog.Sandbox, "sts-rep")); err != nil {
		t.Fatal(err)
	}
	search := catalog.API{Name: "search", Context: "/search", Resources: []catalog.Resource{{Method: "GET", Path: "/search"}}}
	writes := []struct {
		action, target, detail string
		write                  func() error
	}{
		{"application.create", "new-app", `{}`, func() error { return s.CreateApplication(ctx, "admin", "new-app") }},
		{"api.create", "search", `{"context":"/search","hosts":0,"resources":1}`, func() error { return s.CreateAPI(ctx, "admin", search) }},
		{"client_id.unbind", "shop-web-prod", `{"application":"shop-web","environment":"production","issuer":"demo"}`,
			func() error { return s.UnbindClientID(ctx, "admin", "shop-web", "demo", "shop-web-prod") }},
		{"subscription.delete", "shop-web", `{"api":"payments","status":"blocked"}`,
			func() error { return s.DeleteSubscription(ctx, "admin", "shop-web", "payments") }},
		{"credential.delete", "sts-rep", `{"application":"reporting","environment":"sandbox"}`,
			func() error { return s.DeleteCredential(ctx, "admin", "reporting", catalog.Sandbox) }},
		{"api.delete", "inventory", `{"subscriptions":1}`, func() error { return s.DeleteAPI(ctx, "admin", "inventory") }},
		{"application.delete", "reporting", `{"client_ids":2,"credentials":0,"subscriptions":1}`,
			func() error { return s.DeleteApplication(ctx, "admin", "reporting") }},
	}
	for _, w := range writes {
		before := version(t, s)
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.action, err)
		}
		if v := version(t, s); v != before+1 {
			t.Errorf("%s: version %d -> %d, want one more", w.action, before, v)
		}
		entries, err := s.Audit(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if e := entries[0]; e.Action != w.action || e.Target != w.target || e.Actor != "admin" || e.Detail != w.detail {
			t.Errorf("audit entry %+v, want action %s, target %q, actor admin, detail %s", e, w.action, w.target, w.detail)
		}
	}
}

// TestDeleteMissing checks that deleting what does not exist is ErrNotFound and
// changes nothing: no version, no audit entry.
func TestDeleteMissing(t *testing.T) {
	s, _ := imported(t)
	deletes := map[string]func() error{
		"application":                 func() error { return s.DeleteApplication(ctx, "admin", "nope") },
		"api":                         func() error { return s.DeleteAPI(ctx, "admin", "nope") },
		"binding":                     func() error { return s.UnbindClientID(ctx, "admin", "shop-web", "demo", "nope") },
		"binding of another app":      func() error { return s.UnbindClientID(ctx, "admin", "reporting", "demo", "shop-web-prod") },
		"binding of another issuer":   func() error { return s.UnbindClientID(ctx, "admin", "shop-web", "other", "shop-web-prod") },
		"sts client ID":               func() error { return s.UnbindClientID(ctx, "admin", "shop-web", STSIssuer, "shop-web-prod") },
		"subscription":                func() error { return s.DeleteSubscription(ctx, "admin", "idle", "orders") },
		"subscription of missing app": func() error { return s.DeleteSubscription(ctx, "admin", "nope", "orders") },
		"credential":                  func() error { return s.DeleteCredential(ctx, "admin", "shop-web", catalog.Production) },
		"credential of missing app":   func() error { return s.DeleteCredential(ctx, "admin", "nope", catalog.Production) },
	}
	for name, del := range deletes {
		if err := del(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err %v, want ErrNotFound", name, err)
		}
	}
	if v := version(t, s); v != 1 {
		t.Errorf("version %d after deletes of nothing, want 1", v)
	}
	if entries, _ := s.Audit(ctx, 100); len(entries) != 1 {
		t.Errorf("%d audit entries, want only the import's", len(entries))
	}
}

// TestUnbindRequiresTheOwner unbinds a client ID naming another application, as an
// admin request would after a concurrent rebind: the binding stays. Naming its owner
// removes it.
func TestUnbindRequiresTheOwner(t *testing.T) {
	s, c := imported(t)
	err := s.UnbindClientID(ctx, "admin", "reporting", "demo", "shop-web-prod")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("unbind naming another application: err %v, want ErrNotFound", err)
	}
	assertCatalog(t, s, c)
	if err := s.UnbindClientID(ctx, "admin", "shop-web", "demo", "shop-web-prod"); err != nil {
		t.Fatalf("unbind naming the owner: %v", err)
	}
	web := &c.Applications[0]
	web.ClientIDs = slices.DeleteFunc(slices.Clone(web.ClientIDs), func(b catalog.ClientID) bool { return b.ClientID == "shop-web-prod" })
	assertCatalog(t, s, c)
}

func TestCreateConflicts(t *testing.T) {
	s, c := imported(t)
	orders := c.APIs[0]
	orders.Resources = orders.Resources[:1]
	onOrdersContext := catalog.API{Name: "orders2", Context: "/orders", Resources: []catalog.Resource{{Method: "GET", Path: "/orders/x"}}}
	creates := map[string]func() error{
		"application":       func() error { return s.CreateApplication(ctx, "admin", "shop-web") },
		"api":               func() error { return s.CreateAPI(ctx, "admin", orders) },
		"api on a context":  func() error { return s.CreateAPI(ctx, "admin", onOrdersContext) },
		"api with bad data": func() error { return s.CreateAPI(ctx, "admin", catalog.API{Name: "x", Context: "/x"}) },
	}
	for name, create := range creates {
		if err := create(); !errors.Is(err, ErrConflict) {
			t.Errorf("%s: err %v, want ErrConflict", name, err)
		}
	}
	if v := version(t, s); v != 1 {
		t.Errorf("version %d after refused creations, want 1", v)
	}
	assertCatalog(t, s, c) // orders keeps all its resources
}

func TestDeleteApplicationCascades(t *testing.T) {
	s, c := imported(t)
	if err := s.PutCredential(ctx, "sts", credential("shop-web", catalog.Production, "sts-shop")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteApplication(ctx, "admin", "shop-web"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Credential(ctx, "sts-shop"); !errors.Is(err, ErrNotFound) {
		t.Errorf("credential of the deleted application: err %v, want ErrNotFound", err)
	}
	want := *c
	want.Applications = slices.DeleteFunc(slices.Clone(c.Applications), func(a catalog.Application) bool { return a.Name == "shop-web" })
	want.Subscriptions = slices.DeleteFunc(slices.Clone(c.Subscriptions), func(s catalog.Subscription) bool { return s.Application == "shop-web" })
	assertCatalog(t, s, &want)
	// Its client IDs are free again.
	if err := s.BindClientID(ctx, "admin", "idle", catalog.ClientID{Issuer: "demo", ClientID: "shop-web-prod", Environment: catalog.Production}); err != nil {
		t.Errorf("binding a deleted application's client ID: %v", err)
	}
}

func TestDeleteAPICascades(t *testing.T) {
	s, c := imported(t)
	if err := s.DeleteAPI(ctx, "admin", "orders"); err != nil {
		t.Fatal(err)
	}
	want := *c
	want.APIs = slices.DeleteFunc(slices.Clone(c.APIs), func(a catalog.API) bool { return a.Name == "orders" })
	want.Subscriptions = slices.DeleteFunc(slices.Clone(c.Subscriptions), func(s catalog.Subscription) bool { return s.API == "orders" })
	assertCatalog(t, s, &want)
	// Its context is free again.
	if err := s.CreateAPI(ctx, "admin", catalog.API{Name: "orders-v2", Context: "/orders", Resources: []catalog.Resource{{Method: "GET", Path: "/orders"}}}); err != nil {
		t.Errorf("an API on a deleted API's context: %v", err)
	}
	if scopes, err := s.GrantableScopes(ctx, "shop-web", catalog.Production); err != nil || len(scopes) != 0 {
		t.Errorf("scopes of a deleted API still grantable: %q (%v)", scopes, err)
	}
}

func TestDeleteCredentialRevokes(t *testing.T) {
	s, _ := imported(t)
	for _, c := range []Credential{credential("shop-web", catalog.Production, "p"), credential("shop-web", catalog.Sandbox, "s")} {
		if err := s.PutCredential(ctx, "sts", c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteCredential(ctx, "admin", "shop-web", catalog.Sandbox); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Credential(ctx, "s"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted credential: err %v, want ErrNotFound", err)
	}
	if _, err := s.Credential(ctx, "p"); err != nil {
		t.Errorf("the other environment's credential: %v", err)
	}
}
