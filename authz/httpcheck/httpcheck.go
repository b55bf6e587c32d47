// Package httpcheck answers authorization checks over HTTP, for proxies that do not
// speak ext_authz gRPC: Envoy's HTTP ext_authz service, nginx auth_request, Traefik
// forwardAuth and Caddy forward_auth. Each endpoint reads the request its proxy asks
// about from that proxy's own headers, builds the CheckRequest Envoy would send,
// decides it with the same authz.Server as gRPC, and answers in the shape its proxy
// understands. An endpoint ignores the other proxies' headers, so a client cannot
// steer a decision by sending them.
package httpcheck

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/authz"
)

// The endpoints, one per proxy family.
const (
	// EnvoyPrefix is Envoy's http_service path_prefix: Envoy asks with the original
	// method, the original path after the prefix, and the original headers.
	EnvoyPrefix = "/ext_authz/envoy"
	// NginxPath is for nginx auth_request, which sends X-Original-Method and
	// X-Original-URI (set in nginx.conf) and the original Host.
	NginxPath = "/ext_authz/nginx"
	// ForwardPath is for Traefik forwardAuth and Caddy forward_auth, which send
	// X-Forwarded-Method, -Uri, -Host and -Proto.
	ForwardPath = "/ext_authz/forward"
)

// Handler serves the endpoints with srv's decisions. It routes by the request's raw
// path itself: http.ServeMux would redirect an Envoy check of an unclean path
// (/ext_authz/envoy/a/../b) instead of deciding it.
func Handler(srv *authz.Server, log *slog.Logger) http.Handler {
	envoyH, nginxH, forwardH := handle(srv, log, envoyMode), handle(srv, log, nginxMode), handle(srv, log, forwardMode)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch path := r.URL.EscapedPath(); {
		case path == NginxPath:
			nginxH(w, r)
		case path == ForwardPath:
			forwardH(w, r)
		case path == EnvoyPrefix || strings.HasPrefix(path, EnvoyPrefix+"/"):
			envoyH(w, r)
		default:
			http.Error(w, "not found: Tollgate's check endpoints are "+EnvoyPrefix+"/…, "+NginxPath+" and "+ForwardPath, http.StatusNotFound)
		}
	})
}

// handle decides one proxy's check: read the original request, decide, answer.
func handle(srv *authz.Server, log *slog.Logger, m mode) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, err := m.original(r)
		if err != nil {
			log.WarnContext(r.Context(), "check request refused: the proxy did not say what to check; is it configured as the README shows?",
				"endpoint", m.name, "error", err)
			refuse(w, err)
			return
		}
		e := srv.Evaluate(r.Context(), checkRequest(r, o))
		m.answer(w, e)
	}
}
