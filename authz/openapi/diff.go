package openapi

import (
	"maps"
	"slices"

	"github.com/tollgate/tollgate/authz/catalog"
)

// Changes lists, each sorted, the IDs ("GET /orders/{id}") of the resources that a new
// version of an API adds, removes, or keeps with other scopes or auth.
type Changes struct {
	Added, Removed, Changed []string
}

// Diff compares two versions of an API's resources, as when a re-import updates an API
// in place. Scopes are compared as sets, and an empty auth counts as required.
func Diff(before, after catalog.API) Changes {
	old := byID(before)
	updated := byID(after)
	var c Changes
	for _, id := range slices.Sorted(maps.Keys(updated)) {
		prev, ok := old[id]
		switch {
		case !ok:
			c.Added = append(c.Added, id)
		case !same(prev, updated[id]):
			c.Changed = append(c.Changed, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(old)) {
		if _, ok := updated[id]; !ok {
			c.Removed = append(c.Removed, id)
		}
	}
	return c
}

func byID(api catalog.API) map[string]catalog.Resource {
	m := make(map[string]catalog.Resource, len(api.Resources))
	for _, r := range api.Resources {
		m[r.ID()] = r
	}
	return m
}

// same says whether two resources with one ID ask the same of a token.
func same(a, b catalog.Resource) bool {
	return auth(a) == auth(b) && slices.Equal(scopeSet(a.Scopes), scopeSet(b.Scopes))
}

func auth(r catalog.Resource) string {
	if r.Auth == "" {
		return catalog.AuthRequired
	}
	return r.Auth
}

// scopeSet returns scopes sorted and without duplicates, in a new slice.
func scopeSet(scopes []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(scopes)))
}
