package envoyconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/authz/config"
)

// edit turns a sample's text into a broken copy.
type edit func(t *testing.T, s string) string

// replace replaces the first from of a sample by to; from must be there, so that a
// change to the samples cannot leave a case testing nothing.
func replace(from, to string) edit {
	return func(t *testing.T, s string) string {
		t.Helper()
		if !strings.Contains(s, from) {
			t.Fatalf("the sample no longer has %q", from)
		}
		return strings.Replace(s, from, to, 1)
	}
}

// cut removes the text from the start of from up to the start of upto.
func cut(from, upto string) edit {
	return func(t *testing.T, s string) string {
		t.Helper()
		i, j := strings.Index(s, from), strings.Index(s, upto)
		if i < 0 || j < i {
			t.Fatalf("the sample no longer has %q before %q", from, upto)
		}
		return s[:i] + s[j:]
	}
}

const (
	hcm         = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config."
	extAuthz    = hcm + "http_filters[1].typed_config."
	authzLine   = "                  - name: envoy.filters.http.ext_authz\n"
	router      = "                  - name: envoy.filters.http.router\n"
	routerBlock = router + "                    typed_config:\n" +
		"                      \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n"
	catchAllRoute = "        - match: {prefix: /}\n                          route: {cluster: backend}\n"
	disabled      = "                          typed_per_filter_config:\n" +
		"                            envoy.filters.http.ext_authz:\n" +
		"                              \"@type\": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute\n" +
		"                              disabled: true\n"
	normalizePath   = "                normalize_path: true\n"
	mergeSlashes    = "                merge_slashes: true\n"
	escapedSlashes  = "                path_with_escaped_slashes_action: REJECT_REQUEST\n"
	istioMeshConfig = "documents[0](IstioOperator istio-system/tollgate).spec.meshConfig"
	istioPolicy     = "istio/authorization-policy.yaml"
	istioMesh       = "istio/mesh.yaml"
	istioApp        = "istio/tollgate.yaml"
	configMap       = "documents[3](ConfigMap tollgate/tollgate).data"
	istioStore      = "istio/tollgate-sts.yaml"
	storeConfig     = `documents[4](ConfigMap tollgate/tollgate-sts).data["config.yaml"]`
	stsIssuer       = "      issuer: http://tollgate-sts.tollgate.svc.cluster.local:8080   # CHANGE if so\n"
)

// Copies of the samples broken on purpose are refused, by a finding that names the
// problem and where it is.
func TestBrokenSamplesRejected(t *testing.T) {
	tests := []struct {
		name     string
		file     string // under envoy/
		edit     edit
		want     string // in one finding of the file
		severity Severity
		tollgate bool // validate with examples/gitops.yaml as Tollgate's configuration
	}{
		{name: "unknown field", file: "envoy.yaml", edit: replace("stat_prefix: api", "stat_prefx: api"),
			want: hcm + `stat_prefx: unknown field "stat_prefx"`},
		{name: "unknown field in a per-route config", file: "envoy.yaml", edit: replace("check_settings:", "check_setings:"),
			want: `routes[1].typed_per_filter_config["envoy.filters.http.ext_authz"].check_setings: unknown field`},
		{name: "unknown field in the TLS context", file: "envoy-mtls.yaml", edit: replace("sni: tollgate.internal", "snii: tollgate.internal"),
			want: `static_resources.clusters[1].transport_socket.typed_config.snii: unknown field "snii"`},
		{name: "unknown @type", file: "envoy.yaml", edit: replace("ext_authz.v3.ExtAuthz\n", "ext_authz.v3.ExtAuthorization\n"),
			want: extAuthz + `@type: unknown type "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthorization"`},
		{name: "value of the wrong kind", file: "envoy.yaml", edit: replace("timeout: 0.5s", "timeout: 5"),
			want: extAuthz + `grpc_service.timeout: not a valid google.protobuf.Duration (a string such as "0.5s" or "1m")`},
		{name: "empty ext_authz cluster", file: "envoy.yaml", edit: replace("cluster_name: tollgate}", `cluster_name: ""}`),
			want: extAuthz + "grpc_service.envoy_grpc.cluster_name: is empty"},
		{name: "undefined ext_authz cluster", file: "envoy.yaml", edit: replace("cluster_name: tollgate}", "cluster_name: tollgat}"),
			want: `grpc_service.envoy_grpc.cluster_name: cluster "tollgat" is not defined`},
		{name: "empty HTTP service cluster", file: "envoy-http.yaml", edit: replace("cluster: tollgate_check", `cluster: ""`),
			want: "http_service.server_uri.cluster: is empty"},
		{name: "failure_mode_allow true", file: "envoy.yaml", edit: replace("failure_mode_allow: false", "failure_mode_allow: true"),
			want: extAuthz + "failure_mode_allow: is true"},
		{name: "failure_mode_allow true over HTTP", file: "envoy-http.yaml", edit: replace("failure_mode_allow: false", "failure_mode_allow: true"),
			want: "failure_mode_allow: is true"},
		{name: "shadow mode", file: "envoy.yaml", edit: replace("failure_mode_allow: false\n", "failure_mode_allow: false\n                      shadow_mode: true\n"),
			want: extAuthz + "shadow_mode: is true"},
		{name: "filter enabled for half the requests", file: "envoy.yaml",
			edit: replace("failure_mode_allow: false\n", "failure_mode_allow: false\n                      filter_enabled: {default_value: {numerator: 50, denominator: HUNDRED}}\n"),
			want: extAuthz + "filter_enabled: ext_authz runs for 50% of requests"},
		{name: "transport API v2", file: "envoy.yaml", edit: replace("transport_api_version: V3", "transport_api_version: V2"),
			want: extAuthz + "transport_api_version: is V2"},
		{name: "ext_authz after the router", file: "envoy.yaml", edit: replace(authzLine, routerBlock+authzLine),
			want: hcm + "http_filters[2]: ext_authz \"envoy.filters.http.ext_authz\" comes after the router"},
		{name: "router not last", file: "envoy.yaml", edit: replace(authzLine, routerBlock+authzLine),
			want: hcm + "http_filters[1]: the router must be the last HTTP filter"},
		{name: "no ext_authz", file: "envoy.yaml", edit: cut(authzLine, router),
			want: hcm + `http_filters: no envoy.filters.http.ext_authz filter, yet it routes to "backend"`},
		{name: "ext_authz disabled by default", file: "envoy.yaml", edit: replace(authzLine, authzLine+"                    disabled: true\n"),
			want: extAuthz[:len(extAuthz)-len("typed_config.")] + "disabled: ext_authz \"envoy.filters.http.ext_authz\" is disabled by default"},
		{name: "ext_authz disabled on the catch-all route", file: "envoy.yaml", edit: replace(catchAllRoute, catchAllRoute+disabled),
			want: hcm + "route_config.virtual_hosts[0].routes[2]: ext_authz is disabled on a catch-all route"},
		{name: "ext_authz disabled on the virtual host", file: "envoy-http.yaml",
			edit: replace("                      typed_per_filter_config:\n", "                      typed_per_filter_config:\n"+
				"                        envoy.filters.http.ext_authz:\n"+
				"                          \"@type\": type.googleapis.com/envoy.config.route.v3.FilterConfig\n"+
				"                          disabled: true\n"),
			want: "routes[1]: ext_authz is disabled on a catch-all route"},
		{name: "public route keeps identity headers", file: "envoy.yaml",
			edit: replace("request_headers_to_remove:\n                            - x-tollgate-api\n", "request_headers_to_remove:\n"),
			want: hcm + `route_config.virtual_hosts[0].routes[0]: ext_authz is disabled here, so a client's own "x-tollgate-api" reach the backend`},
		{name: "route to an undefined cluster", file: "envoy.yaml", edit: replace(catchAllRoute, strings.Replace(catchAllRoute, "backend", "backnd", 1)),
			want: `routes[2].route.cluster: cluster "backnd" is not defined`},
		{name: "negative timeout", file: "envoy.yaml", edit: replace("timeout: 0.5s", "timeout: -1s"),
			want: extAuthz + "grpc_service.timeout: is negative"},
		{name: "PGV: empty cluster name", file: "envoy.yaml", edit: replace("  - name: backend\n", `  - name: ""`+"\n"),
			want: "static_resources.clusters[0].name: value length must be at least 1 runes"},
		{name: "PGV: zero connect timeout", file: "envoy.yaml", edit: replace("connect_timeout: 1s", "connect_timeout: 0s"),
			want: "static_resources.clusters[1].connect_timeout: value must be greater than 0s"},
		{name: "PGV inside a typed config", file: "envoy.yaml", edit: replace("{code: ServiceUnavailable}", "{code: 42}"),
			want: extAuthz + "status_on_error.code: value must be one of the defined enum values"},
		{name: "gRPC cluster without HTTP/2", file: "envoy.yaml", edit: replace("http2_protocol_options: {}", "http_protocol_options: {}"),
			want: `static_resources.clusters[1]: cluster "tollgate" carries ext_authz gRPC but does not speak HTTP/2`},
		{name: "ext_authz cluster on another port", file: "envoy.yaml", tollgate: true, edit: replace("port_value: 9191}", "port_value: 9192}"),
			want: "static_resources.clusters[1].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: port 9192 is not Tollgate's gRPC port 9191"},
		{name: "two documents", file: "envoy.yaml", edit: replace("static_resources:", "{}\n---\nstatic_resources:"),
			want: "2 YAML documents"},
		{name: "not YAML", file: "envoy.yaml", edit: replace("static_resources:", "static_resources: ["),
			want: "YAML: "},
		{name: "identity headers not copied from an HTTP answer", file: "envoy-http.yaml", severity: Warning,
			edit: replace("- prefix: x-tollgate-", "- exact: x-tollgate-api"),
			want: `allowed_upstream_headers: warning: does not match "x-tollgate-application"`},
		{name: "deprecated field", file: "envoy.yaml", severity: Warning, edit: replace("      domains:", "      cors: {}\n                      domains:"),
			want: "route_config.virtual_hosts[0].cors: warning: deprecated"},
		{name: "normalize_path false", file: "envoy.yaml", edit: replace("normalize_path: true", "normalize_path: false"),
			want: hcm + "normalize_path: is false: a path such as /docs/../admin is passed on unresolved, and Tollgate and the backend may read it as different paths (path confusion); set normalize_path: true"},
		{name: "normalize_path missing", file: "envoy.yaml", edit: replace(normalizePath, ""),
			want: hcm + "normalize_path: is not set, and Envoy's default (runtime key http_connection_manager.normalize_path) is false"},
		{name: "normalize_path missing over HTTP", file: "envoy-http.yaml", edit: replace(normalizePath, ""),
			want: hcm + "normalize_path: is not set"},
		{name: "merge_slashes missing", file: "envoy.yaml", edit: replace(mergeSlashes, ""),
			want: hcm + `merge_slashes: is not true (Envoy's default is false): a path such as /docs//admin is passed on with its "//", and Tollgate and the backend may read it as different paths (path confusion); set merge_slashes: true`},
		{name: "merge_slashes false", file: "envoy-mtls.yaml", edit: replace("merge_slashes: true", "merge_slashes: false"),
			want: hcm + "merge_slashes: is not true"},
		{name: "escaped slashes kept", file: "envoy.yaml", edit: replace("path_with_escaped_slashes_action: REJECT_REQUEST", "path_with_escaped_slashes_action: KEEP_UNCHANGED"),
			want: hcm + "path_with_escaped_slashes_action: is KEEP_UNCHANGED: %2F and %5C are passed on encoded, and Tollgate and the backend may read it as different paths (path confusion); set REJECT_REQUEST"},
		{name: "escaped slashes left to Envoy's default", file: "envoy.yaml", edit: replace(escapedSlashes, ""),
			want: hcm + "path_with_escaped_slashes_action: is not set, and Envoy's default is KEEP_UNCHANGED"},
		{name: "escaped slashes IMPLEMENTATION_SPECIFIC_DEFAULT", file: "envoy-http.yaml",
			edit: replace("path_with_escaped_slashes_action: REJECT_REQUEST", "path_with_escaped_slashes_action: IMPLEMENTATION_SPECIFIC_DEFAULT"),
			want: hcm + "path_with_escaped_slashes_action: is not set, and Envoy's default is KEEP_UNCHANGED"},
		{name: "Istio pathNormalization unset", file: istioMesh, edit: cut("    pathNormalization:\n", "    extensionProviders:"),
			want: istioMeshConfig + `.pathNormalization: is not set, and Istio's default is BASE, which resolves dot segments but keeps "//"`},
		{name: "Istio pathNormalization NONE", file: istioMesh, edit: replace("normalization: DECODE_AND_MERGE_SLASHES", "normalization: NONE"),
			want: istioMeshConfig + ".pathNormalization.normalization: is NONE, which forwards paths as sent"},
		{name: "Istio pathNormalization BASE", file: istioMesh, edit: replace("normalization: DECODE_AND_MERGE_SLASHES", "normalization: BASE"),
			want: istioMeshConfig + `.pathNormalization.normalization: is BASE, which resolves dot segments but keeps "//": a path such as /docs//admin reaches Tollgate and the workload with its "//", and Tollgate and the backend may read it as different paths (path confusion); set pathNormalization: {normalization: DECODE_AND_MERGE_SLASHES} (or MERGE_SLASHES)`},
		{name: "Istio failOpen true", file: istioMesh, edit: replace("failOpen: false", "failOpen: true"),
			want: istioMeshConfig + ".extensionProviders[0].envoyExtAuthzGrpc.failOpen: is true"},
		{name: "Istio unknown field in the mesh config", file: istioMesh, edit: replace("failOpen: false", "failOpn: false"),
			want: `envoyExtAuthzGrpc.failOpn: unknown field "failOpn"`},
		{name: "CUSTOM policy naming a provider that does not exist", file: istioPolicy, edit: replace("name: tollgate    ", "name: tollgat     "),
			want: `documents[0](AuthorizationPolicy shop/tollgate).spec.provider.name: provider "tollgat" is not among the mesh config's extensionProviders (tollgate)`},
		{name: "CUSTOM policy without rules", file: istioPolicy, edit: replace("  rules:\n    - {}\n", ""),
			want: "spec.rules: is empty"},
		{name: "Istio unknown field in a policy", file: istioPolicy, edit: replace("action: CUSTOM", "acton: CUSTOM"),
			want: `spec.acton: unknown field "acton"`},
		{name: "Istio unknown top-level field", file: istioPolicy, edit: replace("spec:", "spek:"),
			want: `spek: unknown field "spek" of AuthorizationPolicy`},
		{name: "Istio wrong API", file: istioPolicy, edit: replace("security.istio.io/v1", "networking.istio.io/v1"),
			want: `apiVersion: "networking.istio.io/v1" is not an API version of AuthorizationPolicy`},
		{name: "provider port not on the Service", file: istioMesh, edit: replace("port: 9191", "port: 9190"),
			want: "envoyExtAuthzGrpc.port: Service tollgate/tollgate"},
		{name: "Service leads elsewhere than Tollgate's gRPC port", file: istioApp, edit: replace("targetPort: 9191", "targetPort: 9192"),
			want: `documents[5](Service tollgate/tollgate).spec.ports[0].targetPort: 9192 is not Tollgate's gRPC port 9191`},
		{name: "Service port Istio takes for plain TCP", file: istioApp, severity: Warning,
			edit: replace("{name: grpc, port: 9191, targetPort: 9191, appProtocol: grpc}", "{name: api, port: 9191, targetPort: 9191}"),
			want: "spec.ports[0]: warning: port 9191 carries ext_authz gRPC"},
		{name: "Tollgate configuration with an unknown key", file: istioApp, edit: replace(`    policies: policies`, `    policy: policies`),
			want: configMap + `["config.yaml"]: yaml: unmarshal errors: line 12: unknown key "policy"`},
		{name: "Tollgate data that does not load", file: istioApp, edit: replace("{application: shop-web, api: orders", "{application: shop-web, api: payments"),
			want: configMap + `["data.yaml"]: subscriptions[0] shop-web -> payments: unknown API "payments"`},
		{name: "Tollgate policy that does not compile", file: istioApp, edit: replace("decision := denied if failure", "decision := denied if failur"),
			want: configMap + ": compile policies"},
		{name: "store-mode policy that does not compile", file: istioStore, edit: replace("decision := denied if failure", "decision := denied if failur"),
			want: "documents[4](ConfigMap tollgate/tollgate-sts).data: compile policies"},
		{name: "store-mode configuration with data too", file: istioStore, edit: replace("    policies: policies", "    policies: policies\n    data: data.yaml"),
			want: storeConfig + ": data: set data: or store:, not both"},
		{name: "store on the ConfigMap's volume", file: istioStore, severity: Warning,
			edit: replace("path: /var/lib/tollgate/tollgate.db", "path: tollgate.db"),
			want: storeConfig + `.store.path: warning: "tollgate.db" is relative`},
		{name: "STS issuer on localhost", file: istioStore, severity: Warning,
			edit: replace(stsIssuer, "      issuer: http://localhost:8080\n"),
			want: storeConfig + `.sts.issuer: warning: "http://localhost:8080" names each pod itself`},
		{name: "STS issuer left to its default", file: istioStore, severity: Warning, edit: replace(stsIssuer, ""),
			want: storeConfig + `.sts.issuer: warning: "http://localhost:8080" names each pod itself`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copySamples(t)
			path := filepath.Join(dir, tt.file)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, tt.edit(t, string(raw)))
			var opts Options
			if tt.tollgate {
				if opts.TollgateConfig, err = config.Load("../../examples/gitops.yaml"); err != nil {
					t.Fatal(err)
				}
			}
			reports, err := ValidateFiles([]string{dir}, opts)
			if err != nil {
				t.Fatal(err)
			}
			r := reportOf(t, reports, path)
			if !hasFinding(r, tt.severity, tt.want) {
				t.Errorf("no %s containing %q among:\n%s", tt.severity, tt.want, findings(r))
			}
			if r.OK() != (tt.severity != Error) {
				t.Errorf("OK() = %v with %s findings", r.OK(), tt.severity)
			}
		})
	}
}

// copySamples copies envoy/ to a temporary directory: the Istio files are checked
// together, so one broken file is validated with the others.
func copySamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := filepath.WalkDir(samples, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(samples, path)
		writeFile(t, filepath.Join(dir, rel), string(raw))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func reportOf(t *testing.T, reports []Report, file string) Report {
	t.Helper()
	for _, r := range reports {
		if r.File == file {
			return r
		}
	}
	t.Fatalf("no report for %s", file)
	return Report{}
}

func hasFinding(r Report, s Severity, want string) bool {
	for _, f := range r.Findings {
		if f.Severity == s && strings.Contains(f.String(), want) {
			return true
		}
	}
	return false
}

func findings(r Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}
