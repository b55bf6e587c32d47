package service

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminToken(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	path := filepath.Join(t.TempDir(), "var", "t.db.admin-token")
	first, err := adminToken(path, log)
	if err != nil || !strings.HasPrefix(first, "tga_") || len(first) < 40 {
		t.Fatalf("new token %q: %v", first, err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", info.Mode(), err)
	}
	if again, err := adminToken(path, log); err != nil || again != first {
		t.Errorf("second start: %q %v, want the same token", again, err)
	}
	t.Setenv(AdminTokenEnv, "from-the-environment-1234")
	if tok, err := adminToken(path, log); err != nil || tok != "from-the-environment-1234" {
		t.Errorf("env: %q %v", tok, err)
	}
	t.Setenv(AdminTokenEnv, "short")
	if _, err := adminToken(path, log); err == nil {
		t.Error("a short token from the environment was accepted")
	}
	os.Unsetenv(AdminTokenEnv)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := adminToken(path, log); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable token file: %v", err)
	}
}
