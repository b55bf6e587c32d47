package store

import (
	"fmt"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
)

// benchStore is a store of 50 APIs with 20 resources of 2 scopes each and 200
// applications, each with a credential and subscriptions to 10 APIs.
func benchStore(b *testing.B) *SQLite {
	s, _ := openTemp(b)
	c := &catalog.Catalog{}
	for i := range 50 {
		api := catalog.API{Name: fmt.Sprintf("api-%d", i), Context: fmt.Sprintf("/api%d", i)}
		for j := range 20 {
			api.Resources = append(api.Resources, catalog.Resource{
				Method: "GET", Path: fmt.Sprintf("/api%d/r%d", i, j),
				Scopes: []string{fmt.Sprintf("api%d:r%d", i, j), fmt.Sprintf("api%d:read", i)},
			})
		}
		c.APIs = append(c.APIs, api)
	}
	for i := range 200 {
		app := fmt.Sprintf("app-%d", i)
		c.Applications = append(c.Applications, catalog.Application{Name: app})
		for j := range 10 {
			c.Subscriptions = append(c.Subscriptions, catalog.Subscription{Application: app, API: fmt.Sprintf("api-%d", (i+j)%50), Status: catalog.Active})
		}
	}
	if err := s.Import(ctx, "bench", c); err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		app := fmt.Sprintf("app-%d", i)
		if err := s.PutCredential(ctx, "bench", credential(app, catalog.Production, app+"-prod")); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkCredential(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Credential(ctx, fmt.Sprintf("app-%d-prod", i%200)); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkGrantableScopes(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			scopes, err := s.GrantableScopes(ctx, fmt.Sprintf("app-%d", i%200), catalog.Production)
			if err != nil || len(scopes) != 210 {
				b.Errorf("%d scopes, %v; want 210", len(scopes), err)
				return
			}
			i++
		}
	})
}

// BenchmarkBlockSubscription is the latency of one management write as an operator
// makes it: a subscription blocked or unblocked, each a committed change with its
// check of the whole data, audit entry and sync to disk. It runs on the small test
// data and on benchStore's, to separate the sync from the check.
func BenchmarkBlockSubscription(b *testing.B) {
	for _, bb := range []struct {
		name string
		open func(*testing.B) (*SQLite, catalog.Subscription)
	}{
		{"small", func(b *testing.B) (*SQLite, catalog.Subscription) {
			s, _ := imported(b)
			return s, catalog.Subscription{Application: "shop-web", API: "orders"}
		}},
		{"50apis-200apps", func(b *testing.B) (*SQLite, catalog.Subscription) {
			return benchStore(b), catalog.Subscription{Application: "app-0", API: "api-0"}
		}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			s, sub := bb.open(b)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sub.Status = []string{catalog.Blocked, catalog.Active}[i%2]
				if err := s.PutSubscription(ctx, "bench", sub); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
