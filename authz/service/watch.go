package service

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/tollgate/tollgate/authz/config"
)

// watch reloads when the configuration file, the data file, a JWKS or CA file, or a
// policy changes. It watches their directories, not the files: editors replace files,
// and Kubernetes updates a ConfigMap volume by swapping its ..data symlink, which only
// the directory sees. Paths are made absolute, as the kernel keeps one watch per
// directory however it was named.
func (s *Service) watch() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	_ = s.syncWatches(w)
	s.background(func(ctx context.Context) {
		defer w.Close()
		s.followChanges(ctx, w)
	})
	return nil
}

// followChanges reloads once per burst of relevant events, debounced, and keeps the
// watches in step with the applied configuration after every reload.
func (s *Service) followChanges(ctx context.Context, w *fsnotify.Watcher) {
	debounce := time.NewTimer(0)
	<-debounce.C
	defer debounce.Stop()
	var changed string
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if watchedPaths(s.appliedConfig()).relevant(ev.Name) {
				changed = ev.Name
				debounce.Reset(s.cfg.Reload.Debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				changed = "events lost (overflow)"
				debounce.Reset(s.cfg.Reload.Debounce)
				continue
			}
			s.log.Warn("file watch error; reload with SIGHUP if a change is missed", "error", err)
		case <-debounce.C:
			// A directory replaced under its name is watched anew before it is read,
			// so an edit made once the reload has read it is not missed.
			s.syncWatches(w)
			_ = s.Reload("file changed: " + changed)
			if s.syncWatches(w) {
				changed = "directories named by the reload, watched from now on"
				debounce.Reset(s.cfg.Reload.Debounce)
			}
		case <-s.resync:
			if s.syncWatches(w) {
				changed = "directories named by the reload, watched from now on"
				debounce.Reset(s.cfg.Reload.Debounce)
			}
		}
	}
}

// paths are the absolute paths whose changes matter for one configuration.
type paths struct {
	dirs     []string // watched
	files    []string // the configuration, data, JWKS and CA files
	policies string   // the policies directory
}

func watchedPaths(cfg *config.Config) paths {
	p := paths{policies: absolute(cfg.Policies)}
	files := []string{cfg.Path, cfg.Data}
	for _, is := range cfg.Issuers {
		files = append(files, is.JWKSFile, is.CAFile)
	}
	for _, f := range files {
		if f != "" {
			p.files = append(p.files, absolute(f))
		}
	}
	// The policies directory's parent sees it replaced (mv policies.new policies).
	p.dirs = append(p.dirs, p.policies, filepath.Dir(p.policies))
	for _, f := range p.files {
		if d := filepath.Dir(f); !slices.Contains(p.dirs, d) {
			p.dirs = append(p.dirs, d)
		}
	}
	return p
}

// relevant reports an event on a file Tollgate reads, a Kubernetes ConfigMap's ..data
// swap, or the policies directory itself coming or going. Editors' swap and backup
// files and unrelated files beside the configuration are ignored.
func (p paths) relevant(name string) bool {
	name = absolute(name)
	switch base := filepath.Base(name); {
	case strings.HasPrefix(base, ".."):
		return true
	case name == p.policies:
		return true
	case filepath.Dir(name) == p.policies && strings.HasSuffix(base, ".rego"):
		return true
	}
	return slices.Contains(p.files, name)
}

// syncWatches (re)adds a watch on every directory the applied configuration needs,
// and reports whether one of them was not watched before: a reload that named it read
// it before its changes were followed, so it must be read again. It adds even a
// directory the watcher lists, as that entry may be of the directory the name had
// before: the kernel reports a removed directory only when its last reference goes.
// Adding a watch that exists is one idempotent syscall; for a replaced directory it
// moves the name to the new one.
func (s *Service) syncWatches(w *fsnotify.Watcher) bool {
	had := w.WatchList()
	added := false
	for _, d := range watchedPaths(s.appliedConfig()).dirs {
		if err := w.Add(d); err != nil {
			s.log.Warn("cannot watch a directory; changes in it need SIGHUP", "dir", d, "error", err)
			continue
		}
		added = added || !slices.Contains(had, d)
	}
	return added
}

func absolute(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}
