package httpcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/tollgate/tollgate/authz"
)

// Headers of the nginx endpoint's denies. nginx passes only a 401 or 403 of an
// auth_request on, and never its body, so these carry what nginx.conf needs to answer
// the client as the other proxies do.
const (
	// ErrorHeader is the deny's stable code (the body's "error").
	ErrorHeader = "X-Tollgate-Error"
	// StatusHeader is the deny's real HTTP status: 400, 401, 403 or 404.
	StatusHeader = "X-Tollgate-Status"
	// BodyHeader is the deny's JSON body on one line, in ASCII.
	BodyHeader = "X-Tollgate-Body"
	// maxBodyHeader bounds BodyHeader: nginx refuses an auth answer whose headers
	// outgrow proxy_buffer_size (4 KiB by default).
	maxBodyHeader = 2048
)

// envoyRemoveHeader lists, on an allow, the request headers Envoy removes before the
// request goes upstream.
const envoyRemoveHeader = "x-envoy-auth-headers-to-remove"

// answerEnvoy answers Envoy's http_service: 200 with the headers for the upstream
// (allowed_upstream_headers) and the client-sent x-tollgate-* headers to remove; or
// the deny as the client must see it (allowed_client_headers, the body).
func answerEnvoy(w http.ResponseWriter, e authz.Evaluation) {
	if ok := e.Response.GetOkResponse(); ok != nil {
		if remove := ok.GetHeadersToRemove(); len(remove) > 0 {
			w.Header().Set(envoyRemoveHeader, strings.Join(remove, ","))
		}
	}
	answerForward(w, e)
}

// answerForward answers Traefik and Caddy: 200 with the identity headers they copy
// to the upstream (authResponseHeaders, copy_headers), or the deny, which they send
// to the client as it is.
func answerForward(w http.ResponseWriter, e authz.Evaluation) {
	if ok := e.Response.GetOkResponse(); ok != nil {
		setHeaders(w.Header(), ok.GetHeaders())
		w.WriteHeader(http.StatusOK)
		return
	}
	d := e.Response.GetDeniedResponse()
	writeDeny(w, d, denyStatus(d))
}

// answerNginx answers auth_request: 200 with the identity headers (auth_request_set
// reads them), or a deny nginx passes on, 401 or 403, with the real status, code and
// body in headers, since nginx drops the body. A failure of Tollgate's own is a 500,
// which nginx answers with 500 too.
func answerNginx(w http.ResponseWriter, e authz.Evaluation) {
	if ok := e.Response.GetOkResponse(); ok != nil {
		setHeaders(w.Header(), ok.GetHeaders())
		w.WriteHeader(http.StatusOK)
		return
	}
	d := e.Response.GetDeniedResponse()
	status := denyStatus(d)
	reason := e.Decision.Reason
	if reason == "" {
		reason = "access_denied"
	}
	h := w.Header()
	h.Set(ErrorHeader, reason)
	h.Set(StatusHeader, strconv.Itoa(status))
	h.Set(BodyHeader, headerBody(d.GetBody(), reason))
	switch {
	case status == http.StatusUnauthorized:
	case status >= 500:
		status = http.StatusInternalServerError
	default:
		status = http.StatusForbidden
	}
	writeDeny(w, d, status)
}

// denyStatus is the deny's HTTP status; a deny without one is 403, as in Envoy.
func denyStatus(d *authv3.DeniedHttpResponse) int {
	if code := int(d.GetStatus().GetCode()); code >= 400 && code <= 599 {
		return code
	}
	return http.StatusForbidden
}

func writeDeny(w http.ResponseWriter, d *authv3.DeniedHttpResponse, status int) {
	setHeaders(w.Header(), d.GetHeaders())
	w.WriteHeader(status)
	_, _ = w.Write([]byte(d.GetBody()))
}

// setHeaders sets Envoy's header options on an HTTP answer; the decision's headers
// were checked to be valid HTTP when it was made.
func setHeaders(h http.Header, opts []*corev3.HeaderValueOption) {
	for _, o := range opts {
		hv := o.GetHeader()
		v := hv.GetValue()
		if len(hv.GetRawValue()) > 0 {
			v = string(hv.GetRawValue())
		}
		h.Set(hv.GetKey(), v)
	}
}

// headerBody is a deny body fit for a header: compact JSON in ASCII (other
// characters as \u escapes, which JSON allows in strings, the only place they can
// be). A body that is not JSON, or too long, is replaced by {"error": reason}.
func headerBody(body, reason string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(body)) == nil {
		if s := asciiJSON(b.String()); len(s) <= maxBodyHeader {
			return s
		}
	}
	short, _ := json.Marshal(map[string]string{"error": reason})
	return asciiJSON(string(short))
}

func asciiJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// refuse answers a check that does not say what to check: a proxy misconfigured, or
// a request that did not come from the proxy. Every proxy turns it into a deny.
func refuse(w http.ResponseWriter, err error) {
	body, _ := json.Marshal(map[string]string{"error": "invalid_request", "error_description": err.Error()})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(body)
}
