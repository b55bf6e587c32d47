package admin

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// openAPIDoc is the part of an OpenAPI document the tests read.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas    map[string]json.RawMessage `json:"schemas"`
		Parameters map[string]json.RawMessage `json:"parameters"`
		Responses  map[string]json.RawMessage `json:"responses"`
	} `json:"components"`
}

// operationMethods are the keys of an OpenAPI path item that are operations.
var operationMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func TestOpenAPIDocumentDescribesEveryRoute(t *testing.T) {
	f := newFixture(t, nil)
	r := f.doWith(nil, "GET", openAPIPath, "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s without a token: %d %s", openAPIPath, r.status, r.header.Get("Content-Type"))
	}
	var doc openAPIDoc
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(doc.OpenAPI) {
		t.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	served := map[string]bool{}
	for _, rt := range f.h.routes() {
		op := strings.ToLower(rt.method) + " " + rt.path
		served[op] = true
		if _, ok := doc.Paths[rt.path][strings.ToLower(rt.method)]; !ok {
			t.Errorf("route %s %s is not described", rt.method, rt.path)
		}
	}
	for path, item := range doc.Paths {
		for method := range item {
			if slices.Contains(operationMethods, method) && !served[method+" "+path] {
				t.Errorf("%s %s is described but not served", method, path)
			}
		}
	}
}

// TestOpenAPIReferencesResolve checks that every $ref names a component that exists.
func TestOpenAPIReferencesResolve(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]map[string]json.RawMessage{
		"schemas": doc.Components.Schemas, "parameters": doc.Components.Parameters, "responses": doc.Components.Responses,
	}
	refs := regexp.MustCompile(`"\$ref":\s*"([^"]*)"`).FindAllStringSubmatch(string(openAPIDocument), -1)
	if len(refs) == 0 {
		t.Fatal("no $ref found")
	}
	for _, m := range refs {
		kind, name, ok := strings.Cut(strings.TrimPrefix(m[1], "#/components/"), "/")
		if _, found := kinds[kind][name]; !ok || !found {
			t.Errorf("$ref %q does not resolve", m[1])
		}
	}
}

// TestOpenAPIPathParameters checks that each path declares exactly its wildcards.
func TestOpenAPIPathParameters(t *testing.T) {
	var doc struct {
		Paths map[string]struct {
			Parameters []struct {
				Ref string `json:"$ref"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	wildcard := regexp.MustCompile(`\{([a-z_]+)\}`)
	for path, item := range doc.Paths {
		var want, got []string
		for _, m := range wildcard.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		for _, p := range item.Parameters {
			got = append(got, strings.TrimPrefix(p.Ref, "#/components/parameters/"))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: parameters %q, want %q", path, got, want)
		}
	}
}
