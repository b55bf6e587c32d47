package envoyconf

import (
	"slices"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	uritemplatev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/path/match/uri_template/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/tollgate/tollgate/authz"
)

// routeAt is a route with what applies to it from above, and its path in the file.
type routeAt struct {
	rt   *routev3.Route
	vh   *routev3.VirtualHost
	rc   *routev3.RouteConfiguration
	path string
}

// checkRoutes checks that a connection manager which routes to a protected cluster
// runs ext_authz and handles paths safely, and that no route turns ext_authz off where
// it must not.
func (c *bootstrap) checkRoutes(h hcmAt, filters []authzFilter) {
	switch {
	case h.m.GetRds() != nil:
		c.r.notef(field(h.path, "rds"), "routes come from RDS (%q), which is not checked", h.m.GetRds().GetRouteConfigName())
		c.requireGuards(h, filters, "its routes come from RDS and may reach any cluster")
		return
	case h.m.GetScopedRoutes() != nil:
		c.r.notef(field(h.path, "scoped_routes"), "scoped routes are not checked")
		c.requireGuards(h, filters, "its scoped routes may reach any cluster")
		return
	}
	var protected []string
	for _, r := range routes(h) {
		c.checkRouteClusters(r)
		p := c.protectedClusters(r.rt)
		protected = append(protected, p...)
		if len(p) > 0 && len(filters) > 0 {
			c.checkRoute(h, r, authzNames(filters))
		}
	}
	if len(protected) > 0 {
		c.requireGuards(h, filters, "it routes to "+quoted(protected))
	}
}

// requireGuards reports what a connection manager that may reach a protected cluster
// lacks: an ext_authz filter, and path handling that leaves the backend the path
// Tollgate judged.
func (c *bootstrap) requireGuards(h hcmAt, filters []authzFilter, why string) {
	if len(filters) == 0 {
		c.r.errorf(field(h.path, "http_filters"), "no envoy.filters.http.ext_authz filter, yet %s: requests reach the backend unchecked", why)
	}
	c.checkPathHandling(h)
}

// routes lists the connection manager's inline routes.
func routes(h hcmAt) []routeAt {
	rc := h.m.GetRouteConfig()
	rcPath := field(h.path, "route_config")
	var out []routeAt
	for vi, vh := range rc.GetVirtualHosts() {
		vp := index(field(rcPath, "virtual_hosts"), vi)
		for ri, rt := range vh.GetRoutes() {
			out = append(out, routeAt{rt: rt, vh: vh, rc: rc, path: index(field(vp, "routes"), ri)})
		}
	}
	return out
}

// checkRouteClusters checks that the clusters a route names are defined, as Envoy does
// for an inline route configuration unless validate_clusters is false.
func (c *bootstrap) checkRouteClusters(r routeAt) {
	if c.b.GetDynamicResources().GetCdsConfig() != nil || (r.rc.GetValidateClusters() != nil && !r.rc.GetValidateClusters().GetValue()) {
		return
	}
	a := r.rt.GetRoute()
	check := func(name, p string) {
		if _, ok := c.clusters[name]; !ok && name != "" {
			c.r.errorf(p, "cluster %q is not defined in static_resources.clusters", name)
		}
	}
	check(a.GetCluster(), field(r.path, "route.cluster"))
	for i, w := range a.GetWeightedClusters().GetClusters() {
		check(w.GetName(), field(index(field(r.path, "route.weighted_clusters.clusters"), i), "name"))
	}
}

// protectedClusters returns the clusters a route forwards to other than Tollgate's; a
// cluster picked at run time (cluster_header, a plugin) counts as protected.
func (c *bootstrap) protectedClusters(rt *routev3.Route) []string {
	a := rt.GetRoute()
	if a == nil {
		return nil
	}
	var names []string
	switch {
	case a.GetWeightedClusters() != nil:
		for _, w := range a.GetWeightedClusters().GetClusters() {
			names = append(names, w.GetName())
		}
	case a.GetClusterSpecifier() != nil && a.GetCluster() == "":
		return []string{"a cluster chosen at run time"}
	default:
		names = append(names, a.GetCluster())
	}
	return slices.DeleteFunc(names, func(n string) bool { return c.tollgate[n] })
}

// checkRoute checks a route to a protected cluster on which ext_authz may be off.
func (c *bootstrap) checkRoute(h hcmAt, r routeAt, names []string) {
	removed := r.removedHeaders()
	if !r.authzDisabled(names) {
		if dropped := intersect(authz.IdentityHeaders(), removed); len(dropped) > 0 {
			c.r.warnf(r.path, "request_headers_to_remove drops %s, which Tollgate sets for the backend: the router removes them after ext_authz has set them", quoted(dropped))
		}
		return
	}
	m := r.rt.GetMatch()
	if catchAll(m) {
		c.r.errorf(r.path, "ext_authz is disabled on a catch-all route: every request reaches the backend unchecked; disable it only on exact public paths")
	}
	forgeable := append(authz.IdentityHeaders(), authz.DecisionIDHeader)
	if missing := subtract(forgeable, removed); len(missing) > 0 {
		c.r.errorf(r.path, "ext_authz is disabled here, so a client's own %s reach the backend as if Tollgate had set them: add them to request_headers_to_remove", quoted(missing))
	}
	if m.GetPath() == "" && !h.m.GetNormalizePath().GetValue() {
		c.r.warnf(r.path, "ext_authz is disabled on a prefix or pattern while normalize_path is not true: a path such as /public/../admin matches it and reaches the backend unchecked")
	}
}

// authzDisabled reports whether every ext_authz filter is off on the route, for one of
// its weighted clusters at least.
func (r routeAt) authzDisabled(names []string) bool {
	levels := []map[string]*anypb.Any{r.rt.GetTypedPerFilterConfig(), r.vh.GetTypedPerFilterConfig(), r.rc.GetTypedPerFilterConfig()}
	for _, name := range names {
		off := disabledAt(name, levels)
		for _, w := range r.rt.GetRoute().GetWeightedClusters().GetClusters() {
			off = off || disabledAt(name, append([]map[string]*anypb.Any{w.GetTypedPerFilterConfig()}, levels...))
		}
		if !off {
			return false
		}
	}
	return true
}

// disabledAt reports whether the filter named name is off, given its per-filter
// configs from the most specific level to the least. As in Envoy, the most specific
// config decides whether the filter runs (a FilterConfig with disabled: true stops
// it), and the most specific ExtAuthzPerRoute whether it checks.
func disabledAt(name string, levels []map[string]*anypb.Any) bool {
	var decided, perRouteDecided bool
	for _, l := range levels {
		a, ok := l[name]
		if !ok {
			continue
		}
		var fc routev3.FilterConfig
		if unpack(a, &fc) {
			if !decided && fc.GetDisabled() {
				return true
			}
			a = fc.GetConfig()
		}
		decided = true
		var pr extauthzv3.ExtAuthzPerRoute
		if !perRouteDecided && unpack(a, &pr) {
			if pr.GetDisabled() {
				return true
			}
			perRouteDecided = true
		}
	}
	return false
}

// removedHeaders returns the request headers removed at the route, its virtual host or
// its route configuration, in lower case.
func (r routeAt) removedHeaders() []string {
	var out []string
	for _, list := range [][]string{r.rt.GetRequestHeadersToRemove(), r.vh.GetRequestHeadersToRemove(), r.rc.GetRequestHeadersToRemove()} {
		for _, h := range list {
			out = append(out, strings.ToLower(h))
		}
	}
	return out
}

// samplePaths are paths a route that matches every path must match.
var samplePaths = []string{"/", "/a", "/orders/42", "/admin/users", "/.env", "/x/y/z/w"}

// catchAll reports whether a route matches every path. Header and query matchers do
// not narrow it, since the client chooses them, except a :method matcher.
func catchAll(m *routev3.RouteMatch) bool {
	for _, h := range m.GetHeaders() {
		if h.GetName() == ":method" {
			return false
		}
	}
	switch {
	case m.GetPrefix() == "/" || m.GetPathSeparatedPrefix() == "/":
		return true
	case m.GetSafeRegex() != nil:
		return allMatch(m.GetSafeRegex().GetRegex())
	case m.GetPathMatchPolicy() != nil:
		var t uritemplatev3.UriTemplateMatchConfig
		return unpack(m.GetPathMatchPolicy().GetTypedConfig(), &t) && t.GetPathTemplate() == "/**"
	}
	_, isPrefix := m.GetPathSpecifier().(*routev3.RouteMatch_Prefix)
	return isPrefix && m.GetPrefix() == ""
}

func allMatch(expr string) bool {
	for _, p := range samplePaths {
		if !fullMatch(expr, p) {
			return false
		}
	}
	return true
}

// intersect returns the names of want that are in have; subtract those that are not.
func intersect(want, have []string) []string {
	return slices.DeleteFunc(want, func(n string) bool { return !slices.Contains(have, n) })
}

func subtract(want, have []string) []string {
	return slices.DeleteFunc(want, func(n string) bool { return slices.Contains(have, n) })
}
