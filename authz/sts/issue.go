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
	now := s.now()
	signer := s.signerAt(now)
	if signer == nil {
		return "", 0, errors.New("the STS has no signing key that signs now")
	}
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

// signerAt is the Signer of the key that signs at t, or nil: before the first Refresh,
// or at a time before every known key signs.
func (s *Server) signerAt(t time.Time) *Signer {
	sched := s.signers.Load()
	if sched == nil {
		return nil
	}
	return sched.at(t)
}
