package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/route/routetest"
	"github.com/tollgate/tollgate/authz/service"
)

// The proxy end-to-end tests run examples/nginx.conf and examples/Caddyfile in Debian's
// nginx and caddy, as shipped but for their addresses, between a client and a Go echo
// upstream, with Tollgate (examples/gitops.yaml) answering their checks.

// installHint is what to do when a proxy is missing: the tests never skip.
const installHint = "run `make proxies`: it installs Debian's nginx, libnginx-mod-http-headers-more-filter and caddy"

// sandboxRule is the README's worked example, so that a deny rule of one's own
// (access_denied) is tested through the proxies too.
const sandboxRule = `package tollgate.authz

deny contains "sandbox keys are read-only" if {
	binding.environment == "sandbox"
	not input.attributes.request.http.method in {"GET", "HEAD", "OPTIONS"}
}
`

// spoofed are headers a client sends to pass for Tollgate, or to steer its check to
// another request (a public one): none may reach the upstream or change a decision.
var spoofed = map[string]string{
	"X-Tollgate-Api":         "forged",
	"X-Tollgate-Application": "forged",
	"X-Tollgate-Client-Id":   "forged",
	"X-Tollgate-Issuer":      "forged",
	"X-Tollgate-Scopes":      "forged",
	"X-Tollgate-Subject":     "forged",
	"X-Tollgate-Decision-Id": "forged",
	"X-Tollgate-Admin":       "true",
	"X_Tollgate_Subject":     "forged",
	"X-Tollgate-Status":      "200",
	"X-Original-Method":      "GET",
	"X-Original-URI":         "/orders/docs/steered",
	"X-Forwarded-Method":     "GET",
	"X-Forwarded-Uri":        "/orders/docs/steered",
	"X-Forwarded-Host":       "steered.test",
}

// denial is a deny as the client must get it.
type denial struct {
	status int
	code   string
	www    string // WWW-Authenticate, exact; "" when there must be none
}

// proxyCase is one request through a proxy and what it must come to: the identity
// headers the upstream gets, or a denial.
type proxyCase struct {
	name         string
	method, path string
	auth         string // the Authorization header; none when empty
	identity     map[string]string
	deny         denial
}

func TestProxiesEndToEnd(t *testing.T) {
	tollgate, stopTollgate := startCheckTollgate(t)
	api := newEchoUpstream(t)
	proxies := []struct {
		name  string
		start func(*testing.T, string, string) string
	}{
		{"nginx", startNginx},
		{"nginx, proxy_pass with a URI", startNginxRewritingURI},
		{"caddy", startCaddy},
	}
	bases := map[string]string{}
	for _, p := range proxies {
		bases[p.name] = p.start(t, tollgate, api.addr())
	}

	bearer := func(clientID, scope string) string { return "Bearer " + demoToken(t, clientID, scope) }
	read, write := "urn:acme:orders:read", "urn:acme:orders:write"
	cases := []proxyCase{
		{name: "allow", method: "GET", path: "/orders/42?view=full", auth: bearer("shop-web-prod", read),
			identity: map[string]string{"x-tollgate-api": "orders", "x-tollgate-application": "shop-web",
				"x-tollgate-client-id": "shop-web-prod", "x-tollgate-issuer": "demo", "x-tollgate-scopes": read,
				"x-tollgate-subject": "shop-web-prod"}},
		{name: "allow POST", method: "POST", path: "/orders", auth: bearer("shop-web-prod", read+" "+write),
			identity: map[string]string{"x-tollgate-api": "orders", "x-tollgate-application": "shop-web",
				"x-tollgate-client-id": "shop-web-prod", "x-tollgate-issuer": "demo", "x-tollgate-scopes": read + " " + write,
				"x-tollgate-subject": "shop-web-prod"}},
		{name: "public route", method: "GET", path: "/orders/docs/intro",
			identity: map[string]string{"x-tollgate-api": "orders"}},
		{name: "invalid_request", method: "GET", path: "/orders/1", auth: "Bearer a b",
			deny: denial{400, "invalid_request", `Bearer error="invalid_request"`}},
		{name: "missing_token", method: "GET", path: "/orders/1",
			deny: denial{401, "missing_token", `Bearer realm="tollgate"`}},
		{name: "invalid_token", method: "GET", path: "/orders/1", auth: "Bearer " + expiredToken(t),
			deny: denial{401, "invalid_token", `Bearer error="invalid_token", error_description="the access token expired"`}},
		{name: "no_matching_resource", method: "GET", path: "/nowhere", auth: bearer("shop-web-prod", read),
			deny: denial{404, "no_matching_resource", ""}},
		{name: "unknown_application", method: "GET", path: "/orders/1", auth: bearer("stranger", read),
			deny: denial{403, "unknown_application", ""}},
		{name: "not_subscribed", method: "GET", path: "/orders/1", auth: bearer("reporting-prod", read),
			deny: denial{403, "not_subscribed", ""}},
		{name: "insufficient_scope", method: "GET", path: "/orders/1", auth: bearer("shop-web-prod", write),
			deny: denial{403, "insufficient_scope", `Bearer error="insufficient_scope", scope="urn:acme:orders:read"`}},
		{name: "access_denied", method: "POST", path: "/orders", auth: bearer("shop-web-sandbox", read+" "+write),
			deny: denial{403, "access_denied", ""}},
	}
	for _, p := range proxies {
		t.Run(p.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					res, id := api.send(t, bases[p.name], c.method, c.path, c.auth)
					if c.identity != nil {
						api.checkAllowed(t, res, id, c)
					} else {
						api.checkDenied(t, res, id, c.deny)
					}
				})
			}
		})
	}

	for _, p := range proxies {
		t.Run(p.name+"/confusing paths", func(t *testing.T) {
			for _, path := range routetest.ConfusingPaths {
				for _, auth := range []string{"", bearer("shop-web-prod", read)} {
					status, id := api.sendRaw(t, bases[p.name], path, auth)
					if api.reached(id) {
						t.Errorf("%s (token %v) reached the upstream as %q", path, auth != "", api.uri(id))
					}
					if status < 400 || status >= 500 {
						t.Errorf("%s (token %v): status %d; want a 4xx refusal", path, auth != "", status)
					}
				}
			}
		})
	}

	stopTollgate()
	for _, p := range proxies {
		t.Run(p.name+"/tollgate down", func(t *testing.T) {
			res, id := api.send(t, bases[p.name], "GET", "/orders/docs/intro", "")
			if res.StatusCode < 500 {
				t.Errorf("status %d with Tollgate down, want 5xx", res.StatusCode)
			}
			if api.reached(id) {
				t.Error("the request reached the upstream with Tollgate down")
			}
		})
	}
}

// startCheckTollgate starts Tollgate on examples/gitops.yaml, with the README's
// sandbox rule added to its policies, on free ports. It returns the check listener's
// address, and a function that stops Tollgate (also called when the test ends).
func startCheckTollgate(t *testing.T) (string, func()) {
	t.Helper()
	cfg, err := config.Load("../../examples/gitops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.GRPC.Address, cfg.HTTP.Address, cfg.Check.Address = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Reload.Watch = false
	cfg.Policies = t.TempDir()
	for name, src := range map[string]string{"authz.rego": "../../policies/authz.rego", "sandbox_read_only.rego": ""} {
		text := sandboxRule
		if src != "" {
			raw, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			text = string(raw)
		}
		if err := os.WriteFile(filepath.Join(cfg.Policies, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := service.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = svc.Shutdown(ctx)
		})
	}
	t.Cleanup(stop)
	return svc.CheckAddr(), stop
}

// echoUpstream is the API behind the proxies: it answers each request with what it
// received, and remembers which requests reached it (by their X-Test-Id).
type echoUpstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen map[string]string // X-Test-Id -> the request URI received
}

// echoed is the echo upstream's answer.
type echoed struct {
	Method string      `json:"method"`
	URI    string      `json:"uri"`
	Header http.Header `json:"header"`
}

func newEchoUpstream(t *testing.T) *echoUpstream {
	t.Helper()
	u := &echoUpstream{seen: map[string]string{}}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen[r.Header.Get("X-Test-Id")] = r.RequestURI
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{Method: r.Method, URI: r.RequestURI, Header: r.Header})
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *echoUpstream) addr() string { return u.srv.Listener.Addr().String() }

func (u *echoUpstream) reached(id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.seen[id]
	return ok
}

// uri is the request URI the upstream received for the request id.
func (u *echoUpstream) uri(id string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.seen[id]
}

var testIDs struct {
	sync.Mutex
	n int
}

func newTestID(t *testing.T) string {
	testIDs.Lock()
	defer testIDs.Unlock()
	testIDs.n++
	return fmt.Sprintf("%s-%d", t.Name(), testIDs.n)
}

// sendRaw sends GET path through the proxy at base exactly as written, bytes that Go's
// client would escape or clean included, with an Authorization header when auth is
// set, and returns the status and the request's X-Test-Id.
func (u *echoUpstream) sendRaw(t *testing.T, base, path, auth string) (int, string) {
	t.Helper()
	id := newTestID(t)
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Test-Id: " + id + "\r\n"
	if auth != "" {
		req += "Authorization: " + auth + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: read the answer: %v", path, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, id
}

// send sends a request through the proxy at base, with the spoofed headers, and
// returns the answer (its body read) and the request's X-Test-Id.
func (u *echoUpstream) send(t *testing.T, base, method, path, auth string) (*answer, string) {
	t.Helper()
	id := newTestID(t)
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range spoofed {
		req.Header[name] = []string{value} // as written: X_Tollgate_Subject keeps its case
	}
	req.Header.Set("X-Test-Id", id)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &answer{Response: res, body: body}, id
}

// answer is a response with its body read.
type answer struct {
	*http.Response
	body []byte
}

// checkAllowed: the request reached the upstream as sent, with exactly the identity
// headers of the case, and no other x-tollgate-* header.
func (u *echoUpstream) checkAllowed(t *testing.T, res *answer, id string, c proxyCase) {
	t.Helper()
	if res.StatusCode != http.StatusOK || !u.reached(id) {
		t.Fatalf("status %d, upstream reached %v, want an allow; body %s", res.StatusCode, u.reached(id), res.body)
	}
	var e echoed
	if err := json.Unmarshal(res.body, &e); err != nil {
		t.Fatalf("the upstream's answer: %v: %s", err, res.body)
	}
	if e.Method != c.method || e.URI != c.path {
		t.Errorf("upstream got %s %s, want %s %s", e.Method, e.URI, c.method, c.path)
	}
	got := map[string]string{}
	for name, values := range e.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(strings.ReplaceAll(lower, "_", "-"), "x-tollgate-") {
			got[lower] = strings.Join(values, ", ")
		}
	}
	// Tollgate returns the decision id with a deny only, as over gRPC; the samples
	// pass it on should an allow carry it, but never the client's.
	if d, ok := got["x-tollgate-decision-id"]; ok && d == spoofed["X-Tollgate-Decision-Id"] {
		t.Errorf("the client's x-tollgate-decision-id reached the upstream")
	}
	delete(got, "x-tollgate-decision-id")
	if !maps.Equal(got, c.identity) {
		t.Errorf("upstream got x-tollgate-* headers\n  %v\nwant\n  %v", got, c.identity)
	}
}

// checkDenied: the deny reached the client with its status, JSON body,
// WWW-Authenticate and decision id, and the request never reached the upstream.
func (u *echoUpstream) checkDenied(t *testing.T, res *answer, id string, want denial) {
	t.Helper()
	if u.reached(id) {
		t.Errorf("a %s deny reached the upstream", want.code)
	}
	if res.StatusCode != want.status {
		t.Errorf("status %d, want %d", res.StatusCode, want.status)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(res.body, &body); err != nil || body.Error != want.code || body.Description == "" {
		t.Errorf("body %s, want {\"error\": %q, \"error_description\": …}", res.body, want.code)
	}
	var wantWWW []string
	if want.www != "" {
		wantWWW = []string{want.www}
	}
	if got := res.Header.Values("WWW-Authenticate"); strings.Join(got, "\n") != strings.Join(wantWWW, "\n") {
		t.Errorf("WWW-Authenticate %q, want %q", got, wantWWW)
	}
	if d := res.Header.Get("X-Tollgate-Decision-Id"); d == "" || d == spoofed["X-Tollgate-Decision-Id"] {
		t.Errorf("X-Tollgate-Decision-Id %q, want Tollgate's", d)
	}
}

// startNginx runs examples/nginx.conf with the given Tollgate check address and
// upstream, its logs, pid and temporary files in a new directory, and returns its
// base URL once it serves.
func startNginx(t *testing.T, tollgate, api string) string {
	t.Helper()
	return startNginxWith(t, tollgate, api, nil)
}

// startNginxRewritingURI runs examples/nginx.conf with the common variant
// "proxy_pass http://api/;", with which nginx sends the upstream the path it
// normalised and decoded (%2F included), not the client's.
func startNginxRewritingURI(t *testing.T, tollgate, api string) string {
	t.Helper()
	return startNginxWith(t, tollgate, api, map[string]string{"proxy_pass http://api;": "proxy_pass http://api/;"})
}

// startNginxWith is startNginx with more edits of the sample.
func startNginxWith(t *testing.T, tollgate, api string, more map[string]string) string {
	t.Helper()
	bin := lookPath(t, "nginx")
	raw := readSample(t, "nginx.conf")
	if m := regexp.MustCompile(`(?m)^load_module (\S+);`).FindStringSubmatch(raw); m != nil {
		if _, err := os.Stat(m[1]); err != nil {
			t.Fatalf("examples/nginx.conf loads %s, which is missing: %s", m[1], installHint)
		}
	}
	dir := t.TempDir()
	// nginx runs its workers as nobody when started as root: let them in.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	files := fmt.Sprintf("access_log %[1]s/access.log;\n    client_body_temp_path %[1]s/client_body;\n"+
		"    proxy_temp_path %[1]s/proxy;\n    fastcgi_temp_path %[1]s/fastcgi;\n    uwsgi_temp_path %[1]s/uwsgi;\n"+
		"    scgi_temp_path %[1]s/scgi;\n", dir)
	edits := map[string]string{
		"server 127.0.0.1:8181;": "server " + tollgate + ";",
		"server 127.0.0.1:3000;": "server " + api + ";",
		"listen 8080;":           "listen " + addr + ";",
		"\nhttp {\n":             "\nhttp {\n    " + files,
	}
	maps.Copy(edits, more)
	conf := rewrite(t, "nginx.conf", raw, edits)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir+"/", "-c", path, "-e", filepath.Join(dir, "error.log"),
		"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+";")
	base := "http://" + addr
	runProxy(t, "nginx", cmd, dir, base, filepath.Join(dir, "error.log"))
	return base
}

// startCaddy runs examples/Caddyfile with the given Tollgate check address and
// upstream, its admin API off and its home in a new directory, and returns its base
// URL once it serves.
func startCaddy(t *testing.T, tollgate, api string) string {
	t.Helper()
	bin := lookPath(t, "caddy")
	dir := t.TempDir()
	_, port, _ := net.SplitHostPort(freeAddr(t))
	conf := rewrite(t, "Caddyfile", readSample(t, "Caddyfile"), map[string]string{
		"admin localhost:2019":          "admin off",
		"\n:8080 {\n":                   "\n:" + port + " {\n",
		"forward_auth 127.0.0.1:8181 {": "forward_auth " + tollgate + " {",
		"reverse_proxy 127.0.0.1:3000":  "reverse_proxy " + api,
	})
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"))
	base := "http://127.0.0.1:" + port
	runProxy(t, "caddy", cmd, dir, base)
	// What users copy should start without warnings; Caddy checks the format first.
	if out, _ := os.ReadFile(filepath.Join(dir, "output")); strings.Contains(string(out), "not formatted") {
		t.Errorf("examples/Caddyfile is not as `caddy fmt` writes it:\n%s", out)
	}
	return base
}

// runProxy starts cmd, stops it when the test ends (SIGTERM: both proxies shut down
// cleanly on it), and waits until base answers HTTP. Its output goes to dir/output;
// on failure, that and the logs are shown.
func runProxy(t *testing.T, name string, cmd *exec.Cmd, dir, base string, logs ...string) {
	t.Helper()
	outPath := filepath.Join(dir, "output")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	show := func() string {
		var b strings.Builder
		for _, f := range append([]string{outPath}, logs...) {
			raw, _ := os.ReadFile(f)
			fmt.Fprintf(&b, "\n--- %s\n%s", f, raw)
		}
		return b.String()
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("%s exited: %v%s", name, cmd.ProcessState, show())
		default:
		}
		if res, err := client.Get(base + "/"); err == nil {
			res.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer on %s after 10 s%s", name, base, show())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: %s", name, installHint)
	}
	return bin
}

func readSample(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("../../examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// rewrite replaces each key of edits, which must occur once in the sample, so a
// change to the sample cannot silently leave a test on the sample's own addresses.
func rewrite(t *testing.T, name, s string, edits map[string]string) string {
	t.Helper()
	for from, to := range edits {
		if n := strings.Count(s, from); n != 1 {
			t.Fatalf("examples/%s has %q %d times, want once: update the test with the sample", name, from, n)
		}
		s = strings.Replace(s, from, to, 1)
	}
	return s
}

// freeAddr returns a loopback address with a port free now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
