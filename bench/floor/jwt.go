package floor

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
)

// JWT verifies the bearer token and the route's scopes; it holds no cache.
type JWT struct {
	authv3.UnimplementedAuthorizationServer
	cfg  Config
	keys map[string]*rsa.PublicKey // by kid
}

// NewJWT reads the JWKS of cfg and returns the server.
func NewJWT(cfg *Config) (*JWT, error) {
	raw, err := os.ReadFile(cfg.JWKSFile)
	if err != nil {
		return nil, err
	}
	var set struct {
		Keys []struct{ Kty, Kid, N, E string }
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.JWKSFile, err)
	}
	s := &JWT{cfg: *cfg, keys: map[string]*rsa.PublicKey{}}
	for _, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("%s: key %q: %w", cfg.JWKSFile, k.Kid, err)
		}
		s.keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(s.keys) == 0 {
		return nil, fmt.Errorf("%s: no RSA key", cfg.JWKSFile)
	}
	return s, nil
}

var b64 = base64.RawURLEncoding

type claims struct {
	Iss      string          `json:"iss"`
	Aud      json.RawMessage `json:"aud"`
	Exp      *float64        `json:"exp"`
	Nbf      *float64        `json:"nbf"`
	ClientID string          `json:"client_id"`
	Scope    string          `json:"scope"`
}

// Check verifies the token (401 when it does not), then the route and its scopes (403).
func (s *JWT) Check(_ context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	h := req.GetAttributes().GetRequest().GetHttp()
	tok, found := strings.CutPrefix(h.GetHeaders()["authorization"], "Bearer ")
	var c *claims
	if found {
		c = s.verify(tok)
	}
	if c == nil {
		return deny(codes.Unauthenticated, typev3.StatusCode_Unauthorized, "invalid or missing bearer token",
			"www-authenticate", `Bearer error="invalid_token"`), nil
	}
	path, _, _ := strings.Cut(h.GetPath(), "?")
	r := s.route(h.GetMethod(), path)
	if r == nil || !hasScopes(c.Scope, r.Scopes) {
		return deny(codes.PermissionDenied, typev3.StatusCode_Forbidden, "forbidden"), nil
	}
	return &authv3.CheckResponse{
		Status: &status.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
			Headers: []*corev3.HeaderValueOption{header("x-client-id", c.ClientID), header("x-scopes", c.Scope)},
		}},
	}, nil
}

// verify returns the token's claims, or nil unless it is an RS256 JWT signed by a key
// of the set, of the configured issuer and audience, and valid now.
func (s *JWT) verify(tok string) *claims {
	i := strings.IndexByte(tok, '.')
	j := strings.LastIndexByte(tok, '.')
	if i < 0 || j <= i {
		return nil
	}
	hb, err := b64.DecodeString(tok[:i])
	if err != nil {
		return nil
	}
	var hdr struct{ Alg, Kid string }
	if json.Unmarshal(hb, &hdr) != nil || hdr.Alg != "RS256" {
		return nil
	}
	key := s.keys[hdr.Kid]
	if key == nil {
		return nil
	}
	sig, err := b64.DecodeString(tok[j+1:])
	if err != nil {
		return nil
	}
	sum := sha256.Sum256([]byte(tok[:j]))
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) != nil {
		return nil
	}
	pb, err := b64.DecodeString(tok[i+1 : j])
	if err != nil {
		return nil
	}
	var c claims
	if json.Unmarshal(pb, &c) != nil {
		return nil
	}
	now := float64(time.Now().Unix())
	if c.Iss != s.cfg.Issuer || c.Exp == nil || now >= *c.Exp || c.Nbf != nil && now < *c.Nbf || !audience(c.Aud, s.cfg.Audience) {
		return nil
	}
	return &c
}

func audience(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, a := range many {
			if a == want {
				return true
			}
		}
	}
	return false
}

// route returns the first route that matches, scanning the list.
func (s *JWT) route(method, path string) *Route {
	for i := range s.cfg.Routes {
		r := &s.cfg.Routes[i]
		if r.Method == method && matches(r.Path, path) {
			return r
		}
	}
	return nil
}

// matches reports whether path fits template segment by segment.
func matches(template, path string) bool {
	for {
		t, trest, tmore := strings.Cut(strings.TrimPrefix(template, "/"), "/")
		p, prest, pmore := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		switch {
		case t == "*" && !tmore:
			return p != ""
		case strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}"):
			if p == "" {
				return false
			}
		case t != p:
			return false
		}
		if tmore != pmore {
			return false
		}
		if !tmore {
			return true
		}
		template, path = trest, prest
	}
}

func hasScopes(granted string, want []string) bool {
	for _, w := range want {
		found := false
		for f := range strings.FieldsSeq(granted) {
			if f == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
