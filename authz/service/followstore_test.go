package service_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/sts"
)

// TestStoreChangesApplyWhileSTSKeysFail makes the STS's key refresh fail for real:
// another process, with another store key, rotates in a signing key this server
// cannot open. Data changes by other processes still apply at the next polls, the
// STS keeps signing with its last good key, the failure is logged once however many
// polls repeat it, and once a key it can open is active again the STS takes it up.
func TestStoreChangesApplyWhileSTSKeysFail(t *testing.T) {
	h := startSTSWith(t, func(c *config.Config) { c.Store.PollInterval = 100 * time.Millisecond })
	tok := h.token(t, "shop-web", "production", "urn:acme:orders:read")
	orders := request("GET", "/orders/1", bearer(tok)...)
	if resp := h.check(t, orders); resp.GetOkResponse() == nil {
		t.Fatalf("before: denied %s", resp.GetDeniedResponse().GetBody())
	}

	stranger, err := sts.LoadSealer(filepath.Join(t.TempDir(), "other.key"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h.rotateWith(t, stranger)
	sub := catalog.Subscription{Application: "shop-web", API: "orders", Status: catalog.Blocked}
	if err := h.store.PutSubscription(context.Background(), "test", sub); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return h.check(t, orders).GetDeniedResponse() != nil })
	assertDenied(t, h.check(t, orders), notSubscribed)

	sub.Status = catalog.Active // a second change, so the failing refresh ran at two polls at least
	if err := h.store.PutSubscription(context.Background(), "test", sub); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return h.check(t, orders).GetOkResponse() != nil })
	if fresh := h.token(t, "shop-web", "production", ""); kidOf(t, fresh) != kidOf(t, tok) {
		t.Errorf("the STS signs with key %s, want its last good one %s", kidOf(t, fresh), kidOf(t, tok))
	}
	const failed = "reread the STS signing keys"
	if n := strings.Count(h.logs.String(), failed); n != 1 {
		t.Errorf("%q logged %d times, want once:\n%s", failed, n, h.logs)
	}

	h.rotateWith(t, h.sealer)
	waitFor(t, func() bool { return kidOf(t, h.token(t, "shop-web", "production", "")) != kidOf(t, tok) })
	if !strings.Contains(h.logs.String(), "STS signing keys read again") {
		t.Errorf("the recovery is not logged:\n%s", h.logs)
	}
}

// rotateWith rotates in a new signing key sealed by sealer, as `tollgate keys rotate`
// in another process would.
func (h *stsHarness) rotateWith(t *testing.T, sealer *sts.Sealer) {
	t.Helper()
	now := time.Now()
	k, err := sts.GenerateSigningKey(h.cfg.STS.Algorithm, sealer, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.RotateSigningKey(context.Background(), "test", k, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}
