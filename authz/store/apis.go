package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/tollgate/tollgate/authz/catalog"
)

// PutAPI creates or replaces the API and its resources. Its subscriptions stay.
// A resource without Auth is stored as catalog.AuthRequired.
func (s *SQLite) PutAPI(ctx context.Context, actor string, api catalog.API) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		if err := putAPI(ctx, tx, api); err != nil {
			return nil, err
		}
		return apiChange("api.put", api), nil
	})
	if err != nil {
		return fmt.Errorf("put api %q: %w", api.Name, err)
	}
	return nil
}

// CreateAPI creates the API and its resources like PutAPI, unless an API of that
// name exists: then it is ErrConflict, so that a creation never replaces silently.
func (s *SQLite) CreateAPI(ctx context.Context, actor string, api catalog.API) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		if err := refuseExisting(ctx, tx, `SELECT 1 FROM apis WHERE name = ?`, api.Name); err != nil {
			return nil, err
		}
		if err := putAPI(ctx, tx, api); err != nil {
			return nil, err
		}
		return apiChange("api.create", api), nil
	})
	if err != nil {
		return fmt.Errorf("create api %q: %w", api.Name, err)
	}
	return nil
}

// apiChange is the audit entry of a write of api.
func apiChange(action string, api catalog.API) *change {
	return &change{action: action, target: api.Name, detail: map[string]any{
		"context":   api.Context,
		"hosts":     len(api.Hosts),
		"resources": len(api.Resources),
	}}
}

// DeleteAPI deletes the API; its resources and subscriptions go with it (ON DELETE
// CASCADE). The audit entry counts the subscriptions removed.
func (s *SQLite) DeleteAPI(ctx context.Context, actor, name string) error {
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		var subs int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM subscriptions WHERE api = ?`, name).Scan(&subs); err != nil {
			return nil, err
		}
		if err := deleteOne(ctx, tx, `DELETE FROM apis WHERE name = ?`, name); err != nil {
			return nil, err
		}
		return &change{action: "api.delete", target: name, detail: map[string]int{"subscriptions": subs}}, nil
	})
	if err != nil {
		return fmt.Errorf("delete api %q: %w", name, err)
	}
	return nil
}

// putAPI updates the API's row in place, rather than replacing it, so that deleting
// it does not cascade to its subscriptions, and replaces its resources.
func putAPI(ctx context.Context, tx *sql.Tx, api catalog.API) error {
	var hosts any
	if len(api.Hosts) > 0 {
		raw, err := json.Marshal(api.Hosts)
		if err != nil {
			return err
		}
		hosts = string(raw)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO apis (name, context, hosts) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET context = excluded.context, hosts = excluded.hosts`,
		api.Name, api.Context, hosts); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE api = ?`, api.Name); err != nil {
		return err
	}
	for _, r := range api.Resources {
		if err := insertResource(ctx, tx, api.Name, r); err != nil {
			return fmt.Errorf("resource %s: %w", r.ID(), err)
		}
	}
	return nil
}

func insertResource(ctx context.Context, tx *sql.Tx, api string, r catalog.Resource) error {
	auth := r.Auth
	if auth == "" {
		auth = catalog.AuthRequired
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO resources (api, method, path, auth) VALUES (?, ?, ?, ?)`,
		api, r.Method, r.Path, auth); err != nil {
		return err
	}
	for i, scope := range r.Scopes {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO resource_scopes (api, method, path, position, scope) VALUES (?, ?, ?, ?, ?)`,
			api, r.Method, r.Path, i, scope); err != nil {
			return err
		}
	}
	return nil
}
