package service_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
)

// adminCall sends one admin API request and returns its status.
func (h *stsHarness) adminCall(method, path, body string) (int, error) {
	tok, err := os.ReadFile(h.cfg.Admin.TokenFile)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(method, "http://"+h.svc.AdminAddr()+path, bytes.NewBufferString(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// TestManagementUnderLoad: 100 management writes and 50 token requests at once,
// while checks run without pause: no error, no lost write, no failed check; and a
// change through the admin API is in force when its answer arrives.
func TestManagementUnderLoad(t *testing.T) {
	h := startSTS(t)
	c := h.keepChecking(t)
	web := h.creds["shop-web/production"]
	errs := make(chan error, 300)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			app := fmt.Sprintf("load-%03d", i)
			for _, call := range [][3]string{
				{"POST", "/admin/v1/applications", `{"name":"` + app + `"}`},
				{"PUT", "/admin/v1/subscriptions/" + app + "/orders", `{"status":"active"}`},
			} {
				if code, err := h.adminCall(call[0], call[1], call[2]); err != nil || code >= 300 {
					errs <- fmt.Errorf("%s %s: %d %v", call[0], call[1], code, err)
				}
			}
		})
	}
	for range 50 {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", "http://"+h.svc.HTTPAddr()+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(web[0], web[1])
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				errs <- fmt.Errorf("token: %d", res.StatusCode)
			}
		})
	}
	wg.Wait()
	c.finish(t)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	cat, err := h.store.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range cat.Subscriptions {
		if strings.HasPrefix(s.Application, "load-") && s.API == "orders" {
			n++
		}
	}
	if n != 100 {
		t.Errorf("%d of 100 subscriptions stored", n)
	}

	req := request("GET", "/orders/7", bearer(h.asgardeoToken(t, "web-prod", "urn:acme:orders:read", nil))...)
	if code, err := h.adminCall("PUT", "/admin/v1/subscriptions/shop-web/orders", `{"status":"blocked"}`); err != nil || code != 200 {
		t.Fatalf("block: %d %v", code, err)
	}
	assertDenied(t, h.check(t, req), notSubscribed)
}

// Go's profiles are on the admin listener, behind the admin token.
func TestPprofBehindAdminToken(t *testing.T) {
	h := startSTS(t)
	tok, err := os.ReadFile(h.cfg.Admin.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, token string
		status      int
		body        string
	}{
		{"/debug/pprof/", "", http.StatusUnauthorized, "unauthorized"},
		{"/debug/pprof/heap", "wrong-token-of-enough-length", http.StatusUnauthorized, "unauthorized"},
		{"/debug/pprof/", strings.TrimSpace(string(tok)), http.StatusOK, "goroutine"},
		{"/debug/pprof/heap?debug=1", strings.TrimSpace(string(tok)), http.StatusOK, "heap profile"},
		{"/debug/pprof/profile?seconds=1", strings.TrimSpace(string(tok)), http.StatusOK, ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+h.svc.AdminAddr()+c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || !strings.Contains(string(body), c.body) {
			t.Errorf("GET %s: %d %.80q; want %d with %q", c.path, res.StatusCode, body, c.status, c.body)
		}
	}
}
