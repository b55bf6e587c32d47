package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tollgate/tollgate/authz/store"
	"github.com/tollgate/tollgate/authz/sts"
)

const keysUsage = "Usage: tollgate keys rotate [--now] [--config FILE] | tollgate keys list [--config FILE]"

func runKeys(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "list") {
		fmt.Fprintln(stderr, keysUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	path := fs.String("config", defaultConfig(), "the configuration `file`; it must set store:")
	var now *bool
	if args[0] == "rotate" {
		now = fs.Bool("now", false, "sign with the new key at once, for emergencies (a leaked key): verifiers that cached the JWKS refuse its tokens until they fetch it again")
	}
	if code, ok := parseFlags(fs, args[1:], stderr); !ok {
		return code
	}
	run := listKeys
	if now != nil {
		run = func(path string, stdout, stderr io.Writer) error { return rotateKeys(path, *now, stdout, stderr) }
	}
	if err := run(*path, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "tollgate keys %s: %v\n", args[0], err)
		return exitUsage
	}
	return exitOK
}

// rotateKeys adds a new signing key. A running server publishes it within
// store.poll_interval and signs with it once sts.key_prepublish has passed, or at once
// with now; the old key verifies until its tokens have expired.
func rotateKeys(cfgPath string, now bool, stdout, stderr io.Writer) error {
	ctx := context.Background()
	cfg, st, log, err := openStore(ctx, cfgPath, stderr, false)
	if err != nil {
		return err
	}
	defer st.Close()
	sealer, err := sts.OpenSealer(ctx, st, cfg.Store.KeyFile, log)
	if err != nil {
		return err
	}
	srv := sts.New(sts.Options{Config: cfg.STS, Store: st, Sealer: sealer, Log: log})
	rotate := srv.Rotate
	if now {
		rotate = srv.RotateNow
	}
	if err := rotate(ctx); err != nil {
		return err
	}
	return listKeysOf(ctx, st, stdout)
}

func listKeys(cfgPath string, stdout, stderr io.Writer) error {
	ctx := context.Background()
	_, st, _, err := openStore(ctx, cfgPath, stderr, false)
	if err != nil {
		return err
	}
	defer st.Close()
	return listKeysOf(ctx, st, stdout)
}

// listKeysOf prints the signing keys, public facts only: each key's state now
// (pending: published, not signing yet; active: signing; retired: verifying its
// tokens until it leaves the JWKS), when it signs from and until, and when it leaves
// the JWKS.
func listKeysOf(ctx context.Context, st store.Store, stdout io.Writer) error {
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	const row = "%-44s %-6s %-8s %-20s %-20s %-20s %s\n"
	fmt.Fprintf(stdout, row, "KID", "ALG", "STATE", "CREATED", "SIGNS FROM", "SIGNS UNTIL", "LEAVES JWKS")
	for _, k := range keys {
		fmt.Fprintf(stdout, row, k.KID, k.Algorithm, k.State(now), stamp(k.CreatedAt), stamp(k.SignsFrom),
			stamp(k.RetiredAt), stamp(k.RemoveAfter))
	}
	return nil
}

// stamp is t in UTC, to the second, or "-" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
