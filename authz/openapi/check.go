package openapi

import (
	"errors"
	"fmt"

	"github.com/tollgate/tollgate/authz/catalog"
)

// check validates api with the catalog's rules so that an error names what is wrong in
// the document: first the name and context alone, then each resource alone under them,
// naming its operation, then all resources together, for conflicts between them. ops
// are api's resources with where they come from.
func check(api catalog.API, ops []operation) error {
	// A resource at the context itself is valid whenever the name and context are.
	probe := api
	probe.Resources = []catalog.Resource{{Method: "GET", Path: api.Context, Auth: catalog.AuthNone}}
	if err := validate(probe); err != nil {
		return fmt.Errorf("API name %q, context %q: %w", api.Name, api.Context, err)
	}
	var errs []error
	for _, op := range ops {
		one := api
		one.Resources = []catalog.Resource{op.resource}
		if err := validate(one); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", op.where, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := validate(api); err != nil {
		return fmt.Errorf("paths: %w", err)
	}
	return nil
}

// validate checks a catalog holding api alone; client IDs play no part in it.
func validate(api catalog.API) error {
	c := catalog.Catalog{APIs: []catalog.API{api}}
	return c.Validate(nil)
}
