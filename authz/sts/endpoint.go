package sts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tollgate/tollgate/authz/store"
)

// MaxBodyBytes caps a token request's body; a client_credentials request needs a few
// hundred bytes.
const MaxBodyBytes = 16 << 10

// Handler serves the STS endpoints: the token endpoint, the JWKS and the RFC 8414
// metadata (also at the OpenID Connect discovery path, where clients look first).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth2/token", s.serveToken)
	mux.HandleFunc("GET /oauth2/jwks", s.serveJWKS)
	meta := s.metadataPath()
	mux.HandleFunc("GET "+meta, s.serveMetadata)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.serveMetadata)
	if meta != "/.well-known/oauth-authorization-server" {
		mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.serveMetadata)
	}
	return mux
}

// tokenResponse is a successful token response (RFC 6749 section 5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		e := errRequest("the token endpoint takes POST")
		e.status = http.StatusMethodNotAllowed
		e.write(w)
		return
	}
	resp, e := s.token(r.Context(), w, r)
	if e != nil {
		e.write(w)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// token runs one token request: read the form, authenticate the client, then, within
// its rate, grant. The secret is checked before any limit and failures are limited
// after it, so nobody without a client's secret can keep it from its tokens.
func (s *Server) token(ctx context.Context, w http.ResponseWriter, r *http.Request) (*tokenResponse, *oauthError) {
	addr := clientAddr(r, s.proxies)
	form, e := readForm(w, r)
	if e != nil {
		return nil, e
	}
	switch form.Get("grant_type") {
	case "client_credentials":
	case "":
		return nil, errRequest("grant_type is required")
	default:
		return nil, errGrantType("the grant_type is not supported; use client_credentials")
	}
	auth, e := readClientAuth(r, form)
	if e != nil {
		return nil, s.failed(e, addr, "", e.Description)
	}
	cred, e := s.authenticate(ctx, auth, addr)
	if e != nil {
		return nil, e
	}
	if wait := s.clientRate.take(cred.ClientID); wait > 0 {
		s.log.Warn("STS token request refused: over sts.client_rate", "client_id", cred.ClientID, "address", addr)
		return nil, errRateLimited(wait)
	}
	return s.grant(ctx, cred, form)
}

// readForm reads an application/x-www-form-urlencoded body of at most MaxBodyBytes
// whose parameters each appear once (RFC 6749 section 3.2).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	if r.URL.RawQuery != "" {
		return nil, errRequest("parameters belong in the request body, not the URL, where they would be logged")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errRequest("the body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errRequest(fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
		}
		return nil, errRequest("the body could not be read")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errRequest("the body is not valid form encoding")
	}
	for _, values := range form {
		if len(values) > 1 {
			return nil, errRequest("a parameter appears more than once")
		}
	}
	return form, nil
}

// authenticate checks the client's secret against the stored HMAC, whatever failed
// before: a correct secret always passes. A failure counts against the address and
// the client ID.
func (s *Server) authenticate(ctx context.Context, a clientAuth, addr string) (store.Credential, *oauthError) {
	cred, err := s.store.Credential(ctx, a.id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = errors.New("unknown client")
	case err != nil:
		s.log.Error("STS: read credential", "client_id", a.id, "error", err)
		return cred, errUnavailable("the credential store is unavailable")
	case !s.sealer.SecretMatches(a.secret, cred.SecretHash):
		err = errors.New("wrong secret")
	default:
		return cred, nil
	}
	// The secret is never logged.
	return cred, s.failed(errClient("client authentication failed"), addr, a.id, err.Error())
}

// failed counts a failed client authentication from addr, of client ID id when one
// was given, and returns the error to answer with: e, or 429 once the address or the
// client ID has failed more often than sts.failed_auth allows. Limited failures are
// logged at debug level only, so that a flood of them does not flood the log.
func (s *Server) failed(e *oauthError, addr, id, reason string) *oauthError {
	wait := s.failedByAddr.take(addr)
	if id != "" {
		wait = max(wait, s.failedByClient.take(id))
	}
	if wait > 0 {
		s.log.Debug("STS client authentication failed, over sts.failed_auth", "client_id", id, "address", addr, "reason", reason)
		return errLimited(wait)
	}
	s.log.Warn("STS client authentication failed", "client_id", id, "address", addr, "reason", reason)
	return e
}

// grant issues the access token: the requested scopes the application may have, or
// all of them when none were requested.
func (s *Server) grant(ctx context.Context, cred store.Credential, form url.Values) (*tokenResponse, *oauthError) {
	requested, e := parseScope(form.Get("scope"))
	if e != nil {
		return nil, e
	}
	grantable, err := s.store.GrantableScopes(ctx, cred.Application, cred.Environment)
	if err != nil {
		s.log.Error("STS: read grantable scopes", "application", cred.Application, "error", err)
		return nil, errUnavailable("the store is unavailable")
	}
	granted := grantable
	if len(requested) > 0 {
		granted = slices.DeleteFunc(slices.Clone(requested), func(sc string) bool { return !slices.Contains(grantable, sc) })
		if len(granted) == 0 {
			return nil, errScope("none of the requested scopes is granted to this application; it must subscribe to an API whose resources carry them")
		}
	}
	tok, exp, err := s.issue(cred, granted)
	if err != nil {
		s.log.Error("STS: sign access token", "error", err)
		return nil, errUnavailable("no signing key is available")
	}
	resp := &tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(exp.Seconds())}
	if !slices.Equal(granted, requested) {
		resp.Scope = strings.Join(granted, " ")
	}
	s.log.Info("STS token issued", "client_id", cred.ClientID, "application", cred.Application,
		"environment", cred.Environment, "scopes", len(granted))
	return resp, nil
}

// parseScope splits a scope parameter (RFC 6749 section 3.3) into its distinct
// scope-tokens, in order.
func parseScope(raw string) ([]string, *oauthError) {
	var out []string
	for _, sc := range strings.Split(raw, " ") {
		if sc == "" || slices.Contains(out, sc) {
			continue
		}
		for i := 0; i < len(sc); i++ {
			if c := sc[i]; c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
				return nil, errScope("scope holds a character RFC 6749 section 3.3 does not allow")
			}
		}
		out = append(out, sc)
	}
	return out, nil
}
