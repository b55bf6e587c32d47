package envoyconf

import (
	"slices"
	"strings"

	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
)

// authzFilter is an ext_authz HTTP filter of a connection manager.
type authzFilter struct {
	name  string // its name, the key of its per-route configs
	index int    // its place in http_filters
	path  string
	cfg   *extauthzv3.ExtAuthz
}

// authzFilters returns the ext_authz filters of a connection manager, found by the
// type of their typed_config, whatever they are named.
func authzFilters(h hcmAt) []authzFilter {
	var out []authzFilter
	for i, f := range h.m.GetHttpFilters() {
		var cfg extauthzv3.ExtAuthz
		if unpack(f.GetTypedConfig(), &cfg) {
			out = append(out, authzFilter{name: f.GetName(), index: i, path: index(field(h.path, "http_filters"), i), cfg: &cfg})
		}
	}
	return out
}

// collectTollgateClusters records the clusters the connection manager's ext_authz
// filters call, so that routes to them are not taken for protected ones.
func (c *bootstrap) collectTollgateClusters(h hcmAt) {
	for _, f := range authzFilters(h) {
		if name := serviceCluster(f.cfg); name != "" {
			c.tollgate[name] = true
		}
	}
	for _, s := range perRouteSettings(h.m.GetRouteConfig(), field(h.path, "route_config")) {
		if name := serviceCluster(s.cfg); name != "" {
			c.tollgate[name] = true
		}
	}
}

// checkHCM checks one HTTP connection manager: its filters' order, every ext_authz
// filter's configuration, and that each route to a protected cluster meets one.
func (c *bootstrap) checkHCM(h hcmAt) {
	filters := authzFilters(h)
	c.checkFilterOrder(h, filters)
	for _, f := range filters {
		c.checkAuthz(f)
	}
	for _, s := range perRouteSettings(h.m.GetRouteConfig(), field(h.path, "route_config")) {
		c.checkService(s.cfg, s.path)
	}
	c.checkRoutes(h, filters)
}

// checkFilterOrder checks that every filter names its implementation, that the router
// is last, as Envoy requires, and that no ext_authz filter comes after it, where it
// would never run.
func (c *bootstrap) checkFilterOrder(h hcmAt, filters []authzFilter) {
	fp := field(h.path, "http_filters")
	router := -1
	for i, f := range h.m.GetHttpFilters() {
		switch {
		case f.GetConfigDiscovery() != nil:
			c.r.notef(index(fp, i), "filter %q comes from ECDS (config_discovery), which is not checked", f.GetName())
		case f.GetTypedConfig() == nil:
			c.r.errorf(index(fp, i), "filter %q has no typed_config: Envoy finds a filter's implementation by the type of its typed_config", f.GetName())
		case f.GetTypedConfig().MessageIs(&routerv3.Router{}) && router < 0:
			router = i
		}
	}
	n := len(h.m.GetHttpFilters())
	switch {
	case router < 0:
		c.r.errorf(fp, "no envoy.filters.http.router: Envoy needs it last, to send requests upstream")
	case router != n-1:
		c.r.errorf(index(fp, router), "the router must be the last HTTP filter; Envoy refuses filters after it")
	}
	for _, f := range filters {
		if router >= 0 && f.index > router {
			c.r.errorf(f.path, "ext_authz %q comes after the router, so it never runs: put it before envoy.filters.http.router", f.name)
		}
		if h.m.GetHttpFilters()[f.index].GetDisabled() {
			c.r.errorf(field(f.path, "disabled"), "ext_authz %q is disabled by default: it runs only on routes that enable it, and every other route is unchecked", f.name)
		}
	}
}

// authzNames are the names of the ext_authz filters, the keys of their per-route configs.
func authzNames(filters []authzFilter) []string {
	names := make([]string, len(filters))
	for i, f := range filters {
		names[i] = f.name
	}
	return names
}

// quoted lists names for a message: "a", "b".
func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `"` + n + `"`
	}
	slices.Sort(q)
	return strings.Join(slices.Compact(q), ", ")
}
