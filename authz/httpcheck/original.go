package httpcheck

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/authz"
)

// original is the request a proxy asks about.
type original struct {
	method, path, host, scheme string
}

// mode is one proxy family: where it says what to check, and how it reads the answer.
type mode struct {
	name     string
	original func(*http.Request) (original, error)
	answer   func(http.ResponseWriter, authz.Evaluation)
}

var (
	envoyMode   = mode{name: "envoy", original: fromEnvoy, answer: answerEnvoy}
	nginxMode   = mode{name: "nginx", original: fromNginx, answer: answerNginx}
	forwardMode = mode{name: "forward", original: fromForward, answer: answerForward}
)

// steering are the headers that say what to check, of every mode. Each mode reads its
// own and drops them all from the headers the policy sees, so none can be forged.
var steering = map[string]bool{
	"x-original-method": true, "x-original-uri": true,
	"x-forwarded-method": true, "x-forwarded-uri": true,
}

// fromEnvoy reads Envoy's HTTP ext_authz check: the original method and headers, and
// the original path (with its query) after EnvoyPrefix.
func fromEnvoy(r *http.Request) (original, error) {
	path := strings.TrimPrefix(r.RequestURI, EnvoyPrefix)
	if path == "" || path[0] == '?' {
		path = "/" + path
	}
	return checked(original{method: r.Method, path: path, host: r.Host, scheme: r.Header.Get("X-Forwarded-Proto")}, "the path after "+EnvoyPrefix)
}

// fromNginx reads nginx auth_request's subrequest, whose method and path are the
// subrequest's own: nginx.conf passes the original ones in X-Original-*.
func fromNginx(r *http.Request) (original, error) {
	o := original{method: r.Header.Get("X-Original-Method"), path: r.Header.Get("X-Original-URI"), host: r.Host,
		scheme: r.Header.Get("X-Forwarded-Proto")}
	if o.method == "" || o.path == "" {
		return o, errors.New("X-Original-Method and X-Original-URI are required")
	}
	return checked(o, "X-Original-URI")
}

// fromForward reads Traefik forwardAuth's and Caddy forward_auth's X-Forwarded-*.
func fromForward(r *http.Request) (original, error) {
	h := r.Header
	o := original{method: h.Get("X-Forwarded-Method"), path: h.Get("X-Forwarded-Uri"), host: h.Get("X-Forwarded-Host"),
		scheme: h.Get("X-Forwarded-Proto")}
	if o.method == "" || o.path == "" || o.host == "" {
		return o, errors.New("X-Forwarded-Method, X-Forwarded-Uri and X-Forwarded-Host are required")
	}
	return checked(o, "X-Forwarded-Uri")
}

// checked refuses an original request no proxy would send: a method that is not an
// HTTP token, or a path that is not in origin form.
func checked(o original, pathFrom string) (original, error) {
	if !isToken(o.method) {
		return o, fmt.Errorf("method %q is not an HTTP method", o.method)
	}
	if !strings.HasPrefix(o.path, "/") {
		return o, fmt.Errorf("%s %q does not start with /", pathFrom, o.path)
	}
	return o, nil
}

// isToken reports an RFC 9110 token of at most 32 characters.
func isToken(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
