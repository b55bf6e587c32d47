package policy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Decision is the value of data.tollgate.authz.decision: OPA-Envoy's decision object,
// plus reason and description. A policy may also answer a plain boolean.
type Decision struct {
	Allowed bool
	// HTTPStatus is the status of a denied request; 0 means 403.
	HTTPStatus int
	// Reason is a stable, machine-readable code: "allowed", or the deny's error code.
	Reason      string
	Description string
	// Headers go to the backend on allow (overwriting client copies) and to the client
	// on deny.
	Headers                map[string]string
	RequestHeadersToRemove []string
	ResponseHeadersToAdd   map[string]string
	Body                   string
	DynamicMetadata        map[string]any
}

// parseDecision reads the evaluated value strictly: a field of the wrong type is an
// error, which the caller turns into a deny.
func parseDecision(v any) (Decision, error) {
	switch v := v.(type) {
	case bool:
		return Decision{Allowed: v}, nil
	case map[string]any:
		return parseObject(v)
	}
	return Decision{}, fmt.Errorf("decision is %T; want a boolean or an object", v)
}

func parseObject(m map[string]any) (Decision, error) {
	var d Decision
	var ok bool
	if d.Allowed, ok = m["allowed"].(bool); !ok {
		return d, fmt.Errorf("decision.allowed is %T; want a boolean", m["allowed"])
	}
	var err error
	if d.HTTPStatus, err = status(m["http_status"]); err != nil {
		return d, err
	}
	fields := []struct {
		name string
		dst  *string
	}{{"reason", &d.Reason}, {"description", &d.Description}, {"body", &d.Body}}
	for _, f := range fields {
		if *f.dst, err = optString(m, f.name); err != nil {
			return d, err
		}
	}
	if d.Headers, err = headerMap(m, "headers"); err != nil {
		return d, err
	}
	if d.ResponseHeadersToAdd, err = headerMap(m, "response_headers_to_add"); err != nil {
		return d, err
	}
	if d.RequestHeadersToRemove, err = stringList(m, "request_headers_to_remove"); err != nil {
		return d, err
	}
	if md, present := m["dynamic_metadata"]; present {
		if d.DynamicMetadata, ok = md.(map[string]any); !ok {
			return d, fmt.Errorf("decision.dynamic_metadata is %T; want an object", md)
		}
	}
	return d, nil
}

func status(v any) (int, error) {
	if v == nil {
		return 0, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("decision.http_status is %T; want a number", v)
	}
	i, err := n.Int64()
	if err != nil || i < 200 || i > 599 {
		return 0, fmt.Errorf("decision.http_status %s is not an HTTP status", n)
	}
	return int(i), nil
}

func optString(m map[string]any, name string) (string, error) {
	v, present := m[name]
	if !present {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("decision.%s is %T; want a string", name, v)
	}
	return s, nil
}

// headerMap reads {name: value} with names lower-cased, as Envoy reports request
// headers; a value may be a list, sent as one comma-joined value. Names that differ
// only in case are merged deterministically (see outranks), so an author's
// "X-Tollgate-Application" never overrides the identity header the shipped policy
// writes in lower case, whatever the map's order.
func headerMap(m map[string]any, name string) (map[string]string, error) {
	v, present := m[name]
	if !present {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decision.%s is %T; want an object", name, v)
	}
	out := make(map[string]string, len(obj))
	var chosen map[string]string // lower-cased name -> the name its value came from
	for k := range obj {
		if strings.ToLower(k) != k { // names can collide only when one is not lower case
			chosen = make(map[string]string, len(obj))
			break
		}
	}
	for k, val := range obj {
		lower := strings.ToLower(k)
		s, err := headerValue(val)
		if err != nil {
			return nil, fmt.Errorf("decision.%s[%q]%w", name, lower, err)
		}
		if chosen != nil {
			if prev, seen := chosen[lower]; seen && !outranks(k, prev) {
				continue
			}
			chosen[lower] = k
		}
		out[lower] = s
	}
	return out, nil
}

// outranks reports whether header name a wins over b, which differs from it only in
// case: the name already in lower case (Envoy's spelling, and the shipped policy's for
// the identity headers), else the greater one.
func outranks(a, b string) bool {
	aLower, bLower := strings.ToLower(a) == a, strings.ToLower(b) == b
	if aLower != bLower {
		return aLower
	}
	return a > b
}

// headerValue reads a header's value: a string, or a list of strings sent as one
// comma-joined value. Its error continues "decision.headers[name]".
func headerValue(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case []any:
		s, err := joinStrings(v)
		if err != nil {
			return "", fmt.Errorf(": %w", err)
		}
		return s, nil
	default:
		return "", fmt.Errorf(" is %T; want a string", v)
	}
}

func joinStrings(list []any) (string, error) {
	s := ""
	for i, item := range list {
		str, ok := item.(string)
		if !ok {
			return "", fmt.Errorf("item %d is %T; want a string", i, item)
		}
		if i > 0 {
			s += ","
		}
		s += str
	}
	return s, nil
}

func stringList(m map[string]any, name string) ([]string, error) {
	v, present := m[name]
	if !present {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("decision.%s is %T; want a list of strings", name, v)
	}
	out := make([]string, len(list))
	for i, item := range list {
		if out[i], ok = item.(string); !ok {
			return nil, fmt.Errorf("decision.%s[%d] is %T; want a string", name, i, item)
		}
	}
	return out, nil
}
