package envoyconf

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/policy"
)

// tollgateConfigKey is the key of a ConfigMap that holds a Tollgate configuration.
const tollgateConfigKey = "config.yaml"

// checkConfigMap checks the ConfigMaps the validator knows: Istio's mesh config (the
// "istio" ConfigMap, or "istio-REVISION") and Tollgate's configuration.
func (m *mesh) checkConfigMap(o object) {
	data, _ := o.doc["data"].(map[string]any)
	mesh, isMesh := data["mesh"].(string)
	tollgate, isTollgate := data[tollgateConfigKey].(string)
	switch {
	case isMesh && (o.name == "istio" || strings.HasPrefix(o.name, "istio-")):
		m.checkMeshString(o, mesh)
	case isTollgate:
		m.checkTollgate(o, data, tollgate)
	default:
		o.r.notef(o.path, "not checked: neither Istio's mesh config nor a Tollgate configuration (%s)", tollgateConfigKey)
	}
}

// checkMeshString checks the mesh config the istio ConfigMap holds as a YAML string.
func (m *mesh) checkMeshString(o object, raw string) {
	p := field(o.path, "data.mesh")
	docs, err := documents([]byte(raw))
	switch {
	case err != nil:
		o.r.errorf(p, "%v", err)
	case len(docs) != 1:
		o.r.errorf(p, "must be one YAML document")
	default:
		m.checkMeshConfig(o, docs[0], p)
	}
}

// checkTollgate checks a ConfigMap that runs Tollgate: its configuration and its
// policies, as the server would load them from the volume, and in data mode its data
// file; in store mode the data is in the store, so the policies are compiled without
// any, as a new store starts.
func (m *mesh) checkTollgate(o object, data map[string]any, raw string) {
	p := key(field(o.path, "data"), tollgateConfigKey)
	cfg, err := config.Parse([]byte(raw))
	if err != nil {
		reportLines(o, p, err)
		return
	}
	port, from := grpcPortOf(cfg, o.r.file+" "+p)
	m.tollgates = append(m.tollgates, tollgateAt{configMap: qualified(o.ns, o.name), grpcPort: port, from: from})
	if cfg.Store != nil {
		checkStoreInPod(o, p, cfg)
		o.r.notef(p, "store mode: the data is in the store and is not checked; the policies are compiled without it")
		checkPolicies(o, data, &catalog.Catalog{})
		return
	}
	cat := m.checkData(o, data, cfg)
	if cat != nil {
		checkPolicies(o, data, cat)
	}
}

// checkStoreInPod checks what a store-mode configuration in a ConfigMap needs that a
// file on a host does not: the store on a writable volume, and an STS issuer other
// pods reach.
func checkStoreInPod(o object, p string, cfg *config.Config) {
	if filepath.IsLocal(cfg.Store.Path) {
		o.r.warnf(field(p, "store.path"), "%q is relative, so it is in the directory of %s: the ConfigMap's volume, which is read-only; give an absolute path on a persistent volume", cfg.Store.Path, tollgateConfigKey)
	}
	if !cfg.STS.On(cfg.Store) {
		return
	}
	if u, err := url.Parse(cfg.STS.Issuer); err == nil && isLoopback(u.Hostname()) {
		o.r.warnf(field(p, "sts.issuer"), "%q names each pod itself, where no client in another pod reaches the STS, yet the STS advertises its token endpoint and JWKS under it; set sts.issuer to the URL clients reach it at, such as http://SERVICE.NAMESPACE.svc.cluster.local:PORT", cfg.STS.Issuer)
	}
}

// isLoopback reports a host name or address that means this machine.
func isLoopback(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// checkData checks the data file the configuration names, by its base name among the
// ConfigMap's keys.
func (m *mesh) checkData(o object, data map[string]any, cfg *config.Config) *catalog.Catalog {
	name := path.Base(cfg.Data)
	p := key(field(o.path, "data"), name)
	raw, ok := data[name].(string)
	if !ok {
		o.r.warnf(key(field(o.path, "data"), tollgateConfigKey), "data: %q is not a key of this ConfigMap: the data is not checked", cfg.Data)
		return nil
	}
	issuers := make([]string, len(cfg.Issuers))
	for i, is := range cfg.Issuers {
		issuers[i] = is.Name
	}
	cat, err := catalog.Parse([]byte(raw), issuers)
	if err != nil {
		reportLines(o, p, err)
		return nil
	}
	return cat
}

// checkPolicies compiles the ConfigMap's .rego keys (not the _test.rego ones) with the
// data, as the server would.
func checkPolicies(o object, data map[string]any, cat *catalog.Catalog) {
	modules := map[string]string{}
	for k, v := range data {
		if s, ok := v.(string); ok && strings.HasSuffix(k, ".rego") && !strings.HasSuffix(k, "_test.rego") {
			modules[k] = s
		}
	}
	p := field(o.path, "data")
	if len(modules) == 0 {
		o.r.notef(p, "no .rego key: the policies are not checked")
		return
	}
	if _, err := policy.Compile(context.Background(), modules, cat.Document()); err != nil {
		reportLines(o, p, err)
	}
}

// reportLines reports each line of err, which joins several problems, as an error. A
// line that ends in a colon leads the lines after it.
func reportLines(o object, p string, err error) {
	lead := ""
	for line := range strings.SplitSeq(err.Error(), "\n") {
		switch line = strings.TrimSpace(line); {
		case strings.HasSuffix(line, ":"):
			lead = line + " "
		case line != "":
			o.r.errorf(p, "%s%s", lead, line)
		}
	}
}

// grpcPortOf returns the port of Tollgate's gRPC listener, and where it is set.
func grpcPortOf(cfg *config.Config, from string) (uint32, string) {
	return portOf(cfg.GRPC.Address, "grpc.address", from)
}

// portOf returns the port of a listener's address, and where it is set; 0 when the
// address has none.
func portOf(addr, key, from string) (uint32, string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, ""
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return 0, ""
	}
	return uint32(p), fmt.Sprintf("%s %q of %s", key, addr, from)
}
