package sts

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// maxClientIDBytes bounds a client ID; longer ones are refused before any lookup.
const maxClientIDBytes = 256

// clientAuth is the credentials a request authenticates its client with (RFC 6749
// section 2.3.1).
type clientAuth struct {
	id, secret string
}

// readClientAuth takes the client's credentials from the Authorization header
// (client_secret_basic) or the form (client_secret_post), never both. The returned
// error is the OAuth error to answer with.
func readClientAuth(r *http.Request, form url.Values) (clientAuth, *oauthError) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return formAuth(form)
	}
	if form.Has("client_secret") {
		return clientAuth{}, errRequest("use one client authentication method: the Authorization header or client_secret in the body, not both")
	}
	scheme, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return clientAuth{}, errClient("unsupported client authentication scheme; use Basic (client_secret_basic) or client_secret_post")
	}
	a, ok := parseBasic(strings.TrimSpace(rest))
	if !ok {
		return clientAuth{}, errClient("malformed Basic credentials")
	}
	if id := form.Get("client_id"); form.Has("client_id") && id != a.id {
		return a, errRequest("client_id in the body differs from the one in the Authorization header")
	}
	return a, nil
}

func formAuth(form url.Values) (clientAuth, *oauthError) {
	a := clientAuth{id: form.Get("client_id"), secret: form.Get("client_secret")}
	switch {
	case !form.Has("client_id") && !form.Has("client_secret"):
		return a, errClient("client authentication is required: HTTP Basic (client_secret_basic) or client_id and client_secret in the body (client_secret_post)")
	case a.id == "" || a.secret == "" || len(a.id) > maxClientIDBytes:
		return a, errClient("client_id and client_secret are both required")
	}
	return a, nil
}

// parseBasic decodes "base64(client_id:client_secret)", each part form-urlencoded
// (RFC 6749 section 2.3.1).
func parseBasic(b64 string) (clientAuth, bool) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return clientAuth{}, false
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return clientAuth{}, false
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil || id == "" || secret == "" || len(id) > maxClientIDBytes {
		return clientAuth{}, false
	}
	return clientAuth{id: id, secret: secret}, true
}
