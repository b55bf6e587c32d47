package envoyconf

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// speaksHTTP2 reports whether a cluster's upstream connections may use HTTP/2, which
// gRPC needs: by explicit HTTP/2 options, by ALPN (auto_config), or by the deprecated
// http2_protocol_options field.
func speaksHTTP2(cl *clusterv3.Cluster) bool {
	// Read by name: the field is deprecated, yet Envoy still honours it.
	m := cl.ProtoReflect()
	if m.Has(m.Descriptor().Fields().ByName("http2_protocol_options")) {
		return true
	}
	for _, a := range cl.GetTypedExtensionProtocolOptions() {
		var o upstreamhttpv3.HttpProtocolOptions
		if !unpack(a, &o) {
			continue
		}
		if o.GetAutoConfig() != nil || o.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil {
			return true
		}
	}
	return false
}
