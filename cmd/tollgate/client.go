package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tollgate/tollgate/authz/admin"
	"github.com/tollgate/tollgate/authz/config"
)

// adminFlags are the flags every command that calls the admin API takes, as kubectl's
// take a server and credentials: flags win over the environment, which wins over the
// configuration file.
type adminFlags struct {
	config  string
	server  string
	token   string
	output  string
	timeout time.Duration
	tls     tlsFlags
}

// defaultConfig is the configuration file commands read when --config is not given.
func defaultConfig() string {
	if c := os.Getenv("TOLLGATE_CONFIG"); c != "" {
		return c
	}
	return "tollgate.yaml"
}

func (f *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", defaultConfig(), "configuration `file` for the admin address and token file (default $TOLLGATE_CONFIG or tollgate.yaml)")
	fs.StringVar(&f.server, "server", "", "admin API base `URL` (default $TOLLGATE_ADMIN_URL, else http:// (https:// with admin.tls) and admin.address of --config)")
	fs.StringVar(&f.token, "token", "", "admin `token` (default $TOLLGATE_ADMIN_TOKEN, else admin.token_file of --config)")
	fs.StringVar(&f.output, "o", "table", "output: table, json, or env (NAME='value' lines for eval)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "bound of the whole request")
	f.tls.register(fs)
}

// adminClient calls the admin API.
type adminClient struct {
	base, token string
	http        *http.Client
}

// apiError is a refusal by the admin API or the STS: {error, error_description}.
type apiError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Description)
}

// client resolves where the admin API is and the token for it.
func (f *adminFlags) client() (*adminClient, error) {
	if f.output != "table" && f.output != "json" && f.output != "env" {
		return nil, fmt.Errorf("-o %q: use table, json or env", f.output)
	}
	server, token := f.server, f.token
	if server == "" {
		server = os.Getenv("TOLLGATE_ADMIN_URL")
	}
	if token == "" {
		token = os.Getenv("TOLLGATE_ADMIN_TOKEN")
	}
	if server == "" || token == "" {
		cfg, err := config.Load(f.config)
		if err != nil {
			return nil, fmt.Errorf("no admin server or token given, and %w", err)
		}
		if server == "" {
			server = adminURL(cfg.Admin)
		}
		if token == "" {
			raw, err := os.ReadFile(cfg.Admin.TokenFile)
			if err != nil {
				return nil, fmt.Errorf("admin token: %w (give --token or TOLLGATE_ADMIN_TOKEN)", err)
			}
			token = strings.TrimSpace(string(raw))
		}
	}
	if f.tls.on() && !strings.HasPrefix(server, "https://") {
		return nil, fmt.Errorf("--tls-* flags need an https:// admin URL, not %q", server)
	}
	client, err := f.tls.httpClient(f.timeout)
	if err != nil {
		return nil, err
	}
	return &adminClient{base: strings.TrimSuffix(server, "/"), token: token, http: client}, nil
}

// adminURL is the admin API's base URL by the configuration: its address, over https
// when it serves TLS.
func adminURL(a config.Admin) string {
	if a.TLS.On() {
		return "https://" + a.Address
	}
	return "http://" + a.Address
}

// do sends a request with body (JSON unless it is []byte) and decodes a 2xx answer into
// out, when not nil. A refusal is an *apiError.
func (c *adminClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/yaml"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer res.Body.Close()
	return decodeAnswer(res, out)
}

// decodeAnswer decodes a 2xx JSON answer into out, or returns the refusal.
func decodeAnswer(res *http.Response, out any) error {
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		e := &apiError{Status: res.StatusCode}
		if json.Unmarshal(raw, e) != nil || e.Code == "" {
			e.Code, e.Description = http.StatusText(res.StatusCode), strings.TrimSpace(string(raw))
		}
		return e
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the answer is not the JSON expected: %w", err)
	}
	return nil
}

// exitFor is a command's exit code for err: 1 for a refusal, 2 for anything else.
func exitFor(err error, name string, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "tollgate %s: %v\n", name, err)
	var refused *apiError
	if errors.As(err, &refused) {
		return exitDenied
	}
	return exitUsage
}

// listAll reads every page of a list.
func listAll[T any](ctx context.Context, c *adminClient, path string) ([]T, error) {
	var all []T
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	token := ""
	for {
		var p admin.List[T]
		if err := c.do(ctx, "GET", path+sep+"limit=1000&page_token="+url.QueryEscape(token), nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.NextPageToken == "" {
			return all, nil
		}
		token = p.NextPageToken
	}
}
