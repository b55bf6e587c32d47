package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/store"
)

// Application is an application as the API shows it: its external client-ID bindings
// and its STS keys, never a secret.
type Application struct {
	Name      string    `json:"name"`
	ClientIDs []Binding `json:"client_ids"`
	Keys      []Key     `json:"keys"`
}

func (h *handler) listApplications(_ http.ResponseWriter, r *http.Request) (reply, error) {
	p, err := parsePage(r)
	if err != nil {
		return reply{}, err
	}
	cat, err := h.store.Catalog(r.Context())
	if err != nil {
		return reply{}, err
	}
	apps, next := paginate(cat.Applications, func(a catalog.Application) string { return a.Name }, p)
	items := make([]Application, len(apps))
	for i, a := range apps {
		if items[i], err = h.applicationOf(r.Context(), a); err != nil {
			return reply{}, err
		}
	}
	return ok(List[Application]{Items: items, NextPageToken: next}), nil
}

func (h *handler) createApplication(w http.ResponseWriter, r *http.Request) (reply, error) {
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return reply{}, err
	}
	if err := catalog.ValidateName(req.Name); err != nil {
		return reply{}, errInvalid("application %v", err)
	}
	if err := h.store.CreateApplication(r.Context(), actor, req.Name); err != nil {
		return reply{}, err
	}
	return created(Application{Name: req.Name, ClientIDs: []Binding{}, Keys: []Key{}}), nil
}

func (h *handler) getApplication(_ http.ResponseWriter, r *http.Request) (reply, error) {
	app, err := h.findApplication(r)
	if err != nil {
		return reply{}, err
	}
	view, err := h.applicationOf(r.Context(), app)
	if err != nil {
		return reply{}, err
	}
	return ok(view), nil
}

func (h *handler) deleteApplication(_ http.ResponseWriter, r *http.Request) (reply, error) {
	name, err := pathName(r, "app", "application")
	if err != nil {
		return reply{}, err
	}
	return noContent, h.store.DeleteApplication(r.Context(), actor, name)
}

// findApplication returns the application the path names, or a not_found error.
func (h *handler) findApplication(r *http.Request) (catalog.Application, error) {
	name, err := pathName(r, "app", "application")
	if err != nil {
		return catalog.Application{}, err
	}
	cat, err := h.store.Catalog(r.Context())
	if err != nil {
		return catalog.Application{}, err
	}
	app, found := lookup(cat.Applications, func(a catalog.Application) bool { return a.Name == name })
	if !found {
		return catalog.Application{}, errNotFound("application %q does not exist", name)
	}
	return app, nil
}

// applicationOf renders app with its external bindings and its keys.
func (h *handler) applicationOf(ctx context.Context, app catalog.Application) (Application, error) {
	keys, err := h.keys(ctx, app)
	if err != nil {
		return Application{}, fmt.Errorf("application %q: %w", app.Name, err)
	}
	return Application{Name: app.Name, ClientIDs: externalBindings(app), Keys: keys}, nil
}

// keys returns the application's STS keys, by environment. A key revoked since the
// catalog was read is left out.
func (h *handler) keys(ctx context.Context, app catalog.Application) ([]Key, error) {
	keys := []Key{}
	for _, b := range app.ClientIDs {
		if b.Issuer != store.STSIssuer {
			continue
		}
		c, err := h.store.Credential(ctx, b.ClientID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, Key{ClientID: c.ClientID, Environment: c.Environment, CreatedAt: c.CreatedAt.UTC()})
	}
	slices.SortFunc(keys, func(a, b Key) int { return cmp.Compare(a.Environment, b.Environment) })
	return keys, nil
}

// pathName returns the path wildcard's value, an API or application name.
func pathName(r *http.Request, wildcard, what string) (string, error) {
	name := r.PathValue(wildcard)
	if err := catalog.ValidateName(name); err != nil {
		return "", errInvalid("%s %v", what, err)
	}
	return name, nil
}

// lookup returns the first item that matches.
func lookup[T any](items []T, match func(T) bool) (T, bool) {
	if i := slices.IndexFunc(items, match); i >= 0 {
		return items[i], true
	}
	var zero T
	return zero, false
}
