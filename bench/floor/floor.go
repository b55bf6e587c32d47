// Package floor is the benchmark's floor: the least an ext_authz v3 server can do, to
// compare Tollgate with on the same machine in the same run. It is not a product.
//
//   - Allow answers every Check with an empty OK: the cost of gRPC alone.
//   - JWT verifies an RS256 bearer token against one JWKS (keys parsed once, picked by
//     kid), checks iss, aud, exp and nbf, matches method + path against a route list
//     and checks the route's scopes: what ../shared/bench's floor measured, with RS256
//     verification as nearly all of its cost.
package floor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
)

// Config is the JWT server's configuration, a JSON file.
type Config struct {
	Issuer   string `json:"issuer"`
	Audience string `json:"audience"`
	// JWKSFile holds the RSA keys; relative to the configuration file.
	JWKSFile string  `json:"jwks_file"`
	Routes   []Route `json:"routes"`
}

// Route is a method and a path template ({name} is one segment, a last * the rest of
// the path) with the scopes a token needs for it.
type Route struct {
	Method string   `json:"method"`
	Path   string   `json:"path"`
	Scopes []string `json:"scopes,omitempty"`
}

// LoadConfig reads a Config from a JSON file.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.JWKSFile != "" && !filepath.IsAbs(c.JWKSFile) {
		c.JWKSFile = filepath.Join(filepath.Dir(path), c.JWKSFile)
	}
	return &c, nil
}

// Allow allows every request.
type Allow struct {
	authv3.UnimplementedAuthorizationServer
}

var allowed = &authv3.CheckResponse{
	Status:       &status.Status{Code: int32(codes.OK)},
	HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}},
}

// Check allows.
func (Allow) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return allowed, nil
}

func deny(code codes.Code, http typev3.StatusCode, body string, hdrs ...string) *authv3.CheckResponse {
	d := &authv3.DeniedHttpResponse{Status: &typev3.HttpStatus{Code: http}, Body: body}
	for i := 0; i+1 < len(hdrs); i += 2 {
		d.Headers = append(d.Headers, header(hdrs[i], hdrs[i+1]))
	}
	return &authv3.CheckResponse{
		Status:       &status.Status{Code: int32(code)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: d},
	}
}

func header(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v}}
}
