package main

import (
	"bytes"
	"context"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadmeWalkthroughs runs the README's walkthroughs verbatim, as a new user would:
// the binary built into bin/, `make run`'s import and serve (on the quickstart's
// fixed ports), then every command of the "Walkthroughs" section in one shell.
func TestReadmeWalkthroughs(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:9191", "127.0.0.1:8080", "127.0.0.1:9090"} {
		if ln, err := net.Listen("tcp", addr); err != nil {
			t.Fatalf("the quickstart's port %s is taken (is `make run` going?): %v", addr, err)
		} else {
			ln.Close()
		}
	}
	dir := quickstartTree(t)
	sh := func(script string) string {
		t.Helper()
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s\n%s: %v", script, out, err)
		}
		return string(out)
	}
	sh("bin/tollgate import --config examples/config.yaml --credentials examples/data.yaml")
	serve := exec.Command("bin/tollgate", "serve", "--config", "examples/config.yaml")
	serve.Dir = dir
	var serverLog bytes.Buffer
	serve.Stdout, serve.Stderr = &serverLog, &serverLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = serve.Process.Signal(os.Interrupt)
		_ = serve.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", serverLog.String())
		}
	})
	waitReady(t, "http://127.0.0.1:8080/readyz")

	script := readmeShell(t, "## Walkthroughs", "## How a check is decided")
	// A denied check exits 1, as the README says: the script's status is its last
	// command's, so the output is what is checked.
	out := sh("set -u\n" + strings.ReplaceAll(script, "./bin/tollgate", "bin/tollgate") + "\ntrue\n")
	for _, want := range []string{
		"API inventory (/inventory): 3 added, 0 removed, 0 changed",
		"set    x-tollgate-application: stock-web",
		`"error":"insufficient_scope","error_description":"the token lacks scope urn:acme:inventory:write"`,
		"set    x-tollgate-application: mobile-app",
		`"error_description":"the token lacks scope urn:acme:shipping:write"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the walkthroughs' output lacks %q", want)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "tollgate ") { // how every command reports an error
			t.Errorf("a command failed: %s", line)
		}
	}
	if t.Failed() {
		t.Logf("script:\n%s\noutput:\n%s", script, out)
	}
}

// quickstartTree lays out what the walkthroughs need, as a clone does: bin/tollgate
// built from this package, examples/ and policies/.
func quickstartTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "tollgate"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sub := range []string{"examples", "policies"} {
		copyTree(t, filepath.Join("..", "..", sub), filepath.Join(dir, sub))
	}
	return dir
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), raw, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readmeShell returns the sh blocks of README.md between two headings, joined.
func readmeShell(t *testing.T, from, to string) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n"+from)
	if !ok {
		t.Fatalf("README.md has no %q", from)
	}
	section, _, _ = strings.Cut(section, "\n"+to)
	var script strings.Builder
	for {
		_, rest, ok := strings.Cut(section, "```sh\n")
		if !ok {
			break
		}
		block, after, _ := strings.Cut(rest, "```\n")
		script.WriteString(block)
		section = after
	}
	return script.String()
}

// waitReady polls url until it answers 200.
func waitReady(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready within 20s", url)
}
