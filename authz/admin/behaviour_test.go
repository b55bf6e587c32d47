package admin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/store"
)

// pages fetches every page of a list, limit items at a time, and returns the items'
// sort keys and how many pages there were.
func pages[T any](t *testing.T, f *fixture, path string, limit int, key func(T) string) ([]string, int) {
	t.Helper()
	var keys []string
	token, n := "", 0
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for {
		var page struct {
			Items         []T     `json:"items"`
			NextPageToken *string `json:"next_page_token"`
		}
		f.must(200, "GET", fmt.Sprintf("%s%slimit=%d&page_token=%s", path, sep, limit, url.QueryEscape(token)), "", &page)
		n++
		if len(page.Items) > limit {
			t.Fatalf("page %d has %d items, more than the limit %d", n, len(page.Items), limit)
		}
		for _, item := range page.Items {
			keys = append(keys, key(item))
		}
		if page.NextPageToken == nil {
			return keys, n
		}
		if *page.NextPageToken == "" {
			t.Fatal("next_page_token is empty instead of left out")
		}
		token = *page.NextPageToken
	}
}

func TestPagination(t *testing.T) {
	f := newFixture(t, nil)
	for _, name := range []string{"idle", "reporting", "shop-web"} {
		if err := f.store.DeleteApplication(ctx, "test", name); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for i := range 250 {
		name := fmt.Sprintf("app-%03d", 249-i) // created out of order
		if err := f.store.CreateApplication(ctx, "test", name); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	slices.Sort(want)
	got, n := pages(t, f, "/admin/v1/applications", 100, func(a Application) string { return a.Name })
	if n != 3 || !slices.Equal(got, want) {
		t.Errorf("%d pages of %d applications; want 3 pages of the 250 in order, each once", n, len(got))
	}
	got, n = pages(t, f, "/admin/v1/applications", 1000, func(a Application) string { return a.Name })
	if n != 1 || len(got) != 250 {
		t.Errorf("limit 1000: %d pages of %d applications, want 1 of 250", n, len(got))
	}
}

// TestPaginationSurvivesChanges deletes the last item of a page before asking for
// the next: the next page starts after it all the same.
func TestPaginationSurvivesChanges(t *testing.T) {
	f := newFixture(t, nil)
	var first struct {
		Items         []Application `json:"items"`
		NextPageToken string        `json:"next_page_token"`
	}
	f.must(200, "GET", "/admin/v1/applications?limit=1", "", &first)
	f.must(204, "DELETE", "/admin/v1/applications/"+first.Items[0].Name, "", nil)
	var rest List[Application]
	f.must(200, "GET", "/admin/v1/applications?page_token="+first.NextPageToken, "", &rest)
	if len(rest.Items) != 2 || rest.Items[0].Name != "reporting" {
		t.Errorf("after a deleted first page: %+v, want reporting and shop-web", rest.Items)
	}
}

func TestSubscriptionPagination(t *testing.T) {
	f := newFixture(t, nil)
	var want []string
	for i := range 12 {
		app := fmt.Sprintf("a%d", i)
		f.must(201, "POST", "/admin/v1/applications", `{"name":"`+app+`"}`, nil)
		for _, api := range []string{"orders", "payments"} {
			f.must(201, "PUT", "/admin/v1/subscriptions/"+app+"/"+api, "", nil)
			want = append(want, app+" "+api)
		}
	}
	want = append(want, "reporting orders", "shop-web orders", "shop-web payments")
	slices.Sort(want) // a1 < a10 < a11 < a2: by name, as the store sorts
	key := func(s Subscription) string { return s.Application + " " + s.API }
	got, n := pages(t, f, "/admin/v1/subscriptions", 5, key)
	if n != 6 || !slices.Equal(got, want) {
		t.Errorf("%d pages: %q\nwant 6 pages of %q", n, got, want)
	}
	got, _ = pages(t, f, "/admin/v1/subscriptions?api=payments", 5, key)
	if len(got) != 13 {
		t.Errorf("subscriptions to payments: %q, want 13", got)
	}
}

func TestDeleteApplicationCascades(t *testing.T) {
	f := newFixture(t, nil)
	var k GeneratedKey
	f.must(201, "POST", "/admin/v1/applications/shop-web/keys", `{"environment":"production"}`, &k)
	f.must(204, "DELETE", "/admin/v1/applications/shop-web", "", nil)
	f.must(404, "GET", "/admin/v1/applications/shop-web", "", nil)
	f.must(404, "GET", "/admin/v1/applications/shop-web/keys", "", nil)
	var subs List[Subscription]
	f.must(200, "GET", "/admin/v1/subscriptions?application=shop-web", "", &subs)
	if len(subs.Items) != 0 {
		t.Errorf("subscriptions of a deleted application: %+v", subs.Items)
	}
	if _, err := f.store.Credential(ctx, k.ClientID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key of a deleted application: err %v, want ErrNotFound", err)
	}
	// Its bindings are gone: the client ID may be bound to another application.
	f.must(201, "POST", "/admin/v1/applications/idle/bindings", `{"issuer":"demo","client_id":"shop-web-prod","environment":"production"}`, nil)
}

func TestDeleteAPICascades(t *testing.T) {
	f := newFixture(t, nil)
	f.must(204, "DELETE", "/admin/v1/apis/orders", "", nil)
	f.must(404, "GET", "/admin/v1/apis/orders", "", nil)
	var subs List[Subscription]
	f.must(200, "GET", "/admin/v1/subscriptions", "", &subs)
	if want := []Subscription{{"shop-web", "payments", "blocked"}}; !slices.Equal(subs.Items, want) {
		t.Errorf("subscriptions %+v, want %+v", subs.Items, want)
	}
	f.must(404, "GET", "/admin/v1/subscriptions/shop-web/orders", "", nil)
}

func TestUnbind(t *testing.T) {
	f := newFixture(t, nil)
	const clientID = "a/b c?d%"
	body := `{"issuer":"asgardeo","client_id":"` + clientID + `","environment":"sandbox"}`
	f.must(201, "POST", "/admin/v1/applications/idle/bindings", body, nil)
	f.must(204, "DELETE", "/admin/v1/applications/idle/bindings/asgardeo/"+url.PathEscape(clientID), "", nil)
	var app Application
	f.must(200, "GET", "/admin/v1/applications/idle", "", &app)
	if len(app.ClientIDs) != 0 {
		t.Errorf("client IDs after unbinding: %+v", app.ClientIDs)
	}
	f.must(404, "DELETE", "/admin/v1/applications/idle/bindings/asgardeo/"+url.PathEscape(clientID), "", nil)
}

func TestGeneratedKeys(t *testing.T) {
	f := newFixture(t, nil)
	const path = "/admin/v1/applications/reporting/keys"
	var first, second GeneratedKey
	f.must(201, "POST", path, `{"environment":"sandbox"}`, &first)
	f.must(201, "POST", path, `{"environment":"sandbox"}`, &second)
	if first.ClientID == second.ClientID || first.ClientSecret == second.ClientSecret {
		t.Fatalf("two keys alike: %+v, %+v", first, second)
	}
	if _, err := f.store.Credential(ctx, first.ClientID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replaced key: err %v, want ErrNotFound (revoked)", err)
	}
	c, err := f.store.Credential(ctx, second.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Application != "reporting" || c.Environment != catalog.Sandbox || !f.sealer.SecretMatches(second.ClientSecret, c.SecretHash) {
		t.Errorf("stored credential %+v does not verify the secret it was given", c)
	}
	if f.sealer.SecretMatches(first.ClientSecret, c.SecretHash) {
		t.Error("the replaced secret verifies")
	}
	r := f.must(200, "GET", "/admin/v1/applications/reporting", "", nil)
	var app Application
	f.must(200, "GET", path[:len(path)-len("/keys")], "", &app)
	if len(app.Keys) != 1 || app.Keys[0].ClientID != second.ClientID || app.Keys[0].CreatedAt.IsZero() {
		t.Errorf("keys %+v, want the second one", app.Keys)
	}
	for _, where := range []string{string(r.body), f.log.String(), auditText(t, f)} {
		if strings.Contains(where, second.ClientSecret) || strings.Contains(where, "tgs_") {
			t.Errorf("a secret shows outside the creation's answer: %s", where)
		}
	}
	entries, _ := f.store.Audit(ctx, 1)
	if entries[0].Actor != "admin" || entries[0].Action != "credential.put" {
		t.Errorf("audit entry %+v, want credential.put by admin", entries[0])
	}
}

func auditText(t *testing.T, f *fixture) string {
	t.Helper()
	entries, err := f.store.Audit(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%+v", entries)
}

func TestCreateKeyWithoutSTS(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Sealer = nil })
	r := f.do("POST", "/admin/v1/applications/idle/keys", `{"environment":"sandbox"}`)
	if r.status != 501 {
		t.Fatalf("status %d, want 501", r.status)
	}
	checkError(t, r.body, "not_implemented")
	f.must(200, "GET", "/admin/v1/applications/idle/keys", "", nil)
}

func TestExport(t *testing.T) {
	f := newFixture(t, nil)
	var k GeneratedKey
	f.must(201, "POST", "/admin/v1/applications/idle/keys", `{"environment":"production"}`, &k)
	r := f.must(200, "GET", "/admin/v1/export", "", nil)
	for _, secret := range []string{k.ClientSecret, k.ClientID, "tgs_", store.STSIssuer, "secret", "keys"} {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("export holds %q: %s", secret, r.body)
		}
	}
	exported, err := catalog.Parse(r.body, issuers)
	if err != nil {
		t.Fatalf("the export is no data file: %v", err)
	}
	// Imported into an empty store, it gives back what was exported.
	other, err := store.Open(ctx, filepath.Join(t.TempDir(), "other.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Import(ctx, "import", exported); err != nil {
		t.Fatal(err)
	}
	before, err := f.store.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after, err := other.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := exportOf(after), exportOf(before); !equalJSON(t, got, want) {
		t.Errorf("export imported again: %+v, want %+v", got, want)
	}
}

// fakeImport stands for the OpenAPI importer: a document "bad" is refused, one
// "invalid" gives an API without resources, any other the orders API, changed: GET
// has another scope, DELETE is new and POST is gone. name and context default to
// those of the orders API.
func fakeImport(raw []byte, name, context string) (catalog.API, error) {
	switch string(raw) {
	case "bad":
		return catalog.API{}, errors.New("line 1: not an OpenAPI document")
	case "invalid":
		return catalog.API{Name: "x", Context: "/x"}, nil
	}
	context = cmpOr(context, "/orders")
	return catalog.API{Name: cmpOr(name, "orders"), Context: context, Resources: []catalog.Resource{
		{Method: "GET", Path: context + "/{id}", Scopes: []string{"urn:acme:orders:read", "extra"}},
		{Method: "DELETE", Path: context + "/{id}", Scopes: []string{"urn:acme:orders:write"}},
	}}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestImport(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.ImportOpenAPI = fakeImport })
	const doc = "openapi: 3.1.0"
	var res ImportResult
	f.must(200, "POST", "/admin/v1/apis/import", doc, &res)
	want := Changes{Added: []string{"DELETE /orders/{id}"}, Removed: []string{"POST /orders"}, Changed: []string{"GET /orders/{id}"}}
	if !equalJSON(t, res.Changes, want) || res.API.Name != "orders" {
		t.Errorf("changes %+v of %q, want %+v of orders", res.Changes, res.API.Name, want)
	}
	f.must(200, "POST", "/admin/v1/apis/import", doc, &res)
	if want := (Changes{Added: []string{}, Removed: []string{}, Changed: []string{}}); !equalJSON(t, res.Changes, want) {
		t.Errorf("import of the same: changes %+v, want none", res.Changes)
	}
	f.must(201, "POST", "/admin/v1/apis/import?name=orders-v2&context=/v2", doc, &res)
	if res.API.Name != "orders-v2" || res.API.Context != "/v2" || len(res.Changes.Added) != 2 || res.API.Resources[0].Auth != "required" {
		t.Errorf("new import: %+v", res)
	}
	var stored API
	f.must(200, "GET", "/admin/v1/apis/orders-v2", "", &stored)
	if stored.Context != "/v2" || len(stored.Resources) != 2 {
		t.Errorf("stored %+v, answered %+v", stored, res.API)
	}
	for body, code := range map[string]int{"bad": 400, "invalid": 400, "": 400, strings.Repeat("x", 4<<20+1): 400} {
		if r := f.do("POST", "/admin/v1/apis/import", body); r.status != code {
			t.Errorf("import of %.10q: status %d, want %d: %s", body, r.status, code, r.body)
		}
	}
	f.must(409, "POST", "/admin/v1/apis/import?name=orders-v3", doc, nil) // on orders' context
	f.must(400, "POST", "/admin/v1/apis/import?name=a%20b", doc, nil)
	f.must(200, "POST", "/admin/v1/apis/import", doc+strings.Repeat(" ", 4<<20-len(doc)), nil) // just 4 MiB
}

// TestConcurrentWrites creates 100 applications, each with a subscription, from 100
// goroutines at once: none may fail, none may be lost.
func TestConcurrentWrites(t *testing.T) {
	f := newFixture(t, nil)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			app := fmt.Sprintf("parallel-%03d", i)
			if r := f.do("POST", "/admin/v1/applications", `{"name":"`+app+`"}`); r.status != 201 {
				errs <- fmt.Errorf("create %s: %d %s", app, r.status, r.body)
				return
			}
			if r := f.do("PUT", "/admin/v1/subscriptions/"+app+"/orders", `{"status":"active"}`); r.status != 201 {
				errs <- fmt.Errorf("subscribe %s: %d %s", app, r.status, r.body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	apps, _ := pages(t, f, "/admin/v1/applications", 1000, func(a Application) string { return a.Name })
	subs, _ := pages(t, f, "/admin/v1/subscriptions?api=orders", 1000, func(s Subscription) string { return s.Application })
	if len(apps) != n+3 || len(subs) != n+2 {
		t.Errorf("%d applications and %d subscriptions to orders, want %d and %d", len(apps), len(subs), n+3, n+2)
	}
	if v := version(t, f); v != 1+2*n {
		t.Errorf("version %d, want %d: one per write", v, 1+2*n)
	}
}

// failingStore fails every read of the catalog, as a broken database would.
type failingStore struct{ store.Store }

func (failingStore) Catalog(context.Context) (*catalog.Catalog, error) {
	return nil, errors.New("disk I/O error at /var/lib/secret-path")
}

func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Store = failingStore{o.Store} })
	r := f.do("GET", "/admin/v1/applications", "")
	if r.status != 500 {
		t.Fatalf("status %d, want 500", r.status)
	}
	checkError(t, r.body, "internal_error")
	if strings.Contains(string(r.body), "secret-path") {
		t.Errorf("the answer shows internal details: %s", r.body)
	}
	if !strings.Contains(f.log.String(), "secret-path") {
		t.Errorf("the log lacks the error: %s", f.log.String())
	}
}

// TestConcurrentCreationsOfOneName creates one application from 20 goroutines at
// once: exactly one creation succeeds, the others are told it exists.
func TestConcurrentCreationsOfOneName(t *testing.T) {
	f := newFixture(t, nil)
	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	for range 20 {
		wg.Go(func() { statuses <- f.do("POST", "/admin/v1/applications", `{"name":"contested"}`).status })
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[201] != 1 || count[409] != 19 {
		t.Errorf("statuses %v, want one 201 and nineteen 409", count)
	}
}
