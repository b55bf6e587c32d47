package sts

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenSealerRefusesTheWrongKey: a process whose store key is not the store's
// refuses to start, and no key file is made for a store that already has secrets.
func TestOpenSealerRefusesTheWrongKey(t *testing.T) {
	f := newFixture(t, nil)
	keyFile := filepath.Join(f.dir, "tollgate.db.key")
	ctx := context.Background()
	if _, err := OpenSealer(ctx, f.store, keyFile, f.srv.log); err != nil {
		t.Fatalf("the store's own key file: %v", err)
	}

	t.Setenv(StoreKeyEnv, hex.EncodeToString(make([]byte, 32)))
	if _, err := OpenSealer(ctx, f.store, keyFile, f.srv.log); err == nil || !strings.Contains(err.Error(), "not the one this store was made with") {
		t.Errorf("another TOLLGATE_STORE_KEY: %v", err)
	}
	os.Unsetenv(StoreKeyEnv)

	lost := filepath.Join(f.dir, "elsewhere.key")
	if _, err := OpenSealer(ctx, f.store, lost, f.srv.log); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a lost key file: %v", err)
	}
	if _, err := os.Stat(lost); err == nil {
		t.Error("a new key file was made for a store that has secrets")
	}
}
