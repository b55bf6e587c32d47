package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// migrationFiles are the schema's versions, NNNN_name.sql, applied in order. A released
// file never changes: a schema change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one version of the schema.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations, in version order: migration i has
// version i+1.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		m, err := readMigration(e.Name())
		if err != nil {
			return nil, err
		}
		if m.version != len(ms)+1 {
			return nil, fmt.Errorf("migration %s: version %d, want %d: versions run 1, 2, 3... without gaps", m.name, m.version, len(ms)+1)
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, errors.New("no migrations embedded")
	}
	return ms, nil
}

func readMigration(file string) (migration, error) {
	num, _, ok := strings.Cut(file, "_")
	version, err := strconv.Atoi(num)
	if !ok || err != nil || version < 1 {
		return migration{}, fmt.Errorf("migration %s: name must be NNNN_name.sql", file)
	}
	body, err := migrationFiles.ReadFile("migrations/" + file)
	if err != nil {
		return migration{}, err
	}
	return migration{version: version, name: file, sql: string(body)}, nil
}

// migrate brings the schema up to the newest migration, each in its own transaction,
// and refuses a schema newer than this binary knows: an older binary must not write to
// tables it does not understand.
func (s *SQLite) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	latest := ms[len(ms)-1].version
	if current > latest {
		return fmt.Errorf("schema version %d is newer than this binary knows (%d): run a newer tollgate", current, latest)
	}
	for _, m := range ms[current:] {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// apply runs m in one transaction unless it is already recorded: another process
// opening the same file may have applied it since migrate read the version.
func (s *SQLite) apply(ctx context.Context, m migration) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // undoes a failed migration; after Commit it does nothing
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE version = ?`, m.version).Scan(&one)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	at, err := encodeTime(time.Now())
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, at); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.log.Info("store schema migrated", "version", m.version, "migration", m.name)
	return nil
}
