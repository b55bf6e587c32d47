package envoyconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzValidate feeds any bytes to the validator as one file: it must never panic, and
// every finding must name the file and say something. The samples seed it.
func FuzzValidate(f *testing.F) {
	err := filepath.WalkDir(samples, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		f.Add(raw)
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(rdsBootstrap))
	f.Add([]byte(customPolicy + "---\n" + istioConfigMap))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := &report{file: "fuzz.yaml"}
		m := newMesh(nil)
		validateFile(raw, Options{}, m, r)
		m.check()
		for _, finding := range r.findings {
			if finding.File != "fuzz.yaml" || strings.TrimSpace(finding.Message) == "" {
				t.Errorf("bad finding %#v", finding)
			}
		}
	})
}
