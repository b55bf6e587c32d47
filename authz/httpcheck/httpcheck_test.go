package httpcheck

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHeaderBody(t *testing.T) {
	long := `{"error":"access_denied","error_description":"` + strings.Repeat("x", maxBodyHeader) + `"}`
	tests := []struct{ name, body, want string }{
		{"compacted", "{\n  \"error\": \"missing_token\"\n}", `{"error":"missing_token"}`},
		{"non-ASCII escaped", `{"error":"access_denied","error_description":"café ☕ 𝄞"}`,
			`{"error":"access_denied","error_description":"caf\u00e9 \u2615 \ud834\udd1e"}`},
		{"not JSON", "<html>denied</html>", `{"error":"access_denied"}`},
		{"too long", long, `{"error":"access_denied"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := headerBody(tt.body, "access_denied")
			if got != tt.want {
				t.Errorf("headerBody = %s; want %s", got, tt.want)
			}
			var v any
			if err := json.Unmarshal([]byte(got), &v); err != nil {
				t.Errorf("not JSON: %v", err)
			}
			for _, c := range []byte(got) {
				if c < 0x20 || c >= 0x7f {
					t.Fatalf("byte %#x is not printable ASCII", c)
				}
			}
		})
	}
	var v struct {
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal([]byte(headerBody(`{"error_description":"café 𝄞"}`, "x")), &v); err != nil || v.Description != "café 𝄞" {
		t.Errorf("escapes do not read back: %q %v", v.Description, err)
	}
}

func TestOriginal(t *testing.T) {
	tests := []struct {
		name    string
		m       mode
		target  string
		headers map[string]string
		want    original
		err     string
	}{
		{"envoy path and query", envoyMode, "/ext_authz/envoy/orders/7?x=1", nil, original{method: "GET", path: "/orders/7?x=1", host: "api.test"}, ""},
		{"envoy root", envoyMode, "/ext_authz/envoy", nil, original{method: "GET", path: "/", host: "api.test"}, ""},
		{"envoy root with query", envoyMode, "/ext_authz/envoy?x=1", nil, original{method: "GET", path: "/?x=1", host: "api.test"}, ""},
		{"nginx", nginxMode, "/ext_authz/nginx", map[string]string{"X-Original-Method": "PUT", "X-Original-URI": "/a?b", "X-Forwarded-Proto": "https"},
			original{method: "PUT", path: "/a?b", host: "api.test", scheme: "https"}, ""},
		{"nginx without method", nginxMode, "/ext_authz/nginx", map[string]string{"X-Original-URI": "/a"}, original{}, "X-Original-Method and X-Original-URI are required"},
		{"forward", forwardMode, "/ext_authz/forward", map[string]string{"X-Forwarded-Method": "DELETE", "X-Forwarded-Uri": "/a", "X-Forwarded-Host": "shop.test"},
			original{method: "DELETE", path: "/a", host: "shop.test"}, ""},
		{"forward path not origin form", forwardMode, "/ext_authz/forward", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "a", "X-Forwarded-Host": "h"},
			original{}, `X-Forwarded-Uri "a" does not start with /`},
		{"method too long", forwardMode, "/ext_authz/forward", map[string]string{"X-Forwarded-Method": strings.Repeat("A", 33), "X-Forwarded-Uri": "/", "X-Forwarded-Host": "h"},
			original{}, "is not an HTTP method"},
		{"method with a separator", forwardMode, "/ext_authz/forward", map[string]string{"X-Forwarded-Method": "GE(T", "X-Forwarded-Uri": "/", "X-Forwarded-Host": "h"},
			original{}, "is not an HTTP method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			r.Host = "api.test"
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			got, err := tt.m.original(r)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v; want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("original = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// The policy sees the original request's headers, without the headers that steer a
// check or describe the proxy's connection.
func TestCheckRequestHeaders(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/ext_authz/forward", nil)
	r.RemoteAddr = "10.1.2.3:5555"
	for k, v := range map[string]string{"X-Forwarded-Uri": "/a", "X-Original-URI": "/b", "Connection": "keep-alive", "X-Request-Id": "r1"} {
		r.Header.Set(k, v)
	}
	r.Header.Add("Accept", "a")
	r.Header.Add("Accept", "b")
	req := checkRequest(r, original{method: "GET", path: "/a", host: "h", scheme: "https"})
	h := req.GetAttributes().GetRequest().GetHttp()
	want := map[string]string{":method": "GET", ":path": "/a", ":authority": "h", ":scheme": "https", "accept": "a,b", "x-request-id": "r1"}
	if len(h.GetHeaders()) != len(want) {
		t.Errorf("headers %v; want %v", h.GetHeaders(), want)
	}
	for k, v := range want {
		if h.GetHeaders()[k] != v {
			t.Errorf("header %s = %q; want %q", k, h.GetHeaders()[k], v)
		}
	}
	if h.GetId() != "r1" || h.GetHost() != "h" || h.GetPath() != "/a" {
		t.Errorf("http attributes %v", h)
	}
	if a := req.GetAttributes().GetSource().GetAddress().GetSocketAddress(); a.GetAddress() != "10.1.2.3" || a.GetPortValue() != 5555 {
		t.Errorf("source %v; want the proxy's address", a)
	}
}
