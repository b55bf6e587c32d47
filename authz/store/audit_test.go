package store

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/catalog"
)

// TestAuditRecordsEveryChange runs one of each write and checks its audit entry, that
// each change advanced the version by one, that a write changing nothing did neither,
// and that no entry holds a secret hash or a sealed key.
func TestAuditRecordsEveryChange(t *testing.T) {
	s, _ := openTemp(t)
	cred := credential("shop-web", catalog.Production, "sts-shop")
	key := signingKey("k1", 0)
	start := time.Now().Add(-time.Second)
	writes := []struct {
		action, target string
		write          func() error
	}{
		{"import", "", func() error { return s.Import(ctx, "import", parse(t, testData)) }},
		{"api.put", "search", func() error {
			return s.PutAPI(ctx, "admin:alice", catalog.API{Name: "search", Context: "/s", Resources: []catalog.Resource{{Method: "GET", Path: "/s"}}})
		}},
		{"application.put", "new-app", func() error { return s.PutApplication(ctx, "admin:alice", "new-app") }},
		{"client_id.bind", "new-client", func() error {
			return s.BindClientID(ctx, "admin:alice", "new-app", catalog.ClientID{Issuer: "demo", ClientID: "new-client", Environment: catalog.Sandbox})
		}},
		{"subscription.put", "new-app", func() error {
			return s.PutSubscription(ctx, "admin:alice", catalog.Subscription{Application: "new-app", API: "search", Status: catalog.Active})
		}},
		{"credential.put", "sts-shop", func() error { return s.PutCredential(ctx, "sts", cred) }},
		{"signing_key.rotate", "k1", func() error { return s.RotateSigningKey(ctx, "sts", key, at(1)) }},
		{"signing_key.rotate", "k2", func() error { return s.RotateSigningKey(ctx, "sts", signingKey("k2", 1), at(2)) }},
		{"signing_key.purge", "", func() error { _, err := s.PurgeSigningKeys(ctx, "sts", at(3)); return err }},
	}
	for i, w := range writes {
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.action, err)
		}
		if v := version(t, s); v != int64(i+1) {
			t.Errorf("after %s: version %d, want %d", w.action, v, i+1)
		}
	}
	assertNoOpWrites(t, s, int64(len(writes)))

	entries, err := s.Audit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(writes) {
		t.Fatalf("%d audit entries, want %d", len(entries), len(writes))
	}
	for i, e := range entries {
		w := writes[len(writes)-1-i] // newest first
		if e.Action != w.action || e.Target != w.target || e.At.Before(start) || e.At.Location() != time.UTC || !json.Valid([]byte(e.Detail)) {
			t.Errorf("entry %d: %+v, want action %s, target %q", i, e, w.action, w.target)
		}
		for _, secret := range [][]byte{cred.SecretHash, key.Sealed, []byte("SEALED"), []byte("HASH")} {
			if bytes.Contains([]byte(e.Detail), secret) || bytes.Contains([]byte(e.Target), secret) {
				t.Errorf("entry %d (%s) holds a secret: %s", i, e.Action, e.Detail)
			}
		}
	}
	if entries[0].Actor != "sts" || entries[len(entries)-1].Actor != "import" {
		t.Errorf("actors %q, %q; want sts and import", entries[0].Actor, entries[len(entries)-1].Actor)
	}
}

// assertNoOpWrites repeats writes that change nothing and checks the version stays.
func assertNoOpWrites(t *testing.T, s *SQLite, v int64) {
	t.Helper()
	for name, err := range map[string]error{
		"application again":  s.PutApplication(ctx, "a", "new-app"),
		"binding again":      s.BindClientID(ctx, "a", "new-app", catalog.ClientID{Issuer: "demo", ClientID: "new-client", Environment: catalog.Sandbox}),
		"subscription again": s.PutSubscription(ctx, "a", catalog.Subscription{Application: "new-app", API: "search", Status: catalog.Active}),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got := version(t, s); got != v {
		t.Errorf("writes that changed nothing moved the version %d -> %d", v, got)
	}
}

func TestAuditLimit(t *testing.T) {
	s, _ := imported(t)
	for _, app := range []string{"a", "b", "c"} {
		if err := s.PutApplication(ctx, "admin", app); err != nil {
			t.Fatal(err)
		}
	}
	for limit, want := range map[int]int{-1: 0, 0: 0, 2: 2, 100: 4} {
		entries, err := s.Audit(ctx, limit)
		if err != nil || len(entries) != want {
			t.Errorf("Audit(%d): %d entries (%v), want %d", limit, len(entries), err, want)
		}
	}
	entries, _ := s.Audit(ctx, 1)
	if entries[0].Target != "c" {
		t.Errorf("newest entry %+v, want the application c", entries[0])
	}
}
