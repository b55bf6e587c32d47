package envoyconf

import (
	"maps"
	"slices"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// settingsAt is a route's (or virtual host's) ext_authz check_settings, which may send
// its checks to another service than the filter's.
type settingsAt struct {
	cfg  *extauthzv3.CheckSettings
	path string
}

// perRouteSettings returns every ext_authz check_settings of a route configuration
// that names its own service.
func perRouteSettings(rc *routev3.RouteConfiguration, rcPath string) []settingsAt {
	var out []settingsAt
	add := func(configs map[string]*anypb.Any, path string) {
		for _, k := range slices.Sorted(maps.Keys(configs)) {
			a := configs[k]
			var fc routev3.FilterConfig
			if unpack(a, &fc) {
				a = fc.GetConfig()
			}
			var pr extauthzv3.ExtAuthzPerRoute
			if !unpack(a, &pr) {
				continue
			}
			if s := pr.GetCheckSettings(); s.GetGrpcService() != nil || s.GetHttpService() != nil {
				out = append(out, settingsAt{cfg: s, path: field(key(field(path, "typed_per_filter_config"), k), "check_settings")})
			}
		}
	}
	add(rc.GetTypedPerFilterConfig(), rcPath)
	for vi, vh := range rc.GetVirtualHosts() {
		vp := index(field(rcPath, "virtual_hosts"), vi)
		add(vh.GetTypedPerFilterConfig(), vp)
		for ri, rt := range vh.GetRoutes() {
			rp := index(field(vp, "routes"), ri)
			add(rt.GetTypedPerFilterConfig(), rp)
			for wi, w := range rt.GetRoute().GetWeightedClusters().GetClusters() {
				add(w.GetTypedPerFilterConfig(), index(field(field(rp, "route.weighted_clusters"), "clusters"), wi))
			}
		}
	}
	return out
}
