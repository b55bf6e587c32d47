package sts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/store"
)

// OpenSealer loads the key of st: TOLLGATE_STORE_KEY, or keyFile. A new key file is
// created only for a store that holds nothing sealed or hashed yet, and the key must
// open the store's newest signing key. A process with the wrong key (another
// TOLLGATE_STORE_KEY, a lost key file) so refuses to start, rather than sign tokens no
// verifier trusts or hash secrets that never match.
func OpenSealer(ctx context.Context, st store.Store, keyFile string, log *slog.Logger) (*Sealer, error) {
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	used := len(keys) > 0
	if !used {
		if used, err = hasCredentials(ctx, st); err != nil {
			return nil, err
		}
	}
	if _, env := os.LookupEnv(StoreKeyEnv); used && !env {
		if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the store holds sealed signing keys or client secret hashes, but its key file %s does not exist: restore it, or set %s to the store's key", keyFile, StoreKeyEnv)
		}
	}
	sealer, err := LoadSealer(keyFile, log)
	if err != nil {
		return nil, err
	}
	if newest := newestKey(keys); newest != nil {
		if _, err := OpenSigningKey(*newest, sealer); err != nil {
			return nil, fmt.Errorf("the store key (%s or %s) is not the one this store was made with: %w", StoreKeyEnv, keyFile, err)
		}
	}
	return sealer, nil
}

func hasCredentials(ctx context.Context, st store.Store) (bool, error) {
	cat, err := st.Catalog(ctx)
	if err != nil {
		return false, err
	}
	for _, app := range cat.Applications {
		for _, b := range app.ClientIDs {
			if b.Issuer == config.STSName {
				return true, nil
			}
		}
	}
	return false, nil
}
