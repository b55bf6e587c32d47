package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/tollgate/tollgate/authz/admin"
)

func runAPI(args []string, stdout, stderr io.Writer) int {
	return runGroup("api", []subcommand{
		apiCreate(),
		{name: "list", summary: "list APIs", run: apiList},
		{name: "get", args: []string{"NAME"}, summary: "show an API's resources and their scopes", run: apiGet},
		{name: "delete", args: []string{"NAME"}, summary: "delete an API and its subscriptions", run: apiDelete},
		apiImport(),
	}, args, stdout, stderr)
}

// resourceFlags collects repeated --resource "METHOD PATH [SCOPE...]" flags.
type resourceFlags []admin.Resource

func (r *resourceFlags) String() string { return fmt.Sprint(*r) }

func (r *resourceFlags) Set(v string) error {
	f := strings.Fields(v)
	if len(f) < 2 {
		return fmt.Errorf("%q: want \"METHOD PATH [SCOPE...]\", or \"METHOD PATH public\"", v)
	}
	res := admin.Resource{Method: strings.ToUpper(f[0]), Path: f[1], Scopes: f[2:]}
	if len(res.Scopes) == 1 && res.Scopes[0] == "public" {
		res.Scopes, res.Auth = nil, "none"
	}
	*r = append(*r, res)
	return nil
}

func apiCreate() subcommand {
	var base, hosts string
	var resources resourceFlags
	return subcommand{
		name: "create", args: []string{"NAME"},
		summary: "create or replace an API from --context and --resource flags",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&base, "context", "", "the API's base path, e.g. /orders")
			fs.StringVar(&hosts, "hosts", "", "comma-separated :authority hosts it is limited to")
			fs.Var(&resources, "resource", `a resource: "METHOD PATH [SCOPE...]" (PATH absolute, under --context; "public" for no token); repeat it`)
		},
		run: func(ctx context.Context, c *adminClient, a []string, p *printer) error {
			in := admin.API{Name: a[0], Context: base, Resources: resources}
			if hosts != "" {
				in.Hosts = strings.Split(hosts, ",")
			}
			var out admin.API
			if err := c.do(ctx, "PUT", "/admin/v1/apis/"+url.PathEscape(a[0]), in, &out); err != nil {
				return err
			}
			return printAPI(p, out)
		},
	}
}

func apiList(ctx context.Context, c *adminClient, _ []string, p *printer) error {
	apis, err := listAll[admin.API](ctx, c, "/admin/v1/apis")
	if err != nil {
		return err
	}
	return p.print(apis, []string{"API", "CONTEXT", "RESOURCES"}, func() [][]string {
		rows := make([][]string, len(apis))
		for i, a := range apis {
			rows[i] = []string{a.Name, a.Context, fmt.Sprint(len(a.Resources))}
		}
		return rows
	})
}

func apiGet(ctx context.Context, c *adminClient, a []string, p *printer) error {
	var out admin.API
	if err := c.do(ctx, "GET", "/admin/v1/apis/"+url.PathEscape(a[0]), nil, &out); err != nil {
		return err
	}
	return printAPI(p, out)
}

// printAPI shows an API as one row per resource.
func printAPI(p *printer, a admin.API) error {
	return p.print(a, []string{"API", "METHOD", "PATH", "SCOPES"}, func() [][]string {
		rows := make([][]string, len(a.Resources))
		for i, r := range a.Resources {
			scopes := orDash(strings.Join(r.Scopes, " "))
			if r.Auth == "none" {
				scopes = "(public)"
			}
			rows[i] = []string{a.Name, r.Method, r.Path, scopes}
		}
		return rows
	})
}

func apiDelete(ctx context.Context, c *adminClient, a []string, p *printer) error {
	if err := c.do(ctx, "DELETE", "/admin/v1/apis/"+url.PathEscape(a[0]), nil, nil); err != nil {
		return err
	}
	return p.done("API %s deleted", a[0])
}

func apiImport() subcommand {
	var name, base string
	return subcommand{
		name: "import", args: []string{"OPENAPI_FILE"},
		summary: "create or update an API from an OpenAPI 3.0/3.1 document; operations' security gives the scopes",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "the API's name (default: from info.title)")
			fs.StringVar(&base, "context", "", "the API's context (default: the path of servers[0].url)")
		},
		run: func(ctx context.Context, c *adminClient, a []string, p *printer) error {
			raw, err := os.ReadFile(a[0])
			if err != nil {
				return err
			}
			q := url.Values{}
			if name != "" {
				q.Set("name", name)
			}
			if base != "" {
				q.Set("context", base)
			}
			var res admin.ImportResult
			if err := c.do(ctx, "POST", "/admin/v1/apis/import?"+q.Encode(), raw, &res); err != nil {
				return err
			}
			if p.output != "table" {
				return p.print(res, nil, nil)
			}
			ch := res.Changes
			fmt.Fprintf(p.w, "API %s (%s): %d added, %d removed, %d changed\n", res.API.Name, res.API.Context,
				len(ch.Added), len(ch.Removed), len(ch.Changed))
			return printAPI(p, res.API)
		},
	}
}
