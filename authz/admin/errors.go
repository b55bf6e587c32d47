package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/authz/store"
)

// apiError is an error answer: a status, and the body's error code and description.
type apiError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Description }

func errInvalid(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, args...)}
}

func errUnauthorized() *apiError {
	return &apiError{http.StatusUnauthorized, "unauthorized", "send the admin token: Authorization: Bearer <token>"}
}

func errNotFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, "not_found", fmt.Sprintf(format, args...)}
}

func errMethod(method string, allow []string) *apiError {
	return &apiError{http.StatusMethodNotAllowed, "method_not_allowed",
		fmt.Sprintf("%s is not allowed here; use %s", method, strings.Join(allow, ", "))}
}

func errNotImplemented(desc string) *apiError {
	return &apiError{http.StatusNotImplemented, "not_implemented", desc}
}

// fail answers with err: an *apiError as it is, a store.ErrNotFound as 404 and a
// store.ErrConflict as 409 with the store's message, which says why and holds no
// secret; anything else is logged and answered 500 without details.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	switch {
	case errors.As(err, &e):
	case errors.Is(err, store.ErrNotFound):
		e = &apiError{http.StatusNotFound, "not_found", err.Error()}
	case errors.Is(err, store.ErrConflict):
		e = &apiError{http.StatusConflict, "conflict", err.Error()}
	default:
		h.log.Error("admin request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		e = &apiError{http.StatusInternalServerError, "internal_error", "the request failed; the server log says why"}
	}
	writeError(w, e)
}

// writeError answers with e; a 401 also carries the challenge.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tollgate-admin"`)
	}
	writeJSON(w, e.status, e)
}
