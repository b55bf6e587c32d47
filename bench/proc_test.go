package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/service"
	"github.com/tollgate/tollgate/bench/fixture"
)

// The benchmark reads readiness and each reload's time and result from the public
// /readyz of a Tollgate serving its generated configuration: it sees the server
// ready, a reload that succeeds, and one that is refused.
func TestReadyzAsTheBenchmarkReadsIt(t *testing.T) {
	set, err := fixture.Generate(fixture.Options{Dir: t.TempDir(), Policies: "../policies", GRPC: "127.0.0.1:0", HTTP: "127.0.0.1:0",
		Scale: fixture.Scale{APIs: 2, Resources: 2, Applications: 2, Subscriptions: 2}, Distinct: 1, Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(set.SmallConfig)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	url := "http://" + svc.HTTPAddr() + "/readyz"
	s := &server{readyz: url}
	if err := s.waitReady(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	before := mustReadyz(t, url)
	if err := svc.Reload("SIGHUP"); err != nil {
		t.Fatal(err)
	}
	after := mustReadyz(t, url)
	if !after.reloadedSince(before) || !after.LastReload.OK {
		t.Errorf("a good reload: before %+v, after %+v; want a new, successful last_reload", before.LastReload, after.LastReload)
	}

	if err := os.WriteFile(set.SmallData, []byte("apis: [ {name: broken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := svc.Reload("SIGHUP"); err == nil {
		t.Fatal("a reload of a broken data file succeeded")
	}
	refused := mustReadyz(t, url)
	if !refused.reloadedSince(after) || refused.LastReload.OK || refused.Status != "ready" {
		t.Errorf("a refused reload: %+v, last reload %+v; want ready, a new, refused last_reload", refused, refused.LastReload)
	}
}

func mustReadyz(t *testing.T, url string) readiness {
	t.Helper()
	r, err := readyz(url)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
