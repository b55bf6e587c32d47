package service

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/tollgate/tollgate/authz"
	"github.com/tollgate/tollgate/authz/config"
)

// reloadResult is the outcome of the last reload: /readyz shows when and whether it
// succeeded, the debug listener also why not.
type reloadResult struct {
	At    time.Time `json:"at"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
}

// Reload reads the configuration file again, with the data and the policies it names,
// and swaps the new State in; checks in flight finish with the old one and no check
// waits. Anything that fails to read, parse, compile or validate is refused with the
// reason, and the last good State keeps serving. Changes that only a restart can
// apply (listeners and their TLS settings, logging, shutdown timeout, watching) are
// logged and left alone; the TLS files' contents are followed on their own.
func (s *Service) Reload(why string) error {
	err := s.refresh(why, s.reload)
	if err == nil {
		releaseMemory()
	}
	return err
}

// releaseMemory hands the memory a whole reload used only while it ran (the parsed
// data file above all, several times the State it became) back to the system at once,
// instead of keeping it as the heap's headroom until the scavenger gets to it.
func releaseMemory() { debug.FreeOSMemory() }

// refresh runs build, which swaps a new State in, records the outcome and logs it.
func (s *Service) refresh(why string, build func() error) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	start := time.Now()
	err := build()
	result := reloadResult{At: start.UTC(), OK: err == nil}
	if err != nil {
		result.Error = err.Error()
	}
	s.infoMu.Lock()
	s.lastReload = result
	s.infoMu.Unlock()
	if err != nil {
		s.log.Error("reload refused; the last good state keeps serving", "trigger", why, "error", err)
		return err
	}
	st := s.authz.State()
	s.log.Info("reloaded", "trigger", why, "took", time.Since(start).Round(time.Microsecond),
		"policies", len(st.Info.Policies), "apis", st.Info.APIs, "applications", st.Info.Applications)
	s.updateHealth()
	select { // the new configuration may name other directories
	case s.resync <- struct{}{}:
	default:
	}
	return nil
}

func (s *Service) reload() error {
	cfg := s.appliedConfig()
	if cfg.Path != "" {
		var err error
		if cfg, err = config.Load(cfg.Path); err != nil {
			return err
		}
		s.warnRestartOnly(cfg)
		// The store and the STS run as started until a restart, and so does the
		// choice between a data file and the store.
		if (cfg.Store == nil) != (s.cfg.Store == nil) {
			cfg.Data = s.cfg.Data
		}
		cfg.Store, cfg.STS, cfg.Admin = s.cfg.Store, s.cfg.STS, s.cfg.Admin
		if err := cfg.Validate(); err != nil { // against the running STS
			return fmt.Errorf("config %s: %w", cfg.Path, err)
		}
	}
	old := s.authz.State()
	st, err := authz.LoadState(s.ctx, cfg, s.log, old.Verifier, s.backing.sources())
	if err != nil {
		return err
	}
	s.authz.Swap(st)
	old.Verifier.Retire(st.Verifier)
	s.infoMu.Lock()
	s.applied = cfg
	s.infoMu.Unlock()
	return nil
}

// reloadData swaps in a State with the data the store holds now, and everything else
// as it is: the policies on disk are not read, so an edit there waits for its own
// reload.
func (s *Service) reloadData() error {
	st, err := s.authz.State().WithData(s.ctx, s.appliedConfig(), s.log, s.backing.sources())
	if err != nil {
		return err
	}
	s.authz.Swap(st)
	return nil
}

// appliedConfig is the configuration of the State checks decide with.
func (s *Service) appliedConfig() *config.Config {
	s.infoMu.Lock()
	defer s.infoMu.Unlock()
	return s.applied
}

// warnRestartOnly logs each changed setting a reload cannot apply.
func (s *Service) warnRestartOnly(next *config.Config) {
	was := s.cfg
	for _, c := range []struct {
		key       string
		old, next any
	}{
		{"grpc.address", was.GRPC.Address, next.GRPC.Address},
		{"http.address", was.HTTP.Address, next.HTTP.Address},
		{"grpc.tls", was.GRPC.TLS, next.GRPC.TLS},
		{"http.tls", was.HTTP.TLS, next.HTTP.TLS},
		{"check", was.Check, next.Check},
		{"log", was.Log, next.Log},
		{"shutdown_timeout", was.ShutdownTimeout, next.ShutdownTimeout},
		{"reload", was.Reload, next.Reload},
		{"store", storeView(was), storeView(next)},
		{"sts", stsView(was), stsView(next)},
		{"admin", was.Admin, next.Admin},
		{"debug", was.Debug, next.Debug},
	} {
		if c.old != c.next {
			s.log.Warn("setting changed; it applies after a restart", "key", c.key,
				"running", fmt.Sprint(c.old), "file", fmt.Sprint(c.next))
		}
	}
}

// storeView describes the data source for a log line.
func storeView(c *config.Config) string {
	if c.Store == nil {
		return "none; data: " + c.Data
	}
	return fmt.Sprintf("%+v", *c.Store)
}

// stsView describes the STS settings for a log line.
func stsView(c *config.Config) string {
	if !c.STS.On(c.Store) {
		return "off"
	}
	v := c.STS
	v.Enabled = nil
	return fmt.Sprintf("%+v", v)
}
