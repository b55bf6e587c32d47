package store

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
)

// TestTwoOpensSeeEachOthersWrites opens the same file twice, as two processes would.
func TestTwoOpensSeeEachOthersWrites(t *testing.T) {
	a, path := openTemp(t)
	b := openAt(t, path)
	if err := a.Import(ctx, "import", parse(t, testData)); err != nil {
		t.Fatal(err)
	}
	if va, vb := version(t, a), version(t, b); va != 1 || vb != 1 {
		t.Fatalf("versions after a write through a: a %d, b %d; want 1", va, vb)
	}
	if err := b.PutApplication(ctx, "admin", "from-b"); err != nil {
		t.Fatal(err)
	}
	if v := version(t, a); v != 2 {
		t.Errorf("a sees version %d after b's write, want 2", v)
	}
	c, err := a.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Applications[0].Name != "from-b" {
		t.Errorf("a's catalog lacks b's application: %+v", c.Applications)
	}
}

// TestConcurrentUse runs 50 goroutines, split across two opens of one file, each
// writing and reading. Run with -race. No write may fail with SQLITE_BUSY: every one
// counts in the final version.
func TestConcurrentUse(t *testing.T) {
	a, path := openTemp(t)
	b := openAt(t, path)
	if err := a.Import(ctx, "import", parse(t, testData)); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 50, 4
	var wg sync.WaitGroup
	for w := range workers {
		s := []*SQLite{a, b}[w%2]
		wg.Go(func() {
			for r := range rounds {
				if err := work(s, fmt.Sprintf("app-%d-%d", w, r)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if v, want := version(t, b), int64(1+workers*rounds*writesPerWork); v != want {
		t.Errorf("version %d, want %d", v, want)
	}
}

// writesPerWork is how many changes work commits.
const writesPerWork = 3

// work writes an application with a credential and a subscription, and reads.
func work(s *SQLite, app string) error {
	if err := s.PutApplication(ctx, "test", app); err != nil {
		return err
	}
	if err := s.PutCredential(ctx, "test", credential(app, catalog.Production, app+"-prod")); err != nil {
		return err
	}
	if err := s.PutSubscription(ctx, "test", catalog.Subscription{Application: app, API: "orders", Status: catalog.Active}); err != nil {
		return err
	}
	if _, err := s.Catalog(ctx); err != nil {
		return err
	}
	if _, err := s.Version(ctx); err != nil {
		return err
	}
	if _, err := s.Credential(ctx, app+"-prod"); err != nil {
		return err
	}
	scopes, err := s.GrantableScopes(ctx, app, catalog.Production)
	if err != nil {
		return err
	}
	if len(scopes) != 2 {
		return fmt.Errorf("%s: scopes %q, want orders' two", app, scopes)
	}
	return nil
}
