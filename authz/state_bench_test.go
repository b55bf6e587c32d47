package authz

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/tollgate/tollgate/authz/config"
)

// BenchmarkReload measures what a reload costs: reading and validating the data,
// compiling the router and the policies, and keeping the unchanged key sets.
func BenchmarkReload(b *testing.B) {
	cfg, err := config.Load("../examples/gitops.yaml")
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := LoadState(context.Background(), cfg, log, nil, Sources{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		next, err := LoadState(context.Background(), cfg, log, st.Verifier, Sources{})
		if err != nil {
			b.Fatal(err)
		}
		if next.Verifier != st.Verifier {
			b.Fatal("an unchanged configuration must keep its verifier")
		}
	}
}
