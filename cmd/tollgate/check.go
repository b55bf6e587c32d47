package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
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
	server  string
	method  string
	path    string
	host    string
	api     string
	headers headerFlags
	json    bool
	timeout time.Duration
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	f := checkFlags{headers: headerFlags{}}
	fs.StringVar(&f.server, "server", "127.0.0.1:9191", "`address` of Tollgate's gRPC listener")
	fs.StringVar(&f.method, "method", "GET", "HTTP method")
	fs.StringVar(&f.path, "path", "/", "HTTP path, with query")
	fs.StringVar(&f.host, "host", "localhost", "HTTP host (:authority)")
	fs.StringVar(&f.api, "api", "", "API name sent as the route's context_extensions api entry")
	fs.Var(f.headers, "header", "request header 'name: value' (repeatable)")
	fs.BoolVar(&f.json, "json", false, "print the CheckResponse as JSON")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
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

func (f checkFlags) send() (*authv3.CheckResponse, error) {
	conn, err := grpc.NewClient(f.server, grpc.WithTransportCredentials(insecure.NewCredentials()))
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
