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
// serving meanwhile.
func (s *Service) followStore(ctx context.Context) {
	t := time.NewTicker(s.cfg.Store.PollInterval)
	defer t.Stop()
	last, err := s.backing.store.Version(ctx)
	if err != nil {
		s.log.Error("read the store version", "error", err)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := s.backing.store.Version(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("read the store version; will retry", "error", err)
			}
			continue
		}
		if v == last {
			continue
		}
		if s.backing.sts != nil {
			if err := s.backing.sts.Refresh(ctx); err != nil {
				s.log.Error("reread the STS signing keys; the current ones keep serving", "error", err)
				continue
			}
		}
		if s.refresh("store change", s.reloadData) == nil {
			last = v
		}
	}
}
