package authz

import (
	"net/url"
	"strconv"
	"strings"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/tollgate/tollgate/authz/route"
	"github.com/tollgate/tollgate/authz/token"
)

// request is what Check reads of a CheckRequest, taken once.
type request struct {
	check   *authv3.CheckRequest
	http    *authv3.AttributeContext_HttpRequest
	headers map[string]string // lowercase names; repeated headers joined with ","
	api     string            // context_extensions "api", if the route names one
	size    headerSize        // of the header block as Envoy sent it
}

// headerSize measures a header block against the configured limits.
type headerSize struct {
	count int // header fields
	bytes int // names and values
}

func newRequest(req *authv3.CheckRequest) request {
	attrs := req.GetAttributes()
	h := attrs.GetRequest().GetHttp()
	r := request{
		check: req,
		http:  h,
		api:   attrs.GetContextExtensions()["api"],
	}
	r.headers, r.size = headersOf(h)
	return r
}

// parsed returns the parsed :path and its query (nil when it does not parse), only
// when the input is built, which a memoized decision does not need.
func (r request) parsed() (*url.URL, url.Values) {
	return parseURL(r.http.GetPath())
}

func parseURL(path string) (*url.URL, url.Values) {
	u, err := url.Parse(path)
	if err != nil {
		return nil, nil
	}
	if u.RawQuery == "" {
		return u, nil
	}
	return u, u.Query()
}

// headersOf returns the request headers and their size; when Envoy sends them as
// header_map (its encode_raw_headers option) they are merged into one map, as Envoy's
// headers field is.
func headersOf(h *authv3.AttributeContext_HttpRequest) (map[string]string, headerSize) {
	if len(h.GetHeaders()) > 0 || h.GetHeaderMap() == nil {
		size := headerSize{count: len(h.GetHeaders())}
		for k, v := range h.GetHeaders() {
			size.bytes += len(k) + len(v)
		}
		return h.GetHeaders(), size
	}
	out := make(map[string]string, len(h.GetHeaderMap().GetHeaders()))
	size := headerSize{count: len(h.GetHeaderMap().GetHeaders())}
	var repeated map[string][]string
	for _, hv := range h.GetHeaderMap().GetHeaders() {
		k := strings.ToLower(hv.GetKey())
		v := hv.GetValue()
		if v == "" {
			v = string(hv.GetRawValue())
		}
		size.bytes += len(k) + len(v)
		prev, seen := out[k]
		if !seen {
			out[k] = v
			continue
		}
		if repeated == nil {
			repeated = map[string][]string{}
		}
		if repeated[k] == nil {
			repeated[k] = []string{prev}
		}
		repeated[k] = append(repeated[k], v)
	}
	for k, vs := range repeated {
		out[k] = strings.Join(vs, ",")
	}
	return out, size
}

// queryToken reports an access_token parameter in the query, whatever its spelling,
// or an error for a query that does not decode and mentions one (token.InQuery).
func (r request) queryToken() (bool, *token.Error) {
	p := r.http.GetPath()
	i := strings.IndexByte(p, '?')
	if i < 0 {
		return false, nil
	}
	q := p[i+1:]
	if j := strings.IndexByte(q, '#'); j >= 0 {
		q = q[:j]
	}
	return token.InQuery(q)
}

var versionTerm = ast.MustParseTerm(`{"encoding": "protojson", "ext_authz": "v3"}`)

// input builds the policy's input document: OPA-Envoy's shape (the CheckRequest with
// protojson field names, parsed_path, parsed_query, parsed_body, version), plus
// peer (the calling workload's mTLS identity), route (when a resource matched), and
// token or token_error.
func input(r request, m route.Match, routed bool, id *token.Identity, terr *token.Error) ast.Value {
	parsedPath, parsedQuery := parsePath(r.parsed())
	body, truncated := parseBody(r.http, r.headers)
	obj := ast.NewObject(
		ast.Item(ast.StringTerm("attributes"), attributesTerm(r)),
		ast.Item(ast.StringTerm("parsed_path"), parsedPath),
		ast.Item(ast.StringTerm("parsed_query"), parsedQuery),
		ast.Item(ast.StringTerm("parsed_body"), body),
		ast.Item(ast.StringTerm("truncated_body"), ast.BooleanTerm(truncated)),
		ast.Item(ast.StringTerm("version"), versionTerm),
	)
	if peer := inputPeerTerm(r.check.GetAttributes().GetSource().GetPrincipal()); peer != nil {
		obj.Insert(ast.StringTerm("peer"), peer)
	}
	if routed {
		obj.Insert(ast.StringTerm("route"), routeTerm(m))
	}
	if id != nil {
		obj.Insert(ast.StringTerm("token"), ast.NewTerm(id.Value))
	}
	if terr != nil {
		obj.Insert(ast.StringTerm("token_error"), ast.ObjectTerm(
			ast.Item(ast.StringTerm("code"), ast.StringTerm(terr.Code)),
			ast.Item(ast.StringTerm("reason"), ast.StringTerm(terr.Reason)),
			ast.Item(ast.StringTerm("description"), ast.StringTerm(terr.Description)),
		))
	}
	return obj
}

func routeTerm(m route.Match) *ast.Term {
	params := ast.NewObject()
	for k, v := range m.Params {
		params.Insert(ast.StringTerm(k), ast.StringTerm(v))
	}
	return ast.ObjectTerm(
		ast.Item(ast.StringTerm("api"), ast.StringTerm(m.API)),
		ast.Item(ast.StringTerm("resource"), ast.StringTerm(m.Resource)),
		ast.Item(ast.StringTerm("path"), ast.StringTerm(m.Path)),
		ast.Item(ast.StringTerm("params"), ast.NewTerm(params)),
	)
}

// parsePath splits the path as OPA-Envoy does: url-decoded segments without the
// leading slash, and the query as {name: [values]}.
func parsePath(u *url.URL, q url.Values) (*ast.Term, *ast.Term) {
	if u == nil {
		return ast.ArrayTerm(), ast.ObjectTerm()
	}
	segs := strings.Split(strings.TrimLeft(u.Path, "/"), "/")
	terms := make([]*ast.Term, len(segs))
	for i, s := range segs {
		terms[i] = ast.StringTerm(s)
	}
	query := ast.NewObject()
	for k, vs := range q {
		vals := make([]*ast.Term, len(vs))
		for i, v := range vs {
			vals[i] = ast.StringTerm(v)
		}
		query.Insert(ast.StringTerm(k), ast.ArrayTerm(vals...))
	}
	return ast.ArrayTerm(terms...), ast.NewTerm(query)
}

// parseBody parses a JSON request body, when Envoy sent one (with_request_body). A body
// Envoy cut short is reported as truncated and not parsed.
func parseBody(h *authv3.AttributeContext_HttpRequest, headers map[string]string) (*ast.Term, bool) {
	body := h.GetBody()
	if body == "" || !strings.Contains(headers["content-type"], "application/json") {
		return ast.NullTerm(), false
	}
	if cl, err := strconv.ParseInt(headers["content-length"], 10, 64); err == nil && cl > int64(len(body)) {
		return ast.NullTerm(), true
	}
	var v any
	if err := util.UnmarshalJSON([]byte(body), &v); err != nil {
		return ast.NullTerm(), false
	}
	val, err := ast.InterfaceToValue(v)
	if err != nil {
		return ast.NullTerm(), false
	}
	return ast.NewTerm(val), false
}
