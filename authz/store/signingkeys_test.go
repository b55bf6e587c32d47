package store

import (
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var epoch = time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)

// at is n hours after epoch.
func at(n int) time.Time { return epoch.Add(time.Duration(n) * time.Hour) }

// signingKey is a key created at(n) that signs at once; its sealed bytes are
// recognizable in a dump.
func signingKey(kid string, n int) SigningKey {
	return SigningKey{
		KID:       kid,
		Algorithm: "ES256",
		PublicJWK: []byte(`{"kty":"EC","kid":"` + kid + `"}`),
		Sealed:    []byte("SEALED-" + kid + "-\x00\xff"),
		CreatedAt: at(n),
		SignsFrom: at(n),
	}
}

// keys is SigningKeys, failing t on error.
func keys(t *testing.T, s *SQLite) []SigningKey {
	t.Helper()
	ks, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestRotateAndPurgeSigningKeys(t *testing.T) {
	s, _ := openTemp(t)
	for i, kid := range []string{"k1", "k2", "k3"} {
		if err := s.RotateSigningKey(ctx, "sts", signingKey(kid, 10*i), at(10*i+5)); err != nil {
			t.Fatal(err)
		}
	}
	k1, k2, k3 := signingKey("k1", 0), signingKey("k2", 10), signingKey("k3", 20)
	k1.RetiredAt, k1.RemoveAfter = at(10), at(15)
	k2.RetiredAt, k2.RemoveAfter = at(20), at(25)
	assertKeys(t, keys(t, s), k1, k2, k3)
	for i, want := range []KeyState{KeyRetired, KeyRetired, KeyActive} {
		if got := keys(t, s)[i].State(at(21)); got != want {
			t.Errorf("key %d at(21): %s, want %s", i+1, got, want)
		}
	}

	purged, err := s.PurgeSigningKeys(ctx, "sts", at(15)) // k1's RemoveAfter is not before now
	if err != nil || len(purged) != 0 {
		t.Fatalf("purge at k1's RemoveAfter: %v, %v; want nothing", purged, err)
	}
	v := version(t, s)
	purged, err = s.PurgeSigningKeys(ctx, "sts", at(30))
	if err != nil || !slices.Equal(purged, []string{"k1", "k2"}) {
		t.Fatalf("purge: %v, %v; want k1 and k2", purged, err)
	}
	assertKeys(t, keys(t, s), k3)
	if after := version(t, s); after != v+1 {
		t.Errorf("version %d -> %d, want one step", v, after)
	}
	if _, err := s.PurgeSigningKeys(ctx, "sts", at(100)); err != nil || version(t, s) != v+1 {
		t.Errorf("an empty purge changed the version or failed: %v", err)
	}
}

func assertKeys(t *testing.T, got []SigningKey, want ...SigningKey) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d keys, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.KID != w.KID || g.Algorithm != w.Algorithm || string(g.PublicJWK) != string(w.PublicJWK) ||
			string(g.Sealed) != string(w.Sealed) || !sameTime(g.CreatedAt, w.CreatedAt) || !sameTime(g.SignsFrom, w.SignsFrom) ||
			!sameTime(g.RetiredAt, w.RetiredAt) || !sameTime(g.RemoveAfter, w.RemoveAfter) {
			t.Errorf("key %d: %+v, want %+v", i, g, w)
		}
	}
}

// sameTime reports whether a stored time came back as want, in UTC.
func sameTime(got, want time.Time) bool {
	return got.Equal(want) && (got.IsZero() || got.Location() == time.UTC)
}

func TestRotateSigningKeyRejectsBadInput(t *testing.T) {
	s, _ := openTemp(t)
	noTime := signingKey("k", 0)
	noTime.CreatedAt = time.Time{}
	noSignsFrom := signingKey("k", 0)
	noSignsFrom.SignsFrom = time.Time{}
	signsEarly := signingKey("k", 1)
	signsEarly.SignsFrom = at(0)
	removedEarly := signingKey("k", 0)
	removedEarly.SignsFrom = at(2)
	badAlg := signingKey("k", 0)
	badAlg.Algorithm = "none"
	badJWK := signingKey("k", 0)
	badJWK.PublicJWK = []byte("{")
	for name, k := range map[string]SigningKey{
		"no creation time": noTime, "no signing time": noSignsFrom, "signs before it is created": signsEarly,
		"removeAfter before the switch": removedEarly, "algorithm none": badAlg, "invalid JWK": badJWK,
	} {
		if err := s.RotateSigningKey(ctx, "sts", k, at(1)); err == nil || errors.Is(err, ErrConflict) {
			t.Errorf("%s: err %v, want a plain error", name, err)
		}
	}
	if err := s.RotateSigningKey(ctx, "sts", signingKey("k", 0), time.Time{}); err == nil {
		t.Error("zero removeAfter accepted")
	}
	if ks := keys(t, s); len(ks) != 0 {
		t.Errorf("refused rotations stored %d keys", len(ks))
	}
}

// TestPrepublishedRotation adds keys that sign later, as sts.key_prepublish does, and
// one that signs at once, as `tollgate keys rotate --now` does, and reads back when
// each signs.
func TestPrepublishedRotation(t *testing.T) {
	s, _ := openTemp(t)
	k1 := signingKey("k1", 0)
	if err := s.RotateSigningKey(ctx, "sts", k1, at(1)); err != nil {
		t.Fatal(err)
	}
	// k2 is published at(10) and signs from at(11); k1 signs until then.
	k2 := signingKey("k2", 10)
	k2.SignsFrom = at(11)
	if err := s.RotateSigningKey(ctx, "sts", k2, at(13)); err != nil {
		t.Fatal(err)
	}
	k1.RetiredAt, k1.RemoveAfter = at(11), at(13)
	assertKeys(t, keys(t, s), k1, k2)
	states := func(when time.Time, want ...KeyState) {
		t.Helper()
		for i, k := range keys(t, s) {
			if got := k.State(when); got != want[i] {
				t.Errorf("%s at %s: %s, want %s", k.KID, when.Format(time.Kitchen), got, want[i])
			}
		}
	}
	states(at(10), KeyActive, KeyPending)
	states(at(11).Add(-time.Nanosecond), KeyActive, KeyPending)
	states(at(11), KeyRetired, KeyActive)

	// k3, published before k2 signs and starting earlier: k2 never signs, and k1
	// signs until k3 starts.
	k3 := signingKey("k3", 10)
	k3.SignsFrom = at(11).Add(-time.Minute)
	if err := s.RotateSigningKey(ctx, "sts", k3, at(14)); err != nil {
		t.Fatal(err)
	}
	k1.RetiredAt, k1.RemoveAfter = k3.SignsFrom, at(14)
	k2.RetiredAt, k2.RemoveAfter = k3.SignsFrom, at(14)
	assertKeys(t, keys(t, s), k1, k2, k3)
	states(at(10), KeyActive, KeyRetired, KeyPending)
	states(at(12), KeyRetired, KeyRetired, KeyActive)

	// An emergency rotation signs at once: every other key stops now.
	k4 := signingKey("k4", 10)
	k4.CreatedAt = at(10).Add(time.Minute)
	k4.SignsFrom = k4.CreatedAt
	if err := s.RotateSigningKey(ctx, "sts", k4, at(12)); err != nil {
		t.Fatal(err)
	}
	k1.RetiredAt, k1.RemoveAfter = k4.SignsFrom, at(12)
	k2.RetiredAt, k2.RemoveAfter = k4.SignsFrom, at(12)
	k3.RetiredAt, k3.RemoveAfter = k4.SignsFrom, at(12)
	assertKeys(t, keys(t, s), k1, k2, k3, k4)
	states(k4.SignsFrom, KeyRetired, KeyRetired, KeyRetired, KeyActive)
}

// TestMigrateSigningKeysToSignsFrom opens a store made by the first schema, with an
// active and a retired key: after the migration both keep their times, and sign
// from their creation.
func TestMigrateSigningKeysToSignsFrom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tollgate.db")
	createSchemaV1(t, path, `
		INSERT INTO signing_keys (kid, algorithm, public_jwk, sealed, created_at, retired_at, remove_after)
		VALUES ('old', 'ES256', '{"kid":"old"}', X'00', '2026-05-01T12:00:00.000000000Z', '2026-05-02T12:00:00.000000000Z', '2026-05-02T13:00:00.000000000Z'),
		       ('cur', 'RS256', '{"kid":"cur"}', X'01', '2026-05-02T12:00:00.000000000Z', NULL, NULL);`)
	s := openAt(t, path)
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if got := migrations(t, s); len(got) != len(ms) || len(ms) < 2 {
		t.Fatalf("migrations %v, want 1..%d", got, len(ms))
	}
	ks := keys(t, s)
	if len(ks) != 2 {
		t.Fatalf("%d keys after the migration, want 2", len(ks))
	}
	day := func(d, h int) time.Time { return time.Date(2026, 5, d, h, 0, 0, 0, time.UTC) }
	want := []SigningKey{
		{KID: "old", Algorithm: "ES256", PublicJWK: []byte(`{"kid":"old"}`), Sealed: []byte{0}, CreatedAt: day(1, 12), SignsFrom: day(1, 12), RetiredAt: day(2, 12), RemoveAfter: day(2, 13)},
		{KID: "cur", Algorithm: "RS256", PublicJWK: []byte(`{"kid":"cur"}`), Sealed: []byte{1}, CreatedAt: day(2, 12), SignsFrom: day(2, 12)},
	}
	assertKeys(t, ks, want...)
	if ks[0].State(day(3, 0)) != KeyRetired || ks[1].State(day(3, 0)) != KeyActive {
		t.Errorf("states after the migration: %s, %s", ks[0].State(day(3, 0)), ks[1].State(day(3, 0)))
	}
	// The schema still allows one key without an end, and no key that signs before
	// it exists.
	for name, stmt := range map[string]string{
		"a second key without an end": `INSERT INTO signing_keys (kid, algorithm, public_jwk, sealed, created_at, signs_from)
			VALUES ('two', 'RS256', '{}', X'02', '2026-05-03T00:00:00.000000000Z', '2026-05-03T00:00:00.000000000Z')`,
		"signs before it exists": `INSERT INTO signing_keys (kid, algorithm, public_jwk, sealed, created_at, signs_from, retired_at, remove_after)
			VALUES ('early', 'RS256', '{}', X'02', '2026-05-03T00:00:00.000000000Z', '2026-05-02T00:00:00.000000000Z', '2026-05-04T00:00:00.000000000Z', '2026-05-04T00:00:00.000000000Z')`,
	} {
		if _, err := s.w.ExecContext(ctx, stmt); err == nil {
			t.Errorf("%s: accepted by the migrated schema", name)
		}
	}
	// The migrated store rotates as a new one does.
	next := signingKey("next", 50)
	next.SignsFrom = at(51)
	if err := s.RotateSigningKey(ctx, "sts", next, at(52)); err != nil {
		t.Fatal(err)
	}
	if ks := keys(t, s); ks[1].RetiredAt != at(51) || ks[2].State(at(51)) != KeyActive {
		t.Errorf("after a rotation: %+v", ks)
	}
}

// createSchemaV1 creates a store at path with only the first migration applied, as a
// release before signs_from made it, and runs rows in it.
func createSchemaV1(t *testing.T, path, rows string) {
	t.Helper()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`,
		ms[0].sql,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '` + ms[0].name + `', '2026-05-01T00:00:00.000000000Z')`,
		rows,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%v\n%s", err, stmt)
		}
	}
}
