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
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/config"
)

// TestFailedAuthenticationsAreLimited spends the failures of a client ID and of an
// address: further failures are 429 with Retry-After, while the right secret gets a
// token every time, from anywhere.
func TestFailedAuthenticationsAreLimited(t *testing.T) {
	f := newFixture(t, func(c *config.STS) { c.FailedAuth = config.Rate{Burst: 3, Every: time.Minute} })
	web, rep := f.creds["shop-web/production"], f.creds["reporting/production"]
	try := func(id, secret string, from ...string) (int, string) {
		t.Helper()
		res := f.postFrom(t, from, grant(), "Authorization", basic(id, secret))
		decode(t, res)
		return res.StatusCode, res.Header.Get("Retry-After")
	}
	for i := range 3 {
		if code, _ := try(web.id, "tgs_guess"); code != 401 {
			t.Fatalf("failure %d: %d, want 401", i+1, code)
		}
	}
	if code, retry := try(web.id, "tgs_guess"); code != http.StatusTooManyRequests || retry != "61" {
		t.Fatalf("a failure past the burst: %d (Retry-After %q), want 429 with Retry-After 61", code, retry)
	}
	// The right secret is checked before any limit.
	if code, _ := try(web.id, web.secret); code != 200 {
		t.Errorf("the right secret after the burst: %d, want 200", code)
	}
	// The client ID has no failures left, from any address.
	if code, _ := try(web.id, "tgs_guess", "127.0.0.2"); code != http.StatusTooManyRequests {
		t.Errorf("a failure of the client ID from another address: %d, want 429", code)
	}
	// The address has none left, for any client ID; the right secrets still pass.
	if code, _ := try(rep.id, "tgs_guess"); code != http.StatusTooManyRequests {
		t.Errorf("another client's failure from the address: %d, want 429", code)
	}
	if code, _ := try(rep.id, rep.secret); code != 200 {
		t.Errorf("another client's right secret from the address: %d, want 200", code)
	}
	f.clock.Set(f.clock.Now().Add(time.Minute + time.Second))
	if code, _ := try(web.id, "tgs_guess"); code != 401 {
		t.Errorf("a failure after one period: %d, want 401", code)
	}
}

// TestRightSecretUnderAttack is the lockout of issue 13: eleven addresses send wrong
// secrets for one client ID as fast as they can, while the client, from its own
// address, asks for tokens. Every one of its requests gets a token, and the
// attackers' failures are limited: past the client ID's burst, all are 429.
func TestRightSecretUnderAttack(t *testing.T) {
	f := newFixture(t, nil) // the default failed_auth; the clock stands still, so nothing refills
	web := f.creds["shop-web/production"]
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	stopAttack := func() { cancel(); wg.Wait() }
	defer stopAttack()
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := 2; i <= 12; i++ {
		client := clientFrom(t, fmt.Sprintf("127.0.0.%d", i))
		wg.Go(func() {
			for {
				if ctx.Err() != nil {
					return
				}
				code, err := tokenStatus(client, f.http.URL, basic(web.id, NewSecret()))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				statuses[code]++
				mu.Unlock()
			}
		})
	}

	legit := clientFrom(t, "127.0.0.13")
	const attempts = 200
	for i := range attempts {
		code, err := tokenStatus(legit, f.http.URL, basic(web.id, web.secret))
		if err != nil || code != 200 {
			t.Fatalf("the right secret, attempt %d of %d, under attack: %d %v", i+1, attempts, code, err)
		}
	}
	stopAttack()
	t.Logf("%d right secrets all got tokens; the attackers got %v", attempts, statuses)
	if statuses[401] > f.cfg.FailedAuth.Burst || statuses[http.StatusTooManyRequests] == 0 || len(statuses) > 2 {
		t.Errorf("attackers got %v: want at most %d 401s (the client ID's burst), then 429s", statuses, f.cfg.FailedAuth.Burst)
	}
}

// TestMadeUpClientIDsDoNotStopAClient fails with made-up client IDs from one address
// (behind a proxy, every client's), past the address's burst: a client at that
// address still gets its tokens.
func TestMadeUpClientIDsDoNotStopAClient(t *testing.T) {
	f := newFixture(t, func(c *config.STS) { c.FailedAuth = config.Rate{Burst: 3, Every: time.Hour} })
	web := f.creds["shop-web/production"]
	for i := range 20 {
		res := f.post(t, grant(), "Authorization", basic(NewClientID(), NewSecret()))
		if want := map[bool]int{true: 401, false: 429}[i < 3]; res.StatusCode != want {
			t.Errorf("made-up client ID %d: %d, want %d", i+1, res.StatusCode, want)
		}
	}
	for i := range 5 {
		if res := f.post(t, grant(), "Authorization", basic(web.id, web.secret)); res.StatusCode != 200 {
			t.Fatalf("the client at the same address, request %d: %d, want 200", i+1, res.StatusCode)
		}
	}
}

// TestClientRate spends a client ID's sts.client_rate: its next token request is 429
// with Retry-After and an RFC 6749 error body, another client is not limited, and one
// period later the client gets a token again.
func TestClientRate(t *testing.T) {
	f := newFixture(t, func(c *config.STS) { c.ClientRate = config.Rate{Burst: 3, Every: time.Minute} })
	web, rep := f.creds["shop-web/production"], f.creds["reporting/production"]
	for i := range 3 {
		if res := f.post(t, grant(), "Authorization", basic(web.id, web.secret)); res.StatusCode != 200 {
			t.Fatalf("token %d of the burst: %d", i+1, res.StatusCode)
		}
	}
	res := f.post(t, grant(), "Authorization", basic(web.id, web.secret))
	b := decode(t, res)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "61" ||
		b.Error != "temporarily_unavailable" || b.Description == "" || b.AccessToken != "" ||
		res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Content-Type") != "application/json;charset=UTF-8" {
		t.Errorf("past the client rate: %d, Retry-After %q, %+v, headers %v", res.StatusCode, res.Header.Get("Retry-After"), b, res.Header)
	}
	// A wrong secret is a failure, not a token request: 401, as ever.
	if res := f.post(t, grant(), "Authorization", basic(web.id, "tgs_guess")); res.StatusCode != 401 {
		t.Errorf("a wrong secret of the limited client: %d, want 401", res.StatusCode)
	}
	if res := f.post(t, grant(), "Authorization", basic(rep.id, rep.secret)); res.StatusCode != 200 {
		t.Errorf("another client: %d, want 200", res.StatusCode)
	}
	f.clock.Set(f.clock.Now().Add(time.Minute + time.Second))
	if res := f.post(t, grant(), "Authorization", basic(web.id, web.secret)); res.StatusCode != 200 {
		t.Errorf("one period later: %d, want 200", res.StatusCode)
	}
}

func TestLimiterIsBounded(t *testing.T) {
	c := &clock{now: time.Now()}
	l := newLimiter(config.Rate{Burst: 2, Every: time.Second}, c.Now)
	for i := range maxLimited + 10 {
		l.take(fmt.Sprint("a", i))
	}
	if n := len(l.buckets); n > maxLimited {
		t.Errorf("%d entries, want at most %d", n, maxLimited)
	}
	c.Set(c.Now().Add(3 * time.Second)) // every entry is back to a full burst
	for i := range 1000 {
		l.take(fmt.Sprint("b", i))
	}
	if n := len(l.buckets); n > maxLimited {
		t.Errorf("%d entries, want at most %d", n, maxLimited)
	}
	if b := l.buckets["b999"]; b == nil || b.tokens != 1 {
		t.Error("a new take was not recorded in a full limiter")
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
