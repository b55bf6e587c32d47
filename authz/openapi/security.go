package openapi

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tollgate/tollgate/authz/catalog"
)

// Types of security scheme. Only OAuth2 and OpenID Connect requirements list scopes; an
// unknown type is an error, so that a misspelt oauth2 does not silently drop them.
const (
	typeOAuth2        = "oauth2"
	typeOpenIDConnect = "openIdConnect"
	typeAPIKey        = "apiKey"
	typeHTTP          = "http"
	typeMutualTLS     = "mutualTLS"
)

// security returns the auth and scopes of an operation of doc whose own security is
// own, nil when the operation has no security key and inherits the top-level one.
func security(own *openapi3.SecurityRequirements, doc *openapi3.T) (string, []string, error) {
	reqs, from := doc.Security, "security (top level)"
	if own != nil {
		reqs, from = *own, "security"
	}
	switch {
	case reqs == nil:
		// Nothing declared anywhere: a token is still required.
		return catalog.AuthRequired, nil, nil
	case len(reqs) > 1:
		return "", nil, fmt.Errorf("%s lists %d alternative requirements (any one would do); "+
			"Tollgate needs exactly one per operation: keep one, or make the operation public with security: []",
			from, len(reqs))
	case len(reqs) == 1 && reqs[0] == nil:
		// A null requirement is not the empty one: refuse it rather than guess it public.
		return "", nil, fmt.Errorf("%s: a requirement is null; write {} for none, or name its schemes", from)
	case len(reqs) == 0 || len(reqs[0]) == 0:
		// security: [] or [{}]: no requirement at all.
		return catalog.AuthNone, nil, nil
	}
	scopes, err := requirementScopes(reqs[0], securitySchemes(doc))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", from, err)
	}
	return catalog.AuthRequired, scopes, nil
}

// requirementScopes returns the scopes a requirement lists for its OAuth2 and OpenID
// Connect schemes, taken in scheme-name order, without duplicates. Other schemes add
// none: a token is required all the same.
func requirementScopes(req openapi3.SecurityRequirement, schemes openapi3.SecuritySchemes) ([]string, error) {
	var scopes []string
	seen := map[string]bool{}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(req)) {
		ref := schemes[name]
		if ref == nil || ref.Value == nil {
			errs = append(errs, fmt.Errorf("scheme %q is not defined in components.securitySchemes", name))
			continue
		}
		switch t := ref.Value.Type; t {
		case typeOAuth2, typeOpenIDConnect:
			for _, s := range req[name] {
				if !seen[s] {
					seen[s] = true
					scopes = append(scopes, s)
				}
			}
		case typeAPIKey, typeHTTP, typeMutualTLS:
		default:
			errs = append(errs, fmt.Errorf("components.securitySchemes.%s: type %q must be one of %s, %s, %s, %s or %s",
				name, t, typeAPIKey, typeHTTP, typeMutualTLS, typeOAuth2, typeOpenIDConnect))
		}
	}
	return scopes, errors.Join(errs...)
}

func securitySchemes(doc *openapi3.T) openapi3.SecuritySchemes {
	if doc.Components == nil {
		return nil
	}
	return doc.Components.SecuritySchemes
}
