// Package authz is Tollgate's Envoy ext_authz v3 service. One Check reads top-down:
// match the route, take and verify the bearer token, build the policy input, evaluate
// the policy, and turn its decision into a CheckResponse. Go does the mechanics; the
// Rego policy makes every decision. Nothing fails open: an internal error denies.
package authz

import (
	"context"
	"log/slog"
	"strings"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/tollgate/tollgate/authz/policy"
	"github.com/tollgate/tollgate/authz/route"
	"github.com/tollgate/tollgate/authz/token"
)

// Which decisions are logged.
const (
	LogAll    = "all"
	LogDenies = "denies"
	LogNone   = "none"
)

// Server implements envoy.service.auth.v3.Authorization.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	state     *State
	log       *slog.Logger
	decisions string
}

// NewServer returns a server that decides with st and logs decisions per decisions
// (LogAll, LogDenies or LogNone).
func NewServer(st *State, log *slog.Logger, decisions string) *Server {
	return &Server{state: st, log: log, decisions: decisions}
}

// Check answers one ext_authz request. It never returns an error: every failure,
// a panic included, is a deny that says why.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (resp *authv3.CheckResponse, _ error) {
	start := time.Now()
	id := newDecisionID()
	defer func() {
		if p := recover(); p != nil {
			s.log.ErrorContext(ctx, "check panicked; denying", "decision_id", id, "panic", p)
			resp, _ = response(internalError, id, nil)
		}
	}()
	r := newRequest(req)
	o := s.decide(ctx, r)
	resp, err := response(o.decision, id, r.headers)
	if err != nil {
		s.log.ErrorContext(ctx, "policy decision cannot be sent to Envoy; denying", "decision_id", id, "error", err)
		o.decision = internalError
		resp, _ = response(o.decision, id, r.headers)
	}
	s.logDecision(ctx, r, id, o, time.Since(start))
	return resp, nil
}

// outcome is a decision with what led to it, for the log.
type outcome struct {
	decision policy.Decision
	match    route.Match
	identity *token.Identity
	tokenErr *token.Error
}

// decide runs the pipeline: route, token, input, policy.
func (s *Server) decide(ctx context.Context, r request) (o outcome) {
	st := s.state
	m, routed := st.Router.Match(r.api, r.http.GetHost(), r.http.GetMethod(), r.http.GetPath())
	o.match = m
	if routed && !m.Public {
		o.identity, o.tokenErr = s.authenticate(ctx, st.Verifier, r)
	}
	d, err := st.Policy.Eval(ctx, input(r, m, routed, o.identity, o.tokenErr))
	if err != nil {
		s.log.ErrorContext(ctx, "policy evaluation failed; denying", "error", err)
		d = internalError
	}
	o.decision = d
	return o
}

// authenticate takes the bearer token from the request and verifies it. Both results
// are nil when the request carries no token.
func (s *Server) authenticate(ctx context.Context, v *token.Verifier, r request) (*token.Identity, *token.Error) {
	raw, terr := token.Extract(r.headers["authorization"], r.queryHasToken())
	if terr != nil || raw == "" {
		return nil, terr
	}
	return v.Verify(ctx, raw)
}

// internalError is the decision when the policy cannot decide.
var internalError = policy.Decision{
	HTTPStatus:  500,
	Reason:      "internal_error",
	Description: "the authorization decision failed; see the server log",
}

func (s *Server) logDecision(ctx context.Context, r request, id string, o outcome, took time.Duration) {
	allowed := o.decision.Allowed
	if s.decisions == LogNone || s.decisions == LogDenies && allowed {
		return
	}
	attrs := []slog.Attr{
		slog.String("decision_id", id),
		slog.Bool("allowed", allowed),
		slog.String("reason", o.decision.Reason),
		slog.String("method", r.http.GetMethod()),
		slog.String("host", r.http.GetHost()),
		slog.String("path", pathOnly(r.http.GetPath())),
		slog.String("api", o.match.API),
		slog.String("resource", o.match.Resource),
		slog.Duration("took", took),
	}
	if o.identity != nil {
		attrs = append(attrs, slog.String("issuer", o.identity.Issuer),
			slog.String("client_id", o.identity.ClientID), slog.String("subject", o.identity.Subject))
	}
	if o.tokenErr != nil {
		attrs = append(attrs, slog.String("token_error", o.tokenErr.Reason))
	}
	if !allowed {
		attrs = append(attrs, slog.Int("status", statusOf(o.decision)), slog.String("description", o.decision.Description))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "decision", attrs...)
}

// pathOnly drops the query, which may carry secrets, from a path before it is logged.
func pathOnly(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}
