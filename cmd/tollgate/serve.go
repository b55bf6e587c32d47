package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/service"
)

func runServe(args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("config", defaultConfig(), "the configuration `file` (default $TOLLGATE_CONFIG or tollgate.yaml)")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	cfg, err := loadServeConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, "tollgate serve:", err)
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	if err := serve(cfg, log); err != nil {
		log.Error("tollgate stopped", "error", err)
		return 1
	}
	return exitOK
}

// loadServeConfig loads the configuration and checks that its TLS files can serve,
// before anything listens.
func loadServeConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckTLSFiles(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// serve runs until SIGTERM or SIGINT, then drains in-flight checks. A second signal
// during the drain stops the process at once. SIGHUP reloads.
func serve(cfg *config.Config, log *slog.Logger) error {
	// Before the (slow) load, so a SIGHUP meanwhile does not kill the process; the
	// reload it asks for runs once the service is up.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	svc, err := service.New(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	runErr := svc.Start()
	for runErr == nil {
		select {
		case <-hup:
			_ = svc.Reload("SIGHUP") // a refused reload is logged; the last good state serves
			continue
		case <-ctx.Done():
			log.Info("shutting down; draining in-flight checks", "timeout", cfg.ShutdownTimeout)
		case runErr = <-svc.Errors():
		}
		break
	}
	stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := svc.Shutdown(shutdownCtx); err != nil {
		log.Warn("shutdown", "error", err)
	}
	return runErr
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
