package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
)

// headerFlags collects repeated --header 'name: value' flags.
type headerFlags map[string]string

func (h headerFlags) String() string { return "" }

func (h headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q is not 'name: value'", v)
	}
	h[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
	return nil
}

type checkFlags struct {
	server    string
	config    string
	explain   bool
	method    string
	path      string
	host      string
	api       string
	principal string
	headers   headerFlags
	json      bool
	timeout   time.Duration
	tls       tlsFlags
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	f := checkFlags{headers: headerFlags{}}
	fs.StringVar(&f.server, "server", "127.0.0.1:9191", "`address` of Tollgate's gRPC listener")
	fs.StringVar(&f.config, "config", "", "decide in-process with this configuration `file` instead of asking a server")
	fs.BoolVar(&f.explain, "explain", false, "with --config: list the policy rules that held and the ones that decided")
	fs.StringVar(&f.method, "method", "GET", "HTTP method")
	fs.StringVar(&f.path, "path", "/", "HTTP path, with query")
	fs.StringVar(&f.host, "host", "localhost", "HTTP host (:authority)")
	fs.StringVar(&f.api, "api", "", "API name sent as the route's context_extensions api entry")
	fs.StringVar(&f.principal, "principal", "", "the caller's mTLS identity as Envoy reports it (source.principal), e.g. `spiffe://cluster.local/ns/shop/sa/web`")
	fs.Var(f.headers, "header", "request header 'name: value' (repeatable)")
	fs.BoolVar(&f.json, "json", false, "print the CheckResponse (with --config: the decision and what led to it) as JSON")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	f.tls.register(fs)
	fs.Usage = func() { checkUsage(fs) }
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if err := f.validate(fs); err != nil {
		fmt.Fprintln(stderr, "tollgate check:", err)
		return exitUsage
	}
	if f.config != "" {
		return f.runLocal(stdout, stderr)
	}
	resp, err := f.send()
	if err != nil {
		fmt.Fprintln(stderr, "tollgate check:", err)
		return exitUsage
	}
	if f.json {
		fmt.Fprintln(stdout, protojson.Format(resp))
	} else {
		printCheck(stdout, resp)
	}
	if codes.Code(resp.GetStatus().GetCode()) != codes.OK {
		return exitDenied
	}
	return exitOK
}

// validate refuses flags that do not go together: a check is decided either by a
// server (over TLS with --tls-*) or in-process, and only an in-process one can be
// explained.
func (f checkFlags) validate(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	switch {
	case set["config"] && set["server"]:
		return errors.New("--config and --server exclude each other: decide in-process or ask a server")
	case f.explain && f.config == "":
		return errors.New("--explain needs --config: a server does not report which rules decided")
	case f.tls.on() && f.config != "":
		return errors.New("--tls-* flags are for --server: --config decides in-process")
	}
	return nil
}

func checkUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprint(w, `Usage: tollgate check [--server ADDR [--tls-*] | --config FILE [--explain]] [flags]

Builds the Check request Envoy would send for one HTTP request and prints the
decision. With --server (the default) it asks a running Tollgate; --json prints the
CheckResponse. Any --tls-* flag talks TLS to the server: --tls-ca verifies it with
a private CA, --tls-cert and --tls-key present a client certificate (mTLS). With
--config it decides in-process, with that file's policies, data and issuers, and
also prints what led to the decision: the matched API resource and its params, the
application, the token's claims (never the token) or why it was refused. There
--json prints one object; keys with no value are left out:
  allowed, status (200 on allow), reason, description, api, resource, params,
  application, headers (to the backend on allow, to the client on deny),
  headers_to_remove, body, token {issuer, iss, subject, client_id, scopes,
  audience, expires_at}, token_error {code, reason, description}, decision_id,
  explain {rules: [{file, line, rule, expr, decided}]}

--explain lists the policy rules that held, in the order they held, as
file:line, rule, and its first expression as written; each branch of an else chain
is a rule of its own, so the list shows which branch held. Then it names the rules
that decided: on a deny, the deny rules whose messages make the description, or
else the first rule that held with an object value whose code or reason is the
deny's reason (in the shipped policy, the branch of token_failure, access_failure
or failure that held); on an allow, the branch of the decision rule that held.

Exit status: 0 allow, 1 deny, 2 usage or configuration error.

Flags:
`)
	fs.PrintDefaults()
}

func (f checkFlags) send() (*authv3.CheckResponse, error) {
	creds := insecure.NewCredentials()
	tlsCfg, err := f.tls.config()
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	conn, err := grpc.NewClient(f.server, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	return authv3.NewAuthorizationClient(conn).Check(ctx, f.request())
}

// request builds the CheckRequest Envoy would send for the flags' HTTP request.
func (f checkFlags) request() *authv3.CheckRequest {
	headers := map[string]string{":method": f.method, ":path": f.path, ":authority": f.host}
	for k, v := range f.headers {
		headers[k] = v
	}
	attrs := &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: f.method, Path: f.path, Host: f.host, Headers: headers,
			Scheme: "https", Protocol: "HTTP/1.1",
		}},
	}
	if f.principal != "" {
		attrs.Source = &authv3.AttributeContext_Peer{Principal: f.principal}
	}
	if f.api != "" {
		attrs.ContextExtensions = map[string]string{"api": f.api}
	}
	return &authv3.CheckRequest{Attributes: attrs}
}

func printCheck(w io.Writer, resp *authv3.CheckResponse) {
	id := resp.GetDynamicMetadata().GetFields()["decision_id"].GetStringValue()
	if ok := resp.GetOkResponse(); ok != nil {
		fmt.Fprintf(w, "ALLOW (decision %s)\n", id)
		var lines []string
		for _, h := range ok.GetHeaders() {
			lines = append(lines, fmt.Sprintf("  set    %s: %s", h.GetHeader().GetKey(), h.GetHeader().GetValue()))
		}
		sort.Strings(lines)
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
		for _, h := range ok.GetHeadersToRemove() {
			fmt.Fprintf(w, "  remove %s\n", h)
		}
		return
	}
	d := resp.GetDeniedResponse()
	fmt.Fprintf(w, "DENY %d %s (decision %s)\n", d.GetStatus().GetCode(), codes.Code(resp.GetStatus().GetCode()), id)
	for _, h := range d.GetHeaders() {
		fmt.Fprintf(w, "  %s: %s\n", h.GetHeader().GetKey(), h.GetHeader().GetValue())
	}
	fmt.Fprintf(w, "  body: %s\n", d.GetBody())
}
