package envoyconf

import (
	"fmt"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/tollgate/tollgate/authz"
	"github.com/tollgate/tollgate/authz/httpcheck"
)

// authzService is where an ext_authz filter, or a route's check_settings, sends checks.
type authzService interface {
	GetGrpcService() *corev3.GrpcService
	GetHttpService() *extauthzv3.HttpService
}

// serviceCluster returns the cluster an ext_authz service calls.
func serviceCluster(s authzService) string {
	if g := s.GetGrpcService(); g != nil {
		return g.GetEnvoyGrpc().GetClusterName()
	}
	return s.GetHttpService().GetServerUri().GetCluster()
}

// checkAuthz checks one ext_authz filter's configuration for ways past Tollgate.
func (c *bootstrap) checkAuthz(f authzFilter) {
	p := field(f.path, "typed_config")
	cfg := f.cfg
	if cfg.GetFailureModeAllow() {
		c.r.errorf(field(p, "failure_mode_allow"), "is true: when Tollgate cannot be reached or times out, requests go to the backend unchecked; set it to false")
	}
	if cfg.GetShadowMode() {
		c.r.errorf(field(p, "shadow_mode"), "is true: Tollgate's denies are only recorded, never enforced")
	}
	if v := cfg.GetTransportApiVersion(); v != corev3.ApiVersion_V3 && cfg.GetGrpcService() != nil {
		c.r.errorf(field(p, "transport_api_version"), "is %s: Tollgate serves envoy.service.auth.v3 only; set V3", v)
	}
	c.checkEnabled(cfg, p)
	c.checkService(cfg, p)
	c.checkRequestHeaders(cfg, p)
}

// checkEnabled refuses a filter that runs for only part of the requests and lets the
// rest through.
func (c *bootstrap) checkEnabled(cfg *extauthzv3.ExtAuthz, p string) {
	denyRest := cfg.GetDenyAtDisable().GetDefaultValue().GetValue()
	if fe := cfg.GetFilterEnabled(); fe != nil && !denyRest {
		if pct := percent(fe.GetDefaultValue()); pct < 100 {
			c.r.errorf(field(p, "filter_enabled"), "ext_authz runs for %g%% of requests and lets the others through unchecked; remove filter_enabled (or set deny_at_disable to deny them)", pct)
		}
	}
	if cfg.GetFilterEnabledMetadata() != nil && !denyRest {
		c.r.warnf(field(p, "filter_enabled_metadata"), "ext_authz runs only for requests whose metadata matches; the others go through unchecked unless deny_at_disable is true")
	}
}

// percent returns a fractional percent as a percentage, at most 100.
func percent(f *typev3.FractionalPercent) float64 {
	denominator := map[typev3.FractionalPercent_DenominatorType]float64{
		typev3.FractionalPercent_HUNDRED:      100,
		typev3.FractionalPercent_TEN_THOUSAND: 10_000,
		typev3.FractionalPercent_MILLION:      1_000_000,
	}[f.GetDenominator()]
	return min(100, 100*float64(f.GetNumerator())/denominator)
}

// checkService checks that the filter calls a cluster that exists and can carry its
// checks to Tollgate.
func (c *bootstrap) checkService(s authzService, p string) {
	switch {
	case s.GetGrpcService() != nil:
		g := s.GetGrpcService()
		gp := field(p, "grpc_service")
		if g.GetGoogleGrpc() != nil {
			c.r.notef(field(gp, "google_grpc"), "target %q is not checked: use envoy_grpc to name a cluster this file defines", g.GetGoogleGrpc().GetTargetUri())
			return
		}
		c.checkTollgateCluster(g.GetEnvoyGrpc().GetClusterName(), field(field(gp, "envoy_grpc"), "cluster_name"), true)
	case s.GetHttpService() != nil:
		hp := field(p, "http_service")
		if pp := s.GetHttpService().GetPathPrefix(); pp != httpcheck.EnvoyPrefix {
			c.r.errorf(field(hp, "path_prefix"), "is %q: Tollgate answers Envoy's HTTP checks under %s only, and 404 elsewhere, which denies every request", pp, httpcheck.EnvoyPrefix)
		}
		c.checkTollgateCluster(s.GetHttpService().GetServerUri().GetCluster(), field(field(hp, "server_uri"), "cluster"), false)
		c.checkUpstreamHeaders(s.GetHttpService(), hp)
	default:
		c.r.errorf(p, "ext_authz names no authorization service: set grpc_service to reach Tollgate's gRPC listener (or http_service)")
	}
}

// checkTollgateCluster checks the cluster an ext_authz service calls: named, defined,
// speaking HTTP/2 for gRPC, and reaching Tollgate's gRPC port when it is known.
func (c *bootstrap) checkTollgateCluster(name, p string, grpc bool) {
	if name == "" {
		c.r.errorf(p, "is empty: ext_authz has no cluster to call, so every request fails with status_on_error")
		return
	}
	cl, ok := c.clusters[name]
	switch {
	case !ok && c.b.GetDynamicResources().GetCdsConfig() != nil:
		c.r.notef(p, "cluster %q is not in static_resources.clusters; it may come from CDS, which is not checked", name)
		return
	case !ok:
		c.r.errorf(p, "cluster %q is not defined in static_resources.clusters", name)
		return
	}
	if c.checked[name] {
		return
	}
	c.checked[name] = true
	if grpc && !speaksHTTP2(cl.c) {
		c.r.errorf(cl.path, "cluster %q carries ext_authz gRPC but does not speak HTTP/2: set typed_extension_protocol_options with HttpProtocolOptions explicit_http_config.http2_protocol_options", name)
	}
	if grpc && c.grpcPort != 0 {
		c.checkPorts(cl, c.grpcPort, c.grpcFrom, "gRPC")
	}
	if !grpc && c.tollgateFile != "" {
		c.checkHTTPPort(cl)
	}
	if grpc && c.grpcTLS != nil {
		c.checkTransport(cl)
	}
}

// checkTransport checks that the cluster speaks to Tollgate's gRPC listener as it
// listens: TLS when it serves TLS, with a client certificate when it requires one,
// and plaintext when it serves plaintext. A mismatch fails every handshake, so every
// request gets status_on_error.
func (c *bootstrap) checkTransport(cl clusterAt) {
	var tls tlsv3.UpstreamTlsContext
	ts := cl.c.GetTransportSocket()
	hasTLS := ts != nil && unpack(ts.GetTypedConfig(), &tls)
	p := field(cl.path, "transport_socket")
	switch {
	case c.grpcTLS.On() && !hasTLS:
		c.r.errorf(p, "cluster %q speaks plaintext, but Tollgate's grpc listener serves TLS (grpc.tls in %s): add an envoy.transport_sockets.tls UpstreamTlsContext", cl.c.GetName(), c.tollgateFile)
	case !c.grpcTLS.On() && hasTLS:
		c.r.errorf(p, "cluster %q speaks TLS, but Tollgate's grpc listener serves plaintext (no grpc.tls in %s)", cl.c.GetName(), c.tollgateFile)
	case c.grpcTLS.ClientCAFile != "" && hasTLS && len(tls.GetCommonTlsContext().GetTlsCertificates()) == 0 &&
		len(tls.GetCommonTlsContext().GetTlsCertificateSdsSecretConfigs()) == 0 && tls.GetCommonTlsContext().GetTlsCertificateProviderInstance() == nil:
		c.r.errorf(field(field(p, "typed_config"), "common_tls_context"), "cluster %q presents no client certificate, but Tollgate's grpc listener requires one (grpc.tls.client_ca_file in %s): add tls_certificates", cl.c.GetName(), c.tollgateFile)
	}
}

// checkHTTPPort checks that the cluster of an HTTP service reaches Tollgate's check
// listener.
func (c *bootstrap) checkHTTPPort(cl clusterAt) {
	if c.check == "" {
		c.r.errorf(cl.path, "cluster %q calls Tollgate's HTTP check endpoints, but check.address of %s is empty: they are off", cl.c.GetName(), c.tollgateFile)
		return
	}
	if port, from := portOf(c.check, "check.address", c.tollgateFile); port != 0 {
		c.checkPorts(cl, port, from, "check")
	}
}

// checkPorts checks that every endpoint of Tollgate's cluster is at the port of the
// listener it calls.
func (c *bootstrap) checkPorts(cl clusterAt, want uint32, from, listener string) {
	la := cl.c.GetLoadAssignment()
	if la == nil {
		c.r.notef(cl.path, "cluster %q has no load_assignment (its endpoints come from EDS): its port is not checked", cl.c.GetName())
		return
	}
	for ei, e := range la.GetEndpoints() {
		for li, lb := range e.GetLbEndpoints() {
			port := lb.GetEndpoint().GetAddress().GetSocketAddress().GetPortValue()
			if port == want {
				continue
			}
			p := fmt.Sprintf("%s.load_assignment.endpoints[%d].lb_endpoints[%d].endpoint.address.socket_address.port_value", cl.path, ei, li)
			c.r.errorf(p, "port %d is not Tollgate's %s port %d (%s)", port, listener, want, from)
		}
	}
}

// checkRequestHeaders warns when the filter keeps the Authorization header from
// Tollgate, which then denies every protected request for want of a token. An HTTP
// service always gets it.
func (c *bootstrap) checkRequestHeaders(cfg *extauthzv3.ExtAuthz, p string) {
	const name = "authorization"
	if allowed := cfg.GetAllowedHeaders(); allowed != nil && cfg.GetGrpcService() != nil && !listMatches(allowed, name) {
		c.r.warnf(field(p, "allowed_headers"), "does not let the authorization header through: Tollgate never sees a token")
	}
	if listMatches(cfg.GetDisallowedHeaders(), name) {
		c.r.warnf(field(p, "disallowed_headers"), "keeps the authorization header from Tollgate: it never sees a token")
	}
}

// checkUpstreamHeaders warns when an HTTP service's answer cannot set the identity
// headers: Envoy copies to the request only the headers allowed_upstream_headers match.
func (c *bootstrap) checkUpstreamHeaders(s *extauthzv3.HttpService, p string) {
	allowed := s.GetAuthorizationResponse().GetAllowedUpstreamHeaders()
	var missing []string
	for _, h := range authz.IdentityHeaders() {
		if !listMatches(allowed, h) {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		c.r.warnf(field(field(p, "authorization_response"), "allowed_upstream_headers"), "does not match %s: the backend never gets them from Tollgate (match the prefix %q)", quoted(missing), authz.IdentityHeaderPrefix)
	}
}
