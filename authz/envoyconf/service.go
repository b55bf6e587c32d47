package envoyconf

import "strings"

// servicePort is one port of a Kubernetes Service.
type servicePort struct {
	Name        string
	Port        uint32
	TargetPort  any // a number, a name, or nil for the port itself
	AppProtocol string
}

// checkProviderService checks an ext_authz provider against its Service, when that
// Service is among the files: the Service has the provider's port, Istio knows the
// port speaks gRPC, and the port leads to the gRPC listener of the Tollgate behind the
// Service, when that is known.
func (m *mesh) checkProviderService(p providerAt) {
	if !p.extAuthz {
		return
	}
	name, ns := serviceHost(p.service)
	svc, ok := m.services[name+"."+ns]
	if !ok {
		// A Service without a namespace in its manifest goes where it is applied.
		if svc, ok = m.services[name+"."]; !ok {
			return
		}
	}
	ports := servicePorts(svc)
	for i, sp := range ports {
		if sp.Port != p.port {
			continue
		}
		pp := index(field(svc.path, "spec.ports"), i)
		if p.grpc && !speaksGRPC(sp) {
			svc.r.warnf(pp, "port %d carries ext_authz gRPC: set appProtocol: grpc (or name it grpc-...), so that Istio speaks HTTP/2 to it", sp.Port)
		}
		if target := targetPort(sp); p.grpc && target != 0 {
			if t, ok := m.tollgateBehind(svc, field(pp, "targetPort")); ok && t.grpcPort != 0 && target != t.grpcPort {
				svc.r.errorf(field(pp, "targetPort"), "%d is not Tollgate's gRPC port %d (%s)", target, t.grpcPort, t.from)
			}
		}
		return
	}
	p.o.r.errorf(field(p.path, "port"), "Service %s (%s) has no port %d", qualified(svc.ns, svc.name), svc.r.file, p.port)
}

// serviceHost splits an Istio provider's service, "[namespace/]name.namespace.svc...",
// into the Service's name and namespace.
func serviceHost(service string) (name, ns string) {
	_, host, found := strings.Cut(service, "/")
	if !found {
		host = service
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return host, ""
	}
	return labels[0], labels[1]
}

func servicePorts(svc object) []servicePort {
	list, _ := specMap(svc)["ports"].([]any)
	ports := make([]servicePort, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		sp := servicePort{TargetPort: m["targetPort"]}
		sp.Name, _ = m["name"].(string)
		sp.AppProtocol, _ = m["appProtocol"].(string)
		if n, ok := m["port"].(int); ok && n > 0 && n < 1<<16 {
			sp.Port = uint32(n)
		}
		ports = append(ports, sp)
	}
	return ports
}

// targetPort is the port a Service port forwards to: its numeric targetPort, or the
// port itself; 0 for a named targetPort.
func targetPort(sp servicePort) uint32 {
	switch t := sp.TargetPort.(type) {
	case nil:
		return sp.Port
	case int:
		if t > 0 && t < 1<<16 {
			return uint32(t)
		}
	}
	return 0
}

// speaksGRPC reports whether Istio takes a Service port for gRPC (or HTTP/2), by its
// appProtocol or its name's prefix.
func speaksGRPC(sp servicePort) bool {
	for _, proto := range []string{"grpc", "http2"} {
		if sp.AppProtocol == proto || sp.Name == proto || strings.HasPrefix(sp.Name, proto+"-") {
			return true
		}
	}
	return false
}
