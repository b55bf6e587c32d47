package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// SQLite is the Store kept in one SQLite database file, for a single STS replica. It is
// safe for concurrent use, and several processes may open the same file: writes are
// serialized by SQLite's write lock and seen by every reader once committed.
type SQLite struct {
	// w has one connection and runs every write transaction as BEGIN IMMEDIATE, so a
	// transaction takes the write lock before it reads and never fails on upgrade.
	w *sql.DB
	// r is a small pool for reads, which WAL mode lets run beside the writer.
	r   *sql.DB
	log *slog.Logger
}

var _ Store = (*SQLite)(nil)

// readConns is the size of the read pool.
const readConns = 4

// busyTimeoutMS is how long a connection waits for another one's lock before SQLite
// reports SQLITE_BUSY. Writes are short, but each checks the whole data before it
// commits, and SQLite's busy handler is not fair between processes: a process whose
// peer writes without pause may wait for many of its writes. A management write that
// waits is better than one that fails.
const busyTimeoutMS = 30000

// Open opens the store at path, creating the file (mode 0600, in a 0700 directory if
// that is missing too) and migrating its schema to the one this binary knows. It
// refuses a store whose schema is newer. log receives migration notices; nil discards.
func Open(ctx context.Context, path string, log *slog.Logger) (*SQLite, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := open(ctx, path, log)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

func open(ctx context.Context, path string, log *slog.Logger) (*SQLite, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := createFile(abs, log); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("%w (closing: %v)", err, w.Close())
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	s := &SQLite{w: w, r: r, log: log.With("store", abs)}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("%w (closing: %v)", err, s.Close())
	}
	return s, nil
}

// createFile creates the database file with mode 0600 before SQLite does, which would
// use 0644: the file holds secret hashes and sealed keys. SQLite gives its -wal and
// -shm files the mode of the database file.
func createFile(path string, log *slog.Logger) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%w (closing: %v)", err, f.Close())
	}
	if info.Mode().Perm()&0o077 != 0 {
		log.Warn("store file is readable by others: it holds secret hashes and sealed keys", "path", path, "mode", info.Mode().Perm())
	}
	return f.Close()
}

// dsn is the driver's name for the database at the absolute path: a file: URI with the
// pragmas every connection needs, which the driver runs on each connection it opens.
// synchronous is FULL: in WAL mode NORMAL syncs the log only at checkpoints, so a
// power loss could undo a commit already acknowledged, such as a revocation, a block
// or a key rotation; FULL syncs it at every commit. Management writes are few, and
// the decision path never waits for one. The writer begins transactions IMMEDIATE;
// readers are query-only, so a write by mistake on the read pool fails instead of
// racing the writer for the lock.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Set("_query_only", "1")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close closes both connection pools.
func (s *SQLite) Close() error {
	werr := s.w.Close()
	if err := s.r.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	if werr != nil {
		return fmt.Errorf("close store: %w", werr)
	}
	return nil
}

// Version returns the change counter every committed write advances.
func (s *SQLite) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT version FROM meta`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store version: %w", err)
	}
	return v, nil
}

// write runs fn in one transaction on the writer. When fn reports a change, the same
// transaction appends it to the audit trail and advances the version; a write that
// changed nothing (fn returns a nil change) leaves both as they are, so pollers do not
// reload for nothing.
func (s *SQLite) write(ctx context.Context, actor string, fn func(*sql.Tx) (*change, error)) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // undoes fn's work on error; after Commit it does nothing
	c, err := fn(tx)
	if err != nil {
		return err
	}
	if c != nil {
		if err := checkData(ctx, tx, c); err != nil {
			return err
		}
		if err := record(ctx, tx, actor, c); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// checkData refuses a change that leaves the data inconsistent as a whole, though
// each row is fine: two APIs on one context, say. The decision path would refuse such
// data and keep serving the state before it, deaf to every later change.
func checkData(ctx context.Context, tx *sql.Tx, c *change) error {
	if strings.HasPrefix(c.action, "signing_key.") {
		return nil
	}
	cat, err := readCatalogTx(ctx, tx)
	if err != nil {
		return err
	}
	if err := cat.ValidateStructure(); err != nil {
		return fmt.Errorf("%w: the data would be inconsistent: %w", ErrConflict, err)
	}
	return nil
}
