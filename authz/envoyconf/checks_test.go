package envoyconf

import (
	"fmt"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	uritemplatev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/path/match/uri_template/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCatchAll(t *testing.T) {
	template := func(tmpl string) *routev3.RouteMatch {
		a := mustAny(t, &uritemplatev3.UriTemplateMatchConfig{PathTemplate: tmpl})
		return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_PathMatchPolicy{PathMatchPolicy: &corev3.TypedExtensionConfig{Name: "t", TypedConfig: a}}}
	}
	regex := func(re string) *routev3.RouteMatch {
		return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: re}}}
	}
	prefix := func(p string) *routev3.RouteMatch {
		return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: p}}
	}
	tests := []struct {
		name  string
		match *routev3.RouteMatch
		want  bool
	}{
		{"prefix /", prefix("/"), true},
		{"empty prefix", prefix(""), true},
		{"prefix /orders", prefix("/orders"), false},
		{"exact path", &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: "/"}}, false},
		{"path-separated prefix", &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_PathSeparatedPrefix{PathSeparatedPrefix: "/orders"}}, false},
		{"regex .*", regex(".*"), true},
		{"regex /.*", regex("/.*"), true},
		{"regex /.+", regex("/.+"), false},
		{"regex /orders/.*", regex("/orders/.*"), false},
		{"bad regex", regex("("), false},
		{"template /**", template("/**"), true},
		{"template /orders/**", template("/orders/**"), false},
		{"prefix / with a header the client chooses", &routev3.RouteMatch{
			PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
			Headers:       []*routev3.HeaderMatcher{{Name: "x-public"}}}, true},
		{"prefix / for OPTIONS only", &routev3.RouteMatch{
			PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
			Headers:       []*routev3.HeaderMatcher{{Name: ":method"}}}, false},
		{"CONNECT", &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_ConnectMatcher_{ConnectMatcher: &routev3.RouteMatch_ConnectMatcher{}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := catchAll(tt.match); got != tt.want {
				t.Errorf("catchAll = %v; want %v", got, tt.want)
			}
		})
	}
}

// disabledAt follows Envoy: the most specific per-filter config decides whether the
// filter runs, the most specific ExtAuthzPerRoute whether it checks.
func TestDisabledAt(t *testing.T) {
	const name = "envoy.filters.http.ext_authz"
	off := mustAny(t, &extauthzv3.ExtAuthzPerRoute{Override: &extauthzv3.ExtAuthzPerRoute_Disabled{Disabled: true}})
	on := mustAny(t, &extauthzv3.ExtAuthzPerRoute{Override: &extauthzv3.ExtAuthzPerRoute_CheckSettings{CheckSettings: &extauthzv3.CheckSettings{}}})
	filterOff := mustAny(t, &routev3.FilterConfig{Disabled: true})
	wrappedOff := mustAny(t, &routev3.FilterConfig{Config: off})
	level := func(a *anypb.Any) map[string]*anypb.Any { return map[string]*anypb.Any{name: a} }
	none := map[string]*anypb.Any{}
	tests := []struct {
		name   string
		levels []map[string]*anypb.Any // route, virtual host, route configuration
		want   bool
	}{
		{"nothing", []map[string]*anypb.Any{none, none, none}, false},
		{"off on the route", []map[string]*anypb.Any{level(off), none, none}, true},
		{"off on the virtual host", []map[string]*anypb.Any{none, level(off), none}, true},
		{"off on the host, on for the route", []map[string]*anypb.Any{level(on), level(off), none}, false},
		{"on for the host, off on the route", []map[string]*anypb.Any{level(off), level(on), none}, true},
		{"FilterConfig disabled on the configuration", []map[string]*anypb.Any{none, none, level(filterOff)}, true},
		{"FilterConfig disabled, a route config above it", []map[string]*anypb.Any{level(on), none, level(filterOff)}, false},
		{"ExtAuthzPerRoute inside a FilterConfig", []map[string]*anypb.Any{level(wrappedOff), none, none}, true},
		{"another filter's key", []map[string]*anypb.Any{{"other": off}, none, none}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := disabledAt(name, tt.levels); got != tt.want {
				t.Errorf("disabledAt = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		m    *matcherv3.StringMatcher
		s    string
		want bool
	}{
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "authorization"}}, "authorization", true},
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "Authorization"}}, "authorization", false},
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "Authorization"}, IgnoreCase: true}, "authorization", true},
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: "x-tollgate-"}}, "x-tollgate-api", true},
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Suffix{Suffix: "-api"}}, "x-tollgate-api", true},
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Contains{Contains: "tollgate"}}, "x-tollgate-api", true},
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: "x-tollgate-.*"}}}, "x-tollgate-api", true},
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: "tollgate"}}}, "x-tollgate-api", false},
	}
	for _, tt := range tests {
		if got := matches(tt.m, tt.s); got != tt.want {
			t.Errorf("matches(%v, %q) = %v; want %v", tt.m, tt.s, got, tt.want)
		}
	}
}

func TestServiceHost(t *testing.T) {
	tests := []struct{ in, name, ns string }{
		{"tollgate.tollgate.svc.cluster.local", "tollgate", "tollgate"},
		{"tollgate.auth.svc", "tollgate", "auth"},
		{"auth/tollgate.auth.svc.cluster.local", "tollgate", "auth"},
		{"tollgate", "tollgate", ""},
	}
	for _, tt := range tests {
		if name, ns := serviceHost(tt.in); name != tt.name || ns != tt.ns {
			t.Errorf("serviceHost(%q) = %q, %q; want %q, %q", tt.in, name, ns, tt.name, tt.ns)
		}
	}
}

func TestIstioHeaderMatch(t *testing.T) {
	tests := []struct {
		patterns []string
		want     bool
	}{
		{[]string{"x-tollgate-*"}, true},
		{[]string{"X-Tollgate-Api"}, true},
		{[]string{"*-api"}, true},
		{[]string{"*"}, true},
		{[]string{"x-tollgate-app*", "authorization"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := istioHeaderMatch(tt.patterns, "x-tollgate-api"); got != tt.want {
			t.Errorf("istioHeaderMatch(%q) = %v; want %v", tt.patterns, got, tt.want)
		}
	}
}

// validate writes files (name → content) to a temporary directory and validates them
// together; reports, findings and their messages name the files as given.
func validate(t *testing.T, files map[string]string) []Report {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, dir+"/"+name, content)
	}
	reports, err := ValidateFiles([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range reports {
		reports[i].File = strings.TrimPrefix(reports[i].File, dir+"/")
		for j := range reports[i].Findings {
			f := &reports[i].Findings[j]
			f.File = reports[i].File
			f.Message = strings.ReplaceAll(f.Message, dir+"/", "")
		}
	}
	return reports
}

const istioConfigMap = `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    pathNormalization: {normalization: MERGE_SLASHES}
    extensionProviders:
      - name: tollgate
        envoyExtAuthzGrpc: {service: tollgate.tollgate.svc.cluster.local, port: 9191, failOpen: FAIL_OPEN}
`

const customPolicy = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: tollgate, namespace: shop}
spec:
  action: CUSTOM
  provider: {name: tollgate}
  rules: [{}]
`

// The mesh config may also come from the istio ConfigMap's mesh key, and a policy in
// another file may use its providers.
func TestIstioConfigMap(t *testing.T) {
	for _, failOpen := range []string{"false", "true"} {
		reports := validate(t, map[string]string{
			"mesh.yaml":   strings.Replace(istioConfigMap, "FAIL_OPEN", failOpen, 1),
			"policy.yaml": customPolicy,
		})
		got := findings(reports[0]) + findings(reports[1])
		const want = "mesh.yaml: documents[0](ConfigMap istio-system/istio).data.mesh.extensionProviders[0].envoyExtAuthzGrpc.failOpen: is true"
		switch {
		case failOpen == "false" && got != "":
			t.Errorf("failOpen false: want no finding; got\n%s", got)
		case failOpen == "true" && !strings.Contains(got, want):
			t.Errorf("failOpen true: no finding %q among\n%s", want, got)
		}
	}
}

// A mesh config with an ext_authz provider must have its sidecars merge "//"; one
// without such a provider is not Tollgate's to judge.
func TestIstioPathNormalization(t *testing.T) {
	const (
		merging = "    pathNormalization: {normalization: MERGE_SLASHES}\n"
		at      = "mesh.yaml: documents[0](ConfigMap istio-system/istio).data.mesh.pathNormalization"
		tracing = "    extensionProviders:\n      - name: zipkin\n        zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}\n"
	)
	authz := strings.Replace(istioConfigMap, "FAIL_OPEN", "false", 1)
	tests := []struct {
		name, with, want string // want: "" for a file that passes
		tracingOnly      bool
	}{
		{name: "MERGE_SLASHES", with: merging},
		{name: "DECODE_AND_MERGE_SLASHES", with: "    pathNormalization: {normalization: DECODE_AND_MERGE_SLASHES}\n"},
		{name: "unset", want: at + `: is not set, and Istio's default is BASE`},
		{name: "no normalization given", with: "    pathNormalization: {}\n", want: at + `.normalization: is DEFAULT, Istio's default, BASE`},
		{name: "DEFAULT", with: "    pathNormalization: {normalization: DEFAULT}\n", want: at + `.normalization: is DEFAULT, Istio's default, BASE`},
		{name: "NONE", with: "    pathNormalization: {normalization: NONE}\n", want: at + `.normalization: is NONE, which forwards paths as sent`},
		{name: "BASE", with: "    pathNormalization: {normalization: BASE}\n", want: at + `.normalization: is BASE, which resolves dot segments but keeps "//"`},
		{name: "unknown number", with: "    pathNormalization: {normalization: 9}\n", want: at + `.normalization: is 9, which is no normalization Istio knows`},
		{name: "BASE without an ext_authz provider", with: "    pathNormalization: {normalization: BASE}\n", tracingOnly: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mesh := strings.Replace(authz, merging, tt.with, 1)
			if tt.tracingOnly {
				mesh = mesh[:strings.Index(mesh, "    extensionProviders:")] + tracing
			}
			r := validate(t, map[string]string{"mesh.yaml": mesh})[0]
			got := findings(r)
			switch {
			case tt.want == "" && !r.OK():
				t.Errorf("want the file to pass; got\n%s", got)
			case tt.want != "" && (r.OK() || !strings.Contains(got, tt.want) || !strings.Contains(got, "(path confusion)")):
				t.Errorf("no error %q (path confusion) among\n%s", tt.want, got)
			}
		})
	}
}

// What cannot be checked is said, not failed.
func TestNotes(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"dynamic resources", `{dynamic_resources: {lds_config: {ads: {}}}}`, "dynamic_resources: note: what comes from xDS"},
		{"policy without a mesh config", customPolicy, `spec.provider.name: note: no mesh config`},
		{"kind not checked", "{apiVersion: v1, kind: Secret, metadata: {name: s}}", "documents[0](Secret s): note: not checked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validate(t, map[string]string{"f.yaml": tt.file})[0]
			if !r.OK() || !strings.Contains(findings(r), tt.want) {
				t.Errorf("want an ok file with %q; got\n%s", tt.want, findings(r))
			}
		})
	}
}

const rdsBootstrap = `static_resources:
  listeners:
    - name: l
      address: {socket_address: {address: 0.0.0.0, port_value: 80}}
      filter_chains:
        - filters:
            - name: hcm
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: l
                rds: {route_config_name: r, config_source: {ads: {}}}
                http_filters:
                  - name: router
                    typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
    - name: t
      address: {socket_address: {address: 0.0.0.0, port_value: 81}}
      filter_chains:
        - filters:
            - name: tcp
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: t
                cluster: backend
`

// Routes from RDS may reach anything, so their connection manager needs ext_authz and
// safe path handling; a TCP proxy to a backend passes no HTTP filter.
func TestRoutesNotInTheFile(t *testing.T) {
	r := validate(t, map[string]string{"envoy.yaml": rdsBootstrap})[0]
	got := findings(r)
	for _, want := range []string{
		"listeners[0].filter_chains[0].filters[0].typed_config.rds: note: routes come from RDS",
		"listeners[0].filter_chains[0].filters[0].typed_config.http_filters: no envoy.filters.http.ext_authz filter, yet its routes come from RDS",
		"listeners[0].filter_chains[0].filters[0].typed_config.normalize_path: is not set",
		"listeners[0].filter_chains[0].filters[0].typed_config.merge_slashes: is not true",
		"listeners[0].filter_chains[0].filters[0].typed_config.path_with_escaped_slashes_action: is not set",
		`listeners[1].filter_chains[0].filters[0].typed_config: warning: tcp_proxy to cluster "backend"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no finding %q among\n%s", want, got)
		}
	}
}

func TestSpeaksHTTP2(t *testing.T) {
	const options = `"typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
		"@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", %s}}`
	tests := []struct {
		name, cluster string
		want          bool
	}{
		{"explicit HTTP/2", fmt.Sprintf(options, `"explicit_http_config": {"http2_protocol_options": {}}`), true},
		{"ALPN", fmt.Sprintf(options, `"auto_config": {}`), true},
		{"explicit HTTP/1.1", fmt.Sprintf(options, `"explicit_http_config": {"http_protocol_options": {}}`), false},
		{"the deprecated field", `"http2_protocol_options": {}`, true},
		{"nothing", `"name": "c"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cl clusterv3.Cluster
			if err := protojson.Unmarshal([]byte("{"+tt.cluster+"}"), &cl); err != nil {
				t.Fatal(err)
			}
			if got := speaksHTTP2(&cl); got != tt.want {
				t.Errorf("speaksHTTP2 = %v; want %v", got, tt.want)
			}
		})
	}
}
