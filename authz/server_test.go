package authz

import (
	"context"
	"io"
	"log/slog"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
)

// A panic anywhere in a check is a deny, never a crash of the server or an allow.
func TestCheckRecoversPanics(t *testing.T) {
	s := NewServer(&State{}, slog.New(slog.NewTextHandler(io.Discard, nil)), LogAll) // nil router: Match panics
	req := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/orders/1"}}}}
	resp, err := s.Check(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if codes.Code(resp.GetStatus().GetCode()) != codes.Internal || resp.GetDeniedResponse().GetStatus().GetCode() != 500 {
		t.Errorf("response %v; want a 500 deny", resp)
	}
}
