package policy

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// obj is a decision object with allowed false and the given fields.
func obj(kv ...any) map[string]any {
	m := map[string]any{"allowed": false}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestParseDecision(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want Decision
	}{
		{"true", true, Decision{Allowed: true}},
		{"false", false, Decision{}},
		{"allowed only", map[string]any{"allowed": true}, Decision{Allowed: true}},
		{"all fields", map[string]any{
			"allowed":                   true,
			"http_status":               json.Number("429"),
			"reason":                    "allowed",
			"description":               "ok",
			"body":                      "{}",
			"headers":                   map[string]any{"x-a": "1", "x-b": []any{"2", "3"}},
			"response_headers_to_add":   map[string]any{"x-c": "4"},
			"request_headers_to_remove": []any{"cookie", "x-debug"},
			"dynamic_metadata":          map[string]any{"k": json.Number("1")},
		}, Decision{
			Allowed:                true,
			HTTPStatus:             429,
			Reason:                 "allowed",
			Description:            "ok",
			Body:                   "{}",
			Headers:                map[string]string{"x-a": "1", "x-b": "2,3"},
			ResponseHeadersToAdd:   map[string]string{"x-c": "4"},
			RequestHeadersToRemove: []string{"cookie", "x-debug"},
			DynamicMetadata:        map[string]any{"k": json.Number("1")},
		}},
		{"header list joined with comma", obj("headers", map[string]any{"vary": []any{"a", "b", "c"}}),
			Decision{Headers: map[string]string{"vary": "a,b,c"}}},
		{"header list of one", obj("headers", map[string]any{"vary": []any{"a"}}),
			Decision{Headers: map[string]string{"vary": "a"}}},
		{"header empty list", obj("headers", map[string]any{"vary": []any{}}),
			Decision{Headers: map[string]string{"vary": ""}}},
		{"empty headers", obj("headers", map[string]any{}), Decision{Headers: map[string]string{}}},
		{"header names lower-cased", obj("headers", map[string]any{"X-Tollgate-Api": "a"}),
			Decision{Headers: map[string]string{"x-tollgate-api": "a"}}},
		{"lowest status", obj("http_status", json.Number("200")), Decision{HTTPStatus: 200}},
		{"highest status", obj("http_status", json.Number("599")), Decision{HTTPStatus: 599}},
		{"null status is 0", obj("http_status", nil), Decision{}},
		{"unknown fields ignored", obj("extra", "x"), Decision{}},
		{"empty request_headers_to_remove", obj("request_headers_to_remove", []any{}), Decision{RequestHeadersToRemove: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDecision(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseDecision =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestParseDecisionErrors(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"string", "true", "decision is string"},
		{"number", json.Number("1"), "decision is json.Number"},
		{"nil", nil, "decision is <nil>"},
		{"list", []any{true}, "decision is []interface {}"},
		{"missing allowed", map[string]any{"reason": "x"}, "decision.allowed is <nil>"},
		{"allowed string", map[string]any{"allowed": "true"}, "decision.allowed is string"},
		{"allowed number", map[string]any{"allowed": json.Number("1")}, "decision.allowed is json.Number"},
		{"status string", obj("http_status", "403"), "decision.http_status is string"},
		{"status float64", obj("http_status", 403.0), "decision.http_status is float64"},
		{"status fraction", obj("http_status", json.Number("403.5")), "decision.http_status 403.5"},
		{"status below range", obj("http_status", json.Number("199")), "decision.http_status 199"},
		{"status above range", obj("http_status", json.Number("600")), "decision.http_status 600"},
		{"status zero", obj("http_status", json.Number("0")), "decision.http_status 0"},
		{"status negative", obj("http_status", json.Number("-403")), "decision.http_status -403"},
		{"status huge", obj("http_status", json.Number("99999999999999999999")), "decision.http_status"},
		{"reason number", obj("reason", json.Number("1")), "decision.reason is json.Number"},
		{"reason null", obj("reason", nil), "decision.reason is <nil>"},
		{"description bool", obj("description", true), "decision.description is bool"},
		{"body object", obj("body", map[string]any{}), "decision.body is map"},
		{"headers list", obj("headers", []any{"x-a"}), "decision.headers is []interface {}"},
		{"headers string", obj("headers", "x-a: 1"), "decision.headers is string"},
		{"header value number", obj("headers", map[string]any{"x-a": json.Number("1")}), `decision.headers["x-a"] is json.Number`},
		{"header value object", obj("headers", map[string]any{"x-a": map[string]any{}}), `decision.headers["x-a"] is map`},
		{"header list item number", obj("headers", map[string]any{"x-a": []any{"a", json.Number("1")}}), `decision.headers["x-a"]: item 1 is json.Number`},
		{"response header value bool", obj("response_headers_to_add", map[string]any{"x-a": true}), `decision.response_headers_to_add["x-a"] is bool`},
		{"response headers list", obj("response_headers_to_add", []any{}), "decision.response_headers_to_add is []interface {}"},
		{"headers to remove string", obj("request_headers_to_remove", "cookie"), "decision.request_headers_to_remove is string"},
		{"headers to remove item number", obj("request_headers_to_remove", []any{"a", json.Number("2")}), "decision.request_headers_to_remove[1] is json.Number"},
		{"dynamic metadata list", obj("dynamic_metadata", []any{}), "decision.dynamic_metadata is []interface {}"},
		{"dynamic metadata null", obj("dynamic_metadata", nil), "decision.dynamic_metadata is <nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := parseDecision(tt.in)
			if err == nil {
				t.Fatalf("parseDecision = %+v, want an error", d)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestEvalDecisionShapes checks parseDecision against the values OPA really returns:
// numbers as json.Number, sets as lists.
func TestEvalDecisionShapes(t *testing.T) {
	tests := []struct {
		name     string
		decision string
		want     Decision
	}{
		{"boolean", "true", Decision{Allowed: true}},
		{"status", `{"allowed": false, "http_status": 451}`, Decision{HTTPStatus: 451}},
		{"header set joined", `{"allowed": true, "headers": {"x-a": {"b"}}}`, Decision{Allowed: true, Headers: map[string]string{"x-a": "b"}}},
		{"header array joined", `{"allowed": true, "headers": {"x-a": ["b", "c"]}}`, Decision{Allowed: true, Headers: map[string]string{"x-a": "b,c"}}},
		{"headers to remove", `{"allowed": true, "request_headers_to_remove": ["cookie"]}`, Decision{Allowed: true, RequestHeadersToRemove: []string{"cookie"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writePolicies(t, map[string]string{"authz.rego": "package tollgate.authz\n\ndecision := " + tt.decision + "\n"})
			got, err := load(t, dir).Eval(context.Background(), ast.NewObject())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Eval =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}
