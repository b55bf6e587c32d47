package service

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// AdminTokenEnv, when set, is the admin API's bearer token, instead of the token file.
const AdminTokenEnv = "TOLLGATE_ADMIN_TOKEN"

// adminToken returns the admin API's token: AdminTokenEnv, else the content of path,
// else a new random token written to path (0600) on first start. The token itself is
// never logged.
func adminToken(path string, log *slog.Logger) (string, error) {
	if v, ok := os.LookupEnv(AdminTokenEnv); ok {
		if v = strings.TrimSpace(v); len(v) < 16 {
			return "", fmt.Errorf("%s: the admin token must be at least 16 characters", AdminTokenEnv)
		}
		return v, nil
	}
	if path == "" {
		return "", errors.New("admin.token_file is not set, nor " + AdminTokenEnv)
	}
	raw, err := readPrivateFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createAdminToken(path, log)
	}
	if err != nil {
		return "", err
	}
	if tok := strings.TrimSpace(string(raw)); len(tok) >= 16 {
		return tok, nil
	}
	return "", fmt.Errorf("admin token file %s: the token must be at least 16 characters", path)
}

// readPrivateFile reads a file that must not be readable by group or others.
func readPrivateFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("admin token file %s is readable by others (mode %v): chmod 600 %s", path, info.Mode().Perm(), path)
	}
	return os.ReadFile(path)
}

func createAdminToken(path string, log *slog.Logger) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	tok := "tga_" + base64.RawURLEncoding.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		return adminToken(path, log)
	}
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("admin token file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("admin token file %s: %w", path, err)
	}
	log.Info("admin API token created; read it from the file (or set TOLLGATE_ADMIN_TOKEN)", "file", path)
	return tok, nil
}
