package authz

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/config"
)

// BenchmarkReload measures what a reload costs: reading and validating the data,
// compiling the router and the policies, and keeping the unchanged key sets.
func BenchmarkReload(b *testing.B) {
	cfg, log, st := quickstartState(b)
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

// BenchmarkWithData measures what applying a store change costs: validating the data
// and compiling the router, with the policies and key sets kept.
func BenchmarkWithData(b *testing.B) {
	cfg, log, st := quickstartState(b)
	cat, err := catalog.Load(cfg.Data, []string{"demo"})
	if err != nil {
		b.Fatal(err)
	}
	cfg.Store, cfg.Data = &config.Store{Path: "bench.db"}, ""
	src := Sources{Catalog: func(context.Context) (*catalog.Catalog, error) { return cat, nil }}
	b.ReportAllocs()
	for b.Loop() {
		next, err := st.WithData(context.Background(), cfg, log, src)
		if err != nil {
			b.Fatal(err)
		}
		if next.Policy == st.Policy || next.Verifier != st.Verifier {
			b.Fatal("WithData must keep the verifier and make a new engine")
		}
	}
}

// quickstartState loads the State of examples/gitops.yaml.
func quickstartState(b *testing.B) (*config.Config, *slog.Logger, *State) {
	b.Helper()
	cfg, err := config.Load("../examples/gitops.yaml")
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := LoadState(context.Background(), cfg, log, nil, Sources{})
	if err != nil {
		b.Fatal(err)
	}
	return cfg, log, st
}
