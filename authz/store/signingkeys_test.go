package store

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var epoch = time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)

// at is n hours after epoch.
func at(n int) time.Time { return epoch.Add(time.Duration(n) * time.Hour) }

// signingKey is a key created at(n); its sealed bytes are recognizable in a dump.
func signingKey(kid string, n int) SigningKey {
	return SigningKey{
		KID:       kid,
		Algorithm: "ES256",
		PublicJWK: []byte(`{"kty":"EC","kid":"` + kid + `"}`),
		Sealed:    []byte("SEALED-" + kid + "-\x00\xff"),
		CreatedAt: at(n),
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
	if !k3.Active() || keys(t, s)[1].Active() {
		t.Error("only the newest key should be active")
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
			string(g.Sealed) != string(w.Sealed) || !sameTime(g.CreatedAt, w.CreatedAt) ||
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
	badAlg := signingKey("k", 0)
	badAlg.Algorithm = "none"
	badJWK := signingKey("k", 0)
	badJWK.PublicJWK = []byte("{")
	for name, k := range map[string]SigningKey{"no creation time": noTime, "algorithm none": badAlg, "invalid JWK": badJWK} {
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
