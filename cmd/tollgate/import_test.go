package main

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/store"
)

// TestImportCredentialsHaveACreationTime imports the example data with new STS
// credentials and reads each back from the store: it was created at the import, not
// in year 1 (which the admin API would list as 0001-01-01).
func TestImportCredentialsHaveACreationTime(t *testing.T) {
	cfgPath := quickstartConfig(t)
	before := time.Now()
	code, out, stderr := runCmd("import", "--config", cfgPath, "--credentials", "../../examples/data.yaml")
	if code != exitOK {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	after := time.Now()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), cfg.Store.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lines := credentialLine.FindAllStringSubmatch(out, -1)
	if len(lines) == 0 {
		t.Fatalf("import printed no credentials:\n%s", out)
	}
	for _, m := range lines {
		c, err := st.Credential(context.Background(), m[3])
		if err != nil {
			t.Fatal(err)
		}
		if c.CreatedAt.Before(before) || c.CreatedAt.After(after) {
			t.Errorf("%s/%s: created at %v, want between %v and %v", m[1], m[2], c.CreatedAt, before, after)
		}
	}
}
