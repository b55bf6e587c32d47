package openapi

import (
	"reflect"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
)

func TestDiff(t *testing.T) {
	orders := api("orders", "/orders",
		res("GET", "/orders", catalog.AuthRequired, "read"),
		res("POST", "/orders", catalog.AuthRequired, "write", "read"),
		res("GET", "/orders/{id}", catalog.AuthRequired, "read"),
		res("GET", "/orders/docs", catalog.AuthNone),
	)
	tests := []struct {
		name          string
		before, after catalog.API
		want          Changes
	}{
		{name: "same", before: orders, after: orders},
		{name: "both empty", before: catalog.API{}, after: catalog.API{}},
		{name: "scope order and repeats do not count, nor auth left to its default",
			before: orders,
			after: api("orders", "/orders",
				res("GET", "/orders/docs", catalog.AuthNone),
				res("GET", "/orders/{id}", "", "read", "read"),
				res("POST", "/orders", catalog.AuthRequired, "read", "write"),
				res("GET", "/orders", catalog.AuthRequired, "read"),
			)},
		{name: "added, removed and changed, each sorted",
			before: orders,
			after: api("orders", "/orders",
				res("GET", "/orders", catalog.AuthRequired, "read", "list"),
				res("POST", "/orders", catalog.AuthRequired, "write", "read"),
				res("GET", "/orders/docs", catalog.AuthRequired),
				res("DELETE", "/orders/{id}", catalog.AuthRequired, "delete"),
				res("PUT", "/orders/{id}", catalog.AuthRequired, "write"),
			),
			want: Changes{
				Added:   []string{"DELETE /orders/{id}", "PUT /orders/{id}"},
				Removed: []string{"GET /orders/{id}"},
				Changed: []string{"GET /orders", "GET /orders/docs"},
			}},
		{name: "from nothing", before: catalog.API{}, after: api("orders", "/orders", res("GET", "/orders/{id}", "", "read"), res("GET", "/orders", "")),
			want: Changes{Added: []string{"GET /orders", "GET /orders/{id}"}}},
		{name: "to nothing", before: orders, after: catalog.API{},
			want: Changes{Removed: []string{"GET /orders", "GET /orders/docs", "GET /orders/{id}", "POST /orders"}}},
		{name: "a public resource that now needs a token without scopes",
			before: api("o", "/o", res("GET", "/o", catalog.AuthNone)),
			after:  api("o", "/o", res("GET", "/o", "")),
			want:   Changes{Changed: []string{"GET /o"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Diff(tt.before, tt.after); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDiffReimport diffs two imports of the fixtures, as a re-import that updates an
// API in place would.
func TestDiffReimport(t *testing.T) {
	before := importFile(t, "orders-3.0.yaml", "orders", "/orders")
	after := importFile(t, "orders-3.1.yaml", "orders", "/orders")
	if got := Diff(before, after); !reflect.DeepEqual(got, Changes{}) {
		t.Errorf("Diff of the 3.0 and 3.1 fixtures = %+v, want no changes", got)
	}
	after.Resources = append(after.Resources[1:], res("GET", "/orders/new", catalog.AuthRequired))
	after.Resources[0].Scopes = []string{"other"}
	want := Changes{Added: []string{"GET /orders/new"}, Removed: []string{"GET /orders"}, Changed: []string{"HEAD /orders/health"}}
	if got := Diff(before, after); !reflect.DeepEqual(got, want) {
		t.Errorf("Diff = %+v, want %+v", got, want)
	}
}
