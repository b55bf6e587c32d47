package store

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/catalog"
)

func TestCredentialRoundTrip(t *testing.T) {
	s, _ := imported(t)
	want := credential("shop-web", catalog.Production, "sts-shop-prod")
	if err := s.PutCredential(ctx, "sts", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Credential(ctx, want.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt %v, want %v in UTC", got.CreatedAt, want.CreatedAt)
	}
	got.CreatedAt = want.CreatedAt
	if !bytes.Equal(got.SecretHash, want.SecretHash) || got.ClientID != want.ClientID ||
		got.Application != want.Application || got.Environment != want.Environment {
		t.Errorf("Credential = %+v, want %+v", got, want)
	}
}

// TestPutCredentialStampsItsCreation stores a credential without a creation time: it
// reads back with the time of the write, never as year 1.
func TestPutCredentialStampsItsCreation(t *testing.T) {
	s, _ := imported(t)
	c := credential("shop-web", catalog.Production, "unstamped")
	c.CreatedAt = time.Time{}
	before := time.Now()
	if err := s.PutCredential(ctx, "import", c); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	got, err := s.Credential(ctx, c.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Before(before) || got.CreatedAt.After(after) {
		t.Errorf("CreatedAt %v, want between %v and %v", got.CreatedAt, before, after)
	}
}

func TestPutCredentialRevokesTheOldOne(t *testing.T) {
	s, _ := imported(t)
	old := credential("shop-web", catalog.Sandbox, "old")
	other := credential("shop-web", catalog.Production, "prod")
	for _, c := range []Credential{old, other, credential("shop-web", catalog.Sandbox, "new")} {
		if err := s.PutCredential(ctx, "sts", c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Credential(ctx, "old"); !errors.Is(err, ErrNotFound) {
		t.Errorf("replaced credential: err %v, want ErrNotFound", err)
	}
	for _, id := range []string{"new", "prod"} {
		if _, err := s.Credential(ctx, id); err != nil {
			t.Errorf("credential %q: %v", id, err)
		}
	}
	entries, err := s.Audit(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"application":"shop-web","environment":"sandbox","replaced":"old"}`; entries[0].Detail != want {
		t.Errorf("audit detail %s, want %s", entries[0].Detail, want)
	}
}

func TestPutCredentialRejectsBadInput(t *testing.T) {
	s, _ := imported(t)
	noHash := credential("shop-web", catalog.Production, "x")
	noHash.SecretHash = nil
	badEnv := credential("shop-web", "staging", "x")
	farFuture := credential("shop-web", catalog.Production, "x")
	farFuture.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, c := range map[string]Credential{"no hash": noHash, "bad environment": badEnv, "year 10000": farFuture} {
		if err := s.PutCredential(ctx, "sts", c); err == nil || errors.Is(err, ErrConflict) {
			t.Errorf("%s: err %v, want a plain error", name, err)
		}
	}
}

func TestCredentialNotFound(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := s.Credential(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("err %v, want ErrNotFound", err)
	}
}

func TestGrantableScopes(t *testing.T) {
	s, _ := imported(t)
	if err := s.PutAPI(ctx, "admin", catalog.API{Name: "search", Context: "/search", Resources: []catalog.Resource{
		{Method: "GET", Path: "/search", Auth: catalog.AuthNone},
		{Method: "GET", Path: "/search/{q}", Scopes: []string{"search:public"}},
		{Method: "POST", Path: "/search", Scopes: []string{"search:write", "urn:acme:orders:read"}},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSubscription(ctx, "admin", catalog.Subscription{Application: "idle", API: "search", Status: catalog.Active}); err != nil {
		t.Fatal(err)
	}
	orders := []string{"urn:acme:orders:read", "urn:acme:orders:write"}
	tests := []struct {
		app, env string
		want     []string
	}{
		{"shop-web", catalog.Production, orders}, // payments is blocked
		{"shop-web", catalog.Sandbox, orders},
		{"reporting", catalog.Production, []string{"urn:acme:inventory:read"}}, // orders is prod_only_blocked
		{"reporting", catalog.Sandbox, []string{"urn:acme:inventory:read", "urn:acme:orders:read", "urn:acme:orders:write"}},
		{"idle", catalog.Production, []string{"search:public", "search:write", "urn:acme:orders:read"}},
		{"nope", catalog.Production, nil},
	}
	for _, tt := range tests {
		got, err := s.GrantableScopes(ctx, tt.app, tt.env)
		if err != nil {
			t.Errorf("%s in %s: %v", tt.app, tt.env, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s in %s: %q, want %q", tt.app, tt.env, got, tt.want)
		}
	}
}

func TestGrantableScopesRejectsUnknownEnvironment(t *testing.T) {
	s, _ := imported(t)
	if _, err := s.GrantableScopes(ctx, "shop-web", "prod"); err == nil {
		t.Error(`GrantableScopes accepted environment "prod"`)
	}
}
