// Package openapi imports an OpenAPI 3.0 or 3.1 document as a catalog API: one resource
// per operation, protected by the scopes the operation's security requirement names.
//
// Only what authorization needs is read: the version, info.title, servers, the
// operations of each path, their security requirements and the security schemes they
// name. Webhooks, callbacks and per-path or per-operation servers are ignored.
// References to other documents are refused, never fetched or read.
package openapi

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/tollgate/tollgate/authz/catalog"
)

// methods are the operations of an OpenAPI 3.0 or 3.1 path item.
var methods = []string{
	http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete,
	http.MethodOptions, http.MethodHead, http.MethodPatch, http.MethodTrace,
}

var versionPattern = regexp.MustCompile(`^3\.[01]\.[0-9]+$`)

// Import turns an OpenAPI 3.0 or 3.1 document, YAML or JSON, into a catalog API.
// name and context, when not empty, set the API's name and context path; otherwise the
// name comes from info.title and the context from the path of the first server's URL.
// Each operation becomes a resource under the context, sorted by path then method. The
// result passes the catalog's validation; errors say where in the document they are.
func Import(raw []byte, name, context string) (catalog.API, error) {
	doc, err := load(raw)
	if err != nil {
		return catalog.API{}, err
	}
	if name == "" {
		if name, err = nameFromTitle(doc.Info); err != nil {
			return catalog.API{}, err
		}
	}
	if context, err = apiContext(context, doc.Servers); err != nil {
		return catalog.API{}, err
	}
	ops, err := operations(doc, context)
	if err != nil {
		return catalog.API{}, err
	}
	api := catalog.API{Name: name, Context: context, Resources: make([]catalog.Resource, len(ops))}
	for i, op := range ops {
		api.Resources[i] = op.resource
	}
	if err := check(api, ops); err != nil {
		return catalog.API{}, err
	}
	return api, nil
}

// load parses the document, refusing versions other than 3.0.x and 3.1.x and any
// reference to another document.
func load(raw []byte) (*openapi3.T, error) {
	// A first, generic decode refuses a key given twice anywhere, which JSON decoders
	// settle silently (the last one wins), leaving an operation's security to a guess.
	// It also reads the version, so that Swagger 2.0 and other versions are refused by
	// name rather than by the first error their different structure would cause.
	var top map[string]any
	if err := yaml.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("read OpenAPI document: %w", err)
	}
	if err := checkVersion(top["swagger"], top["openapi"]); err != nil {
		return nil, err
	}
	// A new loader refuses references to other documents (IsExternalRefsAllowed is
	// false and no ReadFromURIFunc is set): it never reads a file or a URL.
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("read OpenAPI document: %w", err)
	}
	return doc, nil
}

// checkVersion accepts the values of the swagger and openapi keys of an OpenAPI 3.0 or
// 3.1 document.
func checkVersion(swagger, openapi any) error {
	if swagger != nil {
		return fmt.Errorf("swagger: %v: this is a Swagger 2.0 document; convert it to OpenAPI 3 first", swagger)
	}
	v, ok := openapi.(string)
	switch {
	case openapi == nil:
		return errors.New("openapi: missing; this is not an OpenAPI 3 document")
	case !ok:
		return fmt.Errorf("openapi: %v must be a version string such as \"3.1.0\"", openapi)
	case !versionPattern.MatchString(v):
		return fmt.Errorf("openapi: version %q is not supported; Tollgate imports OpenAPI 3.0.x and 3.1.x", v)
	}
	return nil
}

// operation is one resource with where its operation is in the document.
type operation struct {
	resource catalog.Resource
	where    string // paths./orders/{id}.get
}

// operations returns a resource for each operation of each path, sorted by path then
// method, with every problem found.
func operations(doc *openapi3.T, context string) ([]operation, error) {
	var ops []operation
	var errs []error
	for _, p := range doc.Paths.Keys() {
		found, err := pathOperations(doc, p, context)
		ops = append(ops, found...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(ops) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("paths: the document has no operations to import"))
	}
	slices.SortFunc(ops, func(a, b operation) int {
		return cmp.Or(strings.Compare(a.resource.Path, b.resource.Path),
			strings.Compare(a.resource.Method, b.resource.Method))
	})
	return ops, errors.Join(errs...)
}

// pathOperations returns the resources of the operations of path p.
func pathOperations(doc *openapi3.T, p, context string) ([]operation, error) {
	if err := checkPath(p); err != nil {
		return nil, fmt.Errorf("paths.%s: %w", p, err)
	}
	item := doc.Paths.Value(p)
	if item == nil {
		return nil, nil
	}
	var ops []operation
	var errs []error
	for _, m := range methods {
		op := item.GetOperation(m)
		if op == nil {
			continue
		}
		where := "paths." + p + "." + strings.ToLower(m)
		auth, scopes, err := security(op.Security, doc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		r := catalog.Resource{Method: m, Path: join(context, p), Scopes: scopes, Auth: auth}
		ops = append(ops, operation{resource: r, where: where})
	}
	return ops, errors.Join(errs...)
}

// checkPath refuses what an OpenAPI path cannot mean under a context: a path that is
// not absolute, and '*', which is a literal in OpenAPI but a wildcard in a template.
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("a path must start with /")
	}
	if strings.Contains(p, "*") {
		return errors.New("'*' cannot be imported: it is a literal in OpenAPI but a wildcard in Tollgate")
	}
	return nil
}

// join puts an OpenAPI path under the context; the path / is the context itself.
func join(context, p string) string {
	switch {
	case p == "/":
		return context
	case context == "/":
		return p
	}
	return context + p
}
