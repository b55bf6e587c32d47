package route

import "testing"

// BenchmarkMatch measures a match as a check makes it: the host and the path put in
// their canonical forms first.
func BenchmarkMatch(b *testing.B) {
	r, err := Compile(testAPIs())
	if err != nil {
		b.Fatal(err)
	}
	benchmarks := []struct {
		name, host, path string
	}{
		{"literal", "api.example.com", "/orders/pending"},
		{"params", "api.example.com:443", "/orders/123/items/9"},
		{"host-bound", "EU.example.com:443", "/payments/1"},
		{"normalise", "API.example.com.", "/orders/%31%32%33/items/%39"},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := match(r, matchCase{host: bm.host, method: "GET", path: bm.path}); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}
