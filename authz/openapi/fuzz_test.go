package openapi

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
)

// FuzzImport checks that Import never panics and that what it accepts is a valid API
// with its resources in order. The fixtures in testdata seed it.
func FuzzImport(f *testing.F) {
	files, err := filepath.Glob("testdata/*.*")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, version := range versions {
		f.Add(doc(version, serverV1+getOrdersWith("[{oauth: [a, 'b c']}, {}]")))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		api, err := Import(raw, "", "")
		if err != nil {
			return
		}
		c := catalog.Catalog{APIs: []catalog.API{api}}
		if err := c.Validate(nil); err != nil {
			t.Fatalf("Import returned an API the catalog refuses: %v", err)
		}
		if !slices.IsSortedFunc(api.Resources, func(a, b catalog.Resource) int {
			return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Method, b.Method))
		}) {
			t.Fatalf("resources are not sorted by path then method: %+v", api.Resources)
		}
	})
}
