package sts

import (
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"github.com/tollgate/tollgate/authz/store"
)

// issue signs an RFC 9068 access token for the credential's application, and returns
// it with its lifetime.
func (s *Server) issue(cred store.Credential, scopes []string) (string, time.Duration, error) {
	signer := s.signer.Load()
	if signer == nil {
		return "", 0, errors.New("the STS has no active signing key yet")
	}
	now := s.now()
	claims := map[string]any{
		"iss":         s.cfg.Issuer,
		"sub":         cred.ClientID,
		"aud":         s.cfg.Audience,
		"client_id":   cred.ClientID,
		"jti":         rand.Text(),
		"iat":         now.Unix(),
		"exp":         now.Add(s.cfg.TokenTTL).Unix(),
		"application": cred.Application,
		"environment": cred.Environment,
	}
	if len(scopes) > 0 {
		claims["scope"] = strings.Join(scopes, " ")
	}
	tok, err := signer.Sign(claims)
	return tok, s.cfg.TokenTTL, err
}
