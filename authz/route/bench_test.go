package route

import "testing"

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
		{"normalise", "api.example.com", "/orders//123/./items/%39"},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := r.Match("", bm.host, "GET", bm.path); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}
