package authz

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tollgate/tollgate/authz/policy"
)

// IdentityHeaderPrefix marks the headers Tollgate sets for the backend. A client's own
// copies are always removed, so the backend can trust every one it sees.
const IdentityHeaderPrefix = "x-tollgate-"

// DecisionIDHeader carries the decision_id on a deny, so a client's report of a refused
// call can be matched with the server's log.
const DecisionIDHeader = "x-tollgate-decision-id"

// response turns a decision into Envoy's CheckResponse. It fails only when the policy
// returned headers Envoy would refuse.
func response(d policy.Decision, decisionID string, reqHeaders map[string]string) (*authv3.CheckResponse, error) {
	extra := 0 // room for the deny's own headers
	if !d.Allowed {
		extra = 2
	}
	headers, err := headerOptions(d.Headers, extra)
	if err != nil {
		return nil, fmt.Errorf("decision.headers: %w", err)
	}
	respHeaders, err := headerOptions(d.ResponseHeadersToAdd, 0)
	if err != nil {
		return nil, fmt.Errorf("decision.response_headers_to_add: %w", err)
	}
	meta, err := metadata(d, decisionID)
	if err != nil {
		return nil, err
	}
	if d.Allowed {
		return &authv3.CheckResponse{
			Status: &status.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
				Headers:              headers.list,
				HeadersToRemove:      headersToRemove(d, reqHeaders),
				ResponseHeadersToAdd: respHeaders.list,
			}},
			DynamicMetadata: meta,
		}, nil
	}
	body := d.Body
	if body == "" {
		body = errorBody(d)
		if _, set := d.Headers["content-type"]; !set {
			headers.add("content-type", "application/json")
		}
	}
	headers.add(DecisionIDHeader, decisionID)
	code := statusOf(d)
	return &authv3.CheckResponse{
		Status: &status.Status{Code: int32(grpcCode(code)), Message: d.Reason},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(code)},
			Headers: headers.list,
			Body:    body,
		}},
		DynamicMetadata: meta,
	}, nil
}

// identityHeaders are the headers the shipped policy sets for the backend. Each one a
// decision does not set is removed even when Envoy did not report the client's copy
// (an allowed_headers list, or Istio's includeRequestHeadersInCheck, hides it).
var identityHeaders = []string{
	"x-tollgate-api", "x-tollgate-application", "x-tollgate-client-id",
	"x-tollgate-issuer", "x-tollgate-scopes", "x-tollgate-subject",
}

// IdentityHeaders returns the names of the headers the shipped policy sets for the
// backend on an allow. A proxy route that skips Tollgate must remove them itself, or a
// client could forge them.
func IdentityHeaders() []string { return slices.Clone(identityHeaders) }

// headersToRemove lists the policy's removals, the identity headers the decision does
// not set, and every client-sent x-tollgate-* header (also spelled with underscores,
// which CGI-style backends read as the same name) the decision does not set.
func headersToRemove(d policy.Decision, reqHeaders map[string]string) []string {
	// Clipped, so appending copies: a memoized decision is shared by many checks.
	remove := slices.Clip(d.RequestHeadersToRemove)
	for _, name := range identityHeaders {
		if _, set := d.Headers[name]; !set {
			remove = append(remove, name)
		}
	}
	for name := range reqHeaders {
		if _, set := d.Headers[name]; set || !isIdentityHeader(name) || slices.Contains(identityHeaders, name) {
			continue
		}
		remove = append(remove, name)
	}
	return remove
}

// isIdentityHeader reports a name starting x-tollgate-, with any of its dashes written
// as underscores.
func isIdentityHeader(name string) bool {
	if len(name) <= len(IdentityHeaderPrefix) {
		return false
	}
	for i := 0; i < len(IdentityHeaderPrefix); i++ {
		c := name[i]
		if c == '_' {
			c = '-'
		}
		if c != IdentityHeaderPrefix[i] {
			return false
		}
	}
	return true
}

// headerOptions turns a decision's headers, whose names policy.Decision has already
// lower-cased, into Envoy header options, with room for extra more.
func headerOptions(h map[string]string, extra int) (headerList, error) {
	l := newHeaderList(len(h) + extra)
	for k, v := range h {
		if err := validHeader(k, v); err != nil {
			return headerList{}, err
		}
		l.add(k, v)
	}
	return l, nil
}

// headerList builds header options with three allocations, not two per header.
type headerList struct {
	list []*corev3.HeaderValueOption
	opts []corev3.HeaderValueOption
	vals []corev3.HeaderValue
}

func newHeaderList(n int) headerList {
	if n == 0 {
		return headerList{}
	}
	return headerList{
		list: make([]*corev3.HeaderValueOption, 0, n),
		opts: make([]corev3.HeaderValueOption, n),
		vals: make([]corev3.HeaderValue, n),
	}
}

// add appends a header that overwrites the request's or response's own; at most n,
// the size the list was made with, fit.
func (l *headerList) add(k, v string) {
	i := len(l.list)
	hv := &l.vals[i]
	hv.Key, hv.Value = k, v
	o := &l.opts[i]
	o.Header, o.AppendAction = hv, corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
	l.list = append(l.list, o)
}

// validHeader refuses what Envoy would reject: names that are not RFC 9110 tokens, and
// values with CR, LF or NUL.
func validHeader(k, v string) error {
	if k == "" {
		return fmt.Errorf("empty header name")
	}
	for i := 0; i < len(k); i++ {
		if !isTokenChar(k[i]) {
			return fmt.Errorf("header name %q is not a token", k)
		}
	}
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Errorf("header %q has CR, LF or NUL in its value", k)
	}
	return nil
}

func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// errorBody is the JSON body of a deny: {"error": CODE, "error_description": TEXT}.
func errorBody(d policy.Decision) string {
	reason := d.Reason
	if reason == "" {
		reason = "access_denied"
	}
	b, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{reason, d.Description})
	return string(b)
}

// statusOf is the HTTP status of a deny; a policy that names none denies with 403.
func statusOf(d policy.Decision) int {
	if d.HTTPStatus == 0 {
		return http.StatusForbidden
	}
	return d.HTTPStatus
}

// grpcCode maps a deny's HTTP status to the CheckResponse status code.
func grpcCode(httpStatus int) codes.Code {
	switch {
	case httpStatus == http.StatusBadRequest:
		return codes.InvalidArgument
	case httpStatus == http.StatusUnauthorized:
		return codes.Unauthenticated
	case httpStatus == http.StatusNotFound:
		return codes.NotFound
	case httpStatus == http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case httpStatus == http.StatusServiceUnavailable:
		return codes.Unavailable
	case httpStatus >= 500:
		return codes.Internal
	}
	return codes.PermissionDenied
}

// metadata is the dynamic metadata Envoy attaches to the request (for access logs and
// later filters): the policy's own, plus decision_id and reason.
func metadata(d policy.Decision, decisionID string) (*structpb.Struct, error) {
	fields := make(map[string]*structpb.Value, len(d.DynamicMetadata)+2)
	for k, v := range d.DynamicMetadata {
		if !utf8.ValidString(k) {
			return nil, fmt.Errorf("decision.dynamic_metadata: invalid UTF-8 in key %q", k)
		}
		val, err := structpb.NewValue(jsonToStruct(v))
		if err != nil {
			return nil, fmt.Errorf("decision.dynamic_metadata: %w", err)
		}
		fields[k] = val
	}
	fields["decision_id"] = structpb.NewStringValue(decisionID)
	if d.Reason != "" {
		reason, err := structpb.NewValue(d.Reason) // checks UTF-8
		if err != nil {
			return nil, fmt.Errorf("decision.reason: %w", err)
		}
		fields["reason"] = reason
	}
	return &structpb.Struct{Fields: fields}, nil
}

// jsonToStruct converts OPA's json.Number values, which structpb does not know.
func jsonToStruct(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, _ := v.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = jsonToStruct(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jsonToStruct(x)
		}
		return out
	}
	return v
}

// newDecisionID returns a random 128-bit id, hex-encoded.
func newDecisionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
