// Package envoyconf validates the proxy configurations that put Tollgate in front of an
// API: Envoy bootstrap files, and the Istio and Kubernetes manifests of a mesh.
//
// No Envoy binary is needed. A bootstrap is decoded strictly with Envoy's own API
// definitions (go-control-plane), every typed config in it is unpacked into its
// registered type, and the API's protoc-gen-validate rules are applied to each. Istio
// resources are decoded with Istio's API definitions. Then come the checks no schema
// knows: that every route to a protected backend meets ext_authz, that nothing lets a
// request through when Tollgate cannot answer, and that the pieces point at each other.
package envoyconf

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tollgate/tollgate/authz/config"
)

// Options tunes a validation.
type Options struct {
	// TollgateConfig, when set, is the configuration of the Tollgate the proxies call:
	// their ext_authz clusters must reach the port of its gRPC listener.
	TollgateConfig *config.Config
}

// Report is what a validation found in one file.
type Report struct {
	File     string
	Findings []Finding
}

// OK reports whether the file passed: no finding is an error.
func (r Report) OK() bool {
	for _, f := range r.Findings {
		if f.Severity == Error {
			return false
		}
	}
	return true
}

// ValidateFiles validates the named files, and every .yaml, .yml and .json file under
// the named directories, one Report per file in order. A file whose documents have an
// apiVersion and a kind is a Kubernetes manifest; the manifests of all files are
// checked together, so an AuthorizationPolicy may name an extension provider that
// another file's mesh config defines. Any other file is an Envoy bootstrap. The error
// is for a file or directory that cannot be read.
func ValidateFiles(paths []string, opts Options) ([]Report, error) {
	files, err := expand(paths)
	if err != nil {
		return nil, err
	}
	reports := make([]*report, len(files))
	m := newMesh(opts.TollgateConfig)
	for i, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		reports[i] = &report{file: name}
		validateFile(raw, opts, m, reports[i])
	}
	m.check()
	out := make([]Report, len(reports))
	for i, r := range reports {
		out[i] = Report{File: r.file, Findings: r.findings}
	}
	return out, nil
}

// validateFile checks an Envoy bootstrap at once, and adds a manifest's objects to m,
// whose checks need every file.
func validateFile(raw []byte, opts Options, m *mesh, r *report) {
	docs, err := documents(raw)
	switch {
	case err != nil:
		r.errorf("", "%v", err)
	case len(docs) == 0:
		r.errorf("", "no YAML document")
	case isManifest(docs):
		m.add(docs, r)
	case len(docs) > 1:
		r.errorf("", "%d YAML documents: an Envoy bootstrap is one document (a manifest's documents have apiVersion and kind)", len(docs))
	default:
		checkBootstrap(docs[0], opts.TollgateConfig, r)
	}
}

// isManifest reports a Kubernetes manifest: one of its documents has an apiVersion and
// a kind, which no Envoy bootstrap has.
func isManifest(docs []any) bool {
	for _, d := range docs {
		obj, _ := d.(map[string]any)
		if _, ok := obj["apiVersion"]; ok {
			if _, ok := obj["kind"]; ok {
				return true
			}
		}
	}
	return false
}

// expand replaces each directory of paths by the YAML and JSON files under it, in
// lexical order; hidden files and directories are skipped.
func expand(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case path != p && strings.HasPrefix(d.Name(), "."):
				if d.IsDir() {
					return filepath.SkipDir
				}
			case !d.IsDir() && isConfigFile(path):
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
	}
	return files, nil
}

func isConfigFile(path string) bool {
	switch filepath.Ext(path) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}
