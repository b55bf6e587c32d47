package admin

import (
	_ "embed" // for openapi.json
	"encoding/json"
	"net/http"
)

// openAPIPath serves the OpenAPI description, without authentication: it holds no
// data, and clients read it to learn the API.
const openAPIPath = prefix + "/openapi.json"

// openAPIDocument is the OpenAPI 3.1 description of every endpoint of the API.
//
//go:embed openapi.json
var openAPIDocument []byte

func (h *handler) openAPI(_ http.ResponseWriter, _ *http.Request) (reply, error) {
	return ok(json.RawMessage(openAPIDocument)), nil
}
