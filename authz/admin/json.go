package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Body size caps: 1 MiB for a JSON body, 4 MiB for an OpenAPI document.
const (
	maxBody       = 1 << 20
	maxImportBody = 4 << 20
)

// writeJSON answers with v as JSON; no answer is cached, as some carry a secret.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

// readBody reads the request body, refusing one larger than limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, errInvalid("the request body is larger than %d MiB", limit>>20)
	}
	if err != nil {
		return nil, errInvalid("the request body could not be read")
	}
	return body, nil
}

// decode reads the request body as one JSON value into v, refusing unknown fields.
// An empty body is an error unless optional, when v stays as it is.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return errInvalid("the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errInvalid("the request body is not valid: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errInvalid("the request body must be one JSON object with nothing after it")
	}
	return nil
}

// jsonProblem says what is wrong with a JSON body in its terms, not Go's.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return "it must be a JSON object"
		}
		return fmt.Sprintf("field %q must not be a JSON %s", typeErr.Field, typeErr.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
