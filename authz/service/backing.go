package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tollgate/tollgate/authz"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/store"
	"github.com/tollgate/tollgate/authz/sts"
)

// backing is what a store-mode service keeps besides its State: the store, and the
// STS when it is on. Both are nil in data-file mode.
type backing struct {
	store  store.Store
	sts    *sts.Server
	sealer *sts.Sealer // hashes the secrets of new keys; nil when the STS is off
}

// openBacking opens the store and starts the STS (creating its first signing key on a
// new store), as cfg asks.
func openBacking(ctx context.Context, cfg *config.Config, log *slog.Logger) (*backing, error) {
	b := &backing{}
	if cfg.Store == nil {
		return b, nil
	}
	st, err := store.Open(ctx, cfg.Store.Path, log)
	if err != nil {
		return nil, err
	}
	b.store = st
	if !cfg.STS.On(cfg.Store) {
		return b, nil
	}
	sealer, err := sts.OpenSealer(ctx, st, cfg.Store.KeyFile, log)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	b.sealer = sealer
	b.sts = sts.New(sts.Options{Config: cfg.STS, Store: st, Sealer: sealer, Log: log})
	if err := b.sts.Start(ctx); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("start the STS: %w", err)
	}
	return b, nil
}

// sources is where a State's data and in-process keys come from.
func (b *backing) sources() authz.Sources {
	var src authz.Sources
	if b.store != nil {
		src.Catalog = b.store.Catalog
	}
	if b.sts != nil {
		src.STS = b.sts.Keys()
	}
	return src
}

func (b *backing) close() error {
	if b.store == nil {
		return nil
	}
	return b.store.Close()
}

// followStore applies every committed change to the store, by this process or
// another, within one poll interval: it rereads the STS keys and rebuilds the State's
// data. What fails is tried again at the next poll; the last good State and keys keep
// serving meanwhile. The two are independent: keys that cannot be read do not hold
// back a block or a revocation.
func (s *Service) followStore(ctx context.Context) {
	t := time.NewTicker(s.cfg.Store.PollInterval)
	defer t.Stop()
	var f storeFollower
	var err error
	if f.applied, err = s.backing.store.Version(ctx); err != nil {
		s.log.Error("read the store version", "error", err)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.pollStore(ctx, &f)
	}
}

// storeFollower is what followStore remembers between polls.
type storeFollower struct {
	applied int64  // the store version the State's data was last built at
	keysErr string // why the last STS key refresh failed; empty if it did not
}

// pollStore applies the store's changes since the last poll. The STS keys are read
// again when the store changed, and at every poll while their last read failed.
func (s *Service) pollStore(ctx context.Context, f *storeFollower) {
	v, err := s.backing.store.Version(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("read the store version; will retry", "error", err)
		}
		return
	}
	changed := v != f.applied
	if s.backing.sts != nil && (changed || f.keysErr != "") {
		s.refreshKeys(ctx, f)
	}
	if changed && s.refresh("store change", s.reloadData) == nil {
		f.applied = v
	}
}

// refreshKeys rereads the STS signing keys. A failure is logged when it starts or its
// reason changes, not at every poll that repeats it, and its end is logged too.
func (s *Service) refreshKeys(ctx context.Context, f *storeFollower) {
	err := s.backing.sts.Refresh(ctx)
	switch {
	case err == nil && f.keysErr != "":
		s.log.Info("STS signing keys read again")
		f.keysErr = ""
	case err != nil && ctx.Err() == nil && err.Error() != f.keysErr:
		s.log.Error("reread the STS signing keys; the current ones keep serving and are tried again at every poll", "error", err)
		f.keysErr = err.Error()
	}
}
