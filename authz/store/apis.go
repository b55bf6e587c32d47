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
		return &change{action: "api.put", target: api.Name, detail: map[string]any{
			"context":   api.Context,
			"hosts":     len(api.Hosts),
			"resources": len(api.Resources),
		}}, nil
	})
	if err != nil {
		return fmt.Errorf("put api %q: %w", api.Name, err)
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
