package envoyconf

import (
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
)

// confusion is why a proxy must not forward paths whose meaning depends on who
// resolves them, for the messages. Tollgate judges the path the proxy forwards, and
// the backend must serve that same path; but a path holding "//", a dot segment or an
// encoded "/" or "\" means different things to different parsers (nginx and Go merge
// "//" before resolving "..", Envoy after; some backends decode %2F before routing).
const confusion = "Tollgate and the backend may read it as different paths (path confusion)"

// checkPathHandling refuses a connection manager in front of a protected cluster that
// forwards paths whose meaning depends on who resolves them: it must set
// normalize_path and merge_slashes, and an escaped-slash action other than keeping
// them. Each field that falls short is reported where it is, or would be, in the file.
func (c *bootstrap) checkPathHandling(h hcmAt) {
	np := field(h.path, "normalize_path")
	switch v := h.m.GetNormalizePath(); {
	case v == nil:
		c.r.errorf(np, "is not set, and Envoy's default (runtime key http_connection_manager.normalize_path) is false: a path such as /docs/../admin is passed on unresolved, and %s; set normalize_path: true", confusion)
	case !v.GetValue():
		c.r.errorf(np, "is false: a path such as /docs/../admin is passed on unresolved, and %s; set normalize_path: true", confusion)
	}
	if !h.m.GetMergeSlashes() {
		c.r.errorf(field(h.path, "merge_slashes"), "is not true (Envoy's default is false): a path such as /docs//admin is passed on with its \"//\", and %s; set merge_slashes: true", confusion)
	}
	ep := field(h.path, "path_with_escaped_slashes_action")
	switch h.m.GetPathWithEscapedSlashesAction() {
	case hcmv3.HttpConnectionManager_IMPLEMENTATION_SPECIFIC_DEFAULT:
		c.r.errorf(ep, "is not set, and Envoy's default is KEEP_UNCHANGED: %%2F and %%5C are passed on encoded, and %s; set REJECT_REQUEST (or UNESCAPE_AND_REDIRECT, UNESCAPE_AND_FORWARD)", confusion)
	case hcmv3.HttpConnectionManager_KEEP_UNCHANGED:
		c.r.errorf(ep, "is KEEP_UNCHANGED: %%2F and %%5C are passed on encoded, and %s; set REJECT_REQUEST (or UNESCAPE_AND_REDIRECT, UNESCAPE_AND_FORWARD)", confusion)
	}
}

// unmerged says what each normalization of Istio's that keeps "//" does instead.
var unmerged = map[meshv1alpha1.MeshConfig_ProxyPathNormalization_NormalizationType]string{
	meshv1alpha1.MeshConfig_ProxyPathNormalization_DEFAULT: "Istio's default, BASE, which resolves dot segments but keeps \"//\"",
	meshv1alpha1.MeshConfig_ProxyPathNormalization_BASE:    "which resolves dot segments but keeps \"//\"",
	meshv1alpha1.MeshConfig_ProxyPathNormalization_NONE:    "which forwards paths as sent",
}

// checkPathNormalization refuses a mesh config whose sidecars do not merge "//": Istio
// turns pathNormalization into the connection managers' normalize_path,
// merge_slashes and escaped-slash action. MERGE_SLASHES leaves %2F encoded, which
// Tollgate refuses; DECODE_AND_MERGE_SLASHES decodes it first.
func checkPathNormalization(o object, mc *meshv1alpha1.MeshConfig, path string) {
	const fix = "set pathNormalization: {normalization: DECODE_AND_MERGE_SLASHES} (or MERGE_SLASHES)"
	p := field(path, "pathNormalization")
	pn := mc.GetPathNormalization()
	n := pn.GetNormalization()
	switch {
	case n == meshv1alpha1.MeshConfig_ProxyPathNormalization_MERGE_SLASHES || n == meshv1alpha1.MeshConfig_ProxyPathNormalization_DECODE_AND_MERGE_SLASHES:
		return
	case pn == nil:
		o.r.errorf(p, "is not set, and Istio's default is BASE, %s: a path such as /docs//admin reaches Tollgate and the workload with its \"//\", and %s; %s", unmerged[meshv1alpha1.MeshConfig_ProxyPathNormalization_BASE], confusion, fix)
	default:
		what, known := unmerged[n]
		if !known {
			what = "which is no normalization Istio knows"
		}
		o.r.errorf(field(p, "normalization"), "is %s, %s: a path such as /docs//admin reaches Tollgate and the workload with its \"//\", and %s; %s", n, what, confusion, fix)
	}
}
