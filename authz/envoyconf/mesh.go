package envoyconf

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	securityv1beta1 "istio.io/api/security/v1beta1"

	"github.com/tollgate/tollgate/authz/config"
)

// object is one Kubernetes object of a manifest.
type object struct {
	r    *report
	doc  map[string]any
	path string // documents[i](Kind namespace/name)
	kind string
	name string
	ns   string
}

// mesh gathers the Kubernetes objects of every file, whose checks need each other: an
// AuthorizationPolicy names a provider of the mesh config, which names a Service,
// which reaches the Tollgate a ConfigMap configures.
type mesh struct {
	objects   []object
	providers map[string]providerAt
	// meshConfigs counts the mesh configs found; without one, provider names are not
	// checked.
	meshConfigs int
	services    map[string]object // by name.namespace
	// given is the Tollgate of Options.TollgateConfig: when set, every Service of a
	// provider leads to it.
	given *tollgateAt
	// tollgates are the Tollgate configurations of the ConfigMaps, in file order.
	tollgates []tollgateAt
}

// tollgateAt is a Tollgate configuration: the port of its gRPC listener, and where
// that is set, for messages.
type tollgateAt struct {
	configMap string // namespace/name of its ConfigMap; empty for Options.TollgateConfig
	grpcPort  uint32
	from      string
}

// providerAt is an extension provider of a mesh config.
type providerAt struct {
	o        object
	path     string
	extAuthz bool
	grpc     bool
	service  string
	port     uint32
}

// kinds are the kinds the validator checks: each one's API group and the keys its
// objects may have besides apiVersion, kind and metadata.
var kinds = map[string]struct {
	group string
	keys  []string
}{
	"AuthorizationPolicy":   {"security.istio.io/", []string{"spec", "status"}},
	"PeerAuthentication":    {"security.istio.io/", []string{"spec", "status"}},
	"RequestAuthentication": {"security.istio.io/", []string{"spec", "status"}},
	"IstioOperator":         {"install.istio.io/", []string{"spec", "status"}},
	"Service":               {"v1", []string{"spec", "status"}},
	"ConfigMap":             {"v1", []string{"data", "binaryData", "immutable"}},
}

func newMesh(tollgate *config.Config) *mesh {
	m := &mesh{providers: map[string]providerAt{}, services: map[string]object{}}
	if tollgate != nil {
		port, from := grpcPortOf(tollgate, tollgate.Path)
		m.given = &tollgateAt{grpcPort: port, from: from}
	}
	return m
}

// add takes in a manifest's documents.
func (m *mesh) add(docs []any, r *report) {
	for i, d := range docs {
		p := index("documents", i)
		doc, ok := d.(map[string]any)
		kind, _ := doc["kind"].(string)
		if !ok || kind == "" || doc["apiVersion"] == nil {
			r.errorf(p, "not a Kubernetes object: apiVersion and kind are required")
			continue
		}
		meta, _ := doc["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		ns, _ := meta["namespace"].(string)
		o := object{r: r, doc: doc, kind: kind, name: name, ns: ns, path: fmt.Sprintf("%s(%s %s)", p, kind, qualified(ns, name))}
		m.objects = append(m.objects, o)
	}
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// check runs the checks of every object, mesh configs and Tollgate's first, as the
// others refer to them.
func (m *mesh) check() {
	var checked []object
	for _, o := range m.objects {
		if checkTopLevel(o) {
			m.collect(o)
			checked = append(checked, o)
		}
	}
	for _, o := range checked {
		switch o.kind {
		case "AuthorizationPolicy":
			m.checkPolicy(o)
		case "PeerAuthentication":
			decode(o.doc["spec"], &securityv1beta1.PeerAuthentication{}, field(o.path, "spec"), o.r)
		case "RequestAuthentication":
			decode(o.doc["spec"], &securityv1beta1.RequestAuthentication{}, field(o.path, "spec"), o.r)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.providers)) {
		m.checkProviderService(m.providers[name])
	}
}

// checkTopLevel refuses an object of a checked kind with another API group or an
// unknown key, and notes the kinds that are not checked. It reports whether the object
// is to be checked further.
func checkTopLevel(o object) bool {
	kind, checked := kinds[o.kind]
	if !checked {
		o.r.notef(o.path, "not checked: the validator knows %s", strings.Join(slices.Sorted(maps.Keys(kinds)), ", "))
		return false
	}
	ok := true
	if v, _ := o.doc["apiVersion"].(string); !strings.HasPrefix(v, kind.group) {
		o.r.errorf(field(o.path, "apiVersion"), "%q is not an API version of %s (%s...)", v, o.kind, kind.group)
		ok = false
	}
	for _, k := range slices.Sorted(maps.Keys(o.doc)) {
		if k != "apiVersion" && k != "kind" && k != "metadata" && !slices.Contains(kind.keys, k) {
			o.r.errorf(field(o.path, k), "unknown field %q of %s", k, o.kind)
			ok = false
		}
	}
	if o.name == "" {
		o.r.errorf(field(o.path, "metadata.name"), "is required")
		ok = false
	}
	return ok
}

// collect checks the objects others refer to and records what they define.
func (m *mesh) collect(o object) {
	switch o.kind {
	case "IstioOperator":
		if mc, ok := specMap(o)["meshConfig"]; ok {
			m.checkMeshConfig(o, mc, field(o.path, "spec.meshConfig"))
		}
	case "ConfigMap":
		m.checkConfigMap(o)
	case "Service":
		m.services[o.name+"."+o.ns] = o
	}
}

func specMap(o object) map[string]any {
	spec, _ := o.doc["spec"].(map[string]any)
	return spec
}
