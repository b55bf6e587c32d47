package sts

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/config"
)

func TestFailedAuthenticationsAreLimited(t *testing.T) {
	f := newFixture(t, func(c *config.STS) { c.FailedAuth = config.FailedAuth{Burst: 3, Every: time.Minute} })
	web, rep := f.creds["shop-web/production"], f.creds["reporting/production"]
	try := func(id, secret string) (int, string) {
		res := f.post(t, grant(), "Authorization", basic(id, secret))
		decode(t, res)
		return res.StatusCode, res.Header.Get("Retry-After")
	}
	for i := range 3 {
		if code, _ := try(web.id, "tgs_guess"); code != 401 {
			t.Fatalf("failure %d: %d, want 401", i+1, code)
		}
	}
	// The burst is spent: even the right secret is refused, before it is looked at.
	if code, retry := try(web.id, web.secret); code != http.StatusTooManyRequests || retry == "" {
		t.Fatalf("after the burst: %d (Retry-After %q), want 429 with Retry-After", code, retry)
	}
	// The address failed three times too, so another client from it waits as well.
	if code, _ := try(rep.id, rep.secret); code != http.StatusTooManyRequests {
		t.Errorf("another client from the same address: %d, want 429", code)
	}
	// From another address, the client is not locked out by these failures.
	req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(grant().Encode()))
	req.RemoteAddr = "192.0.2.7:40000"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basic(web.id, web.secret))
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("the client from another address: %d %s, want 200", rec.Code, rec.Body)
	}
	f.clock.Set(f.clock.Now().Add(time.Minute + time.Second))
	if code, _ := try(web.id, web.secret); code != 200 {
		t.Errorf("after one period: %d, want 200", code)
	}
}

func TestFailureLimitIsBounded(t *testing.T) {
	c := &clock{now: time.Now()}
	l := newFailureLimit(2, time.Second, c.Now)
	for i := range maxLimited + 10 {
		l.fail(fmt.Sprint("a", i))
	}
	if n := len(l.buckets); n > maxLimited {
		t.Errorf("%d entries, want at most %d", n, maxLimited)
	}
	c.Set(c.Now().Add(3 * time.Second)) // every entry is back to a full burst
	for i := range 1000 {
		l.fail(fmt.Sprint("b", i))
	}
	if n := len(l.buckets); n > maxLimited {
		t.Errorf("%d entries, want at most %d", n, maxLimited)
	}
	if l.wait("b999") != 0 || l.buckets["b999"] == nil {
		t.Error("a new failure was not recorded in a full limiter")
	}
}

// TestNoSecretAtRest issues tokens, then looks for every client secret and every
// signing key's private key, in the encodings one might store them in, in the store
// file, its -wal and -shm files, and the logs.
func TestNoSecretAtRest(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.srv.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for key := range f.creds {
		app, env, _ := bytes.Cut([]byte(key), []byte("/"))
		f.token(t, string(app), string(env))
	}
	var needles [][]byte
	for _, c := range f.creds {
		needles = append(needles, []byte(c.secret), []byte(c.secret[len(SecretPrefix):]))
	}
	keys, err := f.store.SigningKeys(context.Background())
	if err != nil || len(keys) != 2 {
		t.Fatalf("%d keys: %v", len(keys), err)
	}
	for _, k := range keys {
		der, err := f.sealer.Open(k.Sealed, []byte("tollgate signing key "+k.KID))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := x509.ParsePKCS8PrivateKey(der); err != nil {
			t.Fatal(err)
		}
		needles = append(needles, der, []byte(base64.StdEncoding.EncodeToString(der)),
			[]byte(base64.RawURLEncoding.EncodeToString(der)), []byte(hex.EncodeToString(der)),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	haystacks := map[string][]byte{"logs": []byte(f.logs.String())}
	db := filepath.Join(f.dir, "tollgate.db")
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		raw, err := os.ReadFile(p)
		if err != nil && p == db {
			t.Fatal(err)
		}
		haystacks[filepath.Base(p)] = raw
	}
	if len(haystacks["tollgate.db-wal"]) == 0 {
		t.Error("no -wal file to search: is the store in WAL mode?")
	}
	for where, hay := range haystacks {
		for i, n := range needles {
			if bytes.Contains(hay, n) {
				t.Errorf("%s holds secret %d in plaintext", where, i)
			}
		}
	}
}

// TestConcurrentTokenRequests sends 200 token requests at once over real HTTP and
// reports the latency percentiles (a report, not an assertion).
func TestConcurrentTokenRequests(t *testing.T) {
	f := newFixture(t, nil)
	web := f.creds["shop-web/production"]
	const n = 200
	latencies := make([]time.Duration, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	for i := range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest(http.MethodPost, f.http.URL+"/oauth2/token", bytes.NewBufferString(grant("scope", "orders:read").Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", basic(web.id, web.secret))
			t0 := time.Now()
			res, err := client.Do(req)
			latencies[i] = time.Since(t0)
			if err != nil {
				errs <- err
				return
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				errs <- &statusError{res.StatusCode}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	t.Logf("%d concurrent token requests (%s): p50 %v, p99 %v, max %v", n, f.cfg.Algorithm,
		latencies[n/2], latencies[n*99/100], latencies[n-1])
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }

func TestDefaultAlgorithmIsImplemented(t *testing.T) {
	if _, ok := algorithms[config.DefaultAlgorithm]; !ok {
		t.Errorf("default algorithm %s is not one the STS implements", config.DefaultAlgorithm)
	}
}
