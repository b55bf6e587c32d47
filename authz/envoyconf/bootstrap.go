package envoyconf

import (
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/tollgate/tollgate/authz/config"
)

// bootstrap checks one Envoy bootstrap for what keeps Tollgate in the path of every
// request, which no schema of Envoy's knows.
type bootstrap struct {
	b        *bootstrapv3.Bootstrap
	r        *report
	clusters map[string]clusterAt
	// tollgate holds the clusters an ext_authz filter calls: Tollgate's own. Every
	// other cluster a route reaches is protected.
	tollgate map[string]bool
	// checked holds Tollgate's clusters already checked, to report each problem once.
	checked map[string]bool
	// grpcPort is the port of Tollgate's gRPC listener, when its configuration is known.
	grpcPort uint32
	// grpcFrom says where grpcPort comes from, for messages.
	grpcFrom string
	// grpcTLS is the TLS of Tollgate's gRPC listener, when its configuration is known.
	grpcTLS *config.TLS
	// tollgateFile is the file of Tollgate's configuration, when it is known.
	tollgateFile string
	// check is the address of Tollgate's HTTP check listener ("" when it is off).
	check string
}

type clusterAt struct {
	c    *clusterv3.Cluster
	path string
}

// hcmAt is an HTTP connection manager with its path in the file.
type hcmAt struct {
	m    *hcmv3.HttpConnectionManager
	path string
}

type tcpProxyAt struct {
	m    *tcpproxyv3.TcpProxy
	path string
}

// checkBootstrap decodes doc as an Envoy bootstrap, strictly, applies the API's rules
// to it and to every typed config in it, then checks how it uses Tollgate.
func checkBootstrap(doc any, tollgate *config.Config, r *report) {
	var b bootstrapv3.Bootstrap
	if !decode(doc, &b, "", r) {
		return
	}
	checkRules(&b, "", r)
	c := &bootstrap{b: &b, r: r, clusters: map[string]clusterAt{}, tollgate: map[string]bool{}, checked: map[string]bool{}}
	if tollgate != nil {
		c.grpcPort, c.grpcFrom = grpcPortOf(tollgate, tollgate.Path)
		c.grpcTLS = &tollgate.GRPC.TLS
		c.check, c.tollgateFile = tollgate.Check.Address, tollgate.Path
	}
	c.run()
}

func (c *bootstrap) run() {
	if c.b.GetDynamicResources() != nil {
		c.r.notef("dynamic_resources", "what comes from xDS (ADS, LDS, CDS) is not checked: only static_resources is")
	}
	c.indexClusters()
	hcms, tcps := c.networkFilters()
	for _, h := range hcms {
		c.collectTollgateClusters(h)
	}
	for _, h := range hcms {
		c.checkHCM(h)
	}
	for _, t := range tcps {
		c.checkTCPProxy(t)
	}
}

func (c *bootstrap) indexClusters() {
	for i, cl := range c.b.GetStaticResources().GetClusters() {
		p := index("static_resources.clusters", i)
		if prev, dup := c.clusters[cl.GetName()]; dup {
			c.r.errorf(field(p, "name"), "cluster %q is also defined at %s; Envoy refuses duplicate names", cl.GetName(), prev.path)
			continue
		}
		c.clusters[cl.GetName()] = clusterAt{c: cl, path: p}
	}
}

// networkFilters returns the HTTP connection managers and TCP proxies of every static
// listener's filter chains.
func (c *bootstrap) networkFilters() ([]hcmAt, []tcpProxyAt) {
	var hcms []hcmAt
	var tcps []tcpProxyAt
	for li, l := range c.b.GetStaticResources().GetListeners() {
		lp := index("static_resources.listeners", li)
		for path, fc := range filterChains(l, lp) {
			for fi, f := range fc.GetFilters() {
				fp := field(index(field(path, "filters"), fi), "typed_config")
				var hcm hcmv3.HttpConnectionManager
				var tcp tcpproxyv3.TcpProxy
				switch {
				case unpack(f.GetTypedConfig(), &hcm):
					hcms = append(hcms, hcmAt{m: &hcm, path: fp})
				case unpack(f.GetTypedConfig(), &tcp):
					tcps = append(tcps, tcpProxyAt{m: &tcp, path: fp})
				}
			}
		}
	}
	return hcms, tcps
}

// filterChains yields a listener's filter chains, the default one last, by path.
func filterChains(l *listenerv3.Listener, path string) func(yield func(string, *listenerv3.FilterChain) bool) {
	return func(yield func(string, *listenerv3.FilterChain) bool) {
		for i, fc := range l.GetFilterChains() {
			if !yield(index(field(path, "filter_chains"), i), fc) {
				return
			}
		}
		if fc := l.GetDefaultFilterChain(); fc != nil {
			yield(field(path, "default_filter_chain"), fc)
		}
	}
}

// checkTCPProxy warns of a TCP proxy to a protected cluster: its traffic never meets
// an HTTP filter, so Tollgate never sees it.
func (c *bootstrap) checkTCPProxy(t tcpProxyAt) {
	name := t.m.GetCluster()
	if name == "" || c.tollgate[name] {
		return
	}
	c.r.warnf(t.path, "tcp_proxy to cluster %q: its traffic bypasses every HTTP filter, ext_authz included", name)
}

// unpack reports whether a holds a message of out's type, and if so decodes it there.
func unpack(a *anypb.Any, out proto.Message) bool {
	return a != nil && a.MessageIs(out) && a.UnmarshalTo(out) == nil
}
