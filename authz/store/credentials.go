package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/authz/catalog"
)

// PutCredential sets the application's credential for c.Environment: the one it had
// there is deleted, so its secret stops working in the same commit. The application
// must exist, and c.ClientID must not be another credential's (else ErrConflict). A
// zero c.CreatedAt is stored as the time of the write: a credential always says when
// it was made. The audit entry names the client IDs, never the secret hash.
func (s *SQLite) PutCredential(ctx context.Context, actor string, c Credential) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		replaced, err := putCredential(ctx, tx, c)
		if err != nil {
			return nil, err
		}
		return &change{action: "credential.put", target: c.ClientID, detail: map[string]string{
			"application": c.Application,
			"environment": c.Environment,
			"replaced":    replaced,
		}}, nil
	})
	if err != nil {
		return fmt.Errorf("put credential %q of application %q: %w", c.ClientID, c.Application, err)
	}
	return nil
}

// putCredential stores c and returns the client ID of the credential it replaced, if any.
func putCredential(ctx context.Context, tx *sql.Tx, c Credential) (string, error) {
	if len(c.SecretHash) == 0 {
		return "", errors.New("no secret hash")
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	created, err := encodeTime(c.CreatedAt)
	if err != nil {
		return "", err
	}
	if err := requireApplication(ctx, tx, c.Application); err != nil {
		return "", err
	}
	if err := checkCredentialOwner(ctx, tx, c); err != nil {
		return "", err
	}
	var replaced string
	err = tx.QueryRowContext(ctx, `DELETE FROM credentials WHERE application = ? AND environment = ? RETURNING client_id`,
		c.Application, c.Environment).Scan(&replaced)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO credentials (client_id, application, environment, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		c.ClientID, c.Application, c.Environment, c.SecretHash, created)
	return replaced, err
}

// checkCredentialOwner returns ErrConflict if c.ClientID is a credential of another
// application or environment; c may replace only its own slot.
func checkCredentialOwner(ctx context.Context, tx *sql.Tx, c Credential) error {
	var app, env string
	err := tx.QueryRowContext(ctx, `SELECT application, environment FROM credentials WHERE client_id = ?`,
		c.ClientID).Scan(&app, &env)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if app != c.Application || env != c.Environment {
		return fmt.Errorf("%w: the client ID is the %s credential of application %q", ErrConflict, env, app)
	}
	return nil
}

// DeleteCredential deletes the application's credential for the environment, so its
// secret stops working when this commits. The audit entry names its client ID.
func (s *SQLite) DeleteCredential(ctx context.Context, actor, application, environment string) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		var clientID string
		err := tx.QueryRowContext(ctx, `DELETE FROM credentials WHERE application = ? AND environment = ? RETURNING client_id`,
			application, environment).Scan(&clientID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		return &change{action: "credential.delete", target: clientID, detail: map[string]string{
			"application": application,
			"environment": environment,
		}}, nil
	})
	if err != nil {
		return fmt.Errorf("delete %s credential of application %q: %w", environment, application, err)
	}
	return nil
}

// Credential returns the credential with this client ID, or ErrNotFound.
func (s *SQLite) Credential(ctx context.Context, clientID string) (Credential, error) {
	c := Credential{ClientID: clientID}
	var created string
	err := s.r.QueryRowContext(ctx,
		`SELECT application, environment, secret_hash, created_at FROM credentials WHERE client_id = ?`,
		clientID).Scan(&c.Application, &c.Environment, &c.SecretHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err == nil {
		c.CreatedAt, err = decodeTime(created)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("credential %q: %w", clientID, err)
	}
	return c, nil
}

// GrantableScopes returns the sorted, distinct scopes of the resources of the APIs the
// application is subscribed to with status active, or prod_only_blocked when env is
// sandbox. Every resource counts, whatever its Auth: catalog validation keeps scopes
// off public (auth: none) resources, and one stored with scopes still names scopes the
// API defines. An unknown application has none; an env other than production or
// sandbox is an error, so a typo cannot widen a grant.
func (s *SQLite) GrantableScopes(ctx context.Context, application, env string) ([]string, error) {
	scopes, err := s.grantableScopes(ctx, application, env)
	if err != nil {
		return nil, fmt.Errorf("grantable scopes of application %q in %s: %w", application, env, err)
	}
	return scopes, nil
}

func (s *SQLite) grantableScopes(ctx context.Context, application, env string) ([]string, error) {
	if env != catalog.Production && env != catalog.Sandbox {
		return nil, fmt.Errorf("environment must be %s or %s", catalog.Production, catalog.Sandbox)
	}
	return queryStrings(ctx, s.r, `
		SELECT DISTINCT rs.scope
		FROM subscriptions sub JOIN resource_scopes rs ON rs.api = sub.api
		WHERE sub.application = ?
		  AND (sub.status = ? OR (sub.status = ? AND ? = ?))`,
		application, catalog.Active, catalog.ProdOnlyBlocked, env, catalog.Sandbox)
}
