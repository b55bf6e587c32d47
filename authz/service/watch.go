package service

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/tollgate/tollgate/authz/config"
)

// watch reloads when the configuration file, the data file, a JWKS file or a policy
// changes. It watches their directories, not the files: editors replace files, and
// Kubernetes updates a ConfigMap volume by swapping its ..data symlink, which only
// the directory sees.
func (s *Service) watch() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	watched := map[string]bool{}
	if err := s.syncWatches(w, watched); err != nil {
		_ = w.Close()
		return err
	}
	s.background(func(ctx context.Context) {
		defer w.Close()
		s.followChanges(ctx, w, watched)
	})
	return nil
}

// followChanges reloads once per burst of relevant events, debounced.
func (s *Service) followChanges(ctx context.Context, w *fsnotify.Watcher, watched map[string]bool) {
	debounce := time.NewTimer(0)
	<-debounce.C
	var changed string
	for {
		select {
		case <-ctx.Done():
			debounce.Stop()
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if s.relevant(ev.Name) {
				changed = ev.Name
				debounce.Reset(s.cfg.Reload.Debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			s.log.Warn("file watch error; reload with SIGHUP if a change is missed", "error", err)
		case <-debounce.C:
			_ = s.Reload("file changed: " + changed)
			if err := s.syncWatches(w, watched); err != nil {
				s.log.Warn("cannot watch the new paths; reload with SIGHUP", "error", err)
			}
		}
	}
}

// watchDirs are the directories whose changes matter for cfg.
func watchDirs(cfg *config.Config) []string {
	dirs := []string{filepath.Dir(cfg.Data), filepath.Clean(cfg.Policies)}
	if cfg.Path != "" {
		dirs = append(dirs, filepath.Dir(cfg.Path))
	}
	for _, is := range cfg.Issuers {
		if is.JWKSFile != "" {
			dirs = append(dirs, filepath.Dir(is.JWKSFile))
		}
	}
	return dirs
}

// syncWatches adds the directories the applied configuration needs.
func (s *Service) syncWatches(w *fsnotify.Watcher, watched map[string]bool) error {
	cfg := s.appliedConfig()
	for _, d := range watchDirs(cfg) {
		if watched[d] {
			continue
		}
		if err := w.Add(d); err != nil {
			return fmt.Errorf("watch %s: %w", d, err)
		}
		watched[d] = true
	}
	return nil
}

// relevant reports an event on a file Tollgate reads: the configuration, data or a
// JWKS file, a policy, or a Kubernetes ConfigMap's ..data swap. Editors' swap and
// backup files and unrelated files next to the configuration are ignored.
func (s *Service) relevant(name string) bool {
	cfg := s.appliedConfig()
	base := filepath.Base(name)
	if strings.HasPrefix(base, "..") {
		return true
	}
	if filepath.Dir(name) == filepath.Clean(cfg.Policies) && strings.HasSuffix(base, ".rego") {
		return true
	}
	files := []string{cfg.Path, cfg.Data}
	for _, is := range cfg.Issuers {
		files = append(files, is.JWKSFile)
	}
	for _, f := range files {
		if f != "" && filepath.Clean(f) == filepath.Clean(name) {
			return true
		}
	}
	return false
}
