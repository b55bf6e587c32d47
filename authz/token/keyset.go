package token

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"

	"github.com/tollgate/tollgate/authz/config"
)

// Backoff of the fetches that fail: from backoffMin, doubling, up to backoffMax (or
// the refresh interval, if shorter).
const (
	backoffMin = 500 * time.Millisecond
	backoffMax = time.Minute
)

// Keys with a "use" other than sig (or none) must not verify signatures (RFC 7517 4.2).
var signingUses = []jwkset.USE{jwkset.UseSig, ""}

// keySet is the signing keys of one issuer: read once from a jwks_file, or fetched
// from a jwks_uri by a background loop that retries failures with capped exponential
// backoff, refreshes every refresh interval, and fetches at once when a token names
// a kid it does not know (then at most once per unknown-kid interval). A fetch that
// fails or returns garbage keeps the last good set.
type keySet struct {
	src       keySource
	settings  atomic.Pointer[keySettings] // a reload may change them
	client    *http.Client
	log       *slog.Logger
	cur       atomic.Pointer[keys] // the last good set; nil until the first success
	stop      context.CancelFunc
	done      chan struct{} // closed when the fetch loop ends
	first     chan struct{} // closed when the first fetch has ended, well or not
	firstOnce sync.Once
	wake      chan struct{} // asks the loop to fetch now

	mu          sync.Mutex
	fetching    chan struct{} // closed when the fetch in flight ends; nil when none
	closed      bool          // the loop has ended: no fetch will come
	lastUnknown time.Time     // of the last refresh an unknown kid asked for
	status      Status
}

// keySource is where a key set comes from. A reload keeps a key set, with its keys,
// whose source is unchanged, and gives it the new settings.
type keySource struct {
	name, uri, file, caPEM string
	fileSum                [sha256.Size]byte
}

// keySettings is how a remote key set is fetched.
type keySettings struct {
	refresh, timeout          time.Duration
	unknownEvery, unknownWait time.Duration
	maxBytes                  int64
}

// keys is one version of an issuer's key set. It is immutable once published.
type keys struct {
	kf        keyfunc.Keyfunc
	all       []jwkset.JWK
	byID      map[string]crypto.PublicKey
	anonymous int // keys without a kid
}

// Status is an issuer's key status, for readiness and operators.
type Status struct {
	// Name is the issuer's configured name.
	Name string `json:"name"`
	// Source is its jwks_uri, or the jwks_file it was read from.
	Source string `json:"source"`
	// Keys is the number of signing keys in the last good set.
	Keys int `json:"keys"`
	// LastSuccess is when the last good set was fetched; zero before the first.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastAttempt is when the last fetch ended.
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// LastError is why the last fetch failed; empty when it succeeded.
	LastError string `json:"last_error,omitempty"`
	// Failures counts the fetches that failed in a row.
	Failures int `json:"failures"`
}

func newKeySource(c config.Issuer) (keySource, error) {
	src := keySource{name: c.Name, uri: c.JWKSURI, file: c.JWKSFile}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return src, fmt.Errorf("ca_file: %w", err)
		}
		src.caPEM = string(pem)
	}
	if c.JWKSFile != "" {
		raw, err := os.ReadFile(c.JWKSFile)
		if err != nil {
			return src, fmt.Errorf("read jwks_file: %w", err)
		}
		src.fileSum = sha256.Sum256(raw)
	}
	return src, nil
}

func newKeySettings(c config.Issuer) *keySettings {
	return &keySettings{
		refresh: c.RefreshInterval, timeout: c.FetchTimeout,
		unknownEvery: c.UnknownKIDRefreshInterval, unknownWait: c.UnknownKIDWait,
		maxBytes: c.MaxJWKSBytes,
	}
}

// newKeySet starts the key set of src: a jwks_file is read now, and must hold a usable
// key; a jwks_uri is fetched in the background, so an issuer that is down does not
// hold up the server or the other issuers.
func newKeySet(ctx context.Context, src keySource, settings *keySettings, log *slog.Logger) (*keySet, error) {
	ks := &keySet{src: src, log: log, done: make(chan struct{}), first: make(chan struct{}), wake: make(chan struct{}, 1)}
	ks.settings.Store(settings)
	ks.status.Name = src.name
	if src.file != "" {
		ks.status.Source = src.file
		ks.closed = true
		close(ks.done)
		ks.endFirst()
		return ks, ks.readFile()
	}
	ks.status.Source = redactURI(src.uri)
	client, err := jwksClient(src.caPEM)
	if err != nil {
		return nil, err
	}
	ks.client = client
	ks.fetching = make(chan struct{}) // the first fetch is in flight from now on
	ctx, ks.stop = context.WithCancel(ctx)
	go ks.run(ctx)
	return ks, nil
}

func (ks *keySet) readFile() error {
	raw, err := os.ReadFile(ks.src.file)
	if err != nil {
		return fmt.Errorf("read jwks_file: %w", err)
	}
	k, err := ks.parse(raw)
	if err != nil {
		return fmt.Errorf("jwks_file %s: %w", ks.src.file, err)
	}
	ks.publish(k, nil)
	return nil
}

// close stops the fetch loop and waits for it to end.
func (ks *keySet) close() {
	if ks.stop != nil {
		ks.stop()
	}
	<-ks.done
}

// finish ends the fetch loop: no fetch will come, so every check waiting for one is
// released, and the idle connections are closed.
func (ks *keySet) finish() {
	ks.mu.Lock()
	ks.closed = true
	if ks.fetching != nil {
		close(ks.fetching)
		ks.fetching = nil
	}
	ks.mu.Unlock()
	ks.endFirst()
	ks.client.CloseIdleConnections()
	close(ks.done)
}

func (ks *keySet) endFirst() { ks.firstOnce.Do(func() { close(ks.first) }) }

// current is the last good set, or nil.
func (ks *keySet) current() *keys { return ks.cur.Load() }

// run fetches until ctx ends: at once, then every refresh interval after a success,
// after a growing backoff after a failure, and whenever a check asks.
func (ks *keySet) run(ctx context.Context) {
	defer ks.finish()
	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-ks.wake:
			timer.Stop()
		}
		wait := ks.settings.Load().refresh
		if err := ks.fetch(ctx); err != nil {
			failures++
			wait = backoff(failures, wait)
			if ctx.Err() == nil {
				ks.log.Warn("JWKS fetch failed; keeping the last good key set", "issuer", ks.src.name,
					"jwks_uri", ks.status.Source, "error", err, "failures", failures, "retry_in", wait.Round(time.Millisecond))
			}
		} else {
			if failures > 0 {
				ks.log.Info("JWKS fetch succeeded again", "issuer", ks.src.name, "after_failures", failures)
			}
			failures = 0
		}
		timer.Reset(wait)
	}
}

// backoff is the wait after n failures in a row: doubling from backoffMin, capped, with
// ±10% jitter so replicas do not fetch in step.
func backoff(n int, refresh time.Duration) time.Duration {
	d := backoffMin << min(n-1, 16)
	d = min(d, backoffMax, refresh)
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}

// fetch gets the JWKS once and publishes it, or records why it could not.
func (ks *keySet) fetch(ctx context.Context) error {
	ks.mu.Lock()
	if ks.fetching == nil {
		ks.fetching = make(chan struct{})
	}
	select { // this fetch answers a request that came with the timer
	case <-ks.wake:
	default:
	}
	ks.mu.Unlock()
	k, err := ks.get(ctx)
	ks.publish(k, err)
	ks.mu.Lock()
	close(ks.fetching)
	ks.fetching = nil
	ks.mu.Unlock()
	ks.endFirst()
	return err
}

func (ks *keySet) get(ctx context.Context) (*keys, error) {
	settings := ks.settings.Load()
	ctx, cancel := context.WithTimeout(ctx, settings.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.src.uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", redactURI(resp.Request.URL.String()), resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, settings.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read JWKS: %w", err)
	}
	if int64(len(raw)) > settings.maxBytes {
		return nil, fmt.Errorf("JWKS is larger than max_jwks_bytes (%d)", settings.maxBytes)
	}
	return ks.parse(raw)
}

// parse reads a JWK Set. A key that is not usable (an unsupported type, a symmetric or
// private key, bad parameters) is skipped with a warning; a set without one usable
// signing key is an error, so garbage never replaces good keys.
func (ks *keySet) parse(raw []byte) (*keys, error) {
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	k := &keys{byID: make(map[string]crypto.PublicKey, len(set.Keys))}
	var skipped []string
	for i, m := range set.Keys {
		if why := k.add(m); why != "" {
			skipped = append(skipped, fmt.Sprintf("keys[%d] kid %q: %s", i, m.KID, why))
		}
	}
	for _, why := range skipped {
		ks.log.Debug("JWKS key skipped", "issuer", ks.src.name, "key", why)
	}
	if len(k.all) == 0 {
		return nil, fmt.Errorf("the JWK Set holds no usable signing key (skipped: %s)", summary(skipped))
	}
	storage := jwkset.NewMemoryStorage()
	if err := storage.KeyReplaceAll(context.Background(), k.all); err != nil {
		return nil, err
	}
	kf, err := keyfunc.New(keyfunc.Options{Storage: storage, UseWhitelist: signingUses})
	if err != nil {
		return nil, err
	}
	k.kf = kf
	return k, nil
}

// add takes one JWK into the set, or says why it is not usable for verifying.
func (k *keys) add(m jwkset.JWKMarshal) string {
	if !slices.Contains(signingUses, m.USE) {
		return fmt.Sprintf("use %q is not sig", m.USE)
	}
	jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return err.Error()
	}
	key := publicKey(jwk.Key())
	if !isAsymmetric(key) {
		return fmt.Sprintf("key type %q cannot verify an asymmetric signature", m.KTY)
	}
	if _, dup := k.byID[m.KID]; dup && m.KID != "" {
		return "duplicate kid"
	}
	k.all = append(k.all, jwk)
	if m.KID != "" {
		k.byID[m.KID] = key
	} else {
		k.anonymous++
	}
	return ""
}

// summary shortens a list of reasons for one error message.
func summary(reasons []string) string {
	const most = 3
	if len(reasons) == 0 {
		return "none; the set is empty"
	}
	if len(reasons) > most {
		return strings.Join(reasons[:most], "; ") + fmt.Sprintf("; and %d more", len(reasons)-most)
	}
	return strings.Join(reasons, "; ")
}

// publish makes k the current set when err is nil, and records the attempt.
func (ks *keySet) publish(k *keys, err error) {
	now := time.Now()
	ks.mu.Lock()
	ks.status.LastAttempt = now
	if err != nil {
		ks.status.LastError = err.Error()
		ks.status.Failures++
		ks.mu.Unlock()
		return
	}
	old := ks.cur.Swap(k)
	ks.status.Keys = len(k.all)
	ks.status.LastSuccess = now
	ks.status.LastError = ""
	ks.status.Failures = 0
	ks.mu.Unlock()
	if old != nil {
		ks.logChanges(old, k)
	}
}

// logChanges logs the kids that came, went, or kept their name with another key.
func (ks *keySet) logChanges(old, k *keys) {
	var added, removed, replaced []string
	for kid, key := range k.byID {
		switch was, ok := old.byID[kid]; {
		case !ok:
			added = append(added, kid)
		case !sameKey(was, key):
			replaced = append(replaced, kid)
		}
	}
	for kid := range old.byID {
		if _, ok := k.byID[kid]; !ok {
			removed = append(removed, kid)
		}
	}
	if len(added)+len(removed)+len(replaced) > 0 {
		slices.Sort(added)
		slices.Sort(removed)
		slices.Sort(replaced)
		ks.log.Info("JWKS keys changed", "issuer", ks.src.name, "added", added, "removed", removed, "replaced", replaced)
	}
}

// Status returns the key set's status now.
func (ks *keySet) Status() Status {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.status
}

// refreshUnknown is called when a token names a key the set does not hold. It starts
// a fetch unless one ran for this reason within the unknown-kid interval (the first
// one always runs), and waits for the fetch in flight, if any, for at most the
// unknown-kid wait or until ctx ends. The fetch goes on when the wait ends.
func (ks *keySet) refreshUnknown(ctx context.Context) {
	settings := ks.settings.Load()
	wait := unknownWait(ctx, settings.unknownWait)
	ks.mu.Lock()
	if ks.closed || wait <= 0 {
		ks.mu.Unlock()
		return
	}
	ch := ks.fetching
	if ch == nil {
		now := time.Now()
		if !ks.lastUnknown.IsZero() && now.Sub(ks.lastUnknown) < settings.unknownEvery {
			ks.mu.Unlock()
			return
		}
		ks.lastUnknown = now
		ch = make(chan struct{})
		ks.fetching = ch
		select {
		case ks.wake <- struct{}{}:
		default:
		}
	}
	ks.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

// unknownWait is how long a check may wait for a refresh: at most max, and at most
// three quarters of the time left before ctx's deadline, so the check can still answer
// before the proxy gives up on it.
func unknownWait(ctx context.Context, max time.Duration) time.Duration {
	if deadline, ok := ctx.Deadline(); ok {
		return min(max, time.Until(deadline)*3/4)
	}
	return max
}

// attempted reports whether the first fetch has ended, well or not.
func (ks *keySet) attempted() bool {
	select {
	case <-ks.first:
		return true
	default:
		return false
	}
}

// redactURI drops the credentials and the query of a URI before it is logged or
// shown: either may hold a secret.
func redactURI(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	u.Fragment = ""
	return u.String()
}

// ready waits until the first fetch has ended, well or not, or ctx ends.
func (ks *keySet) ready(ctx context.Context) error {
	select {
	case <-ks.first:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// jwksClient fetches key sets, trusting the system's CAs and caPEM. It follows a
// redirect only to https (or to loopback, where the config allows http), so a
// redirect cannot move the keys to plain http.
func jwksClient(caPEM string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caPEM != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(caPEM)) {
			return nil, errors.New("ca_file: no PEM certificate in it")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" && !config.IsLoopback(req.URL.Hostname()) {
				return fmt.Errorf("refusing redirect to %s: not https", req.URL.Redacted())
			}
			return nil
		},
	}, nil
}
