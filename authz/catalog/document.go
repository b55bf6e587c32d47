package catalog

import "github.com/tollgate/tollgate/authz/route"

// Router compiles the catalog's APIs into a route.Router. Its errors say which API and
// resource is wrong.
func (c *Catalog) Router() (*route.Router, error) {
	apis := make([]route.API, len(c.APIs))
	for i, a := range c.APIs {
		res := make([]route.Resource, len(a.Resources))
		for j, r := range a.Resources {
			res[j] = route.Resource{ID: r.ID(), Method: r.Method, Path: r.Path, Public: r.Auth == AuthNone}
		}
		apis[i] = route.API{Name: a.Name, Context: a.Context, Hosts: a.Hosts, Resources: res}
	}
	return route.Compile(apis)
}

// Document renders the catalog as the OPA data document under data.tollgate, keyed for
// lookups so the policy never scans a list:
//
//	apis[name]                    {name, context, hosts, resources: {"METHOD path": {method, path, scopes, auth}}}
//	applications[name]            {name, client_ids: [{issuer, client_id, environment}]}
//	client_ids[issuer][client_id] {application, environment}
//	subscriptions[app][api]       {status}
//
// The document is read only: parts of it are shared, and OPA's store takes it as it is.
func (c *Catalog) Document() map[string]any {
	apis := make(map[string]any, len(c.APIs))
	for _, a := range c.APIs {
		res := make(map[string]any, len(a.Resources))
		for _, r := range a.Resources {
			res[r.ID()] = map[string]any{
				"method": r.Method,
				"path":   r.Path,
				"scopes": anySlice(r.Scopes),
				"auth":   r.Auth,
			}
		}
		apis[a.Name] = map[string]any{
			"name":      a.Name,
			"context":   a.Context,
			"hosts":     anySlice(a.Hosts),
			"resources": res,
		}
	}
	apps := make(map[string]any, len(c.Applications))
	clientIDs := map[string]any{}
	for _, app := range c.Applications {
		ids := make([]any, len(app.ClientIDs))
		for i, b := range app.ClientIDs {
			ids[i] = map[string]any{"issuer": b.Issuer, "client_id": b.ClientID, "environment": b.Environment}
			byIssuer, _ := clientIDs[b.Issuer].(map[string]any)
			if byIssuer == nil {
				byIssuer = map[string]any{}
				clientIDs[b.Issuer] = byIssuer
			}
			byIssuer[b.ClientID] = map[string]any{"application": app.Name, "environment": b.Environment}
		}
		apps[app.Name] = map[string]any{"name": app.Name, "client_ids": ids}
	}
	subs := map[string]any{}
	// One {status} object per status, shared by every subscription that has it: there
	// are few statuses and many subscriptions, and the document is never written to.
	statuses := map[string]map[string]any{}
	for _, s := range c.Subscriptions {
		byApp, _ := subs[s.Application].(map[string]any)
		if byApp == nil {
			byApp = map[string]any{}
			subs[s.Application] = byApp
		}
		doc, ok := statuses[s.Status]
		if !ok {
			doc = map[string]any{"status": s.Status}
			statuses[s.Status] = doc
		}
		byApp[s.API] = doc
	}
	return map[string]any{
		"apis":          apis,
		"applications":  apps,
		"client_ids":    clientIDs,
		"subscriptions": subs,
	}
}

func anySlice(in []string) []any {
	out := make([]any, len(in))
	for i, s := range in {
		out[i] = s
	}
	return out
}
