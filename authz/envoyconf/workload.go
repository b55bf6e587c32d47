package envoyconf

// podTemplated are the kinds whose pods come from spec.template.
var podTemplated = map[string]bool{
	"Deployment": true, "StatefulSet": true, "DaemonSet": true, "ReplicaSet": true,
}

// tollgateBehind is the Tollgate configuration a Service leads to: the one of
// Options.TollgateConfig when given; else the ConfigMap a pod the Service selects
// mounts; else, when no such pod is among the files, the ConfigMaps' configuration
// if they all agree on the gRPC port, which is noted at p when they do not. So with
// two Tollgates side by side (tollgate.yaml and tollgate-sts.yaml), each Service is
// checked against its own.
func (m *mesh) tollgateBehind(svc object, p string) (tollgateAt, bool) {
	if m.given != nil {
		return *m.given, true
	}
	byConfigMap := make(map[string]tollgateAt, len(m.tollgates))
	for _, t := range m.tollgates {
		if _, dup := byConfigMap[t.configMap]; !dup {
			byConfigMap[t.configMap] = t
		}
	}
	if selector := stringMap(specMap(svc)["selector"]); len(selector) > 0 {
		for _, o := range m.objects {
			labels, pod := podOf(o)
			if pod == nil || o.ns != svc.ns || !selects(selector, labels) {
				continue
			}
			for _, name := range configMapVolumes(pod) {
				if t, ok := byConfigMap[qualified(o.ns, name)]; ok {
					return t, true
				}
			}
		}
	}
	if len(m.tollgates) == 0 {
		return tollgateAt{}, false
	}
	for _, t := range m.tollgates[1:] {
		if t.grpcPort != m.tollgates[0].grpcPort {
			svc.r.notef(p, "the Tollgate ConfigMaps listen on different gRPC ports (%s; %s) and no pod this Service selects mounts one: the port is not checked", m.tollgates[0].from, t.from)
			return tollgateAt{}, false
		}
	}
	return m.tollgates[0], true
}

// podOf returns the labels and the spec of an object's pods: a Pod's own, or its
// template's; a nil spec for an object that makes no pods.
func podOf(o object) (map[string]string, map[string]any) {
	doc := o.doc
	switch {
	case o.kind == "Pod":
	case podTemplated[o.kind]:
		doc, _ = specMap(o)["template"].(map[string]any)
	default:
		return nil, nil
	}
	meta, _ := doc["metadata"].(map[string]any)
	spec, _ := doc["spec"].(map[string]any)
	return stringMap(meta["labels"]), spec
}

// configMapVolumes returns the names of the ConfigMaps a pod spec mounts, directly or
// in a projected volume.
func configMapVolumes(pod map[string]any) []string {
	var names []string
	add := func(v any) {
		cm, _ := v.(map[string]any)
		if name, ok := cm["name"].(string); ok {
			names = append(names, name)
		}
	}
	volumes, _ := pod["volumes"].([]any)
	for _, v := range volumes {
		vol, _ := v.(map[string]any)
		add(vol["configMap"])
		projected, _ := vol["projected"].(map[string]any)
		sources, _ := projected["sources"].([]any)
		for _, src := range sources {
			s, _ := src.(map[string]any)
			add(s["configMap"])
		}
	}
	return names
}

// selects reports whether a Service's selector matches a pod's labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// stringMap returns the string values of a YAML map, as labels and selectors are.
func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, e := range m {
		if s, ok := e.(string); ok {
			out[k] = s
		}
	}
	return out
}
