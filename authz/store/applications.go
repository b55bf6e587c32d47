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

// CreateApplication creates the application, or is ErrConflict if it exists, so that
// of two concurrent creations exactly one succeeds.
func (s *SQLite) CreateApplication(ctx context.Context, actor, name string) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		created, err := putApplication(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		if !created {
			return nil, fmt.Errorf("%w: it exists already", ErrConflict)
		}
		return &change{action: "application.create", target: name, detail: struct{}{}}, nil
	})
	if err != nil {
		return fmt.Errorf("create application %q: %w", name, err)
	}
	return nil
}

// DeleteApplication deletes the application; its subscriptions, client-ID bindings
// and credentials go with it (ON DELETE CASCADE), so the credentials' secrets stop
// working in the same commit. The audit entry counts what went.
func (s *SQLite) DeleteApplication(ctx context.Context, actor, name string) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		var subs, bindings, creds int
		if err := tx.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM subscriptions WHERE application = ?1),
			(SELECT count(*) FROM client_bindings WHERE application = ?1),
			(SELECT count(*) FROM credentials WHERE application = ?1)`, name).Scan(&subs, &bindings, &creds); err != nil {
			return nil, err
		}
		if err := deleteOne(ctx, tx, `DELETE FROM applications WHERE name = ?`, name); err != nil {
			return nil, err
		}
		return &change{action: "application.delete", target: name, detail: map[string]int{
			"subscriptions": subs,
			"client_ids":    bindings,
			"credentials":   creds,
		}}, nil
	})
	if err != nil {
		return fmt.Errorf("delete application %q: %w", name, err)
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

// UnbindClientID removes the binding of an external issuer's client ID to the
// application. The delete itself requires the owner, so a binding moved to another
// application since the caller looked stays where it is: ErrNotFound, as for one that
// does not exist. An STSIssuer client ID is a credential, never a binding:
// DeleteCredential removes it.
func (s *SQLite) UnbindClientID(ctx context.Context, actor, application, issuer, clientID string) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		if issuer == STSIssuer {
			return nil, fmt.Errorf("%w: issuer %q client IDs are STS credentials, not bindings; delete the credential", ErrNotFound, STSIssuer)
		}
		var env string
		err := tx.QueryRowContext(ctx, `DELETE FROM client_bindings WHERE issuer = ? AND client_id = ? AND application = ? RETURNING environment`,
			issuer, clientID, application).Scan(&env)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: the application has no such binding", ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		return &change{action: "client_id.unbind", target: clientID, detail: map[string]string{
			"issuer":      issuer,
			"application": application,
			"environment": env,
		}}, nil
	})
	if err != nil {
		return fmt.Errorf("unbind client ID %q of issuer %q from application %q: %w", clientID, issuer, application, err)
	}
	return nil
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

// DeleteSubscription deletes the application's subscription to the API.
func (s *SQLite) DeleteSubscription(ctx context.Context, actor, application, api string) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		var status string
		err := tx.QueryRowContext(ctx, `DELETE FROM subscriptions WHERE application = ? AND api = ? RETURNING status`,
			application, api).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		return &change{action: "subscription.delete", target: application, detail: map[string]string{
			"api":    api,
			"status": status,
		}}, nil
	})
	if err != nil {
		return fmt.Errorf("delete subscription %s -> %s: %w", application, api, err)
	}
	return nil
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

// refuseExisting returns ErrConflict if query, given name, finds a row.
func refuseExisting(ctx context.Context, tx *sql.Tx, query, name string) error {
	var one int
	err := tx.QueryRowContext(ctx, query, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: it exists already", ErrConflict)
}

// deleteOne runs a DELETE and returns ErrNotFound if it deleted nothing.
func deleteOne(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	deleted, err := changed(res)
	if err == nil && !deleted {
		err = ErrNotFound
	}
	return err
}

// changed reports whether a statement changed a row.
func changed(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n > 0, err
}
