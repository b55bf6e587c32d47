package token

import (
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/open-policy-agent/opa/v1/ast"
)

// Identity is what a verified access token says: who issued it, for which client, for
// which subject and with which scopes.
type Identity struct {
	// Issuer is the configured name of the issuer, not its iss URL.
	Issuer   string
	ClientID string
	Subject  string
	Scopes   []string
	Claims   map[string]any
	Expiry   time.Time
	// Value is input.token for the policy, built once per verified token:
	// {issuer, client_id, subject, scopes, claims}.
	Value ast.Value
}

// checkClaims applies what the JWT library does not know: the issuer's audiences, and
// that an ID token is not an access token.
func (is *issuer) checkClaims(claims jwt.MapClaims) *Error {
	if _, ok := claims["nonce"]; ok {
		return ErrIDToken
	}
	if _, ok := claims["at_hash"]; ok {
		return ErrIDToken
	}
	if len(is.audiences) == 0 {
		return nil
	}
	aud, err := claims.GetAudience()
	if err != nil {
		return errInvalidClaim("aud")
	}
	for _, a := range aud {
		for _, want := range is.audiences {
			if a == want {
				return nil
			}
		}
	}
	return ErrAudience
}

func (is *issuer) identity(claims jwt.MapClaims) (*Identity, *Error) {
	id := &Identity{Issuer: is.name, Claims: claims}
	var e *Error
	if id.ClientID, e = firstString(claims, is.clientIDClaims); e != nil {
		return nil, e
	}
	if id.Subject, e = firstString(claims, []string{"sub"}); e != nil {
		return nil, e
	}
	if id.Scopes, e = scopes(claims, is.scopeClaims); e != nil {
		return nil, e
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, ErrNoExpiry
	}
	id.Expiry = exp.Time
	value, err := ast.InterfaceToValue(map[string]any{
		"issuer":    id.Issuer,
		"client_id": id.ClientID,
		"subject":   id.Subject,
		"scopes":    id.Scopes,
		"claims":    map[string]any(claims),
	})
	if err != nil {
		return nil, ErrMalformed
	}
	id.Value = value
	return id, nil
}

// firstString returns the first of the claims present, which must be a string that is
// safe to put in a header.
func firstString(claims jwt.MapClaims, names []string) (string, *Error) {
	for _, name := range names {
		v, ok := claims[name]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok || !headerSafe(s) {
			return "", errInvalidClaim(name)
		}
		return s, nil
	}
	return "", nil
}

// scopes reads the first scope claim present: a space-separated string (RFC 8693,
// RFC 9068) or a JSON array of strings (as some providers send scp). Like sub and
// client_id, a scope with a control character is refused: scopes reach the backend in
// x-tollgate-scopes.
func scopes(claims jwt.MapClaims, names []string) ([]string, *Error) {
	for _, name := range names {
		v, ok := claims[name]
		if !ok {
			continue
		}
		switch v := v.(type) {
		case string:
			if !headerSafe(v) {
				return nil, errInvalidClaim(name)
			}
			return splitScope(v), nil
		case []any:
			out := make([]string, 0, len(v))
			for _, item := range v {
				s, ok := item.(string)
				if !ok || s == "" || strings.IndexByte(s, ' ') >= 0 || !headerSafe(s) {
					return nil, errInvalidClaim(name)
				}
				out = append(out, s)
			}
			return out, nil
		default:
			return nil, errInvalidClaim(name)
		}
	}
	return []string{}, nil
}

// splitScope splits a scope string on spaces, the only separator RFC 6749 section 3.3
// allows.
func splitScope(s string) []string {
	out := []string{}
	for _, tok := range strings.Split(s, " ") {
		if tok != "" {
			out = append(out, tok)
		}
	}
	return out
}

// headerSafe reports a value with no control characters, so it can travel in a header.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}
