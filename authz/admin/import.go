package admin

import (
	"bytes"
	"net/http"
	"slices"

	"github.com/tollgate/tollgate/authz/catalog"
)

// ImportResult answers an import: the API as stored, and how its resources changed.
type ImportResult struct {
	API     API     `json:"api"`
	Changes Changes `json:"changes"`
}

// Changes lists resources by "METHOD path", each list sorted.
type Changes struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	// Changed are resources whose scopes or auth changed.
	Changed []string `json:"changed"`
}

// importAPI creates or replaces an API from an OpenAPI document. The query's name
// and context, when set, name the API and its context path; else the importer takes
// them from the document.
func (h *handler) importAPI(w http.ResponseWriter, r *http.Request) (reply, error) {
	if h.importOpenAPI == nil {
		return reply{}, errNotImplemented("this server has no OpenAPI importer")
	}
	q := r.URL.Query()
	name, context := q.Get("name"), q.Get("context")
	if name != "" {
		if err := catalog.ValidateName(name); err != nil {
			return reply{}, errInvalid("API %v", err)
		}
	}
	raw, err := readBody(w, r, maxImportBody)
	if err != nil {
		return reply{}, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return reply{}, errInvalid("the request body is empty; send an OpenAPI 3.0 or 3.1 document")
	}
	a, err := h.importOpenAPI(raw, name, context)
	if err != nil {
		return reply{}, errInvalid("the OpenAPI document cannot be imported: %v", err)
	}
	if err := validAPI(&a); err != nil {
		return reply{}, err
	}
	return h.storeImported(r, a)
}

// storeImported puts the imported API and answers what changed.
func (h *handler) storeImported(r *http.Request, a catalog.API) (reply, error) {
	cat, err := h.store.Catalog(r.Context())
	if err != nil {
		return reply{}, err
	}
	old, existed := lookup(cat.APIs, func(old catalog.API) bool { return old.Name == a.Name })
	if err := h.store.PutAPI(r.Context(), actor, a); err != nil {
		return reply{}, err
	}
	return okOrCreated(!existed, ImportResult{API: apiBodyOf(a), Changes: diff(old.Resources, a.Resources)}), nil
}

// diff compares the resources of an API before and after a change.
func diff(before, after []catalog.Resource) Changes {
	c := Changes{Added: []string{}, Removed: []string{}, Changed: []string{}}
	was := map[string]catalog.Resource{}
	for _, r := range before {
		was[r.ID()] = r
	}
	for _, r := range after {
		old, found := was[r.ID()]
		switch {
		case !found:
			c.Added = append(c.Added, r.ID())
		case old.Auth != r.Auth || !sameScopes(old.Scopes, r.Scopes):
			c.Changed = append(c.Changed, r.ID())
		}
		delete(was, r.ID())
	}
	for id := range was {
		c.Removed = append(c.Removed, id)
	}
	slices.Sort(c.Added)
	slices.Sort(c.Removed)
	slices.Sort(c.Changed)
	return c
}

// sameScopes reports whether two resources require the same scopes, in any order.
func sameScopes(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
