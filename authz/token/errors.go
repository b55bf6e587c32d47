// Package token finds the bearer access token of a request and verifies it against the
// JWKS of the issuer named by its iss claim. It reports either the verified Identity or
// an Error with a stable reason; it never decides whether a request is allowed.
package token

// Error is why a request's token was refused. Code is the RFC 6750 error code the
// response carries; Reason is a finer, stable, machine-readable cause for logs and
// policies; Description is safe to show the client and never echoes the token.
type Error struct {
	Code        string
	Reason      string
	Description string
}

func (e *Error) Error() string { return e.Reason + ": " + e.Description }

// RFC 6750 error codes.
const (
	CodeInvalidRequest = "invalid_request"
	CodeInvalidToken   = "invalid_token"
)

func invalidToken(reason, description string) *Error {
	return &Error{Code: CodeInvalidToken, Reason: reason, Description: description}
}

// The errors Verify and Extract return. Descriptions use only the characters RFC 6750
// allows in error_description, so a policy may put them in WWW-Authenticate.
var (
	ErrMultipleCredentials = &Error{CodeInvalidRequest, "multiple_credentials", "the request carries more than one credential"}
	ErrMalformedHeader     = &Error{CodeInvalidRequest, "malformed_authorization", "the Authorization header is not a valid Bearer credential"}
	ErrTokenInQuery        = &Error{CodeInvalidRequest, "token_in_query", "access_token in the query is not accepted; send it in the Authorization header"}
	ErrMalformedQuery      = &Error{CodeInvalidRequest, "malformed_query", "the query mentions access_token and cannot be decoded"}
	ErrTokenTooLarge       = &Error{CodeInvalidRequest, "token_too_large", "the bearer token is longer than this server accepts"}

	ErrMalformed       = invalidToken("malformed_token", "the access token is not a well-formed JWT")
	ErrUnknownIssuer   = invalidToken("unknown_issuer", "the token issuer (iss) is not trusted")
	ErrAlgorithm       = invalidToken("algorithm_not_allowed", "the token signing algorithm (alg) is not allowed for its issuer")
	ErrUnknownKey      = invalidToken("unknown_key", "the token signing key (kid) is not in its issuer's key set")
	ErrKeysUnavailable = invalidToken("keys_unavailable", "the token issuer's signing keys could not be fetched yet")
	ErrSignature       = invalidToken("bad_signature", "the token signature is invalid")
	ErrExpired         = invalidToken("token_expired", "the access token expired")
	ErrNotYetValid     = invalidToken("token_not_yet_valid", "the access token is not valid yet (nbf)")
	ErrIssuedInFuture  = invalidToken("issued_in_future", "the access token was issued in the future (iat)")
	ErrNoExpiry        = invalidToken("missing_expiry", "the access token has no expiry (exp)")
	ErrTimeClaim       = invalidToken("invalid_claim", "a time claim (exp, nbf or iat) is not a number")
	ErrAudience        = invalidToken("wrong_audience", "the token audience (aud) is not accepted")
	ErrType            = invalidToken("bad_type", "the token type (typ) is not an access token type")
	ErrCritical        = invalidToken("critical_header", "the token has a critical header (crit) that is not supported")
	ErrIDToken         = invalidToken("id_token", "an ID token (nonce or at_hash) is not an access token")
)

// errInvalidClaim names the claim whose value is unusable.
func errInvalidClaim(claim string) *Error {
	return invalidToken("invalid_claim", "the token claim "+claim+" has an invalid value")
}
