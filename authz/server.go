// Package authz is Tollgate's Envoy ext_authz v3 service. One Check reads top-down:
// match the route, take and verify the bearer token, build the policy input, evaluate
// the policy, and turn its decision into a CheckResponse. Go does the mechanics; the
// Rego policy makes every decision. Nothing fails open: an internal error denies.
package authz

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/tollgate/tollgate/authz/config"
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

// Server implements envoy.service.auth.v3.Authorization. Its State is swapped whole
// on reload; a check decides with the State it started with.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	state     atomic.Pointer[State]
	log       *slog.Logger
	decisions string
}

// NewServer returns a server that decides with st and logs decisions per decisions
// (LogAll, LogDenies or LogNone).
func NewServer(st *State, log *slog.Logger, decisions string) *Server {
	s := &Server{log: log, decisions: decisions}
	s.state.Store(st)
	return s
}

// State returns the State checks decide with now.
func (s *Server) State() *State { return s.state.Load() }

// Swap makes st the State of every check that starts from now on, and returns the
// previous one. Checks already running finish with the State they began with.
func (s *Server) Swap(st *State) *State { return s.state.Swap(st) }

// Check answers one ext_authz request. It never returns an error: every failure,
// a panic included, is a deny that says why.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	e := s.Evaluate(ctx, req)
	return e.Response, nil
}

// Evaluation is one check with what led to its decision: for the decision log, and
// for `tollgate check`, which prints it.
type Evaluation struct {
	// ID is the decision ID, sent to Envoy in dynamic metadata and the deny headers.
	ID string
	// Response is what Envoy receives.
	Response *authv3.CheckResponse
	// Decision is the policy's decision (or Tollgate's own, when a limit or an
	// internal error decided).
	Decision policy.Decision
	// Match is the API resource the request matched; Routed reports whether one did.
	Match  route.Match
	Routed bool
	// Identity is the verified token; TokenError why the token was refused. Both are
	// nil when the route is public or the request carries no token.
	Identity   *token.Identity
	TokenError *token.Error
	// Took is the time the check took.
	Took time.Duration
	// Memoized reports a decision the policy made for an earlier check with the same
	// key (see policy.Memo), not evaluated again.
	Memoized bool
}

// Evaluate decides one request and logs the decision. opts reach the policy
// evaluation, so a caller may trace it: with opts, the policy is always evaluated,
// never answered from the memo. It never fails: a panic is a deny.
func (s *Server) Evaluate(ctx context.Context, req *authv3.CheckRequest, opts ...rego.EvalOption) (e Evaluation) {
	start := time.Now()
	e.ID = newDecisionID()
	defer func() {
		if p := recover(); p != nil {
			s.log.ErrorContext(ctx, "check panicked; denying", "decision_id", e.ID, "panic", p)
			e.Decision = internalError
			e.Response, _ = response(internalError, e.ID, nil)
		}
	}()
	r := newRequest(req)
	s.decide(ctx, s.state.Load(), r, &e, opts)
	var err error
	if e.Response, err = response(e.Decision, e.ID, r.headers); err != nil {
		s.log.ErrorContext(ctx, "policy decision cannot be sent to Envoy; denying", "decision_id", e.ID, "error", err)
		e.Decision = internalError
		e.Response, _ = response(e.Decision, e.ID, r.headers)
	}
	e.Took = time.Since(start)
	s.logDecision(ctx, r, e)
	return e
}

// decide runs the pipeline: limits, route, token, policy.
func (s *Server) decide(ctx context.Context, st *State, r request, e *Evaluation, opts []rego.EvalOption) {
	if d, refused := routeRequest(st, r, e); refused {
		e.Decision = d
		return
	}
	if e.Routed && !e.Match.Public {
		e.Identity, e.TokenError = authenticate(ctx, st, r)
	}
	s.evaluate(ctx, st, r, e, opts)
}

// routeRequest refuses a request over the limits, or whose host or path cannot be
// judged safely, with Tollgate's own 400; else it matches the request to a resource.
func routeRequest(st *State, r request, e *Evaluation) (policy.Decision, bool) {
	if d, over := overLimits(r, st.Limits); over {
		return d, true
	}
	host, path, err := target(r.http, st.Limits)
	if err != nil {
		return invalidRequest(err.Error()), true
	}
	e.Match, e.Routed = st.Router.Match(r.api, host, r.http.GetMethod(), path)
	return policy.Decision{}, false
}

// evaluate has the policy decide. When the policies are memoizable (policy.Analyze)
// and nobody traces the evaluation, the decision is looked up by the input parts the
// policies can read, and the input is built and evaluated only on a miss.
func (s *Server) evaluate(ctx context.Context, st *State, r request, e *Evaluation, opts []rego.EvalOption) {
	memo := st.Policy.Memo()
	var buf [512]byte // the key, on the stack
	var key []byte
	ok := memo != nil && len(opts) == 0
	if ok {
		key, ok = memoKey(buf[:0], st.Policy.Memoization().Reads, r, e)
	}
	if !ok {
		e.Decision, _ = s.runPolicy(ctx, st, r, e, opts)
		return
	}
	if e.Decision, e.Memoized = memo.Get(key); e.Memoized {
		return
	}
	var err error
	if e.Decision, err = s.runPolicy(ctx, st, r, e, nil); err == nil {
		memo.Put(key, e.Decision)
	}
}

// runPolicy builds the input and evaluates the policy on it. A failure is logged and
// decided as internalError; its error tells the caller not to memoize it.
func (s *Server) runPolicy(ctx context.Context, st *State, r request, e *Evaluation, opts []rego.EvalOption) (policy.Decision, error) {
	d, err := st.Policy.Eval(ctx, input(r, e.Match, e.Routed, e.Identity, e.TokenError), opts...)
	if err != nil {
		s.log.ErrorContext(ctx, "policy evaluation failed; denying", "decision_id", e.ID, "error", err)
		return internalError, err
	}
	return d, nil
}

// authenticate takes the bearer token from the request and verifies it. Both results
// are nil when the request carries no token.
func authenticate(ctx context.Context, st *State, r request) (*token.Identity, *token.Error) {
	inQuery, terr := r.queryToken()
	if terr != nil {
		return nil, terr
	}
	raw, terr := token.Extract(r.headers["authorization"], inQuery, st.Limits.MaxTokenBytes)
	if terr != nil || raw == "" {
		return nil, terr
	}
	return st.Verifier.Verify(ctx, raw)
}

// overLimits refuses a header block over the configured caps before it reaches the
// router or the policy: it is hostile or broken, whatever its route.
func overLimits(r request, l config.Limits) (policy.Decision, bool) {
	var why string
	switch {
	case r.size.count > l.MaxHeaders:
		why = fmt.Sprintf("the request has %d headers; at most %d are accepted", r.size.count, l.MaxHeaders)
	case r.size.bytes > l.MaxHeaderBytes:
		why = fmt.Sprintf("the request headers are %d bytes; at most %d are accepted", r.size.bytes, l.MaxHeaderBytes)
	default:
		return policy.Decision{}, false
	}
	return invalidRequest(why), true
}

// target is the request's host and path in the form APIs are matched in. A host or a
// path that cannot be judged safely (route.Host, route.Normalize) is an error that says
// why, which denies the request with 400 invalid_request before the router: a path
// that another proxy or backend could resolve to something else is never decided as
// something else.
func target(h *authv3.AttributeContext_HttpRequest, l config.Limits) (host, path string, err error) {
	if host, err = route.Host(h.GetHost()); err != nil {
		return "", "", err
	}
	if path, err = route.Normalize(h.GetPath(), l.AllowEncodedSlashes); err != nil {
		return "", "", err
	}
	return host, path, nil
}

// invalidRequest is Tollgate's own 400 deny of a request it refuses to judge, with an
// RFC 6750 invalid_request challenge; why becomes its description.
func invalidRequest(why string) policy.Decision {
	return policy.Decision{
		HTTPStatus:  400,
		Reason:      token.CodeInvalidRequest,
		Description: why,
		Headers:     map[string]string{"www-authenticate": `Bearer error="invalid_request"`},
	}
}

// internalError is the decision when the policy cannot decide.
var internalError = policy.Decision{
	HTTPStatus:  500,
	Reason:      "internal_error",
	Description: "the authorization decision failed; see the server log",
}

func (s *Server) logDecision(ctx context.Context, r request, e Evaluation) {
	allowed := e.Decision.Allowed
	if s.decisions == LogNone || s.decisions == LogDenies && allowed {
		return
	}
	attrs := []slog.Attr{
		slog.String("decision_id", e.ID),
		slog.Bool("allowed", allowed),
		slog.String("reason", e.Decision.Reason),
		slog.String("method", r.http.GetMethod()),
		slog.String("host", r.http.GetHost()),
		slog.String("path", pathOnly(r.http.GetPath())),
		slog.String("api", e.Match.API),
		slog.String("resource", e.Match.Resource),
		slog.Duration("took", e.Took),
		slog.Bool("memoized", e.Memoized),
	}
	if e.Identity != nil {
		attrs = append(attrs, slog.String("issuer", e.Identity.Issuer),
			slog.String("client_id", e.Identity.ClientID), slog.String("subject", e.Identity.Subject))
	}
	if e.TokenError != nil {
		attrs = append(attrs, slog.String("token_error", e.TokenError.Reason))
	}
	if !allowed {
		attrs = append(attrs, slog.Int("status", statusOf(e.Decision)), slog.String("description", e.Decision.Description))
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
