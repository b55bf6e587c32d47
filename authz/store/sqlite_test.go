package store

import (
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestOpenCreatesPrivateFiles(t *testing.T) {
	s, path := openTemp(t)
	if err := s.PutApplication(ctx, "test", "app"); err != nil { // so the -wal file exists
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{
		filepath.Dir(path): 0o700,
		path:               0o600,
		path + "-wal":      0o600,
		path + "-shm":      0o600,
	} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", p, got, want)
		}
	}
}

func TestOpenPathNeedingEscape(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%20d")
	s := openAt(t, filepath.Join(dir, "x.db"))
	if err := s.PutApplication(ctx, "test", "app"); err != nil {
		t.Fatal(err)
	}
	var names []string
	err := filepath.WalkDir(filepath.Dir(dir), func(p string, d os.DirEntry, err error) error {
		names = append(names, strings.TrimPrefix(p, filepath.Dir(dir)))
		return err
	})
	if want := []string{"", "/a?b#c%20d", "/a?b#c%20d/x.db", "/a?b#c%20d/x.db-shm", "/a?b#c%20d/x.db-wal"}; err != nil || !slices.Equal(names, want) {
		t.Errorf("files %q (%v), want %q", names, err, want)
	}
}

func TestOpenFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte(strings.Repeat("not a database ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"parent is a file": filepath.Join(file, "x.db"),
		"not a database":   file,
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Open(ctx, path, nil)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), "open store "+path) {
				t.Errorf("error %q does not say which store", err)
			}
		})
	}
}

// migrations returns the rows of schema_migrations.
func migrations(t *testing.T, s *SQLite) []int {
	t.Helper()
	rows, err := s.r.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestMigrateFreshAndReopen(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	s, path := openTemp(t)
	if got := migrations(t, s); len(got) != len(ms) || got[len(got)-1] != len(ms) {
		t.Fatalf("fresh store: migrations %v, want 1..%d", got, len(ms))
	}
	if err := s.PutApplication(ctx, "test", "app"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	again := openAt(t, path)
	if got := migrations(t, again); len(got) != len(ms) {
		t.Errorf("reopened store: migrations %v, want each of 1..%d once", got, len(ms))
	}
	if v := version(t, again); v != 1 {
		t.Errorf("reopened store: version %d, want 1", v)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future.sql', '')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(ctx, path, nil)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a schema newer than it knows")
	}
	if !strings.Contains(err.Error(), "schema version 999 is newer than this binary knows") {
		t.Errorf("unclear error: %v", err)
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	s, _ := imported(t)
	for _, db := range []*sql.DB{s.w, s.r} {
		var on int
		if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on); err != nil || on != 1 {
			t.Errorf("foreign_keys = %d (%v), want 1 on every connection", on, err)
		}
	}
	for _, q := range []string{
		`INSERT INTO resources (api, method, path, auth) VALUES ('nope', 'GET', '/', 'none')`,
		`INSERT INTO subscriptions (application, api, status) VALUES ('nope', 'orders', 'active')`,
		`INSERT INTO client_bindings (issuer, client_id, application, environment) VALUES ('demo', 'x', 'nope', 'sandbox')`,
		`INSERT INTO credentials (client_id, application, environment, secret_hash, created_at) VALUES ('x', 'nope', 'sandbox', x'00', '')`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
			t.Errorf("%s: err %v, want a foreign key failure", q, err)
		}
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM apis WHERE name = 'orders'`); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM resources WHERE api = 'orders') +
		(SELECT count(*) FROM resource_scopes WHERE api = 'orders') +
		(SELECT count(*) FROM subscriptions WHERE api = 'orders')`).Scan(&left); err != nil || left != 0 {
		t.Errorf("deleting an API left %d rows that refer to it (%v)", left, err)
	}
}

func TestReadPoolIsQueryOnly(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := s.r.ExecContext(ctx, `UPDATE meta SET version = 7`); err == nil {
		t.Error("a write through the read pool succeeded")
	}
}

// TestEveryConnectionSyncsFully reads PRAGMA synchronous back from every connection
// the store may open, the writer and each of the read pool held at once: each must
// be FULL (2), so that an acknowledged commit survives a power loss.
func TestEveryConnectionSyncsFully(t *testing.T) {
	const full = 2 // what PRAGMA synchronous reads for FULL
	s, _ := openTemp(t)
	for name, pool := range map[string]struct {
		db    *sql.DB
		conns int
	}{"writer": {s.w, 1}, "reader": {s.r, readConns}} {
		for i := range pool.conns {
			conn, err := pool.db.Conn(ctx) // held until the test ends: the next is another
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			var level int
			if err := conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&level); err != nil {
				t.Fatal(err)
			}
			if level != full {
				t.Errorf("%s connection %d: synchronous = %d, want %d (FULL)", name, i, level, full)
			}
		}
	}
}
