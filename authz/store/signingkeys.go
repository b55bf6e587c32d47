package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// SigningKeys returns every signing key, oldest first (by CreatedAt, then KID).
func (s *SQLite) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	keys, err := s.signingKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	return keys, nil
}

func (s *SQLite) signingKeys(ctx context.Context) ([]SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT kid, algorithm, public_jwk, sealed, created_at, signs_from, retired_at, remove_after
		FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []SigningKey
	for rows.Next() {
		k, err := scanSigningKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

func scanSigningKey(rows *sql.Rows) (SigningKey, error) {
	var k SigningKey
	var created, signsFrom string
	var retired, removeAfter sql.NullString
	if err := rows.Scan(&k.KID, &k.Algorithm, &k.PublicJWK, &k.Sealed, &created, &signsFrom, &retired, &removeAfter); err != nil {
		return SigningKey{}, err
	}
	var errs [4]error
	k.CreatedAt, errs[0] = decodeTime(created)
	k.SignsFrom, errs[1] = decodeTime(signsFrom)
	k.RetiredAt, errs[2] = decodeNullTime(retired)
	k.RemoveAfter, errs[3] = decodeNullTime(removeAfter)
	if err := errors.Join(errs[:]...); err != nil {
		return SigningKey{}, fmt.Errorf("signing key %q: %w", k.KID, err)
	}
	return k, nil
}

// RotateSigningKey adds k, which signs from k.SignsFrom, and retires as of then every
// key that would still sign at that time, to leave the JWKS after removeAfter. A key
// whose retirement was already set later (the active key when a pending one exists)
// is retired earlier, at k.SignsFrom; keys retired before it keep their times. k's own
// RetiredAt and RemoveAfter are ignored. A KID already in use is ErrConflict. The
// audit entry names the kids, the algorithm and when k signs, never the sealed key.
func (s *SQLite) RotateSigningKey(ctx context.Context, actor string, k SigningKey, removeAfter time.Time) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		retired, err := rotate(ctx, tx, k, removeAfter)
		if err != nil {
			return nil, err
		}
		return &change{action: "signing_key.rotate", target: k.KID, detail: map[string]any{
			"algorithm":  k.Algorithm,
			"signs_from": k.SignsFrom.UTC(),
			"retired":    retired,
		}}, nil
	})
	if err != nil {
		return fmt.Errorf("rotate signing key to %q: %w", k.KID, err)
	}
	return nil
}

// rotate retires the keys that would sign at k.SignsFrom, inserts k and returns the
// retired kids.
func rotate(ctx context.Context, tx *sql.Tx, k SigningKey, removeAfter time.Time) ([]string, error) {
	switch {
	case k.CreatedAt.IsZero() || k.SignsFrom.IsZero() || removeAfter.IsZero():
		return nil, errors.New("the key's creation and signing times and removeAfter must be set")
	case k.SignsFrom.Before(k.CreatedAt):
		return nil, errors.New("the key cannot sign before it is created")
	case removeAfter.Before(k.SignsFrom):
		return nil, errors.New("removeAfter is before the retired keys stop signing")
	}
	var times [3]string
	for i, t := range []time.Time{k.CreatedAt, k.SignsFrom, removeAfter} {
		var err error
		if times[i], err = encodeTime(t); err != nil {
			return nil, err
		}
	}
	created, signsFrom, remove := times[0], times[1], times[2]
	if err := requireFreeKID(ctx, tx, k.KID); err != nil {
		return nil, err
	}
	retired, err := queryStrings(ctx, tx, `
		UPDATE signing_keys SET retired_at = ?1, remove_after = ?2
		WHERE retired_at IS NULL OR retired_at > ?1 RETURNING kid`,
		signsFrom, remove)
	if err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO signing_keys (kid, algorithm, public_jwk, sealed, created_at, signs_from) VALUES (?, ?, ?, ?, ?, ?)`,
		k.KID, k.Algorithm, string(k.PublicJWK), k.Sealed, created, signsFrom)
	return retired, err
}

// requireFreeKID returns ErrConflict if a key has this kid: while a key is in the JWKS
// its kid must name it alone, or verifiers would check tokens against the wrong key.
func requireFreeKID(ctx context.Context, tx *sql.Tx, kid string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM signing_keys WHERE kid = ?`, kid).Scan(&one)
	if err == nil {
		return fmt.Errorf("%w: kid %q is in use", ErrConflict, kid)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}

// PurgeSigningKeys deletes the retired keys whose RemoveAfter is before now and
// returns their kids, sorted. A purge that finds nothing to delete is not audited and
// leaves the version as it is, so running it often costs nothing.
func (s *SQLite) PurgeSigningKeys(ctx context.Context, actor string, now time.Time) ([]string, error) {
	var purged []string
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		at, err := encodeTime(now)
		if err != nil {
			return nil, err
		}
		purged, err = queryStrings(ctx, tx, `
			DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND remove_after < ? RETURNING kid`, at)
		if err != nil || len(purged) == 0 {
			return nil, err
		}
		return &change{action: "signing_key.purge", detail: map[string][]string{"kids": purged}}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("purge signing keys: %w", err)
	}
	return purged, nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryStrings runs a query of one text column and returns its values, sorted.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}
