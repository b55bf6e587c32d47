package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
)

// Validate checks every field and returns all problems at once, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
	}
	add("grpc.address", checkAddress(c.GRPC.Address))
	add("http.address", checkAddress(c.HTTP.Address))
	if c.Check.On() {
		add("check.address", checkAddress(c.Check.Address))
	}
	if c.Debug.On() {
		add("debug.address", c.Debug.validate())
	}
	for _, l := range c.listenersTLS() {
		errs = append(errs, l.tls.validate(l.key)...)
	}
	if c.Policies == "" {
		errs = append(errs, errors.New("policies: is required (a directory of .rego files)"))
	}
	errs = append(errs, c.validateStore()...)
	if len(c.Issuers) == 0 && !c.STS.On(c.Store) {
		errs = append(errs, errors.New("issuers: at least one issuer is required when the STS is off"))
	}
	names := map[string]int{}
	iss := map[string]int{}
	for i := range c.Issuers {
		is := &c.Issuers[i]
		prefix := fmt.Sprintf("issuers[%d]", i)
		for _, err := range is.validate() {
			errs = append(errs, fmt.Errorf("%s.%w", prefix, err))
		}
		if j, dup := names[is.Name]; dup && is.Name != "" {
			errs = append(errs, fmt.Errorf("%s.name: %q is also the name of issuers[%d]", prefix, is.Name, j))
		}
		if is.Name == STSName {
			errs = append(errs, fmt.Errorf("%s.name: %q is the built-in STS's name; choose another", prefix, is.Name))
		}
		if is.Issuer == c.STS.Issuer && is.Issuer != "" && c.STS.On(c.Store) {
			errs = append(errs, fmt.Errorf("%s.issuer: %q is the built-in STS's issuer (sts.issuer)", prefix, is.Issuer))
		}
		if j, dup := iss[is.Issuer]; dup && is.Issuer != "" {
			errs = append(errs, fmt.Errorf("%s.issuer: %q is also the issuer of issuers[%d]", prefix, is.Issuer, j))
		}
		names[is.Name], iss[is.Issuer] = i, i
	}
	if c.TokenCache.Size < 0 {
		errs = append(errs, errors.New("token_cache.size: must be 0 (off) or more"))
	}
	add("log", c.Log.validate())
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown_timeout: must be positive, e.g. 15s"))
	}
	for _, l := range []struct {
		field string
		v     int
	}{
		{"limits.max_token_bytes", c.Limits.MaxTokenBytes},
		{"limits.max_header_bytes", c.Limits.MaxHeaderBytes},
		{"limits.max_headers", c.Limits.MaxHeaders},
	} {
		if l.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", l.field))
		}
	}
	if c.Reload.Debounce < 0 {
		errs = append(errs, errors.New("reload.debounce: must not be negative"))
	}
	return errors.Join(errs...)
}

func checkAddress(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	return nil
}

var levels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

func (l Log) validate() error {
	if _, ok := levels[l.Level]; !ok {
		return fmt.Errorf("level %q: use debug, info, warn or error", l.Level)
	}
	if l.Format != "json" && l.Format != "text" {
		return fmt.Errorf("format %q: use json or text", l.Format)
	}
	switch l.Decisions {
	case "all", "denies", "none":
	default:
		return fmt.Errorf("decisions %q: use all, denies or none", l.Decisions)
	}
	return nil
}

// SlogLevel returns the configured level; Validate has already checked it.
func (l Log) SlogLevel() slog.Level {
	return levels[l.Level]
}
