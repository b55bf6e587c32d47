package route

import (
	"errors"
	"fmt"
	"strings"
)

// API is what the router needs of an API.
type API struct {
	Name string
	// Context is a literal path; the API is chosen by the longest context that is a
	// whole-segment prefix of the path.
	Context string
	// Hosts restricts the API to these lowercase hosts; empty matches any host.
	Hosts     []string
	Resources []Resource
}

// Resource is what the router needs of a resource.
type Resource struct {
	// ID is the resource's key, reported in a Match.
	ID     string
	Method string
	// Path is the template, absolute and under the API's context.
	Path   string
	Public bool
}

// Match is the API resource a request matched.
type Match struct {
	API      string
	Resource string
	Public   bool
	// Path is the normalised request path.
	Path string
	// Params holds the template's {param} values, and "*" for the rest of the path.
	Params map[string]string
}

// Router matches requests to resources. It is immutable once compiled and safe for
// concurrent use.
type Router struct {
	byName    map[string]*api
	byContext map[string][]*api
	depth     int // segments of the deepest context
}

type api struct {
	name    string
	hosts   []string
	methods map[string]*node
}

// Compile builds a router and rejects bad templates, resources outside their API's
// context, duplicate resources and APIs that no request could tell apart.
func Compile(apis []API) (*Router, error) {
	r := &Router{byName: map[string]*api{}, byContext: map[string][]*api{}}
	var errs []error
	for i, a := range apis {
		where := fmt.Sprintf("apis[%d] %q", i, a.Name)
		if _, dup := r.byName[a.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: another API has this name", where))
			continue
		}
		compiled, err := compileAPI(a, where)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := r.checkOverlap(a, apis, where); err != nil {
			errs = append(errs, err)
		}
		r.byName[a.Name] = compiled
		r.depth = max(r.depth, strings.Count(contextKey(a.Context), "/"))
		ctx := contextKey(a.Context)
		r.byContext[ctx] = append(r.byContext[ctx], compiled)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

func compileAPI(a API, where string) (*api, error) {
	ctxSegs, err := parseTemplate(a.Context)
	if err != nil {
		return nil, fmt.Errorf("%s: context: %w", where, err)
	}
	for _, s := range ctxSegs {
		if s.kind != literal || s.text == "" {
			return nil, fmt.Errorf("%s: context %q must be a literal path without a trailing slash", where, a.Context)
		}
	}
	compiled := &api{name: a.Name, hosts: a.Hosts, methods: map[string]*node{}}
	var errs []error
	for j, res := range a.Resources {
		if err := compiled.add(res, ctxSegs); err != nil {
			errs = append(errs, fmt.Errorf("%s: resources[%d] %q: %w", where, j, res.ID, err))
		}
	}
	return compiled, errors.Join(errs...)
}

func (a *api) add(res Resource, ctxSegs []segment) error {
	segs, err := parseTemplate(res.Path)
	if err != nil {
		return err
	}
	if !underContext(segs, ctxSegs) {
		return errors.New("path is not under the API's context")
	}
	root := a.methods[res.Method]
	if root == nil {
		root = &node{}
		a.methods[res.Method] = root
	}
	names := make([]string, 0, len(segs))
	for _, s := range segs {
		switch s.kind {
		case param:
			names = append(names, s.text)
		case wildcard:
			names = append(names, "*")
		}
	}
	if len(names) > maxParams {
		return fmt.Errorf("template has %d parameters; at most %d", len(names), maxParams)
	}
	l := &leaf{id: res.ID, public: res.Public, params: names}
	if prev := root.insert(segs, l); prev != nil {
		return fmt.Errorf("duplicates resource %q (same method and path shape)", prev.id)
	}
	return nil
}

func underContext(segs, ctxSegs []segment) bool {
	if len(segs) < len(ctxSegs) {
		return false
	}
	for i, c := range ctxSegs {
		if segs[i].kind != literal || segs[i].text != c.text {
			return false
		}
	}
	return true
}

// checkOverlap refuses an API that shares its context with an earlier one on a host
// both could serve: no request could tell them apart.
func (r *Router) checkOverlap(a API, apis []API, where string) error {
	for _, other := range r.byContext[contextKey(a.Context)] {
		if hostsOverlap(a.Hosts, other.hosts) {
			for j := range apis {
				if apis[j].Name == other.name {
					return fmt.Errorf("%s: context %q and hosts overlap with apis[%d] %q", where, a.Context, j, other.name)
				}
			}
		}
	}
	return nil
}

func hostsOverlap(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	for _, h := range a {
		for _, g := range b {
			if h == g {
				return true
			}
		}
	}
	return false
}

func contextKey(ctx string) string {
	return strings.TrimSuffix(ctx, "/")
}

// Match finds the resource for a request whose host is in Host's form and whose path
// is in Normalize's form. apiName, when not empty, selects the API directly (Envoy's
// per-route context_extensions); otherwise the host and the longest matching context
// choose it. The result is false when nothing matches.
func (r *Router) Match(apiName, host, method, path string) (Match, bool) {
	a := r.pick(apiName, host, path)
	if a == nil {
		return Match{}, false
	}
	root := a.methods[method]
	if root == nil {
		return Match{}, false
	}
	var buf [maxParams]string
	l, vals := root.match(path, 0, buf[:0])
	if l == nil {
		return Match{}, false
	}
	m := Match{API: a.name, Resource: l.id, Public: l.public, Path: path}
	if len(l.params) > 0 {
		m.Params = make(map[string]string, len(l.params))
		for i, name := range l.params {
			m.Params[name] = vals[i]
		}
	}
	return m, true
}

func (r *Router) pick(apiName, host, path string) *api {
	if apiName != "" {
		return r.byName[apiName]
	}
	// Try contexts from the deepest one the path can hold down to "/" (the empty key).
	for end := prefixEnd(path, r.depth); ; {
		ctx := path[:end]
		if ctx == "/" {
			ctx = ""
		}
		if a := chooseHost(r.byContext[ctx], host); a != nil {
			return a
		}
		if end == 0 {
			return nil
		}
		end = strings.LastIndexByte(path[:end], '/')
		if end < 0 {
			end = 0
		}
	}
}

// prefixEnd returns the length of the path's first n segments.
func prefixEnd(path string, n int) int {
	if n == 0 {
		return 0
	}
	for i := 1; i < len(path); i++ {
		if path[i] == '/' {
			if n--; n == 0 {
				return i
			}
		}
	}
	return len(path)
}

// chooseHost prefers an API bound to the request's host over one that takes any host.
func chooseHost(apis []*api, host string) *api {
	var anyHost *api
	for _, a := range apis {
		if len(a.hosts) == 0 {
			anyHost = a
			continue
		}
		for _, h := range a.hosts {
			if h == host {
				return a
			}
		}
	}
	return anyHost
}
