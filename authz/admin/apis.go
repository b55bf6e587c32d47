package admin

import (
	"net/http"
	"slices"

	"github.com/tollgate/tollgate/authz/catalog"
)

// API is an API as the admin API shows and takes it: the data file's fields.
type API struct {
	Name      string     `json:"name"`
	Context   string     `json:"context"`
	Hosts     []string   `json:"hosts"`
	Resources []Resource `json:"resources"`
}

// Resource is a resource of an API. Auth left out is catalog.AuthRequired.
type Resource struct {
	Method string   `json:"method"`
	Path   string   `json:"path"`
	Scopes []string `json:"scopes"`
	Auth   string   `json:"auth"`
}

// apiBodyOf renders a, with [] for a list it lacks.
func apiBodyOf(a catalog.API) API {
	b := API{Name: a.Name, Context: a.Context, Hosts: nonNil(a.Hosts), Resources: make([]Resource, len(a.Resources))}
	for i, r := range a.Resources {
		b.Resources[i] = Resource{Method: r.Method, Path: r.Path, Scopes: nonNil(r.Scopes), Auth: r.Auth}
	}
	return b
}

// api returns b as a catalog API, with defaults applied, if it is valid on its own.
// Whether it fits with the other APIs (two on one context) the store checks.
func (b API) api() (catalog.API, error) {
	a := catalog.API{Name: b.Name, Context: b.Context, Hosts: b.Hosts, Resources: make([]catalog.Resource, len(b.Resources))}
	for i, r := range b.Resources {
		a.Resources[i] = catalog.Resource{Method: r.Method, Path: r.Path, Scopes: r.Scopes, Auth: r.Auth}
	}
	err := validAPI(&a)
	return a, err
}

// validAPI applies the defaults to a and validates it by the data file's rules.
func validAPI(a *catalog.API) error {
	for i := range a.Resources {
		if a.Resources[i].Auth == "" {
			a.Resources[i].Auth = catalog.AuthRequired
		}
	}
	c := catalog.Catalog{APIs: []catalog.API{*a}}
	if err := c.ValidateStructure(); err != nil {
		return errInvalid("%v", err)
	}
	return nil
}

func (h *handler) listAPIs(_ http.ResponseWriter, r *http.Request) (reply, error) {
	p, err := parsePage(r)
	if err != nil {
		return reply{}, err
	}
	cat, err := h.store.Catalog(r.Context())
	if err != nil {
		return reply{}, err
	}
	apis, next := paginate(cat.APIs, func(a catalog.API) string { return a.Name }, p)
	items := make([]API, len(apis))
	for i, a := range apis {
		items[i] = apiBodyOf(a)
	}
	return ok(List[API]{Items: items, NextPageToken: next}), nil
}

func (h *handler) createAPI(w http.ResponseWriter, r *http.Request) (reply, error) {
	var req API
	if err := decode(w, r, &req, false); err != nil {
		return reply{}, err
	}
	a, err := req.api()
	if err != nil {
		return reply{}, err
	}
	if err := h.store.CreateAPI(r.Context(), actor, a); err != nil {
		return reply{}, err
	}
	return created(apiBodyOf(a)), nil
}

func (h *handler) getAPI(_ http.ResponseWriter, r *http.Request) (reply, error) {
	name, err := pathName(r, "api", "API")
	if err != nil {
		return reply{}, err
	}
	cat, err := h.store.Catalog(r.Context())
	if err != nil {
		return reply{}, err
	}
	a, found := lookup(cat.APIs, func(a catalog.API) bool { return a.Name == name })
	if !found {
		return reply{}, errNotFound("API %q does not exist", name)
	}
	return ok(apiBodyOf(a)), nil
}

// putAPI creates or replaces the API the path names; the body's name, if any, must
// be the same.
func (h *handler) putAPI(w http.ResponseWriter, r *http.Request) (reply, error) {
	name, err := pathName(r, "api", "API")
	if err != nil {
		return reply{}, err
	}
	var req API
	if err := decode(w, r, &req, false); err != nil {
		return reply{}, err
	}
	if req.Name != "" && req.Name != name {
		return reply{}, errInvalid("the body names API %q, the path %q: leave the name out or make them the same", req.Name, name)
	}
	req.Name = name
	a, err := req.api()
	if err != nil {
		return reply{}, err
	}
	existed, err := h.apiExists(r, name)
	if err != nil {
		return reply{}, err
	}
	if err := h.store.PutAPI(r.Context(), actor, a); err != nil {
		return reply{}, err
	}
	return okOrCreated(!existed, apiBodyOf(a)), nil
}

func (h *handler) deleteAPI(_ http.ResponseWriter, r *http.Request) (reply, error) {
	name, err := pathName(r, "api", "API")
	if err != nil {
		return reply{}, err
	}
	return noContent, h.store.DeleteAPI(r.Context(), actor, name)
}

// apiExists reports whether an API of this name exists.
func (h *handler) apiExists(r *http.Request, name string) (bool, error) {
	cat, err := h.store.Catalog(r.Context())
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(cat.APIs, func(a catalog.API) bool { return a.Name == name }), nil
}

// nonNil returns s, or an empty slice for nil, so that JSON shows [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
