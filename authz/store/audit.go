package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Audit returns at most limit audit entries, newest first; none when limit < 1.
func (s *SQLite) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	if limit < 1 {
		return nil, nil
	}
	entries, err := s.audit(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	return entries, nil
}

func (s *SQLite) audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT id, at, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var entries []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, err
		}
		if e.At, err = decodeTime(at); err != nil {
			return nil, fmt.Errorf("audit entry %d: %w", e.ID, err)
		}
		entries = append(entries, e)
	}
	return entries, rows.Err()
}

// change is what a write changed, for its audit entry.
type change struct {
	action string
	target string
	detail any // marshalled to JSON; never a secret
}

// record appends c to the audit trail and advances the version.
func record(ctx context.Context, tx *sql.Tx, actor string, c *change) error {
	detail, err := json.Marshal(c.detail)
	if err != nil {
		return fmt.Errorf("audit detail: %w", err)
	}
	at, err := encodeTime(time.Now())
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)`,
		at, actor, c.action, c.target, string(detail)); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET version = version + 1`); err != nil {
		return fmt.Errorf("advance version: %w", err)
	}
	return nil
}
