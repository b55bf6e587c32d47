package admin

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/store"
)

// TestUnbindAnotherApplicationsBinding deletes a binding through an application that
// does not own it: 404, and its owner keeps it.
func TestUnbindAnotherApplicationsBinding(t *testing.T) {
	f := newFixture(t, nil)
	f.must(404, "DELETE", "/admin/v1/applications/reporting/bindings/demo/shop-web-prod", "", nil)
	var app Application
	f.must(200, "GET", "/admin/v1/applications/shop-web", "", &app)
	if !slices.Contains(app.ClientIDs, Binding{Issuer: "demo", ClientID: "shop-web-prod", Environment: "production"}) {
		t.Errorf("shop-web lost its binding: %+v", app.ClientIDs)
	}
}

// TestUnbindRacesRebind moves a client ID between two applications, as another admin
// or process would, while DELETE requests unbind it from one of them. A DELETE may
// find the binding there or not, but never removes it once it has moved to the other
// application: the mover's own unbind from there always finds it.
func TestUnbindRacesRebind(t *testing.T) {
	f := newFixture(t, nil)
	const path = "/admin/v1/applications/idle/bindings/demo/moving"
	var done atomic.Bool
	deletes := make(chan int)
	go func() {
		n := 0
		for !done.Load() {
			if r := f.do("DELETE", path, ""); r.status != 204 && r.status != 404 {
				t.Errorf("DELETE: status %d, body %s", r.status, r.body)
			}
			n++
		}
		deletes <- n
	}()
	b := catalog.ClientID{Issuer: "demo", ClientID: "moving", Environment: catalog.Production}
	stolen := 0
	for range 200 {
		// bound to idle, then moved to reporting: the DELETEs may remove the first only.
		if err := f.store.BindClientID(ctx, "mover", "idle", b); err != nil {
			t.Fatal(err)
		}
		if err := f.store.UnbindClientID(ctx, "mover", "idle", "demo", "moving"); err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		if err := f.store.BindClientID(ctx, "mover", "reporting", b); err != nil {
			t.Fatal(err)
		}
		if err := f.store.UnbindClientID(ctx, "mover", "reporting", "demo", "moving"); errors.Is(err, store.ErrNotFound) {
			stolen++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	if n := <-deletes; stolen > 0 {
		t.Errorf("%d of %d DELETEs of idle's binding removed reporting's", stolen, n)
	}
}
