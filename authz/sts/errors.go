package sts

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// oauthError is an error response of the token endpoint (RFC 6749 section 5.2).
type oauthError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	retryAfter  time.Duration
}

func errRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
}

// errClient is a failed client authentication: 401 with a Basic challenge, whichever
// method the client tried (RFC 6749 section 5.2 allows it for every method).
func errClient(desc string) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: desc}
}

func errGrantType(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: desc}
}

func errScope(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_scope", Description: desc}
}

// errLimited answers a failed client authentication from an address or of a client ID
// that failed too often (sts.failed_auth). RFC 6749 has no code for it;
// temporarily_unavailable is the nearest, and the status and Retry-After say the rest.
func errLimited(wait time.Duration) *oauthError {
	return &oauthError{status: http.StatusTooManyRequests, Code: "temporarily_unavailable",
		Description: "too many failed client authentications; try again later", retryAfter: wait}
}

// errRateLimited refuses an authenticated client that asked for more tokens than
// sts.client_rate allows.
func errRateLimited(wait time.Duration) *oauthError {
	return &oauthError{status: http.StatusTooManyRequests, Code: "temporarily_unavailable",
		Description: "too many token requests for this client; reuse a token until it expires", retryAfter: wait}
}

func errUnavailable(desc string) *oauthError {
	return &oauthError{status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Description: desc}
}

func (e *oauthError) write(w http.ResponseWriter) {
	h := w.Header()
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="tollgate", charset="UTF-8"`)
	}
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(e.retryAfter.Seconds())+1))
	}
	writeJSON(w, e.status, e)
}

// writeJSON answers with v and the headers RFC 6749 section 5.1 asks of every
// token endpoint response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
