package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/store"
	"github.com/tollgate/tollgate/authz/sts"
)

func runImport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	path := fs.String("config", defaultConfig(), "the configuration `file`; it must set store:")
	creds := fs.Bool("credentials", false, "give each imported application that has none an STS client ID and secret per environment, and print them (once)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: tollgate import [--config FILE] [--credentials] DATA_FILE")
		fs.PrintDefaults()
	}
	if code, ok := parseArgs(fs, args, stderr, 1); !ok {
		return code
	}
	if err := importData(*path, fs.Arg(0), *creds, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "tollgate import:", err)
		return exitUsage
	}
	return exitOK
}

// importData upserts the data file into the store of the configuration; it deletes
// nothing. A running server applies it within store.poll_interval.
func importData(cfgPath, dataPath string, creds bool, stdout, stderr io.Writer) error {
	ctx := context.Background()
	cfg, st, log, err := openStore(ctx, cfgPath, stderr, true)
	if err != nil {
		return err
	}
	defer st.Close()
	names := make([]string, len(cfg.Issuers))
	for i, is := range cfg.Issuers {
		names[i] = is.Name
	}
	cat, err := catalog.Load(dataPath, names)
	if err != nil {
		return err
	}
	if err := st.Import(ctx, "import", cat); err != nil {
		return fmt.Errorf("import %s: %w", dataPath, err)
	}
	fmt.Fprintf(stdout, "imported %d APIs, %d applications and %d subscriptions from %s into %s\n",
		len(cat.APIs), len(cat.Applications), len(cat.Subscriptions), dataPath, cfg.Store.Path)
	if !creds {
		return nil
	}
	sealer, err := sts.OpenSealer(ctx, st, cfg.Store.KeyFile, log)
	if err != nil {
		return err
	}
	return issueCredentials(ctx, st, sealer, cat, stdout)
}

// openStore loads a store-mode configuration and opens its store, which must exist
// unless create is set. Its log, warnings and errors only, goes to stderr.
func openStore(ctx context.Context, cfgPath string, stderr io.Writer, create bool) (*config.Config, store.Store, *slog.Logger, error) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg.Store == nil {
		return nil, nil, nil, errors.New(cfgPath + " sets no store:; this command works on the store")
	}
	if _, err := os.Stat(cfg.Store.Path); !create && errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, fmt.Errorf("no store at %s: `tollgate serve` or `tollgate import` creates it", cfg.Store.Path)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.Open(ctx, cfg.Store.Path, log)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, st, log, nil
}

// issueCredentials gives every application of cat an STS credential in each
// environment where it has none, and prints the secrets: they are not kept anywhere.
func issueCredentials(ctx context.Context, st store.Store, sealer *sts.Sealer, cat *catalog.Catalog, stdout io.Writer) error {
	now, err := st.Catalog(ctx)
	if err != nil {
		return err
	}
	printed := false
	for _, app := range cat.Applications {
		for _, env := range []string{catalog.Production, catalog.Sandbox} {
			if hasCredential(now, app.Name, env) {
				continue
			}
			id, secret := sts.NewClientID(), sts.NewSecret()
			c := store.Credential{ClientID: id, Application: app.Name, Environment: env, SecretHash: sealer.HashSecret(secret)}
			if err := st.PutCredential(ctx, "import", c); err != nil {
				return fmt.Errorf("credential of %s (%s): %w", app.Name, env, err)
			}
			if !printed {
				fmt.Fprintln(stdout, "\nNew STS credentials; the secrets are shown only now:")
				printed = true
			}
			fmt.Fprintf(stdout, "  application=%s environment=%s client_id=%s client_secret=%s\n", app.Name, env, id, secret)
		}
	}
	return nil
}

func hasCredential(c *catalog.Catalog, app, env string) bool {
	i := slices.IndexFunc(c.Applications, func(a catalog.Application) bool { return a.Name == app })
	if i < 0 {
		return false
	}
	return slices.ContainsFunc(c.Applications[i].ClientIDs, func(b catalog.ClientID) bool {
		return b.Issuer == config.STSName && b.Environment == env
	})
}

func runExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	path := fs.String("config", defaultConfig(), "the configuration `file`; it must set store:")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if err := exportData(*path, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "tollgate export:", err)
		return exitUsage
	}
	return exitOK
}

// exportData writes the store's APIs, applications with their external client IDs, and
// subscriptions as a data file, which `tollgate import` or data: read back. STS
// credentials and signing keys stay in the store.
func exportData(cfgPath string, stdout, stderr io.Writer) error {
	ctx := context.Background()
	_, st, _, err := openStore(ctx, cfgPath, stderr, false)
	if err != nil {
		return err
	}
	defer st.Close()
	cat, err := st.Catalog(ctx)
	if err != nil {
		return err
	}
	for i := range cat.Applications {
		app := &cat.Applications[i]
		app.ClientIDs = slices.DeleteFunc(app.ClientIDs, func(b catalog.ClientID) bool { return b.Issuer == config.STSName })
	}
	enc := yaml.NewEncoder(stdout)
	enc.SetIndent(2)
	if err := enc.Encode(cat); err != nil {
		return err
	}
	return enc.Close()
}
