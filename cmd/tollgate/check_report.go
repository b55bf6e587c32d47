package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz"
	"github.com/tollgate/tollgate/authz/token"
)

// checkReport is what `tollgate check --config` prints: the decision and what led to
// it. Its JSON keys are stable; keys with no value are left out.
type checkReport struct {
	Allowed bool `json:"allowed"`
	// Status is the HTTP status of a deny, 200 on allow.
	Status      int               `json:"status"`
	Reason      string            `json:"reason"`
	Description string            `json:"description,omitempty"`
	API         string            `json:"api,omitempty"`
	Resource    string            `json:"resource,omitempty"`
	Params      map[string]string `json:"params,omitempty"`
	Application string            `json:"application,omitempty"`
	// Headers go to the backend on allow, to the client on deny.
	Headers         map[string]string `json:"headers,omitempty"`
	HeadersToRemove []string          `json:"headers_to_remove,omitempty"`
	Body            string            `json:"body,omitempty"`
	Token           *tokenReport      `json:"token,omitempty"`
	TokenError      *tokenErrorReport `json:"token_error,omitempty"`
	DecisionID      string            `json:"decision_id"`
	Explain         *explanation      `json:"explain,omitempty"`

	// unverified says why no token was verified when the request needed none.
	unverified string
}

// tokenReport is what a verified token says; never the token itself.
type tokenReport struct {
	// Issuer is the issuer's configured name; Iss the token's iss claim.
	Issuer    string   `json:"issuer"`
	Iss       string   `json:"iss"`
	Subject   string   `json:"subject,omitempty"`
	ClientID  string   `json:"client_id"`
	Scopes    []string `json:"scopes"`
	Audience  []string `json:"audience,omitempty"`
	ExpiresAt string   `json:"expires_at"`
}

// tokenErrorReport is why a token was refused.
type tokenErrorReport struct {
	Code        string `json:"code"`
	Reason      string `json:"reason"`
	Description string `json:"description"`
}

// newReport reads an evaluation: the decision, what the request matched, what Envoy
// would receive, and the token.
func newReport(e authz.Evaluation) *checkReport {
	r := &checkReport{
		Allowed:     e.Decision.Allowed,
		Reason:      e.Decision.Reason,
		Description: e.Decision.Description,
		DecisionID:  e.ID,
	}
	if e.Routed {
		r.API, r.Resource, r.Params = e.Match.API, e.Match.Resource, e.Match.Params
		if e.Match.Public {
			r.unverified = "the resource is public"
		}
	} else if e.Decision.Reason == token.CodeInvalidRequest {
		r.unverified = "the request was refused before routing"
	} else {
		r.unverified = "no resource matched"
	}
	if ok := e.Response.GetOkResponse(); ok != nil {
		r.Status = 200
		r.Headers = map[string]string{}
		for _, h := range ok.GetHeaders() {
			r.Headers[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
		}
		r.HeadersToRemove = slices.Sorted(slices.Values(ok.GetHeadersToRemove()))
		r.Application = r.Headers[authz.IdentityHeaderPrefix+"application"]
	} else {
		d := e.Response.GetDeniedResponse()
		r.Status = int(d.GetStatus().GetCode())
		r.Headers = map[string]string{}
		for _, h := range d.GetHeaders() {
			r.Headers[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
		}
		r.Body = d.GetBody()
	}
	if e.Identity != nil {
		r.Token = newTokenReport(e.Identity)
	}
	if t := e.TokenError; t != nil {
		r.TokenError = &tokenErrorReport{Code: t.Code, Reason: t.Reason, Description: t.Description}
	}
	return r
}

// newTokenReport reads the claims a person checking a decision needs.
func newTokenReport(id *token.Identity) *tokenReport {
	claims := jwt.MapClaims(id.Claims)
	iss, _ := claims.GetIssuer()
	aud, _ := claims.GetAudience()
	return &tokenReport{
		Issuer:    id.Issuer,
		Iss:       iss,
		Subject:   id.Subject,
		ClientID:  id.ClientID,
		Scopes:    id.Scopes,
		Audience:  aud,
		ExpiresAt: id.Expiry.UTC().Format(time.RFC3339),
	}
}

// print writes the report for a person: the decision, what it matched, what Envoy
// would do, the token, and the explanation when asked.
func (r *checkReport) print(w io.Writer) {
	if r.Allowed {
		fmt.Fprintln(w, "ALLOW")
	} else {
		fmt.Fprintf(w, "DENY %d\n", r.Status)
	}
	field(w, "reason", r.Reason)
	if r.Description != "" {
		field(w, "description", r.Description)
	}
	field(w, "api", r.API)
	field(w, "resource", r.Resource)
	field(w, "params", params(r.Params))
	field(w, "application", r.Application)
	field(w, "decision_id", r.DecisionID)
	names := slices.Sorted(maps.Keys(r.Headers))
	if r.Allowed {
		fmt.Fprintln(w, "request to the backend")
		for _, k := range names {
			fmt.Fprintf(w, "  set     %s: %s\n", k, r.Headers[k])
		}
		for _, k := range r.HeadersToRemove {
			fmt.Fprintf(w, "  remove  %s\n", k)
		}
	} else {
		fmt.Fprintln(w, "response to the client")
		for _, k := range names {
			fmt.Fprintf(w, "  %s: %s\n", k, r.Headers[k])
		}
		fmt.Fprintf(w, "  body: %s\n", r.Body)
	}
	r.printToken(w)
	if r.Explain != nil {
		r.Explain.print(w)
	}
}

func (r *checkReport) printToken(w io.Writer) {
	switch {
	case r.Token != nil:
		t := r.Token
		fmt.Fprintln(w, "token")
		field(w, "issuer", t.Issuer)
		field(w, "iss", t.Iss)
		field(w, "subject", t.Subject)
		field(w, "client_id", t.ClientID)
		field(w, "scopes", strings.Join(t.Scopes, " "))
		field(w, "audience", strings.Join(t.Audience, " "))
		field(w, "expires_at", t.ExpiresAt)
	case r.TokenError != nil:
		fmt.Fprintln(w, "token refused")
		field(w, "code", r.TokenError.Code)
		field(w, "reason", r.TokenError.Reason)
		field(w, "description", r.TokenError.Description)
	case r.unverified != "":
		fmt.Fprintf(w, "token not verified: %s\n", r.unverified)
	default:
		fmt.Fprintln(w, "token none")
	}
}

// field writes one "  name  value" line; an empty value is "none".
func field(w io.Writer, name, value string) {
	if value == "" {
		value = "none"
	}
	fmt.Fprintf(w, "  %-12s %s\n", name, value)
}

// params formats route params as name=value, by name.
func params(p map[string]string) string {
	parts := make([]string, 0, len(p))
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, " ")
}
