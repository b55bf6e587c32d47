package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// `tollgate envoy validate` exits 0 when every file passes, 1 when one has a problem
// (printed as FILE: PATH: message), 2 on a usage error.
func TestEnvoyValidate(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile("../../envoy/envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "fails-open.yaml")
	if err := os.WriteFile(broken, []byte(strings.Replace(string(raw), "failure_mode_allow: false", "failure_mode_allow: true", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	unresolved := filepath.Join(dir, "unresolved-paths.yaml")
	if err := os.WriteFile(unresolved, []byte(strings.Replace(string(raw), "normalize_path: true", "normalize_path: false", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string // lines of the output
	}{
		{"samples", []string{"../../envoy"}, exitOK, []string{"../../envoy/envoy.yaml: ok", "../../envoy/istio/mesh.yaml: ok"}},
		{"with Tollgate's configuration", []string{"--tollgate-config", "../../examples/gitops.yaml", "../../envoy/envoy.yaml"}, exitOK,
			[]string{"../../envoy/envoy.yaml: ok"}},
		{"flag after the file", []string{"../../envoy/envoy.yaml", "--tollgate-config", "../../examples/gitops.yaml"}, exitOK,
			[]string{"../../envoy/envoy.yaml: ok"}},
		{"a file that fails open", []string{"../../envoy/envoy.yaml", broken}, exitDenied, []string{
			"../../envoy/envoy.yaml: ok",
			broken + ": static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[1].typed_config.failure_mode_allow: is true: when Tollgate cannot be reached or times out, requests go to the backend unchecked; set it to false",
		}},
		{"a file that forwards dot segments", []string{unresolved}, exitDenied, []string{
			unresolved + ": static_resources.listeners[0].filter_chains[0].filters[0].typed_config.normalize_path: is false: a path such as /docs/../admin is passed on unresolved, and Tollgate and the backend may read it as different paths (path confusion); set normalize_path: true",
		}},
		{"no file", []string{}, exitUsage, nil},
		{"no verb", nil, exitUsage, nil},
		{"unknown verb", []string{"check", "../../envoy"}, exitUsage, nil},
		{"missing file", []string{"does-not-exist.yaml"}, exitUsage, nil},
		{"unknown flag", []string{"--nope", "../../envoy"}, exitUsage, nil},
		{"bad Tollgate configuration", []string{"--tollgate-config", "../../envoy/envoy.yaml", "../../envoy"}, exitUsage, nil},
		{"help", []string{"-h"}, exitOK, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"envoy", "validate"}, tt.args...)
			if tt.args == nil {
				args = []string{"envoy"}
			}
			code, out, stderr := runCmd(args...)
			if code != tt.code {
				t.Fatalf("exit %d; want %d\n%s%s", code, tt.code, out, stderr)
			}
			lines := strings.Split(out, "\n")
			for _, w := range tt.want {
				if !slices.Contains(lines, w) {
					t.Errorf("output lacks the line %q:\n%s", w, out)
				}
			}
		})
	}
}
