package httpcheck

import (
	"net"
	"net/http"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// hopByHop headers describe the proxy's connection to Tollgate, not the request.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
	"trailer": true, "transfer-encoding": true, "upgrade": true,
}

// checkRequest is the CheckRequest Envoy would send for the original request: its
// headers lower-cased and joined with ",", the pseudo-headers from o, and the proxy's
// address as the source (the client's is in the proxy's X-Forwarded-For, if any).
func checkRequest(r *http.Request, o original) *authv3.CheckRequest {
	headers := make(map[string]string, len(r.Header)+4)
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if steering[name] || hopByHop[name] {
			continue
		}
		headers[name] = strings.Join(values, ",")
	}
	headers[":method"], headers[":path"], headers[":authority"] = o.method, o.path, o.host
	if o.scheme != "" {
		headers[":scheme"] = o.scheme
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: socketAddress(r.RemoteAddr)},
		Request: &authv3.AttributeContext_Request{
			Time: timestamppb.Now(),
			Http: &authv3.AttributeContext_HttpRequest{
				Id: headers["x-request-id"], Method: o.method, Path: o.path, Host: o.host, Scheme: o.scheme,
				Headers: headers, Protocol: r.Proto,
			},
		},
	}}
}

// socketAddress is a host:port as Envoy's address, or nil when it is not one.
func socketAddress(hostport string) *corev3.Address {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil
	}
	p, err := strconv.ParseUint(port, 10, 32)
	if err != nil {
		return nil
	}
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(p)}}}}
}
