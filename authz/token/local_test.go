package token

import (
	"context"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/token/tokentest"
)

const localIss = "http://localhost:8080"

func newLocalVerifier(t *testing.T, local *LocalKeys, prev *Verifier) *Verifier {
	t.Helper()
	is := config.Issuer{Name: "tollgate", Issuer: localIss, Audiences: []string{"tollgate"},
		Algorithms: []string{"RS256", "ES256"}, ClientIDClaims: []string{"client_id"}, ScopeClaims: []string{"scope"},
		RequireATJWT: true}
	v, err := NewVerifier(context.Background(), []config.Issuer{is}, 100, quiet, prev, local)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func localClaims() jwt.MapClaims {
	return tokentest.Claims(localIss, jwt.MapClaims{"aud": "tollgate", "client_id": "c1", "scope": "read"})
}

func TestLocalKeys(t *testing.T) {
	local := NewLocalKeys("tollgate", quiet)
	v := newLocalVerifier(t, local, nil)
	k1, k2 := tokentest.NewRSAKey(t, "k1"), tokentest.NewECKey(t, "k2")
	t1 := k1.Sign(t, localClaims(), nil)

	if _, err := v.Verify(context.Background(), t1); err != ErrKeysUnavailable {
		t.Fatalf("before any Publish: %v, want keys_unavailable", err)
	}
	if !v.Attempted() || v.HasKeys() {
		t.Fatalf("an empty local set: attempted %v, has keys %v", v.Attempted(), v.HasKeys())
	}
	if err := local.Publish(tokentest.SetOf(t, k1)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), t1); err != nil {
		t.Fatalf("published key: %v", err)
	}

	// A rotation is seen by the next check, with no fetch; the old key still verifies
	// while it is published.
	t2 := k2.Sign(t, localClaims(), nil)
	if err := local.Publish(tokentest.SetOf(t, k1, k2)); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{t1, t2} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}

	// Garbage keeps the last set.
	if err := local.Publish([]byte(`{"keys":[]}`)); err == nil {
		t.Fatal("an empty set was accepted")
	}
	if st := local.Status(); st.Keys != 2 || st.LastError == "" || st.Source != "in-process" {
		t.Errorf("status after a refused set = %+v", st)
	}

	// A retired key leaves: its cached verification goes with it.
	if err := local.Publish(tokentest.SetOf(t, k2)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), t1); err != ErrUnknownKey {
		t.Errorf("token of a removed key: %v, want unknown_key", err)
	}

	// A reload keeps the same local set.
	v2 := newLocalVerifier(t, local, v)
	if _, err := v2.Verify(context.Background(), t2); err != nil {
		t.Errorf("after a reload: %v", err)
	}
	v.Retire(v2)
	v2.Close()
	if _, err := newLocalVerifier(t, local, nil).Verify(context.Background(), t2); err != nil {
		t.Errorf("a closed verifier closed the local set: %v", err)
	}
}

func TestRequireATJWT(t *testing.T) {
	local := NewLocalKeys("tollgate", quiet)
	v := newLocalVerifier(t, local, nil)
	k := tokentest.NewRSAKey(t, "k")
	if err := local.Publish(tokentest.SetOf(t, k)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		typ  any
		want *Error
	}{
		{"at+jwt", "at+jwt", nil},
		{"media type", "application/AT+JWT", nil},
		{"JWT", "JWT", ErrType},
		{"none", nil, ErrType},
		{"other", "dpop+jwt", ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), k.Sign(t, localClaims(), map[string]any{"typ": tt.typ}))
			if err != tt.want {
				t.Errorf("typ %v: %v, want %v", tt.typ, err, tt.want)
			}
		})
	}
}
