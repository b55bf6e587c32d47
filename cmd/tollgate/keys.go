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

func runKeys(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "list") {
		fmt.Fprintln(stderr, "Usage: tollgate keys rotate|list [--config FILE]")
		return exitUsage
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	path := fs.String("config", defaultConfig(), "the configuration `file`; it must set store:")
	if code, ok := parseFlags(fs, args[1:], stderr); !ok {
		return code
	}
	run := listKeys
	if args[0] == "rotate" {
		run = rotateKeys
	}
	if err := run(*path, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "tollgate keys %s: %v\n", args[0], err)
		return exitUsage
	}
	return exitOK
}

// rotateKeys makes a new signing key the active one. A running server signs with it
// within store.poll_interval; the old key verifies until its tokens have expired.
func rotateKeys(cfgPath string, stdout, stderr io.Writer) error {
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
	if err := srv.Rotate(ctx); err != nil {
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

// listKeysOf prints the signing keys, public facts only.
func listKeysOf(ctx context.Context, st store.Store, stdout io.Writer) error {
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-44s %-6s %-8s %-20s %s\n", "KID", "ALG", "STATE", "CREATED", "LEAVES JWKS")
	for _, k := range keys {
		state, leaves := "active", "-"
		if !k.Active() {
			state, leaves = "retired", k.RemoveAfter.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%-44s %-6s %-8s %-20s %s\n", k.KID, k.Algorithm, state, k.CreatedAt.UTC().Format(time.RFC3339), leaves)
	}
	return nil
}
