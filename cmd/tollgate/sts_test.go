package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// stsToken asks the quickstart's STS for a token with client_secret_post.
func (q *quickstart) stsToken(t *testing.T, cred string) string {
	t.Helper()
	id, secret, _ := strings.Cut(cred, ":")
	res, err := http.PostForm("http://"+q.http+"/oauth2/token",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 200 {
		t.Fatalf("token: %d %v", res.StatusCode, err)
	}
	return body.AccessToken
}

func kid(t *testing.T, tok string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := parsed.Header["kid"].(string)
	return k
}

// TestQuickstartSTS follows the README: `make run` imports the example data and prints
// STS credentials; a token from /oauth2/token passes `tollgate check`; `tollgate keys
// rotate` in another process is published by the running server before it signs, and
// `keys rotate --now` is taken up at once.
func TestQuickstartSTS(t *testing.T) {
	q := startQuickstart(t)
	if len(q.creds) != 4 || !strings.Contains(q.imported, "shown only now") {
		t.Fatalf("import printed:\n%s", q.imported)
	}
	tok := q.stsToken(t, q.creds["shop-web/production"])
	check := func(tok string) int {
		code, out, stderr := runCmd("check", "--server", q.grpc, "--path", "/orders/42", "--header", "authorization: Bearer "+tok)
		if code == exitUsage {
			t.Fatalf("check: %s%s", out, stderr)
		}
		return code
	}
	if code := check(tok); code != exitOK {
		t.Fatalf("an STS token of shop-web: exit %d", code)
	}
	if code := check(q.stsToken(t, q.creds["reporting/production"])); code != exitDenied {
		t.Errorf("reporting from production (prod_only_blocked): exit %d, want denied", code)
	}

	// In-process, from the store: its data and the STS's public keys.
	if code, out, stderr := runCmd("check", "--config", q.config, "--path", "/orders/42",
		"--header", "authorization: Bearer "+tok); code != exitOK || !strings.Contains(out, "issuer       tollgate") {
		t.Errorf("check --config of an STS token: exit %d\n%s%s", code, out, stderr)
	}

	// make run again: nothing new to print, nothing lost.
	code, out, stderr := runCmd("import", "--config", q.config, "--credentials", "../../examples/data.yaml")
	if code != exitOK || strings.Contains(out, "client_secret=") {
		t.Errorf("second import: exit %d\n%s%s", code, out, stderr)
	}

	// `keys rotate` pre-publishes: the server publishes the key within
	// store.poll_interval and keeps signing with the old one until key_prepublish.
	code, out, stderr = runCmd("keys", "rotate", "--config", q.config)
	rows := keyRows(t, out)
	if code != exitOK || states(rows) != "active pending" {
		t.Fatalf("keys rotate: exit %d\n%s%s", code, out, stderr)
	}
	old, next := kid(t, tok), rows[1].kid
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(q.jwks(t), next) {
		if time.Now().After(deadline) {
			t.Fatal("the server does not publish the pre-published key 10s after `keys rotate`")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := kid(t, q.stsToken(t, q.creds["shop-web/production"])); got != old {
		t.Errorf("the server signs with %s before key_prepublish has passed, want the old key %s", got, old)
	}

	// `keys rotate --now` is taken up at once.
	code, out, stderr = runCmd("keys", "rotate", "--now", "--config", q.config)
	if rows = keyRows(t, out); code != exitOK || states(rows) != "retired retired active" {
		t.Fatalf("keys rotate --now: exit %d\n%s%s", code, out, stderr)
	}
	deadline = time.Now().Add(10 * time.Second)
	for kid(t, q.stsToken(t, q.creds["shop-web/production"])) != rows[2].kid {
		if time.Now().After(deadline) {
			t.Fatal("the server does not sign with the new key 10s after `keys rotate --now`")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := check(tok); code != exitOK {
		t.Errorf("a token of the retired key: exit %d, want allowed until it expires", code)
	}
	code, out, _ = runCmd("keys", "list", "--config", q.config)
	if code != exitOK || !strings.Contains(out, old) {
		t.Errorf("keys list: exit %d\n%s", code, out)
	}
}

// jwks is the quickstart STS's JWKS.
func (q *quickstart) jwks(t *testing.T) string {
	t.Helper()
	res, err := http.Get("http://" + q.http + "/oauth2/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("JWKS: %d %v", res.StatusCode, err)
	}
	return string(raw)
}

func TestStoreCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"import without a file", []string{"import", "--config", exampleConfig}, "expected 1 argument"},
		{"import into a data-file config", []string{"import", "--config", exampleConfig, "../../examples/data.yaml"}, "sets no store:"},
		{"keys without a subcommand", []string{"keys"}, "Usage: tollgate keys"},
		{"keys with an unknown subcommand", []string{"keys", "delete"}, "Usage: tollgate keys"},
		{"keys rotate on a data-file config", []string{"keys", "rotate", "--config", exampleConfig}, "sets no store:"},
		{"keys list of a store that does not exist", []string{"keys", "list", "--config", quickstartConfig(t)}, "no store at"},
		{"check --config of a store that does not exist", []string{"check", "--config", quickstartConfig(t), "--path", "/"}, "store:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCmd(tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d with %q", code, stderr, exitUsage, tt.want)
			}
		})
	}
}
