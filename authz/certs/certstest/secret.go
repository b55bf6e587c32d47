package certstest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Secret is a directory laid out as the kubelet mounts a Kubernetes Secret: each file is
// a symlink through ..data to a directory of one version, and an update swaps ..data
// in one rename, so a reader sees all the old files or all the new ones.
type Secret struct {
	dir      string
	versions int
}

// NewSecret makes an empty Secret directory in a new temporary directory.
func NewSecret(t testing.TB) *Secret {
	t.Helper()
	return &Secret{dir: t.TempDir()}
}

// Path is the path a listener is configured with for the file name.
func (s *Secret) Path(name string) string { return filepath.Join(s.dir, name) }

// Update publishes a new version holding files (name → content).
func (s *Secret) Update(t testing.TB, files map[string][]byte) {
	t.Helper()
	s.versions++
	version := fmt.Sprintf("..v%d", s.versions)
	if err := os.Mkdir(filepath.Join(s.dir, version), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		Write(t, filepath.Join(s.dir, version, name), data)
		link := s.Path(name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	tmp := filepath.Join(s.dir, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "..data")); err != nil {
		t.Fatal(err)
	}
}
