package authz

import (
	"net/http"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/tollgate/tollgate/authz/policy"
)

func TestHeadersToRemove(t *testing.T) {
	full := map[string]string{}
	for _, h := range identityHeaders {
		full[h] = "v"
	}
	tests := []struct {
		name    string
		set     map[string]string
		policy  []string
		request map[string]string
		want    []string
	}{
		{name: "full allow removes nothing it sets", set: full, request: map[string]string{"x-tollgate-api": "forged"}},
		{name: "client-only tollgate headers", set: full,
			request: map[string]string{"x-tollgate-admin": "1", "x_tollgate_application": "a", "x-tollgate_scopes": "s", "x-other": "kept"},
			want:    []string{"x-tollgate-admin", "x_tollgate_application", "x-tollgate_scopes"}},
		{name: "public allow removes the identity headers it does not set, sent or not",
			set:  map[string]string{"x-tollgate-api": "orders"},
			want: []string{"x-tollgate-application", "x-tollgate-client-id", "x-tollgate-issuer", "x-tollgate-scopes", "x-tollgate-subject"}},
		{name: "policy removals kept", set: full, policy: []string{"cookie"}, want: []string{"cookie"}},
		{name: "the bare prefix is not a tollgate header", set: full, request: map[string]string{"x-tollgate-": "1", "x-tollgatex": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := headersToRemove(policy.Decision{Allowed: true, Headers: tt.set, RequestHeadersToRemove: tt.policy}, tt.request)
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("headersToRemove = %v; want %v", got, want)
			}
		})
	}
}

func TestResponseStatus(t *testing.T) {
	tests := []struct {
		status int
		want   codes.Code
	}{
		{0, codes.PermissionDenied},
		{http.StatusBadRequest, codes.InvalidArgument},
		{http.StatusUnauthorized, codes.Unauthenticated},
		{http.StatusForbidden, codes.PermissionDenied},
		{http.StatusNotFound, codes.NotFound},
		{http.StatusTooManyRequests, codes.ResourceExhausted},
		{http.StatusInternalServerError, codes.Internal},
		{http.StatusServiceUnavailable, codes.Unavailable},
		{http.StatusTeapot, codes.PermissionDenied},
	}
	for _, tt := range tests {
		resp, err := response(policy.Decision{HTTPStatus: tt.status}, "id", nil)
		if err != nil {
			t.Fatal(err)
		}
		wantHTTP := tt.status
		if wantHTTP == 0 {
			wantHTTP = http.StatusForbidden
		}
		d := resp.GetDeniedResponse()
		if codes.Code(resp.GetStatus().GetCode()) != tt.want || int(d.GetStatus().GetCode()) != wantHTTP {
			t.Errorf("status %d -> %v %d; want %v %d", tt.status, codes.Code(resp.GetStatus().GetCode()), d.GetStatus().GetCode(), tt.want, wantHTTP)
		}
		if d.GetBody() != `{"error":"access_denied"}` {
			t.Errorf("body %s", d.GetBody())
		}
	}
}

func TestResponseRefusesUnsendableHeaders(t *testing.T) {
	for _, h := range []map[string]string{
		{"x-a": "a\r\nx-b: b"},
		{"x-a": "a\x00"},
		{"bad name": "v"},
		{"": "v"},
		{"x-a:": "v"},
	} {
		if _, err := response(policy.Decision{Allowed: true, Headers: h}, "id", nil); err == nil {
			t.Errorf("headers %q accepted", h)
		}
	}
}
