package sts

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// metadata is the authorization server metadata of RFC 8414 section 2.
type metadata struct {
	Issuer        string   `json:"issuer"`
	TokenEndpoint string   `json:"token_endpoint"`
	JWKSURI       string   `json:"jwks_uri"`
	GrantTypes    []string `json:"grant_types_supported"`
	AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
	ResponseTypes []string `json:"response_types_supported"`
}

func (s *Server) metadata() []byte {
	base := strings.TrimSuffix(s.cfg.Issuer, "/")
	raw, _ := json.Marshal(metadata{
		Issuer:        s.cfg.Issuer,
		TokenEndpoint: base + "/oauth2/token",
		JWKSURI:       base + "/oauth2/jwks",
		GrantTypes:    []string{"client_credentials"},
		AuthMethods:   []string{"client_secret_basic", "client_secret_post"},
		// There is no authorization endpoint, so no response type (RFC 8414 requires
		// the member; an empty list is the truthful value).
		ResponseTypes: []string{},
	})
	return raw
}

// metadataPath is where RFC 8414 section 3.1 puts the metadata of the issuer: the
// well-known path, followed by the issuer's own path if it has one.
func (s *Server) metadataPath() string {
	const wellKnown = "/.well-known/oauth-authorization-server"
	u, err := url.Parse(s.cfg.Issuer)
	if err != nil {
		return wellKnown
	}
	return wellKnown + strings.TrimSuffix(u.EscapedPath(), "/")
}

func (s *Server) serveMetadata(w http.ResponseWriter, _ *http.Request) {
	writeDocument(w, s.meta, "public, max-age=3600")
}

// serveJWKS serves the keys that verify live tokens and the next key, published
// sts.key_prepublish before it signs. Caches may keep it only briefly all the same:
// after `tollgate keys rotate --now` a new key signs as soon as it is published.
func (s *Server) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	jwks := s.jwks.Load()
	if jwks == nil {
		errUnavailable("the STS has no signing key yet").write(w)
		return
	}
	writeDocument(w, *jwks, "public, max-age=60")
}

func writeDocument(w http.ResponseWriter, body []byte, cache string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", cache)
	_, _ = w.Write(body)
}
