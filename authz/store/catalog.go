package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tollgate/tollgate/authz/catalog"
)

// Catalog reads the APIs (by name, resources by method and path), the applications (by
// name, client IDs by issuer and client ID, STS credentials among them as issuer
// STSIssuer) and the subscriptions (by application and API) from one snapshot.
func (s *SQLite) Catalog(ctx context.Context) (*catalog.Catalog, error) {
	c, err := s.readCatalog(ctx)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	return c, nil
}

func (s *SQLite) readCatalog(ctx context.Context) (*catalog.Catalog, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() // a read transaction has nothing to commit
	return readCatalogTx(ctx, tx)
}

// readCatalogTx reads the catalog as tx sees it.
func readCatalogTx(ctx context.Context, tx *sql.Tx) (*catalog.Catalog, error) {
	var c catalog.Catalog
	var err error
	if c.APIs, err = readAPIs(ctx, tx); err != nil {
		return nil, err
	}
	if c.Applications, err = readApplications(ctx, tx); err != nil {
		return nil, err
	}
	if c.Subscriptions, err = readSubscriptions(ctx, tx); err != nil {
		return nil, err
	}
	return &c, nil
}

func readAPIs(ctx context.Context, tx *sql.Tx) ([]catalog.API, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, context, hosts FROM apis ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var apis []catalog.API
	for rows.Next() {
		var a catalog.API
		var hosts sql.NullString
		if err := rows.Scan(&a.Name, &a.Context, &hosts); err != nil {
			return nil, err
		}
		if hosts.Valid {
			if err := json.Unmarshal([]byte(hosts.String), &a.Hosts); err != nil {
				return nil, fmt.Errorf("api %q: hosts: %w", a.Name, err)
			}
		}
		apis = append(apis, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return apis, readResources(ctx, tx, apis)
}

// readResources fills in the resources of apis, which are sorted by name, in one pass
// over every resource joined with its scopes.
func readResources(ctx context.Context, tx *sql.Tx, apis []catalog.API) error {
	rows, err := tx.QueryContext(ctx, `
		SELECT r.api, r.method, r.path, r.auth, s.scope
		FROM resources r LEFT JOIN resource_scopes s USING (api, method, path)
		ORDER BY r.api, r.method, r.path, s.position`)
	if err != nil {
		return err
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var api string
		var r catalog.Resource
		var scope sql.NullString
		if err := rows.Scan(&api, &r.Method, &r.Path, &r.Auth, &scope); err != nil {
			return err
		}
		for i < len(apis) && apis[i].Name != api {
			i++
		}
		if i == len(apis) {
			return fmt.Errorf("resource %s of api %q: api not found", r.ID(), api)
		}
		addResource(&apis[i], r, scope)
	}
	return rows.Err()
}

// addResource adds one row of the resource-scope join to a: a scope of its last
// resource, or a new resource.
func addResource(a *catalog.API, r catalog.Resource, scope sql.NullString) {
	n := len(a.Resources)
	if n == 0 || a.Resources[n-1].ID() != r.ID() {
		a.Resources = append(a.Resources, r)
		n++
	}
	if scope.Valid {
		a.Resources[n-1].Scopes = append(a.Resources[n-1].Scopes, scope.String)
	}
}

func readApplications(ctx context.Context, tx *sql.Tx) ([]catalog.Application, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM applications ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var apps []catalog.Application
	index := map[string]int{}
	for rows.Next() {
		var a catalog.Application
		if err := rows.Scan(&a.Name); err != nil {
			return nil, err
		}
		index[a.Name] = len(apps)
		apps = append(apps, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return apps, readClientIDs(ctx, tx, apps, index)
}

// readClientIDs fills in the client IDs of apps: the external bindings and the STS
// credentials.
func readClientIDs(ctx context.Context, tx *sql.Tx, apps []catalog.Application, index map[string]int) error {
	rows, err := tx.QueryContext(ctx, `
		SELECT application, issuer, client_id, environment FROM client_bindings
		UNION ALL
		SELECT application, ?, client_id, environment FROM credentials
		ORDER BY 1, 2, 3`, STSIssuer)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var app string
		var b catalog.ClientID
		if err := rows.Scan(&app, &b.Issuer, &b.ClientID, &b.Environment); err != nil {
			return err
		}
		i, ok := index[app]
		if !ok {
			return fmt.Errorf("client ID %q of issuer %q: application %q not found", b.ClientID, b.Issuer, app)
		}
		apps[i].ClientIDs = append(apps[i].ClientIDs, b)
	}
	return rows.Err()
}

func readSubscriptions(ctx context.Context, tx *sql.Tx) ([]catalog.Subscription, error) {
	rows, err := tx.QueryContext(ctx, `SELECT application, api, status FROM subscriptions ORDER BY application, api`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var subs []catalog.Subscription
	for rows.Next() {
		var sub catalog.Subscription
		if err := rows.Scan(&sub.Application, &sub.API, &sub.Status); err != nil {
			return nil, err
		}
		subs = append(subs, sub)
	}
	return subs, rows.Err()
}

// Import upserts c in one transaction, recorded as one "import" audit entry with the
// counts. A client ID that another application owns fails the whole import with
// ErrConflict.
func (s *SQLite) Import(ctx context.Context, actor string, c *catalog.Catalog) error {
	if c == nil {
		return errors.New("import: no catalog")
	}
	err := s.write(ctx, actor, func(tx *sql.Tx) (*change, error) {
		return importCatalog(ctx, tx, c)
	})
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return nil
}

func importCatalog(ctx context.Context, tx *sql.Tx, c *catalog.Catalog) (*change, error) {
	for _, a := range c.APIs {
		if err := putAPI(ctx, tx, a); err != nil {
			return nil, fmt.Errorf("api %q: %w", a.Name, err)
		}
	}
	bindings := 0
	for _, app := range c.Applications {
		if err := importApplication(ctx, tx, app); err != nil {
			return nil, fmt.Errorf("application %q: %w", app.Name, err)
		}
		bindings += len(app.ClientIDs)
	}
	for _, sub := range c.Subscriptions {
		if _, err := putSubscription(ctx, tx, sub); err != nil {
			return nil, fmt.Errorf("subscription %s -> %s: %w", sub.Application, sub.API, err)
		}
	}
	return &change{action: "import", detail: map[string]int{
		"apis":          len(c.APIs),
		"applications":  len(c.Applications),
		"client_ids":    bindings,
		"subscriptions": len(c.Subscriptions),
	}}, nil
}

func importApplication(ctx context.Context, tx *sql.Tx, app catalog.Application) error {
	if _, err := putApplication(ctx, tx, app.Name); err != nil {
		return err
	}
	for _, b := range app.ClientIDs {
		if _, err := bind(ctx, tx, app.Name, b); err != nil {
			return err
		}
	}
	return nil
}
