package authz

import (
	"encoding/base64"
	"strconv"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// attributesTerm renders input.attributes as protojson would (camelCase names, empty
// fields left out, int64 as a string), built directly as an OPA value. Rarely sent
// messages (metadata, TLS session, non-socket addresses) go through protojson itself.
func attributesTerm(r request) *ast.Term {
	a := r.check.GetAttributes()
	obj := ast.NewObject()
	putTerm(obj, "source", peerTerm(a.GetSource()))
	putTerm(obj, "destination", peerTerm(a.GetDestination()))
	putTerm(obj, "request", requestTerm(a.GetRequest(), r.headers))
	putMap(obj, "contextExtensions", a.GetContextExtensions())
	putTerm(obj, "metadataContext", protoTerm(a.GetMetadataContext()))
	putTerm(obj, "routeMetadataContext", protoTerm(a.GetRouteMetadataContext()))
	putTerm(obj, "tlsSession", protoTerm(a.GetTlsSession()))
	return ast.NewTerm(obj)
}

func requestTerm(req *authv3.AttributeContext_Request, headers map[string]string) *ast.Term {
	if req == nil {
		return nil
	}
	obj := ast.NewObject()
	if t := req.GetTime(); t != nil {
		putString(obj, "time", timestamp(t.AsTime()))
	}
	if h := req.GetHttp(); h != nil {
		putTerm(obj, "http", httpTerm(h, headers))
	}
	return ast.NewTerm(obj)
}

func httpTerm(h *authv3.AttributeContext_HttpRequest, headers map[string]string) *ast.Term {
	obj := ast.NewObject()
	putString(obj, "id", h.GetId())
	putString(obj, "method", h.GetMethod())
	putMap(obj, "headers", headers)
	putString(obj, "path", h.GetPath())
	putString(obj, "host", h.GetHost())
	putString(obj, "scheme", h.GetScheme())
	putString(obj, "query", h.GetQuery())
	putString(obj, "fragment", h.GetFragment())
	if h.GetSize() != 0 {
		putString(obj, "size", strconv.FormatInt(h.GetSize(), 10))
	}
	putString(obj, "protocol", h.GetProtocol())
	putString(obj, "body", h.GetBody())
	if len(h.GetRawBody()) > 0 {
		putString(obj, "rawBody", base64.StdEncoding.EncodeToString(h.GetRawBody()))
	}
	return ast.NewTerm(obj)
}

func peerTerm(p *authv3.AttributeContext_Peer) *ast.Term {
	if p == nil {
		return nil
	}
	obj := ast.NewObject()
	putTerm(obj, "address", addressTerm(p.GetAddress()))
	putString(obj, "service", p.GetService())
	putMap(obj, "labels", p.GetLabels())
	putString(obj, "principal", p.GetPrincipal())
	putString(obj, "certificate", p.GetCertificate())
	return ast.NewTerm(obj)
}

// addressTerm builds the common TCP socket address by hand and leaves the rest to
// protojson.
func addressTerm(a *corev3.Address) *ast.Term {
	s := a.GetSocketAddress()
	if s == nil || s.GetProtocol() != corev3.SocketAddress_TCP || s.GetNamedPort() != "" ||
		s.GetResolverName() != "" || s.GetIpv4Compat() || s.GetNetworkNamespaceFilepath() != "" {
		return protoTerm(a)
	}
	sock := ast.NewObject()
	putString(sock, "address", s.GetAddress())
	if port := s.GetPortValue(); port != 0 {
		sock.Insert(ast.StringTerm("portValue"), ast.IntNumberTerm(int(port)))
	}
	return ast.ObjectTerm(ast.Item(ast.StringTerm("socketAddress"), ast.NewTerm(sock)))
}

// protoTerm renders a message through protojson; nil or empty messages render as nil.
func protoTerm(m proto.Message) *ast.Term {
	if m == nil || !m.ProtoReflect().IsValid() {
		return nil
	}
	raw, err := protojson.Marshal(m)
	if err != nil {
		return nil
	}
	var v any
	if err := util.UnmarshalJSON(raw, &v); err != nil {
		return nil
	}
	val, err := ast.InterfaceToValue(v)
	if err != nil {
		return nil
	}
	return ast.NewTerm(val)
}

// timestamp formats like protojson: UTC, with 0, 3, 6 or 9 fractional digits.
func timestamp(t time.Time) string {
	t = t.UTC()
	layout := "2006-01-02T15:04:05Z"
	switch ns := t.Nanosecond(); {
	case ns == 0:
	case ns%1e6 == 0:
		layout = "2006-01-02T15:04:05.000Z"
	case ns%1e3 == 0:
		layout = "2006-01-02T15:04:05.000000Z"
	default:
		layout = "2006-01-02T15:04:05.000000000Z"
	}
	return t.Format(layout)
}

func putTerm(obj ast.Object, key string, t *ast.Term) {
	if t != nil {
		obj.Insert(ast.StringTerm(key), t)
	}
}

func putString(obj ast.Object, key, s string) {
	if s != "" {
		obj.Insert(ast.StringTerm(key), ast.StringTerm(s))
	}
}

func putMap(obj ast.Object, key string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	inner := ast.NewObject()
	for k, v := range m {
		inner.Insert(ast.StringTerm(k), ast.StringTerm(v))
	}
	obj.Insert(ast.StringTerm(key), ast.NewTerm(inner))
}
