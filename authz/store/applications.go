package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/authz/catalog"
)

// PutApplication creates the application; an existing one is left as it is, and, as
// nothing changed, neither audited nor counted as a new version.
func (s *SQLite) PutApplication(ctx context.Context, actor, name string) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		created, err := putApplication(ctx, tx, name)
		if err != nil || !created {
			return nil, err
		}
		return &change{action: "application.put", target: name, detail: struct{}{}}, nil
	})
	if err != nil {
		return fmt.Errorf("put application %q: %w", name, err)
	}
	return nil
}

// putApplication creates the application unless it exists, and reports whether it did.
func putApplication(ctx context.Context, tx *sql.Tx, name string) (bool, error) {
	at, err := encodeTime(time.Now())
	if err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO applications (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, name, at)
	if err != nil {
		return false, err
	}
	return changed(res)
}

// BindClientID binds an external issuer's client ID to the application, or moves the
// binding to another environment. Rebinding it as it is changes nothing and is not
// audited. An STSIssuer client ID is a credential, made by PutCredential: binding one
// is accepted only as it already is, so that an exported catalog imports again.
func (s *SQLite) BindClientID(ctx context.Context, actor, application string, b catalog.ClientID) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		bound, err := bind(ctx, tx, application, b)
		if err != nil || !bound {
			return nil, err
		}
		return &change{action: "client_id.bind", target: b.ClientID, detail: map[string]string{
			"issuer":      b.Issuer,
			"application": application,
			"environment": b.Environment,
		}}, nil
	})
	if err != nil {
		return fmt.Errorf("bind client ID %q of issuer %q to application %q: %w", b.ClientID, b.Issuer, application, err)
	}
	return nil
}

// bind binds b to app and reports whether that changed anything.
func bind(ctx context.Context, tx *sql.Tx, app string, b catalog.ClientID) (bool, error) {
	if b.Issuer == STSIssuer {
		return false, checkCredentialBinding(ctx, tx, app, b)
	}
	if err := requireApplication(ctx, tx, app); err != nil {
		return false, err
	}
	var owner string
	err := tx.QueryRowContext(ctx, `SELECT application FROM client_bindings WHERE issuer = ? AND client_id = ?`,
		b.Issuer, b.ClientID).Scan(&owner)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	if err == nil && owner != app {
		return false, fmt.Errorf("%w: the client ID is bound to application %q", ErrConflict, owner)
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO client_bindings (issuer, client_id, application, environment) VALUES (?, ?, ?, ?)
		ON CONFLICT (issuer, client_id) DO UPDATE SET environment = excluded.environment
		WHERE environment <> excluded.environment`,
		b.Issuer, b.ClientID, app, b.Environment)
	if err != nil {
		return false, err
	}
	return changed(res)
}

// checkCredentialBinding accepts an STSIssuer binding that matches an existing
// credential, and refuses any other.
func checkCredentialBinding(ctx context.Context, tx *sql.Tx, app string, b catalog.ClientID) error {
	var owner, env string
	err := tx.QueryRowContext(ctx, `SELECT application, environment FROM credentials WHERE client_id = ?`,
		b.ClientID).Scan(&owner, &env)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: issuer %q client IDs are STS credentials; no credential has this one", ErrConflict, STSIssuer)
	}
	if err != nil {
		return err
	}
	if owner != app || env != b.Environment {
		return fmt.Errorf("%w: the client ID is the %s credential of application %q", ErrConflict, env, owner)
	}
	return nil
}

// PutSubscription creates or updates the subscription; both its application and its
// API must exist (else ErrConflict). Putting it as it is changes nothing and is not
// audited.
func (s *SQLite) PutSubscription(ctx context.Context, actor string, sub catalog.Subscription) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		put, err := putSubscription(ctx, tx, sub)
		if err != nil || !put {
			return nil, err
		}
		return &change{action: "subscription.put", target: sub.Application, detail: map[string]string{
			"api":    sub.API,
			"status": sub.Status,
		}}, nil
	})
	if err != nil {
		return fmt.Errorf("put subscription %s -> %s: %w", sub.Application, sub.API, err)
	}
	return nil
}

// putSubscription upserts sub and reports whether that changed anything.
func putSubscription(ctx context.Context, tx *sql.Tx, sub catalog.Subscription) (bool, error) {
	if err := requireApplication(ctx, tx, sub.Application); err != nil {
		return false, err
	}
	if err := requireAPI(ctx, tx, sub.API); err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO subscriptions (application, api, status) VALUES (?, ?, ?)
		ON CONFLICT (application, api) DO UPDATE SET status = excluded.status
		WHERE status <> excluded.status`,
		sub.Application, sub.API, sub.Status)
	if err != nil {
		return false, err
	}
	return changed(res)
}

// requireApplication returns ErrConflict unless the application exists.
func requireApplication(ctx context.Context, tx *sql.Tx, name string) error {
	return require(ctx, tx, `SELECT 1 FROM applications WHERE name = ?`, "application", name)
}

// requireAPI returns ErrConflict unless the API exists.
func requireAPI(ctx context.Context, tx *sql.Tx, name string) error {
	return require(ctx, tx, `SELECT 1 FROM apis WHERE name = ?`, "API", name)
}

func require(ctx context.Context, tx *sql.Tx, query, what, name string) error {
	var one int
	err := tx.QueryRowContext(ctx, query, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s %q does not exist", ErrConflict, what, name)
	}
	return err
}

// changed reports whether a statement changed a row.
func changed(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n > 0, err
}
